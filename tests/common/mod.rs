#![allow(dead_code)]

use redrive::store::{NewEntry, Store, StoreOptions};

pub fn entry(source_id: &str, webhook: &str, status: Option<u16>, failed_at: i64) -> NewEntry {
    NewEntry {
        source_id: source_id.into(),
        webhook_id: webhook.into(),
        source_kind: "genesys".into(),
        payload: format!("{{\"order\":\"{source_id}\"}}").into_bytes(),
        content_type: Some("application/json".into()),
        status_code: status,
        error: status.map(|s| format!("upstream answered {s}")),
        failed_at,
        payload_unavailable: None,
        next_attempt_at: Some(failed_at),
        execution_data: None,
    }
}

pub fn mem() -> Store {
    Store::open_in_memory(StoreOptions::default()).unwrap()
}

/// A store file in a fresh temporary directory.
pub fn file_store() -> (tempfile::TempDir, std::path::PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("redrive.db");
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    (dir, path, store)
}

/// A failure due now for `webhook` (what the retry tests and benchmarks queue).
pub fn due(source_id: &str, webhook: &str, n: usize, now: i64) -> NewEntry {
    let mut e = entry(source_id, webhook, Some(503), now);
    e.source_kind = "test".into();
    e.payload = format!("{{\"n\":{n}}}").into_bytes();
    e.error = None;
    e
}
