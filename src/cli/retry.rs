//! `retry` (a bulk job in the foreground) and `worker` (poll and retry until stopped).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use color_eyre::eyre;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::watch;

use super::Ctx;
use super::bulk::BulkArgs;
use super::genesys::runtime;
use super::output::thousands;
use crate::config::Config;
use crate::genesys::{Client, ClientOptions, GenesysError};
use crate::retry::sender::Sender;
use crate::store::Store;
use crate::time::now_ms;
use crate::worker::engine::{Engine, EngineConfig, Event, RunMode, RunReport};
use crate::worker::poll::{PollOptions, poll};
use crate::worker::routes::Routes;

/// The Genesys client when credentials are configured; `None` (with why) otherwise.
pub(super) fn genesys(config: &Config) -> eyre::Result<Option<Arc<Client>>> {
    match ClientOptions::from_config(&config.genesys) {
        Ok(o) => Ok(Some(Arc::new(Client::new(o)?))),
        Err(GenesysError::NoCredentials) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(super) fn engine(config: &Config, store: Store, genesys: Option<Arc<Client>>) -> Engine {
    let has_genesys = genesys.is_some();
    let sender = Arc::new(Sender::new(config.retry.timeout, genesys));
    let routes = Routes::new(&config.retry, config.webhooks.clone(), has_genesys);
    Engine::new(store, EngineConfig::new(config.retry.clone()), sender, routes)
}

/// A watch that turns true on Ctrl-C or SIGTERM.
pub(super) fn stop_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    // The handlers are registered here, before this returns (not when a spawned task first
    // runs): a signal that arrives right after a command says it has started stops it cleanly.
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = signal(SignalKind::interrupt()).ok();
        let mut term = signal(SignalKind::terminate()).ok();
        tokio::spawn(async move {
            tokio::select! {
                _ = next(int.as_mut()) => {}
                _ = next(term.as_mut()) => {}
            }
            let _ = tx.send(true);
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = tx.send(true);
    });
    rx
}

/// The next delivery of a signal that could be registered; never, for one that could not.
#[cfg(unix)]
async fn next(s: Option<&mut tokio::signal::unix::Signal>) {
    match s {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    #[command(flatten)]
    pub bulk: BulkArgs,
    /// Retry delivered entries too
    #[arg(long)]
    pub force: bool,
}

pub fn retry(ctx: &Ctx, a: RetryArgs) -> eyre::Result<ExitCode> {
    let b = &a.bulk;
    let mut store = ctx.open_existing()?;
    let sel = b.selection(&store, "retry")?;
    let plan = store.plan_retry(&sel, a.force)?;
    if let Some(code) = b.gate("retry", "retried", &sel, &plan)? {
        return Ok(code);
    }
    let queued = store.retry_now(&sel, a.force, &b.operator(ctx), now_ms())?;
    let ids = queued.ids.clone();
    let rt = runtime()?;
    let report = rt.block_on(async {
        let mut eng = engine(&ctx.config, store, genesys(&ctx.config)?);
        let bar = ProgressBar::with_draw_target(Some(ids.len() as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("retrying {wide_bar} {pos}/{len} {msg}").expect("valid template"),
        );
        let stop = stop_signal();
        let report = eng
            .run(RunMode::Job(ids.clone()), stop, |e| {
                if let Event::Progress(p) = e {
                    bar.set_position(p.done());
                    let eta = p
                        .eta_secs
                        .map(|s| format!(", {} left", crate::time::humanize((s * 1000.0) as i64)))
                        .unwrap_or_default();
                    bar.set_message(format!(
                        "{:.0}/s{eta}  delivered {} rescheduled {} dead {}",
                        p.rate, p.delivered, p.rescheduled, p.dead
                    ));
                }
            })
            .await?;
        bar.finish_and_clear();
        eyre::Ok(report)
    })?;
    print_report(&report, queued.skipped.values().sum(), b.json)?;
    Ok(if report.stopped { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn print_report(r: &RunReport, skipped: u64, json: bool) -> eyre::Result<()> {
    let p = &r.progress;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "delivered": p.delivered, "rescheduled": p.rescheduled, "dead": p.dead, "held": p.held,
                "skipped": skipped, "not_attempted": r.not_attempted.len(), "released": r.released,
                "stopped": r.stopped, "attempts": p.attempts, "rate_per_sec": p.rate,
            })
        );
        return Ok(());
    }
    if r.stopped {
        println!("stopped: in-flight calls finished or were cut off, leases given back");
    }
    println!("delivered    {}", thousands(p.delivered));
    println!("rescheduled  {}  (the worker retries them on their backoff)", thousands(p.rescheduled));
    println!("dead         {}", thousands(p.dead));
    if p.held > 0 {
        println!("held         {}  (no route to send them by; see `redrive show ID`)", thousands(p.held));
    }
    println!("skipped      {}", thousands(skipped));
    if !r.not_attempted.is_empty() {
        println!(
            "left         {}  (queued, not attempted: target circuit open, webhook paused, or stopped)",
            thousands(r.not_attempted.len() as u64)
        );
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// One round: poll once (when credentials are set), retry what is due, then exit
    #[arg(long)]
    pub once: bool,
    /// Do not poll Genesys; only retry what is in the store
    #[arg(long)]
    pub no_poll: bool,
    /// Print each outcome as a JSON line (otherwise a summary line now and then)
    #[arg(long)]
    pub json: bool,
}

pub fn worker(ctx: &Ctx, a: WorkerArgs) -> eyre::Result<ExitCode> {
    let store = ctx.open()?;
    let rt = runtime()?;
    rt.block_on(async {
        let genesys = genesys(&ctx.config)?;
        let stop = stop_signal();
        let polling = !a.no_poll && genesys.is_some();
        if !a.no_poll && genesys.is_none() {
            eprintln!("no Genesys credentials: not polling; retrying what is in the store");
        }
        let poll_task = if polling {
            let client = genesys.clone().expect("checked");
            let config = ctx.config.clone();
            let mut stop = stop.clone();
            let once = a.once;
            Some(tokio::spawn(async move {
                let mut store = match Store::open(&config.db, (&config.store).into()) {
                    Ok(s) => s,
                    Err(e) => return eprintln!("poller: {e}"),
                };
                let opts = PollOptions {
                    lookback: config.genesys.lookback,
                    auto_retry: config.worker.auto_retry,
                    ..Default::default()
                };
                loop {
                    match poll(&client, &mut store, &opts, now_ms(), |_| {}).await {
                        Ok(s) => eprintln!(
                            "polled: {} failures found, {} new, {} without payload",
                            s.failures_found, s.new, s.without_payload
                        ),
                        Err(e) => eprintln!("poll failed: {}", crate::text::sanitize(&e.to_string())),
                    }
                    if once {
                        return;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(config.worker.poll_interval) => {}
                        _ = stop.changed() => return,
                    }
                }
            }))
        } else {
            None
        };
        if a.once
            && let Some(t) = poll_task
        {
            // One round: the poll first, so what it found is retried in this round.
            let _ = t.await;
        }
        let mut eng = engine(&ctx.config, store, genesys);
        eprintln!("worker {} running; Ctrl-C or SIGTERM stops it gracefully", eng.owner());
        let json = a.json;
        let mut last_line = std::time::Instant::now();
        let mode = if a.once { RunMode::Drain } else { RunMode::Forever };
        let report = eng
            .run(mode, stop, |e| {
                if json {
                    if let Ok(s) = serde_json::to_string(&e) {
                        println!("{s}");
                    }
                    return;
                }
                match e {
                    Event::Progress(p) if last_line.elapsed() >= Duration::from_secs(5) => {
                        last_line = std::time::Instant::now();
                        eprintln!(
                            "attempts {}  delivered {}  rescheduled {}  dead {}  ({:.1}/s)",
                            p.attempts, p.delivered, p.rescheduled, p.dead, p.rate
                        );
                    }
                    Event::Breaker { target, state } => eprintln!("circuit breaker for {target}: {state:?}"),
                    Event::Paused { webhook, reason } => eprintln!("paused webhook {webhook}: {reason}"),
                    _ => {}
                }
            })
            .await?;
        if !json {
            print_report(&report, 0, false)?;
        }
        eyre::Ok(ExitCode::SUCCESS)
    })
}
