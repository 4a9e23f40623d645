//! The `redrive` binary as an operator or a script uses it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::entry;
use redrive::store::*;

const T0: i64 = 1_700_000_000_000; // November 2023: in the past, so prune can find it

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env { dir: tempfile::tempdir().unwrap() }
    }
    fn db(&self) -> PathBuf {
        self.dir.path().join("redrive.db")
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_redrive"));
        let home = self.dir.path();
        c.args(args)
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_STATE_HOME", home.join("state"))
            .env("REDRIVE_DB", self.db())
            .env("USER", "tester")
            .env_remove("GENESYS_REGION")
            .env_remove("GENESYS_CLIENT_ID")
            .env_remove("GENESYS_CLIENT_SECRET")
            .stdin(Stdio::null());
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }
    fn store(&self) -> Store {
        Store::open(self.db(), StoreOptions::default()).unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

/// A store with every kind of thing an export must carry.
fn fill(store: &mut Store) {
    let mut binary = entry("bin", "orders", Some(502), T0);
    binary.payload = vec![0, 159, 146, 150, 255, b'\n'];
    binary.content_type = Some("application/octet-stream".into());
    let mut unicode = entry("uni", "billing", Some(500), T0 + 1);
    unicode.payload = "{\"name\":\"Zoë ✓ \\u001b[2J\",\"note\":\"line1\\nline2\"}".as_bytes().to_vec();
    unicode.error = Some("Gateway said: \u{1b}]52;c;ZXZpbA==\u{7} ünïcode".into());
    unicode.execution_data = Some(br#"{"flow":{"execution":[]}}"#.to_vec());
    let mut held = entry("held", "orders", None, T0 + 2);
    held.next_attempt_at = None;
    let mut unavailable = entry("gone", "orders", Some(503), T0 + 3);
    unavailable.payload_unavailable = Some("execution data disabled".into());
    let ids = store
        .insert_batch(&[binary, unicode, held, unavailable, entry("plain", "orders", Some(429), T0 + 4)], T0)
        .unwrap()
        .inserted;
    store.claim_due("w1", T0 + 10, std::time::Duration::from_secs(30), 1, &ClaimFilter::default()).unwrap();
    let attempt = Attempt {
        attempt: 0,
        started_at: T0 + 11,
        duration_ms: 250,
        status_code: Some(503),
        class: AttemptClass::Retryable,
        error: Some("503 from target".into()),
        response_snippet: Some("<html>busy</html>".into()),
    };
    store
        .record_outcomes(
            "w1",
            &[Outcome { id: ids[0], attempt, disposition: Disposition::RetryAt(T0 + 5000) }],
            T0 + 12,
        )
        .unwrap();
    store.claim_due("w1", T0 + 20, std::time::Duration::from_secs(30), 1, &ClaimFilter::default()).unwrap(); // one left in flight
    store.discard(&Selection::Ids(vec![ids[4]]), "alice", T0 + 30).unwrap();
}

#[test]
fn export_import_export_is_byte_identical() {
    let a = Env::new();
    fill(&mut a.store());
    let first = a.path("first.jsonl");
    let out = a.run(&["export", "--out", first.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let exported = std::fs::read_to_string(&first).unwrap();
    assert_eq!(exported.lines().count(), 5);
    assert!(exported.contains("\"payload_encoding\":\"base64\""));
    assert!(exported.contains("\"execution_data\":\"{\\\"flow\\\""), "{exported}");
    assert!(!a.path("first.jsonl.partial").exists());

    let b = Env::new();
    let out = b.run(&["import", first.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("imported 5 new entries, 0 duplicates skipped, 0 lines rejected"));
    let second = b.run(&["export"]);
    assert_eq!(code(&second), 0);
    assert_eq!(text(&second.stdout), exported, "round trip is exact");

    // Importing again stores nothing new.
    let again = b.run(&["import", first.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!((v["inserted"].as_u64(), v["duplicates"].as_u64()), (Some(0), Some(5)));
}

#[test]
fn import_rejects_bad_lines_by_number_and_keeps_the_rest() {
    let e = Env::new();
    let file = e.path("in.jsonl");
    std::fs::write(
        &file,
        "{\"source_id\":\"1\",\"webhook_id\":\"w\",\"payload\":\"a\"}\n\
         this is not json\n\
         \n\
         {\"source_id\":\"2\",\"webhook_id\":\"w\",\"payload\":\"b\",\"state\":\"lost\"}\n\
         {\"source_id\":\"3\",\"webhook_id\":\"w\",\"payload\":\"c\",\"failed_at\":\"2026-12-04T10:00:00Z\"}\n",
    )
    .unwrap();
    let out = e.run(&["import", file.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "rejected lines make the run fail");
    let err = text(&out.stderr);
    assert!(
        err.contains("line 2: rejected") && err.contains("line 4: rejected") && err.contains("lost"),
        "{err}"
    );
    assert!(text(&out.stdout).contains("imported 2 new entries, 0 duplicates skipped, 2 lines rejected"));
    assert_eq!(e.store().count(&Filter::default()).unwrap(), 2);
}

#[test]
fn list_show_and_stats_print_tables_json_and_never_escape_sequences() {
    let e = Env::new();
    fill(&mut e.store());
    let out = e.run(&["list"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.starts_with("ID  STATE"), "{table}");
    assert_eq!(table.lines().count(), 6);
    assert!(table.contains("held"));
    assert!(!table.contains('\u{1b}') && !table.contains('\u{7}'), "{table:?}");

    let out = e.run(&["list", "--state", "discarded", "--json"]);
    let lines: Vec<serde_json::Value> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["source_id"], "plain");
    assert!(lines[0].get("payload").is_none(), "list --json leaves payloads out");

    let out = e.run(&["list", "--limit", "2"]);
    assert_eq!(text(&out.stdout).lines().count(), 3);
    assert!(
        text(&out.stderr).contains("2 shown of 5 matching (everything); next page: --after 4"),
        "{}",
        text(&out.stderr)
    );
    let out = e.run(&["list", "--after", "4"]);
    assert_eq!(text(&out.stdout).lines().count(), 4);

    let out = e.run(&["show", "2"]);
    assert_eq!(code(&out), 0);
    let shown = text(&out.stdout);
    assert!(shown.contains("\"name\": \"Zoë ✓"), "pretty JSON payload: {shown}");
    assert!(!shown.contains('\u{1b}') && !shown.contains('\u{7}'), "{shown:?}");
    let out = e.run(&["show", "1"]);
    let shown = text(&out.stdout);
    assert!(
        shown.contains("#1") && shown.contains("retryable") && shown.contains("<html>busy</html>"),
        "{shown}"
    );
    let out = e.run(&["show", "1", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["history"][0]["status_code"], 503);
    // By source id too (what the relay answers with).
    let out = e.run(&["show", "plain", "--json"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["source_id"], "plain");
    let out = e.run(&["show", "relay:nope"]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("no entry has the id or source id \"relay:nope\""),
        "{}",
        text(&out.stderr)
    );

    let out = e.run(&["stats", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"], 5);
    assert_eq!(v["by_state"]["discarded"], 1);
    assert_eq!(v["by_webhook"]["orders"]["total"], 4);
    assert!(text(&e.run(&["stats"]).stdout).contains("FAILURE STATUS"));
}

#[test]
fn exit_codes_say_success_failure_or_usage() {
    let e = Env::new();
    fill(&mut e.store());
    assert_eq!(code(&e.run(&["list"])), 0);
    assert_eq!(code(&e.run(&["show", "999"])), 1);
    assert!(text(&e.run(&["show", "999"]).stderr).contains("no entry with id 999"));
    for bad in [
        &["list", "--status", "7xx"][..],
        &["list", "--since", "yesterday"],
        &["list", "--state", "lost"],
        &["frobnicate"],
        &["show"],
    ] {
        let out = e.run(bad);
        assert_eq!(code(&out), 2, "{bad:?}: {}", text(&out.stderr));
    }
    let out = e.cmd(&["list"]).env("GENESYS_REGION", "atlantis").output().unwrap();
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).contains("eu_west_1") && text(&out.stderr).contains("mypurecloud.ie"));
    let cfg = e.path("bad.toml");
    std::fs::write(&cfg, "[store]\nbusy_timeout = 5\n").unwrap();
    let out = e.run(&["--config", cfg.to_str().unwrap(), "list"]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("line 2") && text(&out.stderr).contains("store.busy_timeout"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn discard_confirms_counts_and_audits() {
    let e = Env::new();
    fill(&mut e.store());
    let out = e.run(&["discard"]);
    assert_eq!(code(&out), 2, "no selection is a usage error");
    let out = e.run(&["discard", "--webhook", "orders", "--dry-run"]);
    assert_eq!(code(&out), 0);
    let said = text(&out.stdout);
    assert!(said.contains("would discard 3 of 4 matching entries (webhook:orders)"), "{said}");
    assert!(said.contains("skipped 1: already discarded"), "{said}");
    let out = e.run(&["discard", "--webhook", "orders"]);
    assert_eq!(code(&out), 2, "off a terminal, --yes is required");
    assert!(text(&out.stderr).contains("--yes"));
    assert_eq!(e.store().audit_log(10).unwrap().len(), 1, "nothing changed");

    let out = e.run(&["discard", "--webhook", "orders", "--yes", "--json", "--operator", "carol"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["changed"], 3);
    let log = e.store().audit_log(1).unwrap();
    assert_eq!((log[0].operator.as_str(), log[0].action.as_str(), log[0].count), ("carol", "discard", 3));
    assert_eq!(log[0].filter.as_deref(), Some("webhook:orders"));

    // The billing entry is in flight: left alone, and said why.
    let out = e.run(&["discard", "2", "--yes"]);
    let said = text(&out.stdout);
    assert!(said.contains("discarded 0 of 1") && said.contains("in flight"), "{said}");
    let out = e.run(&["discard", "--all", "--yes"]);
    assert_eq!(code(&out), 0);
    assert_eq!(e.store().audit_log(1).unwrap()[0].operator, "carol", "nothing left to discard, no audit row");
    assert_eq!(code(&e.run(&["discard", "--all", "--state", "dead"])), 2);
}

#[test]
fn csv_export_has_no_payload_unless_asked() {
    let e = Env::new();
    fill(&mut e.store());
    let out = e.run(&["export", "--format", "csv", "--state", "pending"]);
    let csv = text(&out.stdout);
    let mut lines = csv.lines();
    assert!(!lines.next().unwrap().contains("payload,"));
    assert_eq!(csv.lines().count(), 1 + 3);
    let out = e.run(&["export", "--format", "csv", "--with-payload", "--limit", "1"]);
    let csv = text(&out.stdout);
    assert!(csv.lines().next().unwrap().ends_with("payload,payload_encoding"));
    assert!(csv.contains("base64"), "{csv}");
}

#[test]
fn bad_database_files_are_named_and_kept() {
    let e = Env::new();
    let out = e.run(&["list"]);
    assert_eq!(code(&out), 1);
    assert!(text(&out.stderr).contains("no database at"), "{}", text(&out.stderr));
    assert!(!e.db().exists(), "a read command does not create a database");

    std::fs::write(e.db(), "not a database at all, but somebody's notes").unwrap();
    let out = e.run(&["import", "/dev/null"]);
    assert_eq!(code(&out), 1);
    let err = text(&out.stderr);
    assert!(err.contains(&e.db().display().to_string()) && err.contains("not a redrive database"), "{err}");
    assert_eq!(std::fs::read_to_string(e.db()).unwrap(), "not a database at all, but somebody's notes");
}

#[test]
fn read_only_database_lists_but_refuses_changes_with_a_reason() {
    let e = Env::new();
    fill(&mut e.store());
    let mut p = std::fs::metadata(e.db()).unwrap().permissions();
    p.set_readonly(true);
    std::fs::set_permissions(e.db(), p).unwrap();
    assert_eq!(code(&e.run(&["list"])), 0);
    assert_eq!(code(&e.run(&["export"])), 0);
    let out = e.run(&["discard", "1", "--yes"]);
    assert_eq!(code(&out), 1);
    assert!(text(&out.stderr).contains("read-only"), "{}", text(&out.stderr));
}

#[test]
fn prune_dry_run_then_prune() {
    let e = Env::new();
    fill(&mut e.store());
    // The discarded entry was changed at T0 + 30, long ago relative to now.
    let out = e.run(&["prune", "--older-than", "1d", "--dry-run"]);
    assert!(text(&out.stdout).contains("would remove 1 "), "{}", text(&out.stdout));
    let out = e.run(&["prune", "--older-than", "1d", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["removed"], 1);
    assert_eq!(e.store().count(&Filter::default()).unwrap(), 4);
    assert_eq!(code(&e.run(&["prune", "--older-than", "soon"])), 2);
}

#[test]
fn help_lists_every_command() {
    let e = Env::new();
    let out = e.run(&["--help"]);
    let help = text(&out.stdout);
    for cmd in [
        "tui", "list", "show", "stats", "discard", "export", "import", "prune", "poll", "retry", "worker",
        "demo", "sim", "doctor", "relay",
    ] {
        assert!(help.contains(&format!("  {cmd} ")), "{cmd} missing from --help");
    }
    let out = e.run(&["discard", "--help"]);
    assert!(text(&out.stdout).contains("--dry-run") && text(&out.stdout).contains("--since"));
    let _ = Path::new("");
}
