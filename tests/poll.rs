//! Polling the simulated org on 127.0.0.1: exactly-once storage, bisection past the 200 cap,
//! rate limits, expiring tokens, injected 5xx, execution data off, malformed answers, and a
//! request log that must match the API contract.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use redrive::genesys::{Client, ClientOptions, GenesysError};
use redrive::sim::{Faults, OrgSpec, SimConfig, SimHandle};
use redrive::store::{Filter, Order, Store, StoreOptions};
use redrive::time::now_ms;
use redrive::worker::poll::{PollError, PollOptions, poll};

fn org(failures: usize, burst: usize) -> OrgSpec {
    OrgSpec { seed: 7, webhooks: 6, failures, successes: 400, burst, spread_ms: 6 * 3_600_000 }
}

async fn sim(cfg: SimConfig) -> (SimHandle, Arc<Client>) {
    let sim = SimHandle::start(cfg).await.unwrap();
    let mut opts = ClientOptions::from_config(&sim.genesys_config()).unwrap();
    opts.retry_base = Duration::from_millis(50);
    (sim, Arc::new(Client::new(opts).unwrap()))
}

fn failure_ids(sim: &SimHandle) -> HashSet<String> {
    sim.org()
        .instances
        .iter()
        .filter(|i| i.instance.flow_error_reason.is_some())
        .map(|i| i.instance.id.clone())
        .collect()
}

fn stored_ids(store: &Store) -> HashSet<String> {
    store
        .list(&Filter::default(), Order::OldestFirst, None, 1_000_000)
        .unwrap()
        .into_iter()
        .map(|e| e.source_id)
        .collect()
}

fn mem() -> Store {
    Store::open_in_memory(StoreOptions::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_every_failure_exactly_once_even_past_the_query_cap() {
    let (sim, client) = sim(SimConfig { org: org(1500, 600), ..Default::default() }).await;
    let mut store = mem();
    let s = poll(&client, &mut store, &PollOptions::default(), now_ms(), |_| {}).await.unwrap();
    assert_eq!(s.failures_found, 1500, "{s:?}");
    assert_eq!(s.new, 1500);
    assert!(s.window_splits > 0, "600 failures in one minute need bisection: {s:?}");
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    assert_eq!(stored_ids(&store), failure_ids(&sim), "the stored ids are exactly the org's failures");
    // Each webhook is known; a few files had no readable data-action step, as in life.
    assert_eq!(s.webhooks, 6);
    assert_eq!(s.triggers, 6);
    assert!(s.without_payload > 0 && s.without_payload < 100, "{s:?}");
    let with_payload = store.count(&Filter::default()).unwrap() - s.without_payload as u64;
    assert!(with_payload > 1400);

    let again = poll(&client, &mut store, &PollOptions::default(), now_ms(), |_| {}).await.unwrap();
    assert_eq!(again.new, 0, "{again:?}");
    assert_eq!(store.count(&Filter::default()).unwrap(), 1500);
    // A forced full window finds them all again, and stores none twice.
    let full = PollOptions { since: Some(now_ms() - 24 * 3_600_000), ..Default::default() };
    let third = poll(&client, &mut store, &full, now_ms(), |_| {}).await.unwrap();
    assert_eq!((third.failures_found, third.new, third.duplicates), (1500, 0, 1500));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completes_under_rate_limit_expiring_tokens_and_server_errors() {
    let cfg = SimConfig {
        org: org(1500, 600),
        token_lifetime: Duration::from_secs(30),
        faults: Faults { rate_limit_per_minute: Some(120), error_rate: 0.10, ..Default::default() },
        ..Default::default()
    };
    let (sim, client) = sim(cfg).await;
    let mut store = mem();
    let s = poll(&client, &mut store, &PollOptions::default(), now_ms(), |_| {}).await.unwrap();
    assert_eq!(s.new, 1500, "{s:?}");
    assert_eq!(stored_ids(&store), failure_ids(&sim));
    eprintln!(
        "rate-limited poll: {} API calls, {} retried, {} answered 429, {} queries, {} splits, {} ms",
        s.api_calls, s.retries, s.rate_limited, s.queries, s.window_splits, s.elapsed_ms
    );
    assert!(s.retries > 0, "10% 5xx were retried: {s:?}");
    let share_429 = s.rate_limited as f64 / s.api_calls as f64;
    assert!(share_429 < 0.05, "{} of {} calls hit a 429", s.rate_limited, s.api_calls);
    let seen = sim.requests();
    let api_calls = seen.iter().filter(|r| r.path.starts_with("/api/")).count();
    let limited = seen.iter().filter(|r| r.status == 429).count();
    assert!((limited as f64) < 0.05 * api_calls as f64, "{limited} of {api_calls} answered 429 by the org");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_renewed_once_and_the_call_repeated() {
    // Tokens live two seconds: the client renews shortly before expiry, or on a 401.
    let cfg = SimConfig { org: org(50, 0), token_lifetime: Duration::from_secs(2), ..Default::default() };
    let (sim, client) = sim(cfg).await;
    client.list_actions().await.unwrap();
    let mut store = mem();
    let s = poll(&client, &mut store, &PollOptions::default(), now_ms(), |_| {}).await.unwrap();
    assert_eq!(s.new, 50);
    sim.revoke_tokens();
    client.list_triggers().await.unwrap();
    let fetches = client.stats().token_fetches;
    assert!(fetches >= 2, "a new token after the revoke: {fetches}");
    let statuses: Vec<u16> =
        sim.requests().iter().filter(|r| r.path.contains("triggers")).map(|r| r.status).collect();
    assert_eq!(statuses.last(), Some(&200));
    assert!(statuses.contains(&401), "{statuses:?}");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_execution_data_every_entry_is_flagged_and_says_why() {
    let cfg = SimConfig { org: org(40, 0), execution_data: false, ..Default::default() };
    let (sim, client) = sim(cfg).await;
    let mut store = mem();
    let s =
        poll(&client, &mut store, &PollOptions { auto_retry: true, ..Default::default() }, now_ms(), |_| {})
            .await
            .unwrap();
    assert_eq!((s.new, s.without_payload), (40, 40));
    assert!(s.execution_data_unavailable);
    assert!(s.warnings.iter().any(|w| w.contains("Enable historical execution data")), "{:?}", s.warnings);
    let rows = store.list(&Filter::default(), Order::OldestFirst, None, 100).unwrap();
    assert!(rows.iter().all(|e| e.payload_unavailable.as_deref().is_some_and(|w| w.contains("10 days"))));
    assert!(rows.iter().all(|e| e.next_attempt_at.is_none()), "nothing to replay is never queued");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_answers_are_errors_that_quote_them() {
    let cfg = SimConfig {
        org: org(10, 0),
        faults: Faults { malformed_rate: 1.0, ..Default::default() },
        ..Default::default()
    };
    let (sim, client) = sim(cfg).await;
    let mut store = mem();
    let err = poll(&client, &mut store, &PollOptions::default(), now_ms(), |_| {}).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, PollError::Genesys(GenesysError::Malformed { .. })), "{msg}");
    assert!(msg.contains("<html>") && msg.contains("/api/v2/integrations/actions"), "{msg}");
    assert_eq!(store.count(&Filter::default()).unwrap(), 0);
    assert_eq!(store.kv_get(redrive::worker::poll::CURSOR_KEY).unwrap(), None, "the cursor did not move");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polls_requests_conform_to_the_contract() {
    let (sim, client) = sim(SimConfig { org: org(300, 250), ..Default::default() }).await;
    let mut store = mem();
    let now = now_ms();
    poll(&client, &mut store, &PollOptions::default(), now, |_| {}).await.unwrap();
    let seen = sim.requests();
    let api = sim.base_url().trim_start_matches("http://").to_string();

    let token: Vec<_> = seen.iter().filter(|r| r.path == "/oauth/token").collect();
    assert_eq!(token.len(), 1, "one token for the whole poll");
    assert_eq!((token[0].method.as_str(), token[0].auth.as_deref()), ("POST", Some("Basic")));

    for r in seen.iter().filter(|r| r.path.starts_with("/api/v2/")) {
        assert_eq!(r.auth.as_deref(), Some("Bearer"), "{r:?}");
        assert_eq!(r.host, api, "API calls go to the API host");
    }
    let actions: Vec<_> = seen.iter().filter(|r| r.path == "/api/v2/integrations/actions").collect();
    assert!(!actions.is_empty());
    for r in &actions {
        assert_eq!(r.method, "GET");
        assert!(r.query.contains("includeConfig=true") && r.query.contains("pageNumber="), "{}", r.query);
    }
    let triggers: Vec<_> = seen.iter().filter(|r| r.path == "/api/v2/processautomation/triggers").collect();
    assert!(!triggers.is_empty() && triggers.iter().all(|r| r.method == "GET"));

    let queries: Vec<_> = seen.iter().filter(|r| r.path == "/api/v2/flows/instances/query").collect();
    assert!(queries.len() > 1, "bisection made several queries");
    for q in &queries {
        assert_eq!(q.method, "POST");
        assert!(q.query.contains("pageSize=200"), "{}", q.query);
        let body = q.body.as_ref().unwrap();
        let groups = body["query"].as_array().unwrap();
        let items: Vec<(String, String, Option<String>)> = groups
            .iter()
            .map(|g| {
                let c = &g["criteria"];
                (
                    c["key"].as_str().unwrap().into(),
                    c["operator"].as_str().unwrap().into(),
                    c["value"].as_str().map(Into::into),
                )
            })
            .collect();
        assert_eq!(items[0], ("FlowType".into(), "eq".into(), Some("workflow".into())));
        assert_eq!(items[1], ("FlowErrorReason".into(), "not_null".into(), None));
        assert_eq!((items[2].0.as_str(), items[2].1.as_str()), ("FlowStartDateTime", "gte"));
        assert_eq!((items[3].0.as_str(), items[3].1.as_str()), ("FlowStartDateTime", "lt"));
        let start = redrive::time::parse_rfc3339(items[2].2.as_deref().unwrap()).unwrap();
        let end = redrive::time::parse_rfc3339(items[3].2.as_deref().unwrap()).unwrap();
        assert!(start < end && end <= now);
        assert!(body.get("sort").is_none(), "the query has no sort field");
    }
    let jobs: Vec<_> = seen.iter().filter(|r| r.path == "/api/v2/flows/instances/jobs").collect();
    assert!(!jobs.is_empty());
    for j in &jobs {
        assert_eq!((j.method.as_str(), j.query.as_str()), ("POST", "expand=dataActions"));
        assert!(j.body.as_ref().unwrap()["ids"].as_array().is_some_and(|a| !a.is_empty() && a.len() <= 100));
    }
    let downloads: Vec<_> = seen.iter().filter(|r| r.path.starts_with("/__sim/downloads/")).collect();
    assert!(downloads.len() > 250);
    for d in &downloads {
        assert_eq!(d.auth, None, "the token never goes to the download host");
        assert!(d.host.starts_with("localhost:"), "{}", d.host);
    }
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_is_not_sent_to_another_host() {
    let (sim, client) = sim(SimConfig { org: org(1, 0), ..Default::default() }).await;
    let other = format!("http://localhost:{}/api/v2/integrations/actions", sim.addr.port());
    let err = client.send(reqwest::Method::GET, &other, None).await.err().expect("refused");
    assert!(err.to_string().contains("refusing to send the Genesys token"), "{err}");
    assert!(sim.requests().is_empty(), "nothing was sent");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_name_the_client_never_the_secret() {
    let sim = SimHandle::start(SimConfig { org: org(1, 0), ..Default::default() }).await.unwrap();
    let mut cfg = sim.genesys_config();
    cfg.client_secret = Some(redrive::config::Secret::new("wrong-secret-value"));
    let client = Client::new(ClientOptions::from_config(&cfg).unwrap()).unwrap();
    let err = client.list_actions().await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(sim.client_id()) && msg.contains("invalid_client"), "{msg}");
    assert!(
        !msg.contains("wrong-secret-value") && !format!("{err:?}").contains("wrong-secret-value"),
        "{msg}"
    );
    sim.stop().await;
}
