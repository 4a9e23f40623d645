//! Store errors, each naming the database file and saying what still works.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{} is not a redrive database (not an SQLite file); it was left untouched. \
         Point --db or REDRIVE_DB at another file.",
        path.display()
    )]
    NotADatabase { path: PathBuf },
    #[error(
        "database {} is corrupt ({detail}); it was left untouched. Restore a backup, or try \
         `redrive export` to save what is still readable.",
        path.display()
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "database {} is read-only ({reason}); list, show, stats and export work, changes do not",
        path.display()
    )]
    ReadOnly { path: PathBuf, reason: String },
    #[error("database {} is locked by {holders}; gave up after waiting {}s", path.display(), waited.as_secs_f32())]
    Locked { path: PathBuf, holders: String, waited: Duration },
    #[error(
        "database {} has schema version {found}, newer than this redrive knows ({known}); \
         upgrade redrive (the file was left untouched)",
        path.display()
    )]
    TooNew { path: PathBuf, found: i64, known: i64 },
    #[error("cannot open database {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("database {}: {source}", path.display())]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("no entry with id {0}")]
    NotFound(i64),
    #[error("{0}")]
    Invalid(String),
}

impl StoreError {
    /// Classify an SQLite error for `path`.
    pub(crate) fn from_sqlite(path: &Path, e: rusqlite::Error, busy_timeout: Duration) -> StoreError {
        let path = path.to_path_buf();
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => StoreError::NotADatabase { path },
            Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt { path, detail: e.to_string() },
            Some(ErrorCode::ReadOnly) => StoreError::ReadOnly {
                reason: "the file or its folder cannot be written, or it was opened read-only".into(),
                path,
            },
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                let holders = super::holders::describe(&path);
                StoreError::Locked { path, holders, waited: busy_timeout }
            }
            _ => StoreError::Sqlite { path, source: e },
        }
    }

    pub fn is_read_only(&self) -> bool {
        matches!(self, StoreError::ReadOnly { .. })
    }
}
