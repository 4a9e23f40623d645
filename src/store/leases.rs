//! The worker's side of the life cycle: claim due entries with a lease, record what each
//! attempt did, give leases back, and reclaim the leases of a worker that died.

use std::time::Duration;

use rusqlite::params;

use super::entries::{ENTRY_COLS, entry_from_row};
use super::model::*;
use super::{Result, Store};
use crate::time::Millis;

/// Where an entry goes after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    Delivered,
    /// Back to `pending`, due at this time.
    RetryAt(Millis),
    /// Retries exhausted or a permanent error.
    Dead,
}

/// Which due entries a claim may take.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClaimFilter {
    /// Not these webhooks (open circuit breakers, full targets).
    pub exclude_webhooks: Vec<String>,
    /// Only this webhook (a breaker's probe).
    pub only_webhook: Option<String>,
    /// Only these entries (a foreground bulk job).
    pub only_ids: Option<Vec<EntryId>>,
}

/// One attempt's result, for [`Store::record_outcomes`]. `attempt.attempt` is ignored: the
/// store numbers attempts itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub id: EntryId,
    pub attempt: Attempt,
    pub disposition: Disposition,
}

impl Store {
    /// Claim up to `limit` due, replayable entries for `owner` until `now + lease`, oldest due
    /// first, skipping paused webhooks and as `filter` says.
    pub fn claim_due(
        &mut self,
        owner: &str,
        now: Millis,
        lease: Duration,
        limit: usize,
        filter: &ClaimFilter,
    ) -> Result<Vec<Entry>> {
        Ok(self.claim(owner, now, lease, limit, filter, false)?.into_iter().map(|(e, _)| e).collect())
    }

    /// [`Store::claim_due`] that also returns each entry's payload (one query, not one each).
    pub fn claim_due_with_payloads(
        &mut self,
        owner: &str,
        now: Millis,
        lease: Duration,
        limit: usize,
        filter: &ClaimFilter,
    ) -> Result<Vec<(Entry, Vec<u8>)>> {
        self.claim(owner, now, lease, limit, filter, true)
    }

    fn claim(
        &mut self,
        owner: &str,
        now: Millis,
        lease: Duration,
        limit: usize,
        filter: &ClaimFilter,
        with_payload: bool,
    ) -> Result<Vec<(Entry, Vec<u8>)>> {
        let until = now + lease.as_millis() as i64;
        let exclude = serde_json::to_string(&filter.exclude_webhooks).expect("strings serialise");
        let only_ids = filter.only_ids.as_ref().map(|ids| serde_json::to_string(ids).expect("ids serialise"));
        // Two plans: a bulk job's claim starts from its ids; the worker's walks the due index
        // in due order (forced: SQLite otherwise picks the state index and sorts every pending
        // entry on each claim).
        let source = if only_ids.is_some() {
            "entries WHERE id IN (SELECT value FROM json_each(?7)) AND state = 'pending' AND next_attempt_at <= ?3"
        } else {
            "entries INDEXED BY entries_due WHERE state = 'pending' AND next_attempt_at <= ?3 AND ?7 IS NULL"
        };
        let order = if only_ids.is_some() { "" } else { "ORDER BY next_attempt_at" };
        let payload = if with_payload { ", payload" } else { "" };
        let tx = self.write_tx()?;
        let mut rows = {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "UPDATE entries SET state = 'in_flight', lease_owner = ?1, lease_until = ?2, updated_at = ?3 \
                     WHERE id IN (SELECT id FROM {source} \
                       AND payload_unavailable IS NULL \
                       AND webhook_id NOT IN (SELECT value FROM json_each(?4)) \
                       AND webhook_id NOT IN (SELECT id FROM webhooks WHERE paused = 1) \
                       AND (?6 IS NULL OR webhook_id = ?6) \
                       {order} LIMIT ?5) \
                     RETURNING {ENTRY_COLS}{payload}"
                ))
                .map_err(|e| tx.err(e))?;
            stmt.query_map(
                params![owner, until, now, exclude, limit as i64, filter.only_webhook, only_ids],
                |r| {
                    let e = entry_from_row(r)?;
                    let p: Vec<u8> = if with_payload { r.get(21)? } else { Vec::new() };
                    Ok((e, p))
                },
            )
            .and_then(|r| r.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| tx.err(e))?
        };
        tx.commit()?;
        rows.sort_by_key(|(e, _)| (e.next_attempt_at, e.id));
        Ok(rows)
    }

    /// Extend `owner`'s leases on `ids` (calls still in flight) to `until`. Returns how many
    /// leases were still held.
    pub fn renew_leases(&mut self, owner: &str, ids: &[EntryId], until: Millis) -> Result<u64> {
        let ids = serde_json::to_string(ids).expect("ids serialise");
        let tx = self.write_tx()?;
        let n = tx
            .execute(
                "UPDATE entries SET lease_until = ?1 WHERE state = 'in_flight' AND lease_owner = ?2 \
                 AND id IN (SELECT value FROM json_each(?3))",
                params![until, owner, ids],
            )
            .map_err(|e| tx.err(e))?;
        tx.commit()?;
        Ok(n as u64)
    }

    /// Record a batch of attempts in one transaction (a group commit). Every attempt is kept in
    /// the entry's history; its state changes only while `owner` still holds the lease (a
    /// worker whose lease expired must not overwrite what another worker did). Returns, per
    /// outcome, whether it was applied.
    pub fn record_outcomes(&mut self, owner: &str, outcomes: &[Outcome], now: Millis) -> Result<Vec<bool>> {
        let tx = self.write_tx()?;
        let mut applied = Vec::with_capacity(outcomes.len());
        {
            // The common case in one statement: the lease is still ours, so settle the entry.
            let mut settle = tx
                .prepare_cached(
                    "UPDATE entries SET state = ?3, next_attempt_at = ?4, attempts = attempts + 1, \
                     round_attempts = round_attempts + 1, lease_owner = NULL, lease_until = NULL, \
                     last_status = ?5, last_error = ?6, updated_at = ?7 \
                     WHERE id = ?1 AND state = 'in_flight' AND lease_owner = ?2",
                )
                .map_err(|e| tx.err(e))?;
            // Otherwise (the lease ran out, another worker may have it) keep only the history.
            let mut bump = tx
                .prepare_cached(
                    "UPDATE entries SET attempts = attempts + 1, last_status = ?2, last_error = ?3, \
                     updated_at = ?4 WHERE id = ?1",
                )
                .map_err(|e| tx.err(e))?;
            let mut att = tx
                .prepare_cached(
                    "INSERT INTO attempts (entry_id, attempt, started_at, duration_ms, status_code, class, \
                     error, response_snippet) SELECT id, attempts, ?2, ?3, ?4, ?5, ?6, ?7 FROM entries WHERE id = ?1",
                )
                .map_err(|e| tx.err(e))?;
            for o in outcomes {
                let a = &o.attempt;
                let snippet = a.response_snippet.as_deref().map(|s| bounded(s, SNIPPET_MAX));
                let (state, next) = match o.disposition {
                    Disposition::Delivered => (EntryState::Delivered, None),
                    Disposition::RetryAt(t) => (EntryState::Pending, Some(t)),
                    Disposition::Dead => (EntryState::Dead, None),
                };
                // The attempt's number is the entry's count after the update (read back by the
                // insert: a RETURNING clause costs a temporary table per statement).
                let held = if settle
                    .execute(params![o.id, owner, state.as_str(), next, a.status_code, a.error, now])
                    .map_err(|e| tx.err(e))?
                    == 1
                {
                    true
                } else if bump.execute(params![o.id, a.status_code, a.error, now]).map_err(|e| tx.err(e))?
                    == 1
                {
                    false
                } else {
                    applied.push(false);
                    continue;
                };
                att.execute(params![
                    o.id,
                    a.started_at,
                    a.duration_ms as i64,
                    a.status_code,
                    a.class.as_str(),
                    a.error,
                    snippet
                ])
                .map_err(|e| tx.err(e))?;
                applied.push(held);
            }
        }
        tx.commit()?;
        Ok(applied)
    }

    /// Give back `owner`'s leases on `ids` without an attempt, holding the entries for an
    /// operator (no due time) with `reason` as their last error: there is no way to send them.
    pub fn hold_leased(&mut self, owner: &str, ids: &[EntryId], reason: &str, now: Millis) -> Result<u64> {
        let ids = serde_json::to_string(ids).expect("ids serialise");
        let tx = self.write_tx()?;
        let n = tx
            .execute(
                "UPDATE entries SET state = 'pending', lease_owner = NULL, lease_until = NULL, \
                 next_attempt_at = NULL, last_error = ?3, updated_at = ?4 \
                 WHERE state = 'in_flight' AND lease_owner = ?1 AND id IN (SELECT value FROM json_each(?2))",
                params![owner, ids, reason, now],
            )
            .map_err(|e| tx.err(e))?;
        tx.commit()?;
        Ok(n as u64)
    }

    /// Give back `owner`'s leases on `ids` untouched (claimed, never started): still due.
    pub fn release_ids(&mut self, owner: &str, ids: &[EntryId]) -> Result<u64> {
        let ids = serde_json::to_string(ids).expect("ids serialise");
        let tx = self.write_tx()?;
        let n = tx
            .execute(
                "UPDATE entries SET state = 'pending', lease_owner = NULL, lease_until = NULL \
                 WHERE state = 'in_flight' AND lease_owner = ?1 AND id IN (SELECT value FROM json_each(?2))",
                params![owner, ids],
            )
            .map_err(|e| tx.err(e))?;
        tx.commit()?;
        Ok(n as u64)
    }

    /// Give back every lease `owner` holds (a graceful stop): those entries are `pending`
    /// again and due at once (unless an operator held them meanwhile). Returns how many.
    pub fn release_leases(&mut self, owner: &str, now: Millis) -> Result<u64> {
        let tx = self.write_tx()?;
        let n = tx
            .execute(
                "UPDATE entries SET state = 'pending', lease_owner = NULL, lease_until = NULL, \
                 next_attempt_at = CASE WHEN next_attempt_at IS NULL THEN NULL ELSE ?2 END, updated_at = ?2 \
                 WHERE state = 'in_flight' AND lease_owner = ?1",
                params![owner, now],
            )
            .map_err(|e| tx.err(e))?;
        tx.commit()?;
        Ok(n as u64)
    }

    /// Return entries whose lease ran out (their worker died) to `pending`, due at once (unless
    /// an operator held them meanwhile).
    pub fn expire_leases(&mut self, now: Millis) -> Result<u64> {
        let tx = self.write_tx()?;
        let n = tx
            .execute(
                "UPDATE entries SET state = 'pending', lease_owner = NULL, lease_until = NULL, \
                 next_attempt_at = CASE WHEN next_attempt_at IS NULL THEN NULL ELSE ?1 END, updated_at = ?1 \
                 WHERE state = 'in_flight' AND lease_until < ?1",
                params![now],
            )
            .map_err(|e| tx.err(e))?;
        tx.commit()?;
        Ok(n as u64)
    }
}

/// `s` cut to at most `max` bytes on a character boundary.
fn bounded(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
