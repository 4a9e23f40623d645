//! `redrive tui` (the default) and `redrive demo`: the terminal set up and restored around the
//! console loop, the worker started beside it, and for the demo a simulated org on 127.0.0.1.

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use color_eyre::eyre::{self, WrapErr};
use crossterm::event::EventStream;
use futures_util::{Stream, StreamExt};
use ratatui::DefaultTerminal;

use super::Ctx;
use super::genesys::{demo_targets, runtime};
use crate::app::{AppState, Keymap};
use crate::config::Config;
use crate::console::{self, Host};
use crate::genesys::{Client, ClientOptions, GenesysError};
use crate::sim::{OrgSpec, SimConfig, SimHandle};
use crate::worker::service::{GenesysStatus, Service, ServiceConfig};

#[derive(Debug, Args)]
pub struct TuiArgs {
    /// Browse only: every key that changes data is disabled (and the worker does not run)
    #[arg(long)]
    pub read_only: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's dead letter queue in this file (default: a temporary file, removed on exit)
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Seed for the simulated org's webhooks and failures
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Failed workflow runs in the simulated org
    #[arg(long, default_value_t = 400)]
    pub failures: usize,
    /// How long the demo's broken target stays down before it recovers
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub down_for: String,
}

pub fn tui(ctx: &Ctx, a: TuiArgs) -> eyre::Result<ExitCode> {
    let config = ctx.config.clone();
    let keymap = Keymap::with_overrides(&config.keys).map_err(super::usage)?;
    let rt = runtime()?;
    rt.block_on(async move {
        let (genesys, status) = match ClientOptions::from_config(&config.genesys) {
            Ok(o) => match Client::new(o) {
                Ok(c) => (
                    Some(Arc::new(c)),
                    GenesysStatus::Connected { region: config.genesys.region.to_string() },
                ),
                Err(e) => (None, GenesysStatus::Unavailable(e.to_string())),
            },
            Err(GenesysError::NoCredentials) => (
                None,
                GenesysStatus::Unavailable(
                    "no credentials (set GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET); polling and Genesys \
                     replay are off, the queue works"
                        .into(),
                ),
            ),
            Err(e) => (None, GenesysStatus::Unavailable(e.to_string())),
        };
        run_console(config, genesys, status, a.read_only, keymap).await
    })
}

pub fn demo(ctx: &Ctx, a: DemoArgs) -> eyre::Result<ExitCode> {
    let keymap = Keymap::with_overrides(&ctx.config.keys).map_err(super::usage)?;
    let (_tmp, db) = match &a.db {
        Some(p) => (None, p.clone()),
        None => {
            let dir = tempfile::Builder::new()
                .prefix("redrive-demo-")
                .tempdir()
                .wrap_err("creating a temporary folder")?;
            let db = dir.path().join("demo.db");
            (Some(dir), db)
        }
    };
    let down_for =
        crate::time::parse_duration(&a.down_for).map_err(|e| super::usage(format!("--down-for: {e}")))?;
    let rt = runtime()?;
    rt.block_on(async move {
        let sim = SimHandle::start(demo_sim(a.seed, a.failures, down_for))
            .await
            .wrap_err("starting the simulated org")?;
        let mut config = demo_config(&ctx.config, &sim, db);
        config.keys.clear();
        let client = Arc::new(Client::new(ClientOptions::from_config(&config.genesys)?)?);
        let code = run_console(config, Some(client), GenesysStatus::Demo, false, keymap).await;
        sim.stop().await;
        code
    })
}

/// The demo's org: six webhooks (healthy, 30% failing, down for `down_for` then fine, healthy,
/// slow, healthy) and a burst of failures in the last hours.
pub fn demo_sim(seed: u64, failures: usize, down_for: std::time::Duration) -> SimConfig {
    let mut targets = demo_targets();
    for t in &mut targets {
        if let crate::sim::TargetBehaviour::DownFor { for_ } = t {
            *for_ = down_for;
        }
    }
    SimConfig {
        org: OrgSpec {
            seed,
            webhooks: 6,
            failures,
            successes: failures,
            burst: failures * 2 / 5,
            spread_ms: 6 * 3_600_000,
        },
        targets,
        ..Default::default()
    }
}

/// A configuration pointing at the simulated org, with the operator's own settings for
/// everything else left at the defaults (the demo never touches a real org or database).
pub fn demo_config(base: &Config, sim: &SimHandle, db: PathBuf) -> Config {
    let mut config = base.clone();
    config.db = db;
    config.genesys = sim.genesys_config();
    config.webhooks.clear();
    config.operator = "demo".into();
    config.retry.breaker_cooldown = std::time::Duration::from_secs(10);
    config
}

async fn run_console(
    config: Config,
    genesys: Option<Arc<Client>>,
    status: GenesysStatus,
    read_only: bool,
    keymap: Keymap,
) -> eyre::Result<ExitCode> {
    let db_label = config.db.display().to_string();
    let mut svc = Service::start(ServiceConfig { config, genesys, status: status.clone(), read_only })?;
    let read_only = match (read_only, svc.read_only_reason.clone()) {
        (true, _) => Some("started with --read-only".to_string()),
        (false, why) => why,
    };
    let mut state = AppState::new(status, read_only, keymap);
    state.monochrome = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    state.db_label = db_label;
    let commands = svc.commands.clone();
    let mut terminal = ratatui::try_init().wrap_err("setting up the terminal")?;
    restore_only_for_this_thread();
    let result = console::run(&mut terminal, &mut state, &commands, &mut svc.events, &mut RealHost).await;
    ratatui::restore();
    eprintln!("redrive: stopping the worker (calls in flight finish or are released)…");
    svc.shutdown().await;
    result.wrap_err("the console stopped")?;
    Ok(ExitCode::SUCCESS)
}

/// Let a panic restore the terminal only when it happens on this thread (the console's). A
/// panic in a background task is caught by its runtime (the worker reports the engine's as a
/// message); restoring the terminal then, under a console that keeps drawing, would leave the
/// screen garbled. Such panics go to the log.
fn restore_only_for_this_thread() {
    let console = std::thread::current().id();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == console {
            hook(info);
        } else {
            tracing::error!(panic = %info, "a background task panicked");
        }
    }));
}

/// The real terminal: crossterm's event stream, and `$VISUAL` / `$EDITOR` (default `vi`).
struct RealHost;

impl Host<ratatui::backend::CrosstermBackend<io::Stdout>> for RealHost {
    fn edit(&mut self, terminal: &mut DefaultTerminal, path: &Path) -> io::Result<bool> {
        let before = std::fs::read(path)?;
        ratatui::restore();
        let editor = std::env::var("VISUAL")
            .ok()
            .filter(|e| !e.is_empty())
            .or_else(|| std::env::var("EDITOR").ok().filter(|e| !e.is_empty()))
            .unwrap_or_else(|| "vi".into());
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("redrive-editor")
            .arg(path)
            .status();
        // Back to the console's screen (not `ratatui::try_init`, which would stack another
        // panic hook that restores the terminal for any thread's panic).
        crossterm::terminal::enable_raw_mode()?;
        crossterm::execute!(io::stdout(), crossterm::terminal::EnterAlternateScreen)?;
        terminal.clear()?;
        let status = status?;
        if !status.success() {
            return Err(io::Error::other(format!("{editor} exited with {status}")));
        }
        Ok(std::fs::read(path)? != before)
    }

    fn input(&mut self) -> std::pin::Pin<Box<dyn Stream<Item = io::Result<crossterm::event::Event>> + Send>> {
        EventStream::new().boxed()
    }
}
