//! The relay's inbox: a small SQLite file beside the store (`<db>.relay-inbox`) that a call is
//! committed to, with an fsync, before it is answered; a mover then carries what it holds into
//! the store in large batches and deletes it from the inbox.
//!
//! Why a second file: the inbox's commits never wait for the store's write lock (a worker's
//! outcomes, an operator's bulk retry or a prune of half a million entries), and a row in a table
//! with no secondary index costs less than half of an entry with its seven indexes, so a call is
//! on disk sooner. (Two inbox files with a writer each, so that one group's fsync overlaps the
//! next group's, were measured on 2 cores and took no more calls per second than one.) Moving is
//! idempotent (an entry's source id is unique in the store), so a crash
//! between the store's commit and the inbox's delete only moves the same rows again, harmlessly.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{NewEntry, Store, StoreError};
use crate::time::now_ms;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS inbox (
    seq               INTEGER PRIMARY KEY,
    source_id         TEXT NOT NULL,
    webhook_id        TEXT NOT NULL,
    source_kind       TEXT NOT NULL,
    status_code       INTEGER,
    error             TEXT,
    failed_at         INTEGER NOT NULL,
    next_attempt_at   INTEGER,
    content_type      TEXT,
    payload           BLOB NOT NULL,
    execution_data    BLOB
);";

pub struct Inbox {
    conn: Connection,
    path: PathBuf,
    busy: Duration,
}

type Result<T> = std::result::Result<T, StoreError>;

impl Inbox {
    /// Where the inbox of the store at `db` lives (`<db>.relay-inbox`).
    pub fn path_for(db: &Path) -> PathBuf {
        let mut name = db.as_os_str().to_owned();
        name.push(".relay-inbox");
        PathBuf::from(name)
    }

    /// Open (creating it if needed) the inbox at `path`: WAL, every commit fsynced.
    pub fn open(path: &Path, busy: Duration) -> Result<Inbox> {
        let conn = Connection::open(path).map_err(|e| StoreError::from_sqlite(path, e, busy))?;
        let inbox = Inbox { conn, path: path.to_path_buf(), busy };
        inbox.init()?;
        Ok(inbox)
    }

    fn init(&self) -> Result<()> {
        let c = &self.conn;
        c.busy_timeout(self.busy).map_err(|e| self.err(e))?;
        crate::store::stable_plans(c).map_err(|e| self.err(e))?;
        c.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(())).map_err(|e| self.err(e))?;
        c.pragma_update(None, "synchronous", "FULL").map_err(|e| self.err(e))?;
        c.execute_batch(SCHEMA).map_err(|e| self.err(e))
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::from_sqlite(&self.path, e, self.busy)
    }

    /// Commit `entries` in one transaction (one fsync).
    pub fn append(&mut self, entries: &[NewEntry]) -> Result<()> {
        let tx = self.conn.transaction().map_err(|e| StoreError::from_sqlite(&self.path, e, self.busy))?;
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO inbox (source_id, webhook_id, source_kind, status_code, error, failed_at, \
                     next_attempt_at, content_type, payload, execution_data) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(|e| StoreError::from_sqlite(&self.path, e, self.busy))?;
            for e in entries {
                debug_assert!(e.payload_unavailable.is_none(), "a relayed call always has its body");
                st.execute(params![
                    e.source_id,
                    e.webhook_id,
                    e.source_kind,
                    e.status_code,
                    e.error,
                    e.failed_at,
                    e.next_attempt_at,
                    e.content_type,
                    e.payload,
                    e.execution_data,
                ])
                .map_err(|e| StoreError::from_sqlite(&self.path, e, self.busy))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// The oldest `limit` calls, with their sequence numbers.
    pub fn oldest(&self, limit: usize) -> Result<Vec<(i64, NewEntry)>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT seq, source_id, webhook_id, source_kind, status_code, error, failed_at, \
                 next_attempt_at, content_type, payload, execution_data FROM inbox ORDER BY seq LIMIT ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([limit as i64], |r| {
                Ok((
                    r.get(0)?,
                    NewEntry {
                        source_id: r.get(1)?,
                        webhook_id: r.get(2)?,
                        source_kind: r.get(3)?,
                        status_code: r.get(4)?,
                        error: r.get(5)?,
                        failed_at: r.get(6)?,
                        next_attempt_at: r.get(7)?,
                        content_type: r.get(8)?,
                        payload: r.get(9)?,
                        payload_unavailable: None,
                        execution_data: r.get(10)?,
                    },
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// Delete every call up to and including `seq`.
    pub fn remove_through(&mut self, seq: i64) -> Result<usize> {
        self.conn.execute("DELETE FROM inbox WHERE seq <= ?1", [seq]).map_err(|e| self.err(e))
    }

    /// Calls in the inbox, not yet in the store.
    pub fn backlog(&self) -> Result<u64> {
        self.conn
            .query_row("SELECT count(*) FROM inbox", [], |r| r.get::<_, i64>(0))
            .optional()
            .map(|n| n.unwrap_or(0) as u64)
            .map_err(|e| self.err(e))
    }

    /// Move up to `batch` calls into `store` (one store commit), then delete them here.
    /// Returns how many were moved (0: the inbox is empty).
    pub fn move_into(&mut self, store: &mut Store, batch: usize) -> Result<usize> {
        let rows = self.oldest(batch)?;
        let Some(&(last, _)) = rows.last() else { return Ok(0) };
        let entries: Vec<NewEntry> = rows.into_iter().map(|(_, e)| e).collect();
        // Duplicates are calls moved before a crash that came before their delete.
        store.insert_batch(&entries, now_ms())?;
        self.remove_through(last)?;
        Ok(entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Filter, Order, StoreOptions};

    fn entry(i: usize) -> NewEntry {
        NewEntry {
            source_id: format!("relay:{i:04}"),
            webhook_id: "orders".into(),
            source_kind: "relay".into(),
            payload: format!("{{\"n\":{i}}}").into_bytes(),
            content_type: Some("application/json".into()),
            status_code: (i % 2 == 0).then_some(503),
            error: (i % 2 == 0).then(|| "target answered 503".into()),
            failed_at: 1_000 + i as i64,
            payload_unavailable: None,
            next_attempt_at: (i % 2 == 1).then_some(5),
            execution_data: Some(b"{\"method\":\"POST\"}".to_vec()),
        }
    }

    #[test]
    fn calls_move_into_the_store_whole_and_once_even_when_moved_twice() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("r.db");
        let mut inbox = Inbox::open(&Inbox::path_for(&db), Duration::from_secs(1)).unwrap();
        let mut store = Store::open(&db, StoreOptions::default()).unwrap();
        inbox.append(&(0..5).map(entry).collect::<Vec<_>>()).unwrap();
        assert_eq!(inbox.backlog().unwrap(), 5);
        // A crash after the store's commit but before the inbox's delete: the same rows again.
        let first = inbox.oldest(3).unwrap();
        store.insert_batch(&first.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(), 1).unwrap();
        assert_eq!(inbox.move_into(&mut store, 100).unwrap(), 5);
        assert_eq!(inbox.backlog().unwrap(), 0);
        assert_eq!(inbox.move_into(&mut store, 100).unwrap(), 0);
        let stored = store.list(&Filter::default(), Order::OldestFirst, None, 100).unwrap();
        assert_eq!(stored.len(), 5, "each call once");
        for (i, e) in stored.iter().enumerate() {
            let want = entry(i);
            assert_eq!(
                (&e.source_id, &e.webhook_id, e.status_code, &e.error, e.failed_at, e.next_attempt_at),
                (
                    &want.source_id,
                    &want.webhook_id,
                    want.status_code,
                    &want.error,
                    want.failed_at,
                    want.next_attempt_at
                )
            );
            assert_eq!(store.payload(e.id).unwrap(), want.payload);
            assert_eq!(store.execution_data(e.id).unwrap(), want.execution_data);
            assert_eq!(e.content_type, want.content_type);
        }
    }

    #[test]
    fn what_was_appended_is_there_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = Inbox::path_for(&dir.path().join("r.db"));
        Inbox::open(&path, Duration::from_secs(1)).unwrap().append(&[entry(1), entry(2)]).unwrap();
        let inbox = Inbox::open(&path, Duration::from_secs(1)).unwrap();
        let rows = inbox.oldest(10).unwrap();
        assert_eq!(
            rows.iter().map(|(_, e)| e.source_id.as_str()).collect::<Vec<_>>(),
            ["relay:0001", "relay:0002"]
        );
    }
}
