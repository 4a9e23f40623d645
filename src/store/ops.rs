//! Operator actions over many entries (retry now, discard, prune), each one transaction with
//! its audit row, and the counts the CLI and console show.

use std::collections::BTreeMap;

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter};
use serde::Serialize;

use super::model::*;
use super::{Result, Selection, Store, Tx};
use crate::time::Millis;

/// What a bulk action did (or, for a dry run, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChangeReport {
    /// Entries the selection matched.
    pub matched: u64,
    /// Entries changed.
    pub changed: u64,
    /// Entries left alone, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// The ids changed (empty for a dry run).
    #[serde(skip)]
    pub ids: Vec<EntryId>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Retry { force: bool },
    Discard,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Retry { force: false } => "retry",
            Action::Retry { force: true } => "retry_force",
            Action::Discard => "discard",
        }
    }

    /// Why an entry in `state` is left alone, or `None` when the action applies to it.
    fn skip_reason(self, state: EntryState, replayable: bool) -> Option<&'static str> {
        use EntryState::*;
        match (self, state) {
            (_, InFlight) => Some("in flight (a worker holds it)"),
            (Action::Retry { .. }, _) if !replayable => Some("payload unavailable (cannot be replayed)"),
            (Action::Retry { force: false }, Delivered) => Some("already delivered (use --force)"),
            (Action::Retry { .. }, _) => None,
            (Action::Discard, Delivered) => Some("already delivered"),
            (Action::Discard, Discarded) => Some("already discarded"),
            (Action::Discard, Pending | Dead) => None,
        }
    }

    fn eligible_sql(self) -> &'static str {
        match self {
            Action::Retry { force: false } => {
                "state IN ('pending', 'dead', 'discarded') AND payload_unavailable IS NULL"
            }
            Action::Retry { force: true } => {
                "state IN ('pending', 'dead', 'discarded', 'delivered') AND payload_unavailable IS NULL"
            }
            Action::Discard => "state IN ('pending', 'dead')",
        }
    }

    fn set_sql(self) -> &'static str {
        match self {
            Action::Retry { .. } => {
                "state = 'pending', next_attempt_at = ?NOW, round_attempts = 0, lease_owner = NULL, \
                 lease_until = NULL, updated_at = ?NOW"
            }
            Action::Discard => "state = 'discarded', next_attempt_at = NULL, updated_at = ?NOW",
        }
    }
}

/// Counts for `redrive stats` and the console.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub total: u64,
    pub by_state: BTreeMap<EntryState, u64>,
    /// webhook id → (name if known, counts by state)
    pub by_webhook: BTreeMap<String, WebhookStats>,
    /// `5xx` → n; `none` for failures without a status code.
    pub by_status_class: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WebhookStats {
    pub name: Option<String>,
    pub total: u64,
    pub by_state: BTreeMap<EntryState, u64>,
}

impl Store {
    /// Queue the selected entries for an immediate retry with a fresh retry budget. Delivered
    /// entries only with `force`; entries in flight or without a payload are skipped.
    pub fn retry_now(
        &mut self,
        sel: &Selection,
        force: bool,
        operator: &str,
        now: Millis,
    ) -> Result<ChangeReport> {
        self.bulk(sel, Action::Retry { force }, operator, now, false)
    }

    /// Mark the selected pending or dead entries `discarded` (kept, with their history).
    pub fn discard(&mut self, sel: &Selection, operator: &str, now: Millis) -> Result<ChangeReport> {
        self.bulk(sel, Action::Discard, operator, now, false)
    }

    /// What [`Store::retry_now`] would do, changing nothing.
    pub fn plan_retry(&mut self, sel: &Selection, force: bool) -> Result<ChangeReport> {
        self.bulk(sel, Action::Retry { force }, "", 0, true)
    }

    /// What [`Store::discard`] would do, changing nothing.
    pub fn plan_discard(&mut self, sel: &Selection) -> Result<ChangeReport> {
        self.bulk(sel, Action::Discard, "", 0, true)
    }

    fn bulk(
        &mut self,
        sel: &Selection,
        action: Action,
        operator: &str,
        now: Millis,
        dry_run: bool,
    ) -> Result<ChangeReport> {
        let (cond, params) = sel.to_sql(&self.conn).map_err(|e| self.err(e))?;
        let plan = |tx: &rusqlite::Connection| -> rusqlite::Result<ChangeReport> {
            let mut report = ChangeReport::default();
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT state, payload_unavailable IS NULL, COUNT(*) FROM entries WHERE {cond} GROUP BY 1, 2"
            ))?;
            let mut rows = stmt.query(params_from_iter(params.iter()))?;
            while let Some(r) = rows.next()? {
                let state: EntryState = r.get::<_, String>(0)?.parse().unwrap_or(EntryState::InFlight);
                let n: u64 = r.get(2)?;
                report.matched += n;
                match action.skip_reason(state, r.get(1)?) {
                    Some(why) => *report.skipped.entry(why.to_string()).or_default() += n,
                    None => report.changed += n,
                }
            }
            if let Selection::Ids(ids) = sel {
                let unique: std::collections::BTreeSet<_> = ids.iter().collect();
                let missing = unique.len() as u64 - report.matched;
                if missing > 0 {
                    report.skipped.insert("no such id".into(), missing);
                }
            }
            Ok(report)
        };
        if dry_run {
            return plan(&self.conn).map_err(|e| self.err(e));
        }
        let tx = self.write_tx()?;
        let mut report = plan(&tx).map_err(|e| tx.err(e))?;
        let now_ix = params.len() + 1;
        let sql = format!(
            "UPDATE entries SET {} WHERE ({cond}) AND {} RETURNING id",
            action.set_sql().replace("?NOW", &format!("?{now_ix}")),
            action.eligible_sql()
        );
        let mut all = params.clone();
        all.push(Value::Integer(now));
        report.ids = {
            let mut stmt = tx.prepare(&sql).map_err(|e| tx.err(e))?;
            stmt.query_map(params_from_iter(all), |r| r.get(0))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<EntryId>>>())
                .map_err(|e| tx.err(e))?
        };
        report.ids.sort_unstable();
        let changed = report.ids.len() as u64;
        report.changed = changed;
        let ids = match sel {
            Selection::Ids(ids) => Some(serde_json::to_string(ids).expect("ids serialise")),
            Selection::Filter(_) => None,
        };
        let detail = serde_json::to_string(&report.skipped).ok();
        audit(&tx, now, operator, action.name(), changed, sel.filter_text(), ids, detail)?;
        tx.commit()?;
        Ok(report)
    }

    /// Remove delivered and discarded entries last changed before `cutoff`, in batches of
    /// `batch` rows, each batch its own transaction so other writers are never held up long.
    pub fn prune(&mut self, cutoff: Millis, batch: usize, operator: &str, now: Millis) -> Result<u64> {
        let mut total = 0u64;
        loop {
            let tx = self.write_tx()?;
            let n = tx
                .execute(
                    "DELETE FROM entries WHERE id IN (SELECT id FROM entries \
                     WHERE state IN ('delivered', 'discarded') AND updated_at < ?1 LIMIT ?2)",
                    params![cutoff, batch as i64],
                )
                .map_err(|e| tx.err(e))? as u64;
            total += n;
            if n < batch as u64 {
                let detail = format!("{{\"before\":\"{}\"}}", crate::time::format_ms(cutoff));
                audit(&tx, now, operator, "prune", total, None, None, Some(detail))?;
                tx.commit()?;
                return Ok(total);
            }
            tx.commit()?;
        }
    }

    /// How many entries [`Store::prune`] would remove.
    pub fn count_prunable(&self, cutoff: Millis) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM entries WHERE state IN ('delivered', 'discarded') AND updated_at < ?1",
                [cutoff],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    pub fn stats(&self) -> Result<Stats> {
        let mut s = Stats::default();
        for (state, n) in self.counts_by_state()? {
            s.by_state.insert(state, n);
            s.total += n;
        }
        let names: BTreeMap<String, String> = self.webhooks()?.into_iter().map(|w| (w.id, w.name)).collect();
        let q = |sql: &str| -> Result<Vec<(Option<String>, String, u64)>> {
            let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(|e| self.err(e))
        };
        for (webhook, state, n) in q("SELECT webhook_id, state, COUNT(*) FROM entries GROUP BY 1, 2")? {
            let webhook = webhook.unwrap_or_default();
            let w = s.by_webhook.entry(webhook.clone()).or_default();
            w.name = names.get(&webhook).cloned();
            w.total += n;
            if let Ok(state) = state.parse() {
                *w.by_state.entry(state).or_default() += n;
            }
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT status_code / 100, COUNT(*) FROM entries GROUP BY 1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, u64>(1)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| self.err(e))?;
        for (class, n) in rows {
            let key = class.map(|c| format!("{c}xx")).unwrap_or_else(|| "none".into());
            s.by_status_class.insert(key, n);
        }
        Ok(s)
    }

    /// The newest audit rows first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at, operator, action, count, filter, ids, detail FROM audit ORDER BY id DESC LIMIT ?1",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map([limit as i64], |r| {
            Ok(AuditRecord {
                at: r.get(0)?,
                operator: r.get(1)?,
                action: r.get(2)?,
                count: r.get(3)?,
                filter: r.get(4)?,
                ids: r.get(5)?,
                detail: r.get(6)?,
            })
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(|e| self.err(e))
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn audit(
    tx: &Tx<'_>,
    at: Millis,
    operator: &str,
    action: &str,
    count: u64,
    filter: Option<String>,
    ids: Option<String>,
    detail: Option<String>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO audit (at, operator, action, count, filter, ids, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![at, operator, action, count as i64, filter, ids, detail],
    )
    .map_err(|e| tx.err(e))?;
    Ok(())
}
