//! The schema, as an ordered list of migrations keyed on `PRAGMA user_version`.
//!
//! Migration `i` (0-based) takes a database from version `i` to `i + 1`. Never edit a released
//! migration: append a new one. `tests/store_migrations.rs` opens a database at every earlier
//! version and checks that it upgrades with its rows intact.

pub const MIGRATIONS: &[&str] = &[
    // v1: webhooks, entries (the DLQ), attempts, audit.
    r#"
CREATE TABLE webhooks (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    source        TEXT NOT NULL,
    method        TEXT,
    url           TEXT,
    config        TEXT,
    paused        INTEGER NOT NULL DEFAULT 0,
    paused_reason TEXT,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE entries (
    id                  INTEGER PRIMARY KEY,
    source_id           TEXT NOT NULL UNIQUE,
    webhook_id          TEXT NOT NULL,
    source_kind         TEXT NOT NULL,
    state               TEXT NOT NULL
        CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead', 'discarded')),
    status_code         INTEGER,
    error               TEXT,
    failed_at           INTEGER NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    round_attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     INTEGER,
    lease_owner         TEXT,
    lease_until         INTEGER,
    last_status         INTEGER,
    last_error          TEXT,
    content_type        TEXT,
    payload_size        INTEGER NOT NULL,
    payload_truncated   INTEGER NOT NULL DEFAULT 0,
    payload_unavailable TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    payload             BLOB NOT NULL
);
CREATE INDEX entries_state ON entries (state, id);
CREATE INDEX entries_webhook ON entries (webhook_id, id);
CREATE INDEX entries_webhook_state ON entries (webhook_id, state, id);
CREATE INDEX entries_status ON entries (status_code, id);
CREATE INDEX entries_failed_at ON entries (failed_at);
CREATE INDEX entries_due ON entries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX entries_leased ON entries (lease_until) WHERE state = 'in_flight';

CREATE TABLE attempts (
    id               INTEGER PRIMARY KEY,
    entry_id         INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    attempt          INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    status_code      INTEGER,
    class            TEXT NOT NULL,
    error            TEXT,
    response_snippet TEXT
);
CREATE INDEX attempts_entry ON attempts (entry_id, attempt);

CREATE TABLE audit (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    operator TEXT NOT NULL,
    action   TEXT NOT NULL,
    count    INTEGER NOT NULL,
    filter   TEXT,
    ids      TEXT,
    detail   TEXT
);
"#,
    // v2: a key-value table for the poller's cursor and cached source facts, and the raw
    // execution-data file kept beside the entry it was recovered from.
    r#"
CREATE TABLE kv (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE execution_data (
    entry_id INTEGER PRIMARY KEY REFERENCES entries (id) ON DELETE CASCADE,
    data     BLOB NOT NULL
);
"#,
    // v3: drop the index on leases. Only a handful of entries are ever in flight, and the
    // state index finds them; keeping a second index cost two index writes per attempt.
    r#"
DROP INDEX entries_leased;
"#,
];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;
