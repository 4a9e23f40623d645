//! `list`, `show`, `stats`, `discard`, `prune`.

use std::process::ExitCode;

use clap::Args;
use color_eyre::eyre;

use super::output::{short_time, table, thousands};
use super::{Ctx, FilterArgs, usage};
use crate::store::{EntryId, Order, Store};
use crate::text::{pretty_payload, sanitize};
use crate::time::{now_ms, parse_duration};
use crate::transfer::EntryLine;

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Continue after this id (the last one of the previous page)
    #[arg(long, value_name = "ID")]
    pub after: Option<EntryId>,
    /// One JSON object per line instead of a table
    #[arg(long)]
    pub json: bool,
}

pub fn list(ctx: &Ctx, a: ListArgs) -> eyre::Result<ExitCode> {
    let store = ctx.open_existing()?;
    let filter = a.filter.to_filter(now_ms())?;
    let limit = a.filter.limit.unwrap_or(50);
    let rows = store.list(&filter, Order::NewestFirst, a.after, limit)?;
    if a.json {
        for e in &rows {
            println!("{}", serde_json::to_string(&EntryLine::summary(e))?);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        eprintln!("no entries match {filter}");
        return Ok(ExitCode::SUCCESS);
    }
    let names = webhook_names(&store)?;
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|e| {
            vec![
                e.id.to_string(),
                e.state.to_string(),
                names.get(&e.webhook_id).cloned().unwrap_or_else(|| e.webhook_id.clone()),
                e.status_code.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
                e.attempts.to_string(),
                short_time(Some(e.failed_at)),
                match (e.state, e.next_attempt_at) {
                    (crate::store::EntryState::Pending, None) => "held".into(),
                    (_, t) => short_time(t),
                },
                e.last_error.clone().or_else(|| e.error.clone()).unwrap_or_default(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["ID", "STATE", "WEBHOOK", "STATUS", "TRIES", "FAILED (UTC)", "NEXT", "ERROR"],
            &body,
            &[(2, 30), (7, 60)]
        )
    );
    let total = store.count(&filter)?;
    if total > rows.len() as u64 || a.after.is_some() {
        let last = rows.last().map(|e| e.id).unwrap_or_default();
        eprintln!(
            "{} shown of {} matching {filter}; next page: --after {last}",
            rows.len(),
            thousands(total)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn webhook_names(store: &Store) -> eyre::Result<std::collections::HashMap<String, String>> {
    Ok(store.webhooks()?.into_iter().map(|w| (w.id, w.name)).collect())
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The entry's id (from `list`), or its source id (the `relay:…` id the relay answered
    /// with, or a Genesys execution id)
    pub id: String,
    /// The entry, its payload and attempts as one JSON object
    #[arg(long)]
    pub json: bool,
}

pub fn show(ctx: &Ctx, a: ShowArgs) -> eyre::Result<ExitCode> {
    let store = ctx.open_existing()?;
    let id = match a.id.parse::<EntryId>() {
        Ok(id) => id,
        Err(_) => match store.find_by_source_id(&a.id)? {
            Some(id) => id,
            None => {
                return Err(usage(format!(
                    "no entry has the id or source id {:?} (a relay call waiting in the inbox moves into the store within a second while the relay runs)",
                    sanitize(&a.id)
                )));
            }
        },
    };
    let rec = store.record(id)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&EntryLine::full(&rec))?);
        return Ok(ExitCode::SUCCESS);
    }
    let e = &rec.entry;
    let names = webhook_names(&store)?;
    let opt =
        |v: &Option<String>| v.as_deref().map(|s| sanitize(s).into_owned()).unwrap_or_else(|| "-".into());
    let status = |s: Option<u16>| s.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
    let webhook = match names.get(&e.webhook_id) {
        Some(n) => format!("{} ({})", sanitize(n), sanitize(&e.webhook_id)),
        None => sanitize(&e.webhook_id).into_owned(),
    };
    println!("Entry {}  {}", e.id, e.state);
    let mut fields = vec![
        ("source id", format!("{} ({})", sanitize(&e.source_id), sanitize(&e.source_kind))),
        ("webhook", webhook),
        (
            "failed",
            format!(
                "{}  status {}  {}",
                crate::time::format_ms(e.failed_at),
                status(e.status_code),
                opt(&e.error)
            ),
        ),
        ("attempts", format!("{} ({} this round)", e.attempts, e.round_attempts)),
        (
            "next attempt",
            match (e.state, e.next_attempt_at) {
                (crate::store::EntryState::Pending, None) => "held for an operator".into(),
                (_, t) => t.map(crate::time::format_ms).unwrap_or_else(|| "-".into()),
            },
        ),
        ("last result", format!("status {}  {}", status(e.last_status), opt(&e.last_error))),
    ];
    if let (Some(owner), Some(until)) = (&e.lease_owner, e.lease_until) {
        fields.push(("lease", format!("{} until {}", sanitize(owner), crate::time::format_ms(until))));
    }
    let mut payload_note = format!("{}, {} bytes", opt(&e.content_type), thousands(e.payload_size));
    if e.payload_truncated {
        payload_note.push_str(&format!(" (stored: first {} bytes)", thousands(rec.payload.len() as u64)));
    }
    fields.push(("payload", payload_note));
    if let Some(why) = &e.payload_unavailable {
        fields.push(("not replayable", sanitize(why).into_owned()));
    }
    fields.push(("created", crate::time::format_ms(e.created_at)));
    fields.push(("updated", crate::time::format_ms(e.updated_at)));
    for (k, v) in fields {
        println!("  {k:<15}{v}");
    }
    println!("\nPayload:");
    println!("{}", indent(&pretty_payload(&rec.payload)));
    println!("\nAttempts:");
    if rec.attempts.is_empty() {
        println!("  none yet");
    }
    for at in &rec.attempts {
        println!(
            "  #{:<3} {}  {:>4}  {:<9}  {:>6} ms  {}",
            at.attempt,
            short_time(Some(at.started_at)),
            status(at.status_code),
            at.class.as_str(),
            at.duration_ms,
            opt(&at.error)
        );
        if let Some(snip) = &at.response_snippet {
            println!("        response: {}", crate::text::truncate(&sanitize(snip), 200));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The payload for reading: pretty JSON when it parses, else the text (lossy), sanitised.
fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// As one JSON object
    #[arg(long)]
    pub json: bool,
}

pub fn stats(ctx: &Ctx, a: StatsArgs) -> eyre::Result<ExitCode> {
    let store = ctx.open_existing()?;
    let s = store.stats()?;
    if a.json {
        println!("{}", serde_json::to_string(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} entries in {}", thousands(s.total), store.path().display());
    let states = crate::store::EntryState::ALL;
    let by_state: Vec<Vec<String>> = states
        .iter()
        .map(|st| vec![st.to_string(), thousands(s.by_state.get(st).copied().unwrap_or(0))])
        .collect();
    println!("\n{}", table(&["STATE", "ENTRIES"], &by_state, &[]));
    if !s.by_webhook.is_empty() {
        let mut header = vec!["WEBHOOK", "TOTAL"];
        header.extend(states.iter().map(|s| s.as_str()));
        let rows: Vec<Vec<String>> = s
            .by_webhook
            .iter()
            .map(|(id, w)| {
                let mut r = vec![w.name.clone().unwrap_or_else(|| id.clone()), thousands(w.total)];
                r.extend(states.iter().map(|st| thousands(w.by_state.get(st).copied().unwrap_or(0))));
                r
            })
            .collect();
        println!("{}", table(&header, &rows, &[(0, 40)]));
    }
    if !s.by_status_class.is_empty() {
        let rows: Vec<Vec<String>> =
            s.by_status_class.iter().map(|(k, n)| vec![k.clone(), thousands(*n)]).collect();
        println!("{}", table(&["FAILURE STATUS", "ENTRIES"], &rows, &[]));
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove delivered and discarded entries last changed longer ago than this [default: store.prune_after, 30d]
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<String>,
    /// Print how many entries would be removed and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn prune(ctx: &Ctx, a: PruneArgs) -> eyre::Result<ExitCode> {
    let age = match &a.older_than {
        Some(s) => parse_duration(s).map_err(|e| usage(format!("--older-than: {e}")))?,
        None => ctx.config.store.prune_after,
    };
    let mut store = ctx.open_existing()?;
    let now = now_ms();
    let cutoff = now - age.as_millis() as i64;
    let n = if a.dry_run {
        store.count_prunable(cutoff)?
    } else {
        store.prune(cutoff, 5000, &ctx.config.operator, now)?
    };
    if a.json {
        println!(
            "{}",
            serde_json::json!({ "dry_run": a.dry_run, "removed": n, "before": crate::time::format_ms(cutoff) })
        );
    } else {
        let verb = if a.dry_run { "would remove" } else { "removed" };
        println!(
            "{verb} {} delivered or discarded entries last changed before {}",
            thousands(n),
            crate::time::format_ms(cutoff)
        );
    }
    Ok(ExitCode::SUCCESS)
}
