//! The queries the console needs beyond listing: pages at an offset (a virtualised list),
//! per-webhook summaries with a failure histogram, holding a cancelled job's entries again, and
//! queueing an operator's edited copy of an entry.

use std::collections::BTreeMap;

use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params, params_from_iter};

use super::entries::ENTRY_COLS;
use super::entries::entry_from_row;
use super::model::*;
use super::ops::audit;
use super::{Filter, Result, Store};
use crate::time::Millis;

/// One webhook as the console's first pane shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebhookSummary {
    pub id: String,
    /// The webhook's name, or its id when the store does not know it.
    pub name: String,
    pub method: Option<String>,
    pub url: Option<String>,
    pub paused: bool,
    pub paused_reason: Option<String>,
    pub by_state: BTreeMap<EntryState, u64>,
    /// The newest failure's status code and error.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub last_failed_at: Option<Millis>,
    /// Failures per bucket, oldest first (see [`Store::webhook_summaries`]).
    pub histogram: Vec<u64>,
}

/// The buckets of a failure histogram: `buckets` of `bucket_ms` each, ending at `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Histogram {
    pub end: Millis,
    pub bucket_ms: Millis,
    pub buckets: usize,
}

impl Histogram {
    /// The last 24 hours in hourly buckets.
    pub fn day(now: Millis) -> Histogram {
        Histogram { end: now, bucket_ms: 3_600_000, buckets: 24 }
    }
}

impl Store {
    /// A page of entries matching `filter`, newest first, starting `offset` rows in. `total`
    /// (what [`Store::count`] says for the filter) lets a page near the end be read from the
    /// other end, so no page walks more than half the matches.
    pub fn list_at(&self, filter: &Filter, offset: u64, limit: usize, total: u64) -> Result<Vec<Entry>> {
        let (cond, mut params) = filter.to_sql(&self.conn).map_err(|e| self.err(e))?;
        let from_end = offset > total / 2;
        let (dir, skip, take) = if from_end {
            // Rows [offset, offset + limit) newest first are rows [total - offset - limit, total - offset)
            // oldest first.
            let end = total.saturating_sub(offset);
            let start = end.saturating_sub(limit as u64);
            ("ASC", start, (end - start) as usize)
        } else {
            ("DESC", offset, limit)
        };
        params.push(Value::Integer(take as i64));
        params.push(Value::Integer(skip as i64));
        let n = params.len();
        let sql = format!(
            "SELECT {ENTRY_COLS} FROM entries WHERE {cond} ORDER BY id {dir} LIMIT ?{} OFFSET ?{n}",
            n - 1
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt
            .query_map(params_from_iter(params), entry_from_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))?;
        if from_end {
            rows.reverse();
        }
        Ok(rows)
    }

    /// Every webhook the store knows or has entries for, with counts by state, the newest
    /// failure and a histogram of failures by `failed_at`.
    pub fn webhook_summaries(&self, hist: Histogram) -> Result<Vec<WebhookSummary>> {
        let mut out: BTreeMap<String, WebhookSummary> = BTreeMap::new();
        for w in self.webhooks()? {
            out.insert(
                w.id.clone(),
                WebhookSummary {
                    id: w.id,
                    name: w.name,
                    method: w.method,
                    url: w.url,
                    paused: w.paused,
                    paused_reason: w.paused_reason,
                    ..Default::default()
                },
            );
        }
        let q = |sql: &str, p: &[Value]| -> Result<Vec<(String, Value, u64)>> {
            let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
            stmt.query_map(params_from_iter(p.iter()), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(|e| self.err(e))
        };
        for (id, state, n) in q("SELECT webhook_id, state, COUNT(*) FROM entries GROUP BY 1, 2", &[])? {
            let Value::Text(state) = state else { continue };
            let w = out.entry(id.clone()).or_insert_with(|| WebhookSummary {
                name: id.clone(),
                id,
                ..Default::default()
            });
            if let Ok(s) = state.parse() {
                w.by_state.insert(s, n);
            }
        }
        let start = hist.end - hist.bucket_ms * hist.buckets as i64;
        let rows = q(
            "SELECT webhook_id, (failed_at - ?1) / ?2, COUNT(*) FROM entries \
             WHERE failed_at >= ?1 AND failed_at < ?3 GROUP BY 1, 2",
            &[Value::Integer(start), Value::Integer(hist.bucket_ms.max(1)), Value::Integer(hist.end)],
        )?;
        for w in out.values_mut() {
            w.histogram = vec![0; hist.buckets];
        }
        for (id, bucket, n) in rows {
            if let (Some(w), Value::Integer(b)) = (out.get_mut(&id), bucket)
                && let Some(slot) = w.histogram.get_mut(b as usize)
            {
                *slot = n;
            }
        }
        let mut last = self
            .conn
            .prepare_cached(
                "SELECT status_code, error, failed_at FROM entries WHERE webhook_id = ?1 ORDER BY id DESC LIMIT 1",
            )
            .map_err(|e| self.err(e))?;
        for w in out.values_mut() {
            if let Some((status, error, at)) = last
                .query_row([&w.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
                .map_err(|e| self.err(e))?
            {
                (w.last_status, w.last_error, w.last_failed_at) = (status, error, Some(at));
            }
        }
        Ok(out.into_values().collect())
    }

    /// Hold the given entries for an operator again (a cancelled bulk job): pending entries lose
    /// their retry time, and so do entries a worker has claimed, so that one given back unsent
    /// stays held. A call already under way finishes, and its outcome decides what follows.
    pub fn hold(&mut self, ids: &[EntryId], operator: &str, now: Millis) -> Result<u64> {
        let tx = self.write_tx()?;
        let json = serde_json::to_string(ids).expect("ids serialise");
        let n = tx
            .execute(
                "UPDATE entries SET next_attempt_at = NULL, updated_at = ?2 \
                 WHERE id IN (SELECT value FROM json_each(?1)) AND state IN ('pending', 'in_flight')",
                params![json, now],
            )
            .map_err(|e| tx.err(e))? as u64;
        audit(
            &tx,
            now,
            operator,
            "cancel",
            n,
            None,
            None,
            Some(format!("{} entries in the job", ids.len())),
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// Queue an operator's edited copy of entry `id` for an immediate retry. The original is
    /// left as it is; the copy names it in its source id and in the audit row.
    pub fn queue_edited_copy(
        &mut self,
        id: EntryId,
        payload: &[u8],
        operator: &str,
        now: Millis,
    ) -> Result<EntryId> {
        let cap = self.opts.payload_cap;
        if payload.len() > cap {
            return Err(super::StoreError::Invalid(format!(
                "the edited payload is {} bytes, more than the store's cap of {cap}",
                payload.len()
            )));
        }
        let tx = self.write_tx()?;
        let new_id: EntryId = tx
            .query_row(
                "INSERT INTO entries (source_id, webhook_id, source_kind, state, status_code, error, \
                 failed_at, next_attempt_at, content_type, payload_size, payload_truncated, created_at, \
                 updated_at, payload) \
                 SELECT 'edit:' || id || ':' || ?2, webhook_id, 'edit', 'pending', status_code, error, failed_at, \
                 ?2, content_type, ?3, 0, ?2, ?2, ?4 FROM entries WHERE id = ?1 RETURNING id",
                params![id, now, payload.len() as i64, payload],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| tx.err(e))?
            .ok_or(super::StoreError::NotFound(id))?;
        audit(
            &tx,
            now,
            operator,
            "retry_edited",
            1,
            None,
            Some(format!("[{id}]")),
            Some(format!("edited copy queued as {new_id}")),
        )?;
        tx.commit()?;
        Ok(new_id)
    }
}
