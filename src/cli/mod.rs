//! The command line: argument definitions, and one module per group of subcommands.

mod bulk;
mod entries;
mod filter_args;
mod genesys;
mod output;
mod relay;
mod retry;
mod transfer;
mod tui;
mod webhooks;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use color_eyre::eyre::{self, WrapErr};

use crate::config::{Config, Overrides};
use crate::store::{Store, StoreOptions};

pub use filter_args::FilterArgs;

const ABOUT: &str = "A console for Genesys Cloud's failed outbound webhook calls: see what failed, \
keep it safe in a local dead letter queue, and send it again.";

#[derive(Debug, Parser)]
#[command(name = "redrive", version, about = ABOUT, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Config file [default: the platform config dir's redrive/config.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The dead letter queue database [env: REDRIVE_DB] [default: the platform data dir's redrive/redrive.db]
    #[arg(long, global = true, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Where to write the log (redrive never logs to the terminal)
    #[arg(long, global = true, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The interactive console (the default): webhooks, failures and the dead letter queue
    Tui(tui::TuiArgs),
    /// List entries in the dead letter queue, newest first
    List(entries::ListArgs),
    /// Show one entry: its details, payload and every attempt
    Show(entries::ShowArgs),
    /// Count entries by state, webhook and status class
    Stats(entries::StatsArgs),
    /// Mark entries discarded (kept with their history, never sent again)
    Discard(bulk::DiscardArgs),
    /// Write entries as JSONL (default) or CSV
    Export(transfer::ExportArgs),
    /// Read entries from a JSONL export (or hand-written JSONL)
    Import(transfer::ImportArgs),
    /// Remove delivered and discarded entries older than an age
    Prune(entries::PruneArgs),
    /// List webhooks: how each is replayed, counts, and whether it is paused
    Webhooks(webhooks::WebhooksArgs),
    /// Pause a webhook: its entries are not retried until it is resumed
    Pause(webhooks::PauseArgs),
    /// Resume a paused webhook (one a 410 Gone paused, say)
    Resume(webhooks::PauseArgs),
    /// Fetch failed deliveries from Genesys Cloud into the dead letter queue
    Poll(genesys::PollArgs),
    /// Retry entries now, in the foreground, with progress and a summary
    Retry(retry::RetryArgs),
    /// Run the background worker: poll and retry until stopped (SIGINT/SIGTERM stop it gracefully)
    Worker(retry::WorkerArgs),
    /// The console against a simulated Genesys org on 127.0.0.1: no credentials, nothing leaves the machine
    Demo(tui::DemoArgs),
    /// Serve a simulated Genesys org on 127.0.0.1 (for trying redrive without an org)
    Sim(genesys::SimArgs),
    /// Check configuration, credentials, permissions, execution data and the database
    Doctor(genesys::DoctorArgs),
    /// Be the endpoint Genesys calls: store each call durably, then deliver it with retries
    Relay(relay::RelayArgs),
}

/// A mistake in how redrive was called: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

pub fn usage(msg: impl Into<String>) -> eyre::Report {
    UsageError(msg.into()).into()
}

/// Parse the process's arguments, run, and map the outcome to an exit code:
/// 0 success, 1 failure, 2 usage error.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(code as u8);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(report) => {
            eprintln!("error: {}", crate::text::sanitize_multiline(&chain(&report)));
            if report.downcast_ref::<UsageError>().is_some() { ExitCode::from(2) } else { ExitCode::from(1) }
        }
    }
}

/// An error and its causes on one line each, without repeating a cause a message already holds.
fn chain(report: &eyre::Report) -> String {
    let mut out = String::new();
    for cause in report.chain() {
        let s = cause.to_string();
        if out.contains(&s) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\n  caused by: ");
        }
        out.push_str(&s);
    }
    out
}

pub fn run(cli: Cli) -> eyre::Result<ExitCode> {
    let over = Overrides {
        config: cli.global.config.clone(),
        db: cli.global.db.clone(),
        log_file: cli.global.log_file.clone(),
        operator: None,
    };
    let config = Config::load(&over).map_err(|e| usage(e.to_string()))?;
    init_logging(&config);
    let ctx = Ctx { config };
    match cli.command.unwrap_or(Command::Tui(tui::TuiArgs { read_only: false })) {
        Command::List(a) => entries::list(&ctx, a),
        Command::Show(a) => entries::show(&ctx, a),
        Command::Stats(a) => entries::stats(&ctx, a),
        Command::Discard(a) => bulk::discard(&ctx, a),
        Command::Prune(a) => entries::prune(&ctx, a),
        Command::Webhooks(a) => webhooks::list(&ctx, a),
        Command::Pause(a) => webhooks::pause(&ctx, a, true),
        Command::Resume(a) => webhooks::pause(&ctx, a, false),
        Command::Export(a) => transfer::export(&ctx, a),
        Command::Import(a) => transfer::import(&ctx, a),
        Command::Tui(a) => tui::tui(&ctx, a),
        Command::Poll(a) => genesys::poll(&ctx, a),
        Command::Retry(a) => retry::retry(&ctx, a),
        Command::Worker(a) => retry::worker(&ctx, a),
        Command::Demo(a) => tui::demo(&ctx, a),
        Command::Sim(a) => genesys::sim(a),
        Command::Doctor(a) => genesys::doctor(&ctx, a),
        Command::Relay(a) => relay::relay(&ctx, a),
    }
}

/// What every command needs.
pub struct Ctx {
    pub config: Config,
}

impl Ctx {
    /// Open the store for reading: the database must already exist (a mistyped path should not
    /// quietly create an empty queue).
    pub fn open_existing(&self) -> eyre::Result<Store> {
        let db = &self.config.db;
        if !db.exists() {
            return Err(eyre::eyre!(
                "no database at {} yet: nothing has been polled or imported there. Use --db FILE or \
                 REDRIVE_DB to choose another, or `redrive import FILE` to fill this one.",
                db.display()
            ));
        }
        self.open()
    }

    /// Open (creating if needed) the store.
    pub fn open(&self) -> eyre::Result<Store> {
        Ok(Store::open(&self.config.db, StoreOptions::from(&self.config.store))?)
    }
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let path = &config.log_file;
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let Ok(file) = std::fs::OpenOptions::new().create(true).append(true).open(path) else { return };
    let filter = EnvFilter::try_from_env("REDRIVE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}

/// Ask a yes/no question on the terminal; `false` unless the answer starts with `y`.
pub fn confirm(question: &str) -> eyre::Result<bool> {
    use std::io::Write;
    let mut err = std::io::stderr();
    write!(err, "{question} [y/N] ").wrap_err("writing the prompt")?;
    err.flush().ok();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).wrap_err("reading the answer")?;
    Ok(answer.trim().to_ascii_lowercase().starts_with('y'))
}

pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}
