//! Nothing lost under chaos: 2,000 entries to targets that fail 30% of calls (5xx, 429 with
//! Retry-After, timeouts, resets), drained by the real `redrive worker` process, which is
//! killed with SIGKILL three times and restarted.

mod common;

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use redrive::sim::{OrgSpec, SimConfig, SimHandle, TargetBehaviour};
use redrive::store::{EntryState, Filter, NewEntry, Store, StoreOptions};
use redrive::time::now_ms;

const ENTRIES: usize = 2000;
const CONCURRENCY: usize = 32; // the worker's global limit

fn spawn_worker(dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_redrive"))
        .args(["--db", dir.join("r.db").to_str().unwrap()])
        .args(["--config", dir.join("config.toml").to_str().unwrap()])
        .args(["--log-file", dir.join("redrive.log").to_str().unwrap()])
        .args(["worker", "--no-poll"])
        .env("HOME", dir)
        .env_remove("GENESYS_CLIENT_ID")
        .env_remove("GENESYS_CLIENT_SECRET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn count(store: &Store, state: EntryState) -> u64 {
    store.count(&Filter { states: vec![state], ..Default::default() }).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_when_the_worker_is_killed_during_the_drain() {
    let hang = Duration::from_millis(800);
    let cfg = SimConfig {
        org: OrgSpec { seed: 21, webhooks: 2, failures: 0, successes: 0, burst: 0, spread_ms: 3_600_000 },
        targets: vec![
            TargetBehaviour::Chaos { share: 0.3, hang },
            TargetBehaviour::Chaos { share: 0.3, hang },
        ],
        ..Default::default()
    };
    let sim = SimHandle::start(cfg).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let slugs: Vec<String> = sim.org().webhooks.iter().map(|w| w.slug.clone()).collect();
    let mut config = format!(
        "[retry]\nbase = \"20ms\"\ncap = \"300ms\"\nmax_attempts = 30\ntimeout = \"250ms\"\n\
         concurrency = {CONCURRENCY}\nper_target_concurrency = 16\nbreaker_threshold = 1000\nlease = \"1s\"\n"
    );
    for s in &slugs {
        config.push_str(&format!(
            "[webhooks.{s}]\nmode = \"direct\"\nurl = \"{}/__sim/targets/{s}\"\n",
            sim.base_url()
        ));
    }
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    let store = Store::open(dir.path().join("r.db"), StoreOptions::default()).unwrap();
    let now = now_ms();
    let batch: Vec<NewEntry> =
        (0..ENTRIES).map(|i| common::due(&format!("chaos-{i}"), &slugs[i % 2], i, now)).collect();
    let mut store = store;
    let ids = store.insert_batch(&batch, now).unwrap().inserted;
    assert_eq!(ids.len(), ENTRIES);

    // Kill the worker three times while it drains.
    let mut cut_off = 0u64;
    for (round, threshold) in [300usize, 900, 1500].into_iter().enumerate() {
        let mut worker = spawn_worker(dir.path());
        assert!(sim.wait_received(threshold, Duration::from_secs(60)).await, "round {round}: no progress");
        worker.kill().unwrap(); // SIGKILL
        worker.wait().unwrap();
        let in_flight = count(&store, EntryState::InFlight);
        cut_off += in_flight;
        eprintln!(
            "killed worker {round} at {} target requests, {in_flight} entries left in flight",
            sim.received_count()
        );
    }
    // Restart and let it finish.
    let mut worker = spawn_worker(dir.path());
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let seen = sim.received_count();
        let open = count(&store, EntryState::Pending) + count(&store, EntryState::InFlight);
        if open == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{open} entries still open");
        // Wait for the next request (or half a second) before looking again.
        sim.wait_received(seen + 1, Duration::from_millis(500)).await;
    }
    // SIGTERM: a graceful stop.
    unsafe { libc::kill(worker.id() as i32, libc::SIGTERM) };
    let status = worker.wait().unwrap();
    assert!(status.success(), "{status:?}");

    let delivered = count(&store, EntryState::Delivered);
    let dead = count(&store, EntryState::Dead);
    assert_eq!(delivered + dead, ENTRIES as u64, "every entry is delivered or dead");
    assert_eq!(count(&store, EntryState::InFlight), 0, "none stuck in flight");

    let received = sim.received();
    let mut ok_by_key: HashMap<String, usize> = HashMap::new();
    for r in received.iter().filter(|r| (200..300).contains(&r.status)) {
        *ok_by_key.entry(r.idempotency_key.clone().unwrap()).or_default() += 1;
    }
    let rows =
        store.list(&Filter::default(), redrive::store::Order::OldestFirst, None, ENTRIES + 10).unwrap();
    let mut lost = Vec::new();
    for e in &rows {
        if e.state == EntryState::Delivered && !ok_by_key.contains_key(&e.id.to_string()) {
            lost.push(e.id);
        }
        assert!(!store.attempts(e.id).unwrap().is_empty(), "entry {} has its attempts recorded", e.id);
    }
    assert!(lost.is_empty(), "delivered but never received: {lost:?}");
    let duplicates: usize = ok_by_key.values().map(|n| n - 1).sum();
    // A call that hung past the client's timeout was processed by the target but not seen as
    // delivered: it is retried and counted again. The rest are calls cut off by the kills.
    let hung = received.iter().filter(|r| r.status == 200 && r.delay_ms >= 250).count();
    let ids: HashSet<String> = ok_by_key.keys().cloned().collect();
    eprintln!(
        "{} requests, {} entries delivered ({} keys), {dead} dead, {duplicates} duplicate deliveries \
         (bound: {hung} calls that outlived the client's timeout + {cut_off} leases open at the kills)",
        received.len(),
        delivered,
        ids.len(),
    );
    assert!(duplicates as u64 <= hung as u64 + cut_off, "{duplicates} duplicates");
    sim.stop().await;
}
