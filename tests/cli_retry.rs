//! `redrive retry` and `redrive worker --once` as processes: through Genesys after a poll,
//! and a Ctrl-C in the middle of a bulk job.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use redrive::sim::{OrgSpec, SimConfig, SimHandle, TargetBehaviour};
use redrive::store::{EntryState, Filter, Store, StoreOptions};

fn cmd(sim: &SimHandle, dir: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_redrive"));
    c.args(["--db", dir.join("r.db").to_str().unwrap(), "--log-file", dir.join("log").to_str().unwrap()])
        .args(args)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("GENESYS_API_BASE", sim.base_url())
        .env("GENESYS_LOGIN_BASE", sim.base_url())
        .env("GENESYS_CLIENT_ID", sim.client_id())
        .env("GENESYS_CLIENT_SECRET", sim.client_secret())
        .stdin(Stdio::null());
    c
}

async fn run(mut c: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || c.output().unwrap()).await.unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn count(dir: &std::path::Path, state: EntryState) -> u64 {
    let s = Store::open(dir.join("r.db"), StoreOptions::default()).unwrap();
    s.count(&Filter { states: vec![state], ..Default::default() }).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_then_retry_through_genesys_delivers_and_reports() {
    let cfg = SimConfig {
        org: OrgSpec { seed: 4, webhooks: 3, failures: 60, successes: 0, burst: 0, spread_ms: 3_600_000 },
        targets: vec![
            TargetBehaviour::Healthy,
            TargetBehaviour::Healthy,
            TargetBehaviour::Answer { status: 400 },
        ],
        ..Default::default()
    };
    let sim = SimHandle::start(cfg).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = run(cmd(&sim, dir.path(), &["poll", "--json"])).await;
    let polled: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let replayable = polled["new"].as_u64().unwrap() - polled["without_payload"].as_u64().unwrap();

    let out = run(cmd(&sim, dir.path(), &["retry", "--all"])).await;
    assert_eq!(out.status.code(), Some(2), "off a terminal, --yes is required");
    let out = run(cmd(&sim, dir.path(), &["retry", "--all", "--dry-run"])).await;
    assert!(text(&out.stdout).contains(&format!("would retry {replayable} of 60")), "{}", text(&out.stdout));

    let out = run(cmd(&sim, dir.path(), &["retry", "--all", "--yes", "--json"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (delivered, dead) = (r["delivered"].as_u64().unwrap(), r["dead"].as_u64().unwrap());
    assert_eq!(delivered + dead, replayable, "{r}");
    assert!(delivered > 0 && dead > 0, "the third webhook's target answers 400: {r}");
    assert_eq!(r["skipped"].as_u64(), Some(60 - replayable));
    // Through Genesys: every replay went via the execute endpoint and reached a target.
    let executes = sim.requests().iter().filter(|q| q.path.ends_with("/execute")).count() as u64;
    assert_eq!(executes, replayable);
    assert_eq!(sim.received().len() as u64, replayable);
    assert_eq!(count(dir.path(), EntryState::Delivered), delivered);

    // The audit log names the operator.
    let s = Store::open(dir.path().join("r.db"), StoreOptions::default()).unwrap();
    let audit = s.audit_log(1).unwrap();
    assert_eq!((audit[0].action.as_str(), audit[0].count), ("retry", replayable));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_claiming_finishes_in_flight_and_gives_leases_back() {
    let cfg = SimConfig {
        org: OrgSpec { seed: 8, webhooks: 1, failures: 40, successes: 0, burst: 0, spread_ms: 3_600_000 },
        targets: vec![TargetBehaviour::Slow { delay: Duration::from_millis(700) }],
        ..Default::default()
    };
    let sim = SimHandle::start(cfg).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.toml"), "[retry]\nper_target_concurrency = 2\ntimeout = \"5s\"\n")
        .unwrap();
    let out = run(cmd(&sim, dir.path(), &["poll"])).await;
    assert!(out.status.success());
    let mut c = cmd(
        &sim,
        dir.path(),
        &["--config", dir.path().join("c.toml").to_str().unwrap(), "retry", "--all", "--yes"],
    );
    let mut child = c.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    assert!(sim.wait_received(2, Duration::from_secs(30)).await);
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = tokio::task::spawn_blocking(move || {
        let mut said = String::new();
        child.stdout.take().unwrap().read_to_string(&mut said).unwrap();
        (child.wait().unwrap(), said)
    })
    .await
    .unwrap();
    let (status, said) = status;
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(said.contains("stopped") && said.contains("left"), "{said}");
    assert_eq!(count(dir.path(), EntryState::InFlight), 0, "leases given back");
    let delivered = count(dir.path(), EntryState::Delivered);
    assert!(delivered >= 2, "the calls in flight finished: {delivered}");
    assert!(count(dir.path(), EntryState::Pending) > 0, "the rest wait");
    assert_eq!(sim.received().len() as u64, delivered, "nothing was cut off half-way");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_once_polls_and_retries_what_is_due() {
    let cfg = SimConfig {
        org: OrgSpec { seed: 6, webhooks: 2, failures: 30, successes: 0, burst: 0, spread_ms: 3_600_000 },
        ..Default::default()
    };
    let sim = SimHandle::start(cfg).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = run(cmd(&sim, dir.path(), &["worker", "--once"])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let unavailable = {
        let s = Store::open(dir.path().join("r.db"), StoreOptions::default()).unwrap();
        s.list(&Filter::default(), redrive::store::Order::OldestFirst, None, 100)
            .unwrap()
            .iter()
            .filter(|e| e.payload_unavailable.is_some())
            .count() as u64
    };
    assert_eq!(count(dir.path(), EntryState::Delivered), 30 - unavailable, "{}", text(&out.stdout));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gone_target_pauses_its_webhook_until_an_operator_resumes_it() {
    let cfg = SimConfig {
        org: OrgSpec { seed: 12, webhooks: 1, failures: 10, successes: 0, burst: 0, spread_ms: 3_600_000 },
        targets: vec![TargetBehaviour::Gone],
        ..Default::default()
    };
    let sim = SimHandle::start(cfg).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.toml"), "[retry]\nper_target_concurrency = 1\n").unwrap();
    let conf = dir.path().join("c.toml");
    let conf = conf.to_str().unwrap();
    assert!(run(cmd(&sim, dir.path(), &["poll"])).await.status.success());
    let out = run(cmd(&sim, dir.path(), &["--config", conf, "retry", "--all", "--yes", "--json"])).await;
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["dead"], 1, "{r}");
    let out = run(cmd(&sim, dir.path(), &["webhooks", "--json"])).await;
    let hook: serde_json::Value = serde_json::from_str(text(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(hook["paused"], true);
    assert!(hook["paused_reason"].as_str().unwrap().contains("410"));
    assert_eq!(hook["route"], "genesys");
    let id = hook["id"].as_str().unwrap().to_string();

    assert_eq!(run(cmd(&sim, dir.path(), &["resume", "no-such-webhook"])).await.status.code(), Some(2));
    sim.set_target(&sim.org().webhooks[0].slug, TargetBehaviour::Healthy);
    let out = run(cmd(&sim, dir.path(), &["resume", &id, "--operator", "dana"])).await;
    assert!(text(&out.stdout).contains("resumed"), "{}", text(&out.stdout));
    let out =
        run(cmd(&sim, dir.path(), &["--config", conf, "retry", "--state", "pending", "--yes", "--json"]))
            .await;
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["delivered"].as_u64().unwrap() > 0 && r["not_attempted"] == 0, "{r}");
    let s = Store::open(dir.path().join("r.db"), StoreOptions::default()).unwrap();
    assert!(s.audit_log(10).unwrap().iter().any(|a| a.action == "resume_webhook" && a.operator == "dana"));
    sim.stop().await;
}
