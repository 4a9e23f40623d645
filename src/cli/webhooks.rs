//! `webhooks`, `pause`, `resume`: the outbound endpoints and their state.

use std::collections::HashMap;
use std::process::ExitCode;

use clap::Args;
use color_eyre::eyre;

use super::output::{table, thousands};
use super::{Ctx, usage};
use crate::store::EntryState;
use crate::time::now_ms;
use crate::worker::routes::Routes;

#[derive(Debug, Args)]
pub struct WebhooksArgs {
    /// One JSON object per line
    #[arg(long)]
    pub json: bool,
}

pub fn list(ctx: &Ctx, a: WebhooksArgs) -> eyre::Result<ExitCode> {
    let store = ctx.open_existing()?;
    let stats = store.stats()?;
    let hooks = store.webhooks()?;
    let known: HashMap<String, crate::store::Webhook> =
        hooks.iter().map(|w| (w.id.clone(), w.clone())).collect();
    let has_genesys = ctx.config.genesys.client_id.is_some() && ctx.config.genesys.client_secret.is_some();
    let mut routes = Routes::new(&ctx.config.retry, ctx.config.webhooks.clone(), has_genesys);
    let mut rows = Vec::new();
    for w in &hooks {
        let s = stats.by_webhook.get(&w.id);
        let n = |st: EntryState| s.and_then(|s| s.by_state.get(&st)).copied().unwrap_or(0);
        let route = match routes.resolve(&w.id, &known) {
            Ok((r, _)) => match r.as_ref() {
                crate::retry::sender::Route::Direct(t) => {
                    format!("direct {}", t.url.host_str().unwrap_or(""))
                }
                crate::retry::sender::Route::Genesys { .. } => "genesys".to_string(),
            },
            Err(_) => "none".into(),
        };
        if a.json {
            println!(
                "{}",
                serde_json::json!({"id": w.id, "name": w.name, "source": w.source, "method": w.method, "url": w.url,
                    "paused": w.paused, "paused_reason": w.paused_reason, "route": route,
                    "pending": n(EntryState::Pending), "dead": n(EntryState::Dead), "delivered": n(EntryState::Delivered)})
            );
            continue;
        }
        rows.push(vec![
            w.name.clone(),
            w.method.clone().unwrap_or_else(|| "-".into()),
            route,
            thousands(n(EntryState::Pending)),
            thousands(n(EntryState::Dead)),
            thousands(n(EntryState::Delivered)),
            if w.paused {
                format!("PAUSED: {}", w.paused_reason.clone().unwrap_or_default())
            } else {
                "active".into()
            },
            w.id.clone(),
        ]);
    }
    if !a.json {
        if rows.is_empty() {
            eprintln!("no webhooks known yet: `redrive poll` discovers them");
        } else {
            print!(
                "{}",
                table(
                    &["WEBHOOK", "METHOD", "REPLAY", "PENDING", "DEAD", "DELIVERED", "STATE", "ID"],
                    &rows,
                    &[(0, 36), (6, 40)]
                )
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct PauseArgs {
    /// Webhook id (see `redrive webhooks`)
    pub webhook: String,
    /// Why (shown beside the webhook)
    #[arg(long)]
    pub reason: Option<String>,
    /// Name recorded in the audit log [default: your login name]
    #[arg(long)]
    pub operator: Option<String>,
}

pub fn pause(ctx: &Ctx, a: PauseArgs, paused: bool) -> eyre::Result<ExitCode> {
    let mut store = ctx.open_existing()?;
    let operator = a.operator.clone().unwrap_or_else(|| ctx.config.operator.clone());
    let reason = a.reason.clone().or_else(|| paused.then(|| format!("paused by {operator}")));
    if !store.set_webhook_paused(&a.webhook, paused, reason.as_deref(), &operator, now_ms())? {
        return Err(usage(format!("no webhook with id {} (see `redrive webhooks`)", a.webhook)));
    }
    println!("{} {}", if paused { "paused" } else { "resumed" }, a.webhook);
    Ok(ExitCode::SUCCESS)
}
