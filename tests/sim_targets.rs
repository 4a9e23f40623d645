//! The simulator's targets behave as configured, record what they receive, and a data action
//! executed through the simulated API reaches its target and fails as Genesys reports it.

use std::sync::Arc;
use std::time::Duration;

use redrive::genesys::{Client, ClientOptions};
use redrive::sim::{OrgSpec, SimConfig, SimHandle, TargetBehaviour};
use serde_json::json;

async fn start(targets: Vec<TargetBehaviour>) -> (SimHandle, reqwest::Client) {
    let cfg = SimConfig {
        org: OrgSpec { seed: 5, webhooks: 6, failures: 5, successes: 0, burst: 0, spread_ms: 3_600_000 },
        targets,
        ..Default::default()
    };
    (SimHandle::start(cfg).await.unwrap(), redrive::genesys::client::http_client(Duration::from_secs(5)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_behaviour_answers_as_configured_and_is_recorded() {
    let (sim, http) = start(vec![
        TargetBehaviour::Healthy,
        TargetBehaviour::Failing { share: 1.0 },
        TargetBehaviour::DownFor { for_: Duration::from_secs(3600) },
        TargetBehaviour::Gone,
        TargetBehaviour::Reset { share: 1.0 },
        TargetBehaviour::Slow { delay: Duration::from_millis(300) },
    ])
    .await;
    let org = sim.org();
    let url = |i: usize| format!("{}/__sim/targets/{}", sim.base_url(), org.webhooks[i].slug);
    let send = |i: usize, key: &str| http.post(url(i)).header("idempotency-key", key).body("{}").send();

    assert_eq!(send(0, "k0").await.unwrap().status(), 200);
    assert_eq!(send(0, "k0").await.unwrap().status(), 200, "a duplicate");
    let failing = send(1, "k1").await.unwrap();
    assert!([500, 502, 503, 504, 429].contains(&failing.status().as_u16()));
    if failing.status() == 429 {
        assert_eq!(failing.headers()["retry-after"], "1");
    }
    assert_eq!(send(2, "k2").await.unwrap().status(), 503);
    assert_eq!(send(3, "k3").await.unwrap().status(), 410);
    assert!(send(4, "k4").await.is_err(), "the connection is dropped without an answer");
    let t = std::time::Instant::now();
    assert_eq!(send(5, "k5").await.unwrap().status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    let short = redrive::genesys::client::http_client(Duration::from_millis(100));
    assert!(short.post(url(5)).send().await.unwrap_err().is_timeout());

    let got = sim.received();
    assert_eq!(got.iter().filter(|r| r.idempotency_key.as_deref() == Some("k0")).count(), 2);
    let stats = sim.target_stats();
    let first = &stats[&org.webhooks[0].slug];
    assert_eq!((first.received, first.ok, first.delivered_keys, first.duplicates), (2, 2, 1, 1));
    assert_eq!(stats[&org.webhooks[3].slug].failed, 1);
    // Over HTTP too, as tests in other processes read it.
    let v: serde_json::Value =
        http.get(format!("{}/__sim/stats", sim.base_url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(v[&org.webhooks[0].slug]["duplicates"], 1);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_reaches_the_target_and_reports_a_remote_failure_as_genesys_does() {
    let (sim, _) = start(vec![TargetBehaviour::Healthy, TargetBehaviour::Gone]).await;
    let client = Arc::new(Client::new(ClientOptions::from_config(&sim.genesys_config()).unwrap()).unwrap());
    let org = sim.org();
    let ok = client.execute_action(&org.webhooks[0].action.id, &json!({"orderId": "A-1"})).await.unwrap();
    assert_eq!(ok["ok"], true);
    let err =
        client.execute_action(&org.webhooks[1].action.id, &json!({"orderId": "A-2"})).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    let body = err.body().unwrap();
    assert_eq!(body.detail_codes().collect::<Vec<_>>(), vec!["ACTION.REMOTE_ENDPOINT"]);
    assert!(body.summary().ends_with("[410]"), "{}", body.summary());
    let received = sim.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].target, org.webhooks[0].slug);
    sim.stop().await;
}
