//! Inserting, reading and listing entries.

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, params, params_from_iter};

use super::model::*;
use super::{Filter, Result, Store, StoreError};
use crate::time::Millis;

/// The entry columns in the order [`entry_from_row`] reads them (never the payload).
pub(crate) const ENTRY_COLS: &str = "id, source_id, webhook_id, source_kind, state, status_code, error, \
    failed_at, attempts, round_attempts, next_attempt_at, lease_owner, lease_until, last_status, \
    last_error, content_type, payload_size, payload_truncated, payload_unavailable, created_at, updated_at";

pub(crate) fn entry_from_row(r: &Row<'_>) -> rusqlite::Result<Entry> {
    let state: String = r.get(4)?;
    Ok(Entry {
        id: r.get(0)?,
        source_id: r.get(1)?,
        webhook_id: r.get(2)?,
        source_kind: r.get(3)?,
        state: state.parse().map_err(|e: String| {
            rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, e.into())
        })?,
        status_code: r.get(5)?,
        error: r.get(6)?,
        failed_at: r.get(7)?,
        attempts: r.get(8)?,
        round_attempts: r.get(9)?,
        next_attempt_at: r.get(10)?,
        lease_owner: r.get(11)?,
        lease_until: r.get(12)?,
        last_status: r.get(13)?,
        last_error: r.get(14)?,
        content_type: r.get(15)?,
        payload_size: r.get(16)?,
        payload_truncated: r.get(17)?,
        payload_unavailable: r.get(18)?,
        created_at: r.get(19)?,
        updated_at: r.get(20)?,
    })
}

/// What an insert batch did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InsertReport {
    /// Ids given to new entries, in input order.
    pub inserted: Vec<EntryId>,
    /// Source ids that were already stored (nothing changed for them).
    pub duplicates: Vec<String>,
}

/// Listing order. `NewestFirst` is what an operator reads; `OldestFirst` is what export writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    NewestFirst,
    OldestFirst,
}

impl Store {
    /// Store new failures, each once: a source id already present is reported as a duplicate
    /// and left as it is. One transaction for the whole batch.
    pub fn insert_batch(&mut self, batch: &[NewEntry], now: Millis) -> Result<InsertReport> {
        let cap = self.opts.payload_cap;
        let tx = self.write_tx()?;
        let mut report = InsertReport::default();
        {
            // `OR IGNORE` rather than `ON CONFLICT DO NOTHING`: a statement that can only skip,
            // never abort half-way, needs no statement journal, which copied every index page
            // it touched (a tenth of the time per entry). Nothing but a duplicate source id can
            // be ignored: the row's other constraints hold by construction.
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO entries (source_id, webhook_id, source_kind, state, status_code, error, \
                     failed_at, next_attempt_at, content_type, payload_size, payload_truncated, \
                     payload_unavailable, created_at, updated_at, payload) \
                     VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13) \
                     RETURNING id",
                )
                .map_err(|e| tx.err(e))?;
            let mut raw = tx
                .prepare_cached("INSERT INTO execution_data (entry_id, data) VALUES (?1, ?2)")
                .map_err(|e| tx.err(e))?;
            for e in batch {
                let truncated = e.payload.len() > cap;
                let stored = &e.payload[..e.payload.len().min(cap)];
                let unavailable = e.payload_unavailable.clone().or_else(|| {
                    truncated.then(|| {
                        format!("payload of {} bytes is larger than the store's cap of {cap} bytes; stored truncated", e.payload.len())
                    })
                });
                let id: Option<EntryId> = stmt
                    .query_row(
                        params![
                            e.source_id,
                            e.webhook_id,
                            e.source_kind,
                            e.status_code,
                            e.error,
                            e.failed_at,
                            e.next_attempt_at,
                            e.content_type,
                            e.payload.len() as i64,
                            truncated,
                            unavailable,
                            now,
                            stored,
                        ],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(|e| tx.err(e))?;
                match id {
                    Some(id) => {
                        if let Some(data) = &e.execution_data {
                            raw.execute(params![id, data]).map_err(|e| tx.err(e))?;
                        }
                        report.inserted.push(id)
                    }
                    None => report.duplicates.push(e.source_id.clone()),
                }
            }
        }
        tx.commit()?;
        Ok(report)
    }

    /// Store entries exactly as they were exported (state, attempts, times and all), keeping
    /// each one's id when it is free here (an id of 0 or less means "assign one"). Duplicates by source id are skipped.
    pub fn restore_batch(&mut self, batch: &[EntryRecord]) -> Result<InsertReport> {
        let tx = self.write_tx()?;
        let mut report = InsertReport::default();
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO entries (id, source_id, webhook_id, source_kind, state, status_code, error, \
                     failed_at, attempts, round_attempts, next_attempt_at, lease_owner, lease_until, \
                     last_status, last_error, content_type, payload_size, payload_truncated, \
                     payload_unavailable, created_at, updated_at, payload) \
                     VALUES ((SELECT CASE WHEN EXISTS (SELECT 1 FROM entries WHERE id = ?1) THEN NULL ELSE ?1 END), \
                     ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22) \
                     ON CONFLICT (source_id) DO NOTHING RETURNING id",
                )
                .map_err(|e| tx.err(e))?;
            let mut att = tx
                .prepare_cached(
                    "INSERT INTO attempts (entry_id, attempt, started_at, duration_ms, status_code, class, \
                     error, response_snippet) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(|e| tx.err(e))?;
            for rec in batch {
                let e = &rec.entry;
                let id: Option<EntryId> = ins
                    .query_row(
                        params![
                            (e.id > 0).then_some(e.id),
                            e.source_id,
                            e.webhook_id,
                            e.source_kind,
                            e.state.as_str(),
                            e.status_code,
                            e.error,
                            e.failed_at,
                            e.attempts,
                            e.round_attempts,
                            e.next_attempt_at,
                            e.lease_owner,
                            e.lease_until,
                            e.last_status,
                            e.last_error,
                            e.content_type,
                            e.payload_size as i64,
                            e.payload_truncated,
                            e.payload_unavailable,
                            e.created_at,
                            e.updated_at,
                            rec.payload,
                        ],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(|e| tx.err(e))?;
                let Some(id) = id else {
                    report.duplicates.push(e.source_id.clone());
                    continue;
                };
                if let Some(data) = &rec.execution_data {
                    tx.prepare_cached("INSERT INTO execution_data (entry_id, data) VALUES (?1, ?2)")
                        .and_then(|mut s| s.execute(params![id, data]))
                        .map_err(|e| tx.err(e))?;
                }
                for a in &rec.attempts {
                    att.execute(params![
                        id,
                        a.attempt,
                        a.started_at,
                        a.duration_ms as i64,
                        a.status_code,
                        a.class.as_str(),
                        a.error,
                        a.response_snippet
                    ])
                    .map_err(|e| tx.err(e))?;
                }
                report.inserted.push(id);
            }
        }
        tx.commit()?;
        Ok(report)
    }

    pub fn get(&self, id: EntryId) -> Result<Entry> {
        self.conn
            .prepare_cached(&format!("SELECT {ENTRY_COLS} FROM entries WHERE id = ?1"))
            .and_then(|mut s| s.query_row([id], entry_from_row).optional())
            .map_err(|e| self.err(e))?
            .ok_or(StoreError::NotFound(id))
    }

    /// The entry stored for a source's id (a relay call's `relay:…` id, a Genesys execution id).
    pub fn find_by_source_id(&self, source_id: &str) -> Result<Option<EntryId>> {
        self.conn
            .prepare_cached("SELECT id FROM entries WHERE source_id = ?1")
            .and_then(|mut s| s.query_row([source_id], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))
    }

    pub fn payload(&self, id: EntryId) -> Result<Vec<u8>> {
        self.conn
            .prepare_cached("SELECT payload FROM entries WHERE id = ?1")
            .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))?
            .ok_or(StoreError::NotFound(id))
    }

    /// Every attempt of one entry, oldest first.
    pub fn attempts(&self, id: EntryId) -> Result<Vec<Attempt>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT attempt, started_at, duration_ms, status_code, class, error, response_snippet \
                 FROM attempts WHERE entry_id = ?1 ORDER BY attempt, id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([id], |r| {
                let class: String = r.get(4)?;
                Ok(Attempt {
                    attempt: r.get(0)?,
                    started_at: r.get(1)?,
                    duration_ms: r.get(2)?,
                    status_code: r.get(3)?,
                    class: class.parse().map_err(|e: String| {
                        rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, e.into())
                    })?,
                    error: r.get(5)?,
                    response_snippet: r.get(6)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// The execution-data file an entry was recovered from, when it was kept.
    pub fn execution_data(&self, id: EntryId) -> Result<Option<Vec<u8>>> {
        self.conn
            .prepare_cached("SELECT data FROM execution_data WHERE entry_id = ?1")
            .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))
    }

    /// One entry with its payload, attempts and execution data.
    pub fn record(&self, id: EntryId) -> Result<EntryRecord> {
        Ok(EntryRecord {
            entry: self.get(id)?,
            payload: self.payload(id)?,
            attempts: self.attempts(id)?,
            execution_data: self.execution_data(id)?,
        })
    }

    /// Which of `source_ids` are stored already (so a poll fetches payloads only for new ones).
    pub fn existing_source_ids(&self, source_ids: &[String]) -> Result<std::collections::HashSet<String>> {
        let json = serde_json::to_string(source_ids).expect("strings serialise");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT source_id FROM entries WHERE source_id IN (SELECT value FROM json_each(?1))",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map([json], |r| r.get(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<_>>())
            .map_err(|e| self.err(e))
    }

    /// A value the program keeps between runs (the poll cursor, cached source facts).
    pub fn kv_get(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .prepare_cached("SELECT value FROM kv WHERE key = ?1")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))
    }

    pub fn kv_set(&mut self, key: &str, value: &str, now: Millis) -> Result<()> {
        let tx = self.write_tx()?;
        tx.execute(
            "INSERT INTO kv (key, value, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![key, value, now],
        )
        .map_err(|e| tx.err(e))?;
        tx.commit()
    }

    /// A page of entries matching `filter`, keyset-paginated on id: pass the last id of the
    /// previous page as `after` (ids are never reused, so rows inserted between pages neither
    /// shift nor repeat what was already read).
    pub fn list(
        &self,
        filter: &Filter,
        order: Order,
        after: Option<EntryId>,
        limit: usize,
    ) -> Result<Vec<Entry>> {
        let (cond, mut params) = filter.to_sql(&self.conn).map_err(|e| self.err(e))?;
        let (op, dir) = match order {
            Order::NewestFirst => ("<", "DESC"),
            Order::OldestFirst => (">", "ASC"),
        };
        let mut sql = format!("SELECT {ENTRY_COLS} FROM entries WHERE {cond}");
        if let Some(a) = after {
            params.push(Value::Integer(a));
            sql.push_str(&format!(" AND id {op} ?{}", params.len()));
        }
        params.push(Value::Integer(limit.min(i64::MAX as usize) as i64));
        sql.push_str(&format!(" ORDER BY id {dir} LIMIT ?{}", params.len()));
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params_from_iter(params), entry_from_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Like [`Store::list`] but with payloads and attempts, oldest first (what export reads).
    pub fn list_records(
        &self,
        filter: &Filter,
        after: Option<EntryId>,
        limit: usize,
    ) -> Result<Vec<EntryRecord>> {
        self.list(filter, Order::OldestFirst, after, limit)?
            .into_iter()
            .map(|entry| {
                let id = entry.id;
                Ok(EntryRecord {
                    entry,
                    payload: self.payload(id)?,
                    attempts: self.attempts(id)?,
                    execution_data: self.execution_data(id)?,
                })
            })
            .collect()
    }

    /// How many entries match `filter`.
    pub fn count(&self, filter: &Filter) -> Result<u64> {
        let (cond, params) = filter.to_sql(&self.conn).map_err(|e| self.err(e))?;
        self.conn
            .prepare_cached(&format!("SELECT COUNT(*) FROM entries WHERE {cond}"))
            .and_then(|mut s| s.query_row(params_from_iter(params), |r| r.get(0)))
            .map_err(|e| self.err(e))
    }

    /// Entries per state (every state present, zero when none).
    pub fn counts_by_state(&self) -> Result<Vec<(EntryState, u64)>> {
        let mut counts: Vec<(EntryState, u64)> = EntryState::ALL.iter().map(|s| (*s, 0)).collect();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT state, COUNT(*) FROM entries GROUP BY state")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))?;
        for (state, n) in rows {
            if let Some(slot) = counts.iter_mut().find(|(s, _)| s.as_str() == state) {
                slot.1 = n;
            }
        }
        Ok(counts)
    }
}
