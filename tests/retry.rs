//! The retry engine against simulated targets on 127.0.0.1: delivery with stable headers,
//! the circuit breaker, 410, permanent 4xx, Retry-After, and two workers sharing a database.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use redrive::config::{ReplayMode, RetryConfig, Secret, WebhookConfig};
use redrive::retry::sender::Sender;
use redrive::sim::{OrgSpec, SimConfig, SimHandle, TargetBehaviour};
use redrive::store::{EntryState, Filter, NewEntry, Store, StoreOptions};
use redrive::time::now_ms;
use redrive::worker::engine::{Engine, EngineConfig, Event, RunMode, RunReport};
use redrive::worker::routes::Routes;
use tokio::sync::watch;

struct World {
    sim: SimHandle,
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    /// webhook slug -> config
    hooks: BTreeMap<String, WebhookConfig>,
}

async fn world(targets: Vec<TargetBehaviour>) -> World {
    let n = targets.len();
    let cfg = SimConfig {
        org: OrgSpec { seed: 11, webhooks: n, failures: 0, successes: 0, burst: 0, spread_ms: 3_600_000 },
        targets,
        ..Default::default()
    };
    let sim = SimHandle::start(cfg).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let hooks = sim
        .org()
        .webhooks
        .iter()
        .map(|w| {
            let cfg = WebhookConfig {
                mode: Some(ReplayMode::Direct),
                url: Some(format!("{}/__sim/targets/{}", sim.base_url(), w.slug)),
                ..Default::default()
            };
            (w.slug.clone(), cfg)
        })
        .collect();
    World { sim, _dir: dir, db, hooks }
}

impl World {
    fn slug(&self, i: usize) -> String {
        self.sim.org().webhooks[i].slug.clone()
    }
    fn store(&self) -> Store {
        Store::open(&self.db, StoreOptions::default()).unwrap()
    }
    fn fill(&self, slug: &str, n: usize, prefix: &str) -> Vec<i64> {
        let now = now_ms();
        let batch: Vec<NewEntry> =
            (0..n).map(|i| common::due(&format!("{prefix}-{i}"), slug, i, now)).collect();
        self.store().insert_batch(&batch, now).unwrap().inserted
    }
    fn engine(&self, retry: RetryConfig) -> Engine {
        let sender = Arc::new(Sender::new(retry.timeout, None));
        let routes = Routes::new(&retry, self.hooks.clone(), false);
        Engine::new(self.store(), EngineConfig::new(retry), sender, routes)
    }
}

fn fast() -> RetryConfig {
    RetryConfig {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(200),
        max_attempts: 8,
        timeout: Duration::from_millis(800),
        concurrency: 16,
        per_target_concurrency: 8,
        per_target_rate: None,
        breaker_threshold: 3,
        breaker_cooldown: Duration::from_millis(300),
        lease: Duration::from_secs(5),
    }
}

/// Run until `done(delivered + dead so far)` or the timeout.
async fn run_until(engine: &mut Engine, total: u64, limit: Duration) -> RunReport {
    let (tx, rx) = watch::channel(false);
    let run = engine.run(RunMode::Forever, rx, move |e| {
        if let Event::Progress(p) = e {
            if p.delivered + p.dead >= total {
                let _ = tx.send(true);
            }
        }
    });
    tokio::time::timeout(limit, run).await.expect("finished in time").unwrap()
}

fn count(store: &Store, state: EntryState) -> u64 {
    store.count(&Filter { states: vec![state], ..Default::default() }).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_everything_with_stable_idempotency_headers_and_a_signature() {
    let mut w = world(vec![TargetBehaviour::Healthy]).await;
    let slug = w.slug(0);
    w.hooks.get_mut(&slug).unwrap().signing_secret =
        Some(Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    let ids = w.fill(&slug, 200, "ok");
    let mut e = w.engine(fast());
    let report = run_until(&mut e, 200, Duration::from_secs(30)).await;
    assert_eq!(report.progress.delivered, 200);
    let store = w.store();
    assert_eq!(count(&store, EntryState::Delivered), 200);
    let got = w.sim.received();
    assert_eq!(got.len(), 200);
    let keys: std::collections::HashSet<String> =
        got.iter().filter_map(|r| r.idempotency_key.clone()).collect();
    let want: std::collections::HashSet<String> = ids.iter().map(|i| i.to_string()).collect();
    assert_eq!(keys, want, "Idempotency-Key is the entry id");
    for r in &got {
        assert_eq!(r.webhook_id, r.idempotency_key, "webhook-id matches");
        assert_eq!(r.attempt.as_deref(), Some("1"));
        assert!(r.signature.as_deref().is_some_and(|s| s.starts_with("v1,")), "{r:?}");
    }
    let attempts = store.attempts(ids[0]).unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].status_code, Some(200));
    w.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_target_trips_its_breaker_is_not_hammered_and_drains_when_back() {
    let w = world(vec![TargetBehaviour::Answer { status: 503 }]).await;
    let slug = w.slug(0);
    w.fill(&slug, 100, "down");
    let mut retry = fast();
    retry.max_attempts = 1000;
    retry.per_target_concurrency = 4;
    let mut e = w.engine(retry);
    let (tx, rx) = watch::channel(false);
    let sim = &w.sim;
    let mut opened_at: Option<usize> = None;
    let mut recovered = false;
    let run = e.run(RunMode::Forever, rx, |ev| match ev {
        Event::Breaker { state, .. }
            if state == redrive::retry::limiter::BreakerState::Open && opened_at.is_none() =>
        {
            opened_at = Some(sim.received_count());
        }
        Event::Progress(p) => {
            // Let the breaker cycle a few times, then bring the target back.
            if !recovered && sim.received_count() >= 12 {
                sim.set_target(&slug, TargetBehaviour::Healthy);
                recovered = true;
            }
            if p.delivered >= 100 {
                let _ = tx.send(true);
            }
        }
        _ => {}
    });
    let report = tokio::time::timeout(Duration::from_secs(60), run).await.expect("drained in time").unwrap();
    assert_eq!(report.progress.delivered, 100);
    let got = w.sim.received();
    let failed = got.iter().filter(|r| r.status == 503).count();
    let opened = opened_at.expect("the breaker opened");
    assert!(opened <= 3 + 4, "opened after the threshold plus what was in flight: {opened}");
    // While down, only probes went through: far fewer calls than entries.
    assert!(failed <= 16, "{failed} calls reached the down target");
    assert_eq!(got.iter().filter(|r| r.status == 200).count(), 100);
    w.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_kills_the_entry_and_pauses_the_webhook() {
    let w = world(vec![TargetBehaviour::Gone]).await;
    let slug = w.slug(0);
    w.fill(&slug, 5, "gone");
    let mut retry = fast();
    retry.per_target_concurrency = 1;
    let mut e = w.engine(retry);
    let (_tx, rx) = watch::channel(false);
    let report = tokio::time::timeout(Duration::from_secs(20), e.run(RunMode::Drain, rx, |_| {}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((report.progress.dead, report.progress.attempts), (1, 1));
    assert_eq!(w.sim.received().len(), 1, "nothing more is sent to a gone target");
    let store = w.store();
    let hook = store.webhooks().unwrap().into_iter().find(|h| h.id == slug).unwrap();
    assert!(hook.paused && hook.paused_reason.as_deref().unwrap().contains("410"), "{hook:?}");
    assert_eq!(count(&store, EntryState::Pending), 4, "the rest wait for an operator to resume it");
    w.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4xx_is_permanent_after_one_attempt() {
    let w = world(vec![TargetBehaviour::Answer { status: 422 }]).await;
    let slug = w.slug(0);
    let ids = w.fill(&slug, 3, "bad");
    let mut e = w.engine(fast());
    let report = run_until(&mut e, 3, Duration::from_secs(20)).await;
    assert_eq!((report.progress.dead, report.progress.attempts), (3, 3));
    let store = w.store();
    for id in ids {
        let a = store.attempts(id).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].class, redrive::store::AttemptClass::Permanent);
        assert_eq!(store.get(id).unwrap().state, EntryState::Dead);
    }
    w.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_a_lower_bound_on_the_next_attempt() {
    let w = world(vec![TargetBehaviour::Script { statuses: vec![429, 503], retry_after: 1 }]).await;
    let slug = w.slug(0);
    w.fill(&slug, 3, "ra");
    // A high breaker threshold, so only the Retry-After and the backoff set the gaps.
    let mut e = w.engine(RetryConfig { breaker_threshold: 100, ..fast() });
    let report = run_until(&mut e, 3, Duration::from_secs(30)).await;
    assert_eq!(report.progress.delivered, 3);
    let mut by_key: HashMap<String, Vec<i64>> = HashMap::new();
    for r in w.sim.received() {
        by_key.entry(r.idempotency_key.unwrap()).or_default().push(r.at);
    }
    for (key, times) in by_key {
        assert_eq!(times.len(), 3, "{key}: 429, 503, then 200");
        let after_429 = times[1] - times[0];
        let after_503 = times[2] - times[1];
        assert!(after_429 >= 1000, "{key}: the target asked for 1 s and saw {after_429} ms");
        assert!(after_503 < 1000, "{key}: without Retry-After the backoff is short ({after_503} ms)");
    }
    w.sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_database_never_send_an_entry_twice_at_once() {
    let delay = Duration::from_millis(60);
    let w = world(vec![TargetBehaviour::Slow { delay }]).await;
    let slug = w.slug(0);
    w.fill(&slug, 150, "two");
    let mut retry = fast();
    retry.per_target_concurrency = 16;
    let mut a = w.engine(retry.clone());
    let mut b = w.engine(retry);
    assert_ne!(a.owner(), b.owner());
    // Both run until the two together have delivered everything.
    let total = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (tx, rx) = watch::channel(false);
    let tx = Arc::new(tx);
    let watcher = |total: Arc<std::sync::atomic::AtomicU64>, tx: Arc<watch::Sender<bool>>| {
        let mut mine = 0u64;
        move |e: Event| {
            if let Event::Progress(p) = e {
                let before = total.fetch_add(p.delivered - mine, std::sync::atomic::Ordering::SeqCst);
                if before + p.delivered - mine >= 150 {
                    let _ = tx.send(true);
                }
                mine = p.delivered;
            }
        }
    };
    let (ra, rb) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(
            a.run(RunMode::Forever, rx.clone(), watcher(total.clone(), tx.clone())),
            b.run(RunMode::Forever, rx.clone(), watcher(total.clone(), tx.clone()))
        )
    })
    .await
    .expect("drained in time");
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert!(ra.progress.delivered > 0 && rb.progress.delivered > 0, "both workers took part");
    let store = w.store();
    assert_eq!(count(&store, EntryState::Delivered), 150);
    let mut by_key: HashMap<String, Vec<i64>> = HashMap::new();
    for r in w.sim.received() {
        by_key.entry(r.idempotency_key.unwrap()).or_default().push(r.at);
    }
    assert_eq!(by_key.len(), 150);
    for (key, mut times) in by_key {
        times.sort();
        for pair in times.windows(2) {
            assert!(
                pair[1] - pair[0] >= delay.as_millis() as i64,
                "{key} was in flight twice at once: {times:?}"
            );
        }
        assert_eq!(times.len(), 1, "{key} sent {} times", times.len());
    }
    w.sim.stop().await;
}

#[test]
fn an_idle_worker_waits_instead_of_spinning() {
    // Ten idle minutes on tokio's paused clock: time only moves on while every task waits, so
    // an engine that kept waking itself would never reach the stop and the channel would time
    // out.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt =
            tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
        let report = rt.block_on(async {
            let retry = RetryConfig { lease: Duration::from_secs(3), ..Default::default() };
            let sender = Arc::new(Sender::new(retry.timeout, None));
            let routes = Routes::new(&retry, BTreeMap::new(), false);
            let mut engine = Engine::new(common::mem(), EngineConfig::new(retry), sender, routes);
            let (stop_tx, stop_rx) = watch::channel(false);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(600)).await;
                let _ = stop_tx.send(true);
            });
            engine.run(RunMode::Forever, stop_rx, |_| {}).await.unwrap()
        });
        let _ = tx.send(report.turns);
    });
    let turns = rx.recv_timeout(Duration::from_secs(30)).expect("the idle engine let time pass");
    // It looks for work five times a second: about 3,000 turns in ten minutes, not millions.
    assert!(turns < 10_000, "{turns} turns in ten idle minutes");
}
