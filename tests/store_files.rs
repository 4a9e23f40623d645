//! The database file: migrations from every earlier version, and files that are not ours,
//! corrupt, read-only or locked. None of them is ever overwritten.

mod common;

use std::io::{BufRead, Write};
use std::time::Duration;

use common::{entry, file_store};
use redrive::store::{Filter, Order, Selection, Store, StoreError, StoreOptions, holders, schema};

const T0: i64 = 1_800_000_000_000;

fn schema_of(path: &std::path::Path) -> Vec<(String, String, Option<String>)> {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut s = c.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").unwrap();
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
}

#[test]
fn migrates_from_an_empty_file_and_from_every_earlier_version() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.db");
    std::fs::write(&fresh, b"").unwrap();
    let s = Store::open(&fresh, StoreOptions::default()).unwrap();
    assert_eq!(s.schema_version().unwrap(), schema::VERSION);
    drop(s);
    let want = schema_of(&fresh);
    assert!(want.iter().any(|(_, n, _)| n == "entries"));

    for v in 0..schema::VERSION {
        let path = dir.path().join(format!("v{v}.db"));
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            for sql in &schema::MIGRATIONS[..v as usize] {
                c.execute_batch(sql).unwrap();
            }
            c.pragma_update(None, "user_version", v).unwrap();
            if v >= 1 {
                // Columns every version since v1 has.
                c.execute(
                    "INSERT INTO entries (source_id, webhook_id, source_kind, state, failed_at, payload_size, \
                     created_at, updated_at, payload) VALUES ('old', 'w', 'genesys', 'dead', 1, 2, 1, 1, x'7b7d')",
                    [],
                )
                .unwrap();
            }
        }
        let s = Store::open(&path, StoreOptions::default()).unwrap();
        assert_eq!(s.schema_version().unwrap(), schema::VERSION, "from v{v}");
        if v >= 1 {
            let rows = s.list(&Filter::default(), Order::NewestFirst, None, 10).unwrap();
            assert_eq!(rows.len(), 1, "row kept from v{v}");
            assert_eq!(s.payload(rows[0].id).unwrap(), b"{}");
        }
        drop(s);
        assert_eq!(schema_of(&path), want, "schema after migrating from v{v} equals a fresh one");
    }
}

#[test]
fn newer_schema_is_refused_untouched() {
    let (_d, path, s) = file_store();
    drop(s);
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", schema::VERSION + 1)
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = Store::open(&path, StoreOptions::default()).err().expect("refused");
    assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_file_that_is_not_sqlite_is_never_touched() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in
        [("notes.txt", &b"meeting notes: call the vendor about the outage\n"[..]), ("tiny", b"SQLite")]
    {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = Store::open(&path, StoreOptions::default()).err().expect("refused");
        assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()) && msg.contains("untouched"), "{msg}");
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }
    let err = Store::open(dir.path(), StoreOptions::default()).err().expect("a directory is refused");
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
}

#[test]
fn a_corrupt_database_says_so_and_is_left_as_it_was() {
    let (_d, path, mut s) = file_store();
    let batch: Vec<_> = (0..3000).map(|i| entry(&format!("src-{i}"), "w", Some(503), T0 + i)).collect();
    s.insert_batch(&batch, T0).unwrap();
    drop(s); // checkpoints the WAL into the file
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 40 * 4096, "several pages to damage");
    for b in &mut bytes[4096 * 2..4096 * 40] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();

    let result = Store::open(&path, StoreOptions::default()).and_then(|s| {
        s.count(&Filter { search: Some("src-2999".into()), ..Default::default() })?;
        s.list(&Filter::default(), Order::OldestFirst, None, 5000).map(|_| ())
    });
    let err = result.expect_err("corruption is reported");
    assert!(matches!(err, StoreError::Corrupt { .. } | StoreError::NotADatabase { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "file unchanged");
}

#[test]
fn a_read_only_database_serves_reads_and_says_why_writes_fail() {
    let (_d, path, mut s) = file_store();
    s.insert_batch(&[entry("a", "w", Some(503), T0)], T0).unwrap();
    drop(s);
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&path, perms).unwrap();
    let before = std::fs::read(&path).unwrap();

    let mut s = Store::open(&path, StoreOptions::default()).unwrap();
    assert!(s.read_only_reason().unwrap().contains("write permission"));
    assert_eq!(s.list(&Filter::default(), Order::NewestFirst, None, 10).unwrap().len(), 1);
    assert_eq!(s.stats().unwrap().total, 1);
    let err = s.discard(&Selection::Ids(vec![1]), "op", T0).unwrap_err();
    assert!(err.is_read_only(), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("read-only") && msg.contains(&path.display().to_string()) && msg.contains("list"),
        "{msg}"
    );
    drop(s);
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // Asked for explicitly, on a writable file, too.
    let (_d2, path2, s2) = file_store();
    drop(s2);
    let mut s = Store::open(&path2, StoreOptions { read_only: true, ..Default::default() }).unwrap();
    assert!(s.insert_batch(&[entry("b", "w", None, T0)], T0).unwrap_err().is_read_only());
}

#[test]
fn a_locked_database_waits_then_names_the_file() {
    let (_d, path, mut s) = file_store();
    s.insert_batch(&[entry("a", "w", Some(503), T0)], T0).unwrap();
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut waiting =
        Store::open(&path, StoreOptions { busy_timeout: Duration::from_millis(150), ..Default::default() })
            .unwrap();
    let started = std::time::Instant::now();
    let err = waiting.discard(&Selection::Ids(vec![1]), "op", T0).unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(150), "waited the busy timeout first");
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("locked") && msg.contains(&path.display().to_string()), "{msg}");
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(
        waiting.discard(&Selection::Ids(vec![1]), "op", T0).unwrap().changed,
        1,
        "works once released"
    );
}

#[test]
fn finds_the_process_holding_the_file() {
    let (_d, path, s) = file_store();
    drop(s);
    let mut child = std::process::Command::new("sh")
        .args(["-c", "exec 3<\"$1\"; echo ready; read _", "sh"])
        .arg(&path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    let found = holders::find(&path);
    assert!(found.iter().any(|(pid, _)| *pid == child.id()), "{found:?}");
    assert!(holders::describe(&path).contains(&format!("pid {}", child.id())));
    writeln!(child.stdin.take().unwrap()).unwrap();
    child.wait().unwrap();
}
