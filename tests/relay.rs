//! `redrive relay` in-process on 127.0.0.1: what it stores, what it refuses, and how.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use redrive::config::{Config, RelayMode, ReplayMode, Secret, Verify, VerifyKind, WebhookConfig};
use redrive::relay::Relay;
use redrive::relay::intake::{self, CommitStats, Intake};
use redrive::sim::{OrgSpec, SimConfig, SimHandle, TargetBehaviour};
use redrive::store::{EntryState, Filter, Order, Store, StoreOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

struct Running {
    base: String,
    stop: watch::Sender<bool>,
    served: tokio::task::JoinHandle<()>,
    db: std::path::PathBuf,
    _dir: tempfile::TempDir,
    _rx: Option<tokio::sync::mpsc::Receiver<redrive::relay::intake::Item>>,
    stats: Arc<CommitStats>,
}

impl Running {
    /// The store, once every call committed so far has moved into it from the inbox.
    async fn store(&self) -> Store {
        tokio::time::timeout(Duration::from_secs(10), self.stats.caught_up())
            .await
            .expect("the inbox was emptied into the store");
        Store::open(&self.db, StoreOptions::default()).unwrap()
    }
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn hook(relay: RelayMode, url: &str, verify: Option<Verify>) -> WebhookConfig {
    WebhookConfig {
        mode: Some(ReplayMode::Direct),
        url: Some(url.into()),
        relay: Some(relay),
        verify,
        ..Default::default()
    }
}

/// A relay with `hooks`; `hold_queue` keeps the intake's far end instead of writing (to fill it).
async fn start(
    hooks: Vec<(&str, WebhookConfig)>,
    tune: impl FnOnce(&mut Config),
    hold_queue: bool,
) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.db");
    let mut config = Config::defaults(db.clone());
    config.webhooks = hooks.into_iter().map(|(k, w)| (k.to_string(), w)).collect::<BTreeMap<_, _>>();
    tune(&mut config);
    let store = Store::open(&db, StoreOptions::default()).unwrap();
    let (intake, stats, held) = if hold_queue {
        let stats = Arc::new(CommitStats::default());
        let (intake, rx) = Intake::new(config.relay.queue, config.relay.inbox_limit, stats.clone());
        (intake, stats, Some(rx))
    } else {
        let (intake, stats, _threads) =
            intake::start(&db, store, &config.relay, Duration::from_secs(5)).unwrap();
        (intake, stats, None)
    };
    let relay = Relay::new(&config, Some(intake), stats.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, rx) = watch::channel(false);
    let served = tokio::spawn(relay.serve(listener, rx, Duration::from_secs(10)));
    Running { base, stop, served, db, _dir: dir, _rx: held, stats }
}

fn client() -> reqwest::Client {
    redrive::genesys::client::http_client(Duration::from_secs(20))
}

fn count(store: &Store) -> u64 {
    store.count(&Filter::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_commits_then_answers_202_with_the_call_id() {
    let r = start(vec![("orders", hook(RelayMode::Ack, "http://127.0.0.1:9/x", None))], |_| {}, false).await;
    let resp = client()
        .post(r.url("/hooks/orders?tenant=7"))
        .header("content-type", "application/json")
        .header("authorization", "Bearer not-for-the-database")
        .header("x-genesys-conversation", "c-1")
        .body(r#"{"order":"A-1"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let v: serde_json::Value = resp.json().await.unwrap();
    let source_id = v["id"].as_str().unwrap();
    assert!(source_id.starts_with("relay:"), "{v}");
    let store = r.store().await;
    let id = store.find_by_source_id(source_id).unwrap().expect("the call is in the store");
    let e = store.get(id).unwrap();
    assert_eq!(
        (e.state, e.source_kind.as_str(), e.webhook_id.as_str()),
        (EntryState::Pending, "relay", "orders")
    );
    assert!(e.next_attempt_at.is_some(), "due for the worker at once");
    assert_eq!(store.payload(id).unwrap(), br#"{"order":"A-1"}"#);
    let env: serde_json::Value = serde_json::from_slice(&store.execution_data(id).unwrap().unwrap()).unwrap();
    assert_eq!(env["method"], "POST");
    assert_eq!(env["path"], "/hooks/orders");
    assert_eq!(env["query"], "tenant=7");
    let text = env.to_string();
    assert!(text.contains("x-genesys-conversation"), "{text}");
    assert!(
        !text.contains("not-for-the-database") && !text.contains("authorization"),
        "credentials are not kept: {text}"
    );
    // Health and metrics.
    assert_eq!(client().get(r.url("/healthz")).send().await.unwrap().text().await.unwrap(), "ok\n");
    let m = client().get(r.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for line in [
        "redrive_relay_received_total 1",
        "redrive_relay_stored_total 1",
        "redrive_entries{state=\"pending\"} 1",
        "redrive_relay_commit_seconds_sum",
        "redrive_relay_moved_total 1",
        "redrive_relay_inbox_backlog 0",
    ] {
        assert!(m.contains(line), "{line} missing from\n{m}");
    }
    r.stop.send(true).unwrap();
    r.served.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_refuses_with_401_and_stores_nothing() {
    let v = |kind, secret: &str| Some(Verify { kind, secret: Secret::new(secret) });
    let r = start(
        vec![
            ("hub", hook(RelayMode::Ack, "http://127.0.0.1:9/x", v(VerifyKind::HubSignature, "hub-secret"))),
            (
                "std",
                hook(
                    RelayMode::Ack,
                    "http://127.0.0.1:9/x",
                    v(VerifyKind::StandardWebhooks, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
                ),
            ),
            ("tok", hook(RelayMode::Ack, "http://127.0.0.1:9/x", v(VerifyKind::Bearer, "t0ken"))),
        ],
        |_| {},
        false,
    )
    .await;
    let c = client();
    let body = r#"{"message":"hi"}"#;
    let post = |path: &str, headers: Vec<(&'static str, String)>| {
        let mut b = c.post(r.url(path)).body(body);
        for (k, v) in headers {
            b = b.header(k, v);
        }
        b.send()
    };
    let good = redrive::relay::verify::hub_signature(b"hub-secret", body.as_bytes());
    assert_eq!(post("/hooks/hub", vec![("x-hub-signature-256", good)]).await.unwrap().status(), 202);
    let bad = redrive::relay::verify::hub_signature(b"wrong", body.as_bytes());
    assert_eq!(post("/hooks/hub", vec![("x-hub-signature-256", bad)]).await.unwrap().status(), 401);
    let missing = post("/hooks/hub", vec![]).await.unwrap();
    assert_eq!(missing.status(), 401);
    assert!(missing.text().await.unwrap().contains("missing x-hub-signature-256"));

    let now = redrive::time::now_ms() / 1000;
    let signed = |ts: i64| {
        let sig = redrive::retry::sender::sign(
            b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_1",
            ts,
            body.as_bytes(),
        );
        vec![
            ("webhook-id", "msg_1".to_string()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", sig),
        ]
    };
    assert_eq!(post("/hooks/std", signed(now)).await.unwrap().status(), 202);
    let replayed = post("/hooks/std", signed(now - 3600)).await.unwrap();
    assert_eq!(replayed.status(), 401);
    assert!(replayed.text().await.unwrap().contains("too far from now"));
    assert_eq!(
        post("/hooks/tok", vec![("authorization", "Bearer t0ken".into())]).await.unwrap().status(),
        202
    );
    assert_eq!(
        post("/hooks/tok", vec![("authorization", "Bearer t0ken!".into())]).await.unwrap().status(),
        401
    );
    assert_eq!(count(&r.store().await), 3, "only the three verified calls are stored");
    r.stop.send(true).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_unknown_method_size_headers() {
    let r = start(
        vec![("orders", hook(RelayMode::Ack, "http://127.0.0.1:9/x", None))],
        |c| {
            c.relay.body_limit = 1000;
            c.relay.max_headers = 20;
        },
        false,
    )
    .await;
    let c = client();
    assert_eq!(c.post(r.url("/hooks/nope")).body("{}").send().await.unwrap().status(), 404);
    let wrong = c.put(r.url("/hooks/orders")).body("{}").send().await.unwrap();
    assert_eq!(wrong.status(), 405);
    assert_eq!(wrong.headers()["allow"], "POST");
    assert_eq!(c.post(r.url("/hooks/orders")).body(vec![b'x'; 1001]).send().await.unwrap().status(), 413);
    let mut many = c.post(r.url("/hooks/orders")).body("{}");
    for i in 0..30 {
        many = many.header(format!("x-h{i}"), "v");
    }
    assert_eq!(many.send().await.unwrap().status(), 431);
    assert_eq!(c.post(r.url("/hooks/orders")).body(vec![b'x'; 1000]).send().await.unwrap().status(), 202);
    assert_eq!(count(&r.store().await), 1);
    r.stop.send(true).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503_with_retry_after_instead_of_growing() {
    // The intake's far end is held and never drained: the first call waits, the second finds
    // the queue (of one) full.
    let r = start(
        vec![("orders", hook(RelayMode::Ack, "http://127.0.0.1:9/x", None))],
        |c| c.relay.queue = 1,
        true,
    )
    .await;
    let first = tokio::spawn(client().post(r.url("/hooks/orders")).body("{}").send());
    // Wait until the first call is queued (the metrics say so), not for a fixed time.
    let c = client();
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let m = c.get(r.url("/metrics")).send().await.unwrap().text().await.unwrap();
            if m.contains("redrive_relay_intake_queue_depth 1") {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the first call is queued");
    let second = c.post(r.url("/hooks/orders")).body("{}").send().await.unwrap();
    assert_eq!(second.status(), 503);
    assert_eq!(second.headers()["retry-after"], "1");
    first.abort();
    r.stop.send(true).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_get_503_while_the_mover_is_behind_by_the_inbox_limit_and_are_taken_once_it_caught_up() {
    let r = start(
        vec![("orders", hook(RelayMode::Ack, "http://127.0.0.1:9/x", None))],
        |c| c.relay.inbox_limit = 2,
        false,
    )
    .await;
    // Another writer holds the store: calls reach the inbox, the mover cannot carry them on.
    let lock = rusqlite::Connection::open(&r.db).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let c = client();
    let post = || c.post(r.url("/hooks/orders")).body("{}").send();
    assert_eq!(post().await.unwrap().status(), 202);
    assert_eq!(post().await.unwrap().status(), 202);
    let third = post().await.unwrap();
    assert_eq!(third.status(), 503);
    assert_eq!(third.headers()["retry-after"], "1");
    assert!(third.text().await.unwrap().contains("moving calls into its store"));
    lock.execute_batch("COMMIT").unwrap();
    // The mover tries again on its own; calls are taken again once it has caught up.
    tokio::time::timeout(Duration::from_secs(20), r.stats.caught_up()).await.expect("the mover caught up");
    assert_eq!(post().await.unwrap().status(), 202);
    r.stop.send(true).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let r = start(
        vec![("orders", hook(RelayMode::Ack, "http://127.0.0.1:9/x", None))],
        |c| c.relay.read_timeout = Duration::from_millis(300),
        false,
    )
    .await;
    let addr = r.base.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"POST /hooks/orders HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    let mut buf = Vec::new();
    // The relay closes the connection (after a 408 or not); the read ends.
    let n = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    assert!(n.is_ok(), "the slow client was not cut off");
    assert!(
        buf.is_empty() || String::from_utf8_lossy(&buf).contains("408"),
        "{}",
        String::from_utf8_lossy(&buf)
    );
    r.stop.send(true).unwrap();
}

async fn targets(behaviours: Vec<TargetBehaviour>) -> SimHandle {
    let n = behaviours.len();
    SimHandle::start(SimConfig {
        org: OrgSpec { seed: 5, webhooks: n, failures: 0, successes: 0, burst: 0, spread_ms: 3_600_000 },
        targets: behaviours,
        ..Default::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_passes_answers_through_and_stores_failures_before_answering() {
    let sim = targets(vec![TargetBehaviour::Healthy, TargetBehaviour::Answer { status: 503 }]).await;
    let org = sim.org();
    let url = |i: usize| format!("{}/__sim/targets/{}", sim.base_url(), org.webhooks[i].slug);
    let r = start(
        vec![("ok", hook(RelayMode::Proxy, &url(0), None)), ("down", hook(RelayMode::Proxy, &url(1), None))],
        |_| {},
        false,
    )
    .await;
    let c = client();
    let ok = c
        .post(r.url("/hooks/ok"))
        .header("content-type", "application/json")
        .body(r#"{"n":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(count(&r.store().await), 0, "a delivered call is not stored");
    let down = c.post(r.url("/hooks/down")).body(r#"{"n":2}"#).send().await.unwrap();
    assert_eq!(down.status(), 503, "the target's answer comes back");
    let store = r.store().await;
    let all = store.list(&Filter::default(), Order::NewestFirst, None, 10).unwrap();
    assert_eq!(all.len(), 1, "the failed call is in the queue");
    assert_eq!((all[0].status_code, all[0].next_attempt_at), (Some(503), None), "held for an operator");
    assert_eq!(store.payload(all[0].id).unwrap(), br#"{"n":2}"#);
    assert!(sim.received_count() >= 2);
    r.stop.send(true).unwrap();
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_finishes_the_call_in_progress() {
    let sim = targets(vec![TargetBehaviour::Slow { delay: Duration::from_millis(500) }]).await;
    let url = format!("{}/__sim/targets/{}", sim.base_url(), sim.org().webhooks[0].slug);
    let r = start(vec![("slow", hook(RelayMode::Proxy, &url, None))], |_| {}, false).await;
    let c = client();
    let call = tokio::spawn(c.post(r.url("/hooks/slow")).body("{}").send());
    // Stop once the target has the call in hand.
    tokio::time::timeout(Duration::from_secs(10), async {
        while sim.received_count() == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    r.stop.send(true).unwrap();
    let resp = call.await.unwrap().unwrap();
    assert_eq!(resp.status(), 200, "the call in progress was answered");
    let after = r.url("/hooks/slow");
    tokio::time::timeout(Duration::from_secs(10), r.served).await.unwrap().unwrap();
    assert!(c.post(after).body("{}").send().await.is_err(), "no new calls after the stop");
    sim.stop().await;
}
