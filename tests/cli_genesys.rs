//! `redrive poll`, `doctor` and `sim` as processes, against a simulator on 127.0.0.1.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use redrive::sim::{OrgSpec, SimConfig, SimHandle};

fn org(failures: usize) -> OrgSpec {
    OrgSpec { seed: 3, webhooks: 4, failures, successes: 20, burst: 0, spread_ms: 3_600_000 }
}

/// Run the binary pointed at `sim` with a database in `dir`.
async fn redrive(sim: &SimHandle, dir: &std::path::Path, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_redrive"));
    c.args(args)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("REDRIVE_DB", dir.join("r.db"))
        .env("GENESYS_API_BASE", sim.base_url())
        .env("GENESYS_LOGIN_BASE", sim.base_url())
        .env("GENESYS_CLIENT_ID", sim.client_id())
        .env("GENESYS_CLIENT_SECRET", sim.client_secret())
        .stdin(Stdio::null());
    tokio::task::spawn_blocking(move || c.output().unwrap()).await.unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_prints_a_summary_and_stores_each_failure_once() {
    let sim = SimHandle::start(SimConfig { org: org(120), ..Default::default() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = redrive(&sim, dir.path(), &["poll", "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["failures_found"].as_u64(), v["new"].as_u64()), (Some(120), Some(120)), "{v}");
    let out = redrive(&sim, dir.path(), &["poll"]).await;
    let said = text(&out.stdout);
    assert!(said.contains("new entries     0") && said.contains("API calls"), "{said}");
    let out = redrive(&sim, dir.path(), &["list", "--json", "--limit", "500"]).await;
    assert_eq!(text(&out.stdout).lines().count(), 120);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_without_credentials_says_what_to_set() {
    let sim = SimHandle::start(SimConfig { org: org(1), ..Default::default() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_redrive"));
    c.args(["poll"])
        .env("HOME", dir.path())
        .env("REDRIVE_DB", dir.path().join("r.db"))
        .env_remove("GENESYS_CLIENT_ID")
        .env_remove("GENESYS_CLIENT_SECRET");
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("GENESYS_CLIENT_ID"), "{}", text(&out.stderr));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_on_a_healthy_org() {
    let sim = SimHandle::start(SimConfig { org: org(1), ..Default::default() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = redrive(&sim, dir.path(), &["doctor"]).await;
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert_eq!(said.lines().filter(|l| l.starts_with('✓')).count(), 12, "{said}");
    assert!(!said.contains(sim.client_secret()));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_names_a_missing_permission_and_disabled_execution_data() {
    let cfg = SimConfig {
        org: org(1),
        execution_data: false,
        deny: vec!["integrations:action:execute".into()],
        ..Default::default()
    };
    let sim = SimHandle::start(cfg).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = redrive(&sim, dir.path(), &["doctor"]).await;
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let failed: Vec<&str> = said.lines().filter(|l| l.starts_with('✗')).collect();
    assert_eq!(failed.len(), 2, "{said}");
    assert!(failed[0].contains("integrations:action:execute") && failed[0].contains("missing"), "{said}");
    assert!(failed[1].contains("execution data") && failed[1].contains("disabled"), "{said}");
    assert!(said.contains("fix: enable historical execution data"), "{said}");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_with_a_wrong_secret_fails_at_the_token() {
    let sim = SimHandle::start(SimConfig { org: org(1), ..Default::default() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_redrive"));
    c.args(["doctor"])
        .env("HOME", dir.path())
        .env("REDRIVE_DB", dir.path().join("r.db"))
        .env("GENESYS_API_BASE", sim.base_url())
        .env("GENESYS_LOGIN_BASE", sim.base_url())
        .env("GENESYS_CLIENT_ID", sim.client_id())
        .env("GENESYS_CLIENT_SECRET", "not-the-secret");
    let out = tokio::task::spawn_blocking(move || c.output().unwrap()).await.unwrap();
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(said.lines().any(|l| l.starts_with("✗ token") && l.contains("invalid_client")), "{said}");
    assert!(!said.contains("not-the-secret"));
    sim.stop().await;
}

#[test]
fn sim_prints_its_address_and_the_exports_then_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_redrive"))
        .args(["sim", "--failures", "5", "--seed", "9"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first.rsplit(' ').next().unwrap().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");
    let exports: Vec<String> = (0..4).map(|_| lines.next().unwrap().unwrap()).collect();
    assert_eq!(exports[0], format!("export GENESYS_API_BASE={base}"));
    assert_eq!(exports[1], format!("export GENESYS_LOGIN_BASE={base}"));
    assert!(exports[2].starts_with("export GENESYS_CLIENT_ID="));
    assert!(exports[3].starts_with("export GENESYS_CLIENT_SECRET="));
    // It answers while running.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        redrive::genesys::client::http_client(Duration::from_secs(5))
            .get(format!("{base}/__sim/stats"))
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status.unwrap(), 200);
}
