//! The webhooks table: configuration cached from the source, and the paused flag.

use rusqlite::params;

use super::model::Webhook;
use super::{Result, Store};
use crate::time::Millis;

impl Store {
    /// Insert or refresh webhooks; a webhook's paused flag is kept across refreshes.
    pub fn upsert_webhooks(&mut self, hooks: &[Webhook], now: Millis) -> Result<()> {
        let tx = self.write_tx()?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO webhooks (id, name, source, method, url, config, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, source = excluded.source, \
                     method = excluded.method, url = excluded.url, config = excluded.config, \
                     updated_at = excluded.updated_at",
                )
                .map_err(|e| tx.err(e))?;
            for w in hooks {
                stmt.execute(params![w.id, w.name, w.source, w.method, w.url, w.config, now])
                    .map_err(|e| tx.err(e))?;
            }
        }
        tx.commit()
    }

    pub fn webhooks(&self) -> Result<Vec<Webhook>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, name, source, method, url, config, paused, paused_reason, updated_at \
                 FROM webhooks ORDER BY name, id",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map([], |r| {
            Ok(Webhook {
                id: r.get(0)?,
                name: r.get(1)?,
                source: r.get(2)?,
                method: r.get(3)?,
                url: r.get(4)?,
                config: r.get(5)?,
                paused: r.get(6)?,
                paused_reason: r.get(7)?,
                updated_at: r.get(8)?,
            })
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(|e| self.err(e))
    }

    /// Pause or resume a webhook (a paused webhook's entries are not claimed), with an audit
    /// row naming who did it. Returns false when the webhook is not known.
    pub fn set_webhook_paused(
        &mut self,
        id: &str,
        paused: bool,
        reason: Option<&str>,
        operator: &str,
        now: Millis,
    ) -> Result<bool> {
        let tx = self.write_tx()?;
        let n = tx
            .execute(
                "UPDATE webhooks SET paused = ?2, paused_reason = ?3, updated_at = ?4 WHERE id = ?1",
                params![id, paused, reason.filter(|_| paused), now],
            )
            .map_err(|e| tx.err(e))?;
        if n > 0 {
            let action = if paused { "pause_webhook" } else { "resume_webhook" };
            let detail = serde_json::json!({"webhook": id, "reason": reason}).to_string();
            super::ops::audit(&tx, now, operator, action, 1, None, None, Some(detail))?;
        }
        tx.commit()?;
        Ok(n > 0)
    }
}
