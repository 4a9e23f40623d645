//! The durable dead letter queue: SQLite (WAL), one file, every operation one transaction.
//!
//! Knows nothing of the UI, of Genesys or of HTTP. Times are passed in (`now`) so that callers
//! and tests decide what time it is.

mod console;
mod entries;
mod error;
mod filter;
pub mod holders;
mod leases;
mod model;
mod ops;
pub mod schema;
mod webhooks;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

pub use console::{Histogram, WebhookSummary};
pub use entries::{InsertReport, Order};
pub use error::StoreError;
pub use filter::{Filter, QUERY_KEYS, Selection, StatusMatch};
pub use leases::{ClaimFilter, Disposition, Outcome};
pub use model::*;
pub use ops::{ChangeReport, Stats};

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub busy_timeout: Duration,
    /// Payloads larger than this are stored truncated and flagged not replayable.
    pub payload_cap: usize,
    /// Open without ever writing (also chosen automatically when the file is not writable).
    pub read_only: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { busy_timeout: Duration::from_secs(5), payload_cap: 1024 * 1024, read_only: false }
    }
}

impl From<&crate::config::StoreConfig> for StoreOptions {
    fn from(c: &crate::config::StoreConfig) -> Self {
        StoreOptions { busy_timeout: c.busy_timeout, payload_cap: c.payload_cap, read_only: false }
    }
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    opts: StoreOptions,
    /// Why writes are refused, when the store was opened read-only.
    read_only: Option<String>,
}

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

impl Store {
    /// Open (creating if absent) the database at `path` and bring its schema up to date.
    /// A file that is not SQLite is refused before SQLite touches it.
    pub fn open(path: impl AsRef<Path>, opts: StoreOptions) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        let io = |source| StoreError::Io { path: path.clone(), source };
        let mut read_only = opts.read_only.then(|| "opened with --read-only".to_string());
        match std::fs::metadata(&path) {
            Ok(meta) => {
                if !meta.is_file() {
                    return Err(StoreError::NotADatabase { path });
                }
                if meta.len() > 0 {
                    let mut head = [0u8; 16];
                    let n = std::fs::File::open(&path).and_then(|mut f| f.read(&mut head)).map_err(io)?;
                    if n < 16 || &head != SQLITE_MAGIC {
                        return Err(StoreError::NotADatabase { path });
                    }
                }
                if read_only.is_none() && meta.permissions().readonly() {
                    read_only = Some("the file has no write permission".into());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if read_only.is_some() {
                    return Err(io(e));
                }
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
            }
            Err(e) => return Err(io(e)),
        }
        let flags = if read_only.is_some() {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let conn = Connection::open_with_flags(&path, flags)
            .map_err(|e| StoreError::from_sqlite(&path, e, opts.busy_timeout))?;
        let mut store = Store { conn, path, opts, read_only };
        store.init()?;
        Ok(store)
    }

    /// A private in-memory store (tests, benchmarks, the demo).
    pub fn open_in_memory(opts: StoreOptions) -> Result<Store> {
        let path = PathBuf::from(":memory:");
        let conn =
            Connection::open_in_memory().map_err(|e| StoreError::from_sqlite(&path, e, opts.busy_timeout))?;
        let mut store = Store { conn, path, opts, read_only: None };
        store.init()?;
        Ok(store)
    }

    fn init(&mut self) -> Result<()> {
        self.conn.busy_timeout(self.opts.busy_timeout).map_err(|e| self.err(e))?;
        self.conn.set_prepared_statement_cache_capacity(64);
        stable_plans(&self.conn).map_err(|e| self.err(e))?;
        self.conn.pragma_update(None, "foreign_keys", "ON").map_err(|e| self.err(e))?;
        // Statement journals (each multi-row write keeps one) in memory, not in a temporary
        // file written and truncated on every outcome commit.
        self.conn.pragma_update(None, "temp_store", "MEMORY").map_err(|e| self.err(e))?;
        let version: i64 =
            self.conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| self.err(e))?;
        if version > schema::VERSION {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found: version,
                known: schema::VERSION,
            });
        }
        if let Some(reason) = &self.read_only {
            if version < schema::VERSION {
                return Err(StoreError::ReadOnly {
                    path: self.path.clone(),
                    reason: format!(
                        "{reason}, and it needs upgrading from schema version {version} to {}",
                        schema::VERSION
                    ),
                });
            }
            return Ok(());
        }
        let mode: String = self
            .conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if mode != "wal" && self.path != Path::new(":memory:") {
            tracing::warn!(%mode, "database did not switch to WAL");
        }
        self.conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| self.err(e))?;
        if version < schema::VERSION {
            self.migrate_to(schema::VERSION)?;
        }
        Ok(())
    }

    /// Apply migrations up to `target` (tests use this to build databases at older versions).
    #[doc(hidden)]
    pub fn migrate_to(&mut self, target: i64) -> Result<()> {
        let tx = self.write_tx()?;
        let version: i64 =
            tx.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| tx.err(e))?;
        let pending = (target - version).max(0) as usize;
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize).take(pending) {
            tx.execute_batch(sql).map_err(|e| tx.err(e))?;
            tx.pragma_update(None, "user_version", i as i64 + 1).map_err(|e| tx.err(e))?;
            tracing::info!(version = i + 1, "migrated database schema");
        }
        tx.commit()
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        self.conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| self.err(e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Make every commit on this connection durable before it returns (`synchronous = FULL`:
    /// an fsync per commit), for a writer that acknowledges what it stored (the relay).
    pub fn make_durable(&mut self) -> Result<()> {
        self.conn.pragma_update(None, "synchronous", "FULL").map_err(|e| self.err(e))
    }

    /// Why writes are refused, when the store is read-only.
    pub fn read_only_reason(&self) -> Option<&str> {
        self.read_only.as_deref()
    }

    pub(crate) fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::from_sqlite(&self.path, e, self.opts.busy_timeout)
    }

    /// A write transaction (`BEGIN IMMEDIATE`: the write lock is taken up front, so a busy
    /// database waits for the busy timeout instead of failing half-way).
    pub(crate) fn write_tx(&mut self) -> Result<Tx<'_>> {
        if let Some(reason) = &self.read_only {
            return Err(StoreError::ReadOnly { path: self.path.clone(), reason: reason.clone() });
        }
        let path = self.path.clone();
        let timeout = self.opts.busy_timeout;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::from_sqlite(&path, e, timeout))?;
        Ok(Tx { tx, path, timeout })
    }
}

/// A write transaction that knows its file, for error messages.
pub(crate) struct Tx<'a> {
    tx: Transaction<'a>,
    path: PathBuf,
    timeout: Duration,
}

impl<'a> std::ops::Deref for Tx<'a> {
    type Target = Transaction<'a>;
    fn deref(&self) -> &Transaction<'a> {
        &self.tx
    }
}

impl Tx<'_> {
    pub(crate) fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::from_sqlite(&self.path, e, self.timeout)
    }

    pub(crate) fn commit(self) -> Result<()> {
        let Tx { tx, path, timeout } = self;
        tx.commit().map_err(|e| StoreError::from_sqlite(&path, e, timeout))
    }
}

/// Keep a prepared statement's plan whatever values are bound to it. Without this SQLite
/// (3.50) marks a statement with `LIMIT ?` as expired each time the limit is bound, and
/// prepares it again on its next step: every claim of the retry engine, every page of the
/// console, every batch of the relay's mover. Every plan here is chosen for the schema, not
/// the values (the claim forces its index), so nothing is lost.
pub(crate) fn stable_plans(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_limit_does_not_prepare_a_statement_again() {
        let store = Store::open_in_memory(StoreOptions::default()).unwrap();
        let mut stmt = store.conn.prepare("SELECT id FROM entries ORDER BY id LIMIT ?1").unwrap();
        for limit in 1..5 {
            stmt.query_map([limit], |r| r.get::<_, i64>(0)).unwrap().for_each(drop);
        }
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }
}
