//! What retry and discard share: which entries (ids, filter flags or --all), a plan shown
//! before anything changes, and a confirmation.

use std::process::ExitCode;

use clap::Args;
use color_eyre::eyre;

use super::output::thousands;
use super::{Ctx, FilterArgs, confirm, stdin_is_terminal, usage};
use crate::store::{ChangeReport, EntryId, Order, Selection, Store};
use crate::time::now_ms;

#[derive(Debug, Args)]
pub struct BulkArgs {
    /// Entry ids (or use filter flags instead)
    pub ids: Vec<EntryId>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Every entry the action applies to (when no ids or filter flags are given)
    #[arg(long)]
    pub all: bool,
    /// Print how many entries would change and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Name recorded in the audit log [default: your login name]
    #[arg(long)]
    pub operator: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

impl BulkArgs {
    pub fn operator(&self, ctx: &Ctx) -> String {
        self.operator.clone().unwrap_or_else(|| ctx.config.operator.clone())
    }

    /// Turn ids or filter flags into a selection; `--limit` picks the newest N matching ids,
    /// the same ones `list` with those flags shows.
    pub fn selection(&self, store: &Store, verb: &str) -> eyre::Result<Selection> {
        match (self.ids.is_empty(), self.filter.is_unset(), self.all) {
            (false, true, false) => Ok(Selection::Ids(self.ids.clone())),
            (false, _, _) => Err(usage(format!("give entry ids or filter flags to {verb}, not both"))),
            (true, true, false) => Err(usage(format!(
                "say which entries to {verb}: entry ids, filter flags (--state, --webhook, --status, \
                 --since, --until, --search), or --all"
            ))),
            (true, false, true) => Err(usage("--all cannot be combined with filter flags")),
            (true, _, _) => {
                let f = self.filter.to_filter(now_ms())?;
                match self.filter.limit {
                    Some(n) => {
                        let ids =
                            store.list(&f, Order::NewestFirst, None, n)?.into_iter().map(|e| e.id).collect();
                        Ok(Selection::Ids(ids))
                    }
                    None => Ok(Selection::Filter(f)),
                }
            }
        }
    }

    /// Show the plan and ask. `Some(code)`: stop here with that exit code (a dry run, nothing
    /// to do, a refusal or a cancel); `None`: go ahead.
    pub fn gate(
        &self,
        verb: &str,
        past: &str,
        sel: &Selection,
        plan: &ChangeReport,
    ) -> eyre::Result<Option<ExitCode>> {
        if self.dry_run || plan.changed == 0 {
            let said = if self.dry_run { format!("would {verb}") } else { past.to_string() };
            report(plan, &said, sel, self.json)?;
            return Ok(Some(ExitCode::SUCCESS));
        }
        if self.yes {
            return Ok(None);
        }
        if !stdin_is_terminal() {
            return Err(usage(format!(
                "refusing to {verb} {} entries without confirmation: stdin is not a terminal; pass --yes",
                thousands(plan.changed)
            )));
        }
        let mut first = verb.chars();
        let verb_cap: String =
            first.next().map(|c| c.to_uppercase().chain(first).collect()).unwrap_or_default();
        if confirm(&format!("{verb_cap} {} entries ({sel})?", thousands(plan.changed)))? {
            Ok(None)
        } else {
            eprintln!("cancelled; nothing changed");
            Ok(Some(ExitCode::from(1)))
        }
    }
}

/// `discarded 3 of 4 matching entries (…)` and the skipped ones by reason, or the JSON report.
pub fn report(r: &ChangeReport, verb: &str, sel: &Selection, json: bool) -> eyre::Result<()> {
    if json {
        println!("{}", serde_json::to_string(r)?);
        return Ok(());
    }
    println!("{verb} {} of {} matching entries ({sel})", thousands(r.changed), thousands(r.matched));
    for (why, n) in &r.skipped {
        println!("  skipped {}: {why}", thousands(*n));
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct DiscardArgs {
    #[command(flatten)]
    pub bulk: BulkArgs,
}

pub fn discard(ctx: &Ctx, a: DiscardArgs) -> eyre::Result<ExitCode> {
    let b = &a.bulk;
    let mut store = ctx.open_existing()?;
    let sel = b.selection(&store, "discard")?;
    let plan = store.plan_discard(&sel)?;
    if let Some(code) = b.gate("discard", "discarded", &sel, &plan)? {
        return Ok(code);
    }
    let done = store.discard(&sel, &b.operator(ctx), now_ms())?;
    report(&done, "discarded", &sel, b.json)?;
    Ok(ExitCode::SUCCESS)
}
