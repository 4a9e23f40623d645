//! `redrive relay`: serve the configured webhooks, store what arrives, deliver it.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use color_eyre::eyre::{self, WrapErr};

use super::Ctx;
use super::genesys::runtime;
use super::retry::{engine, genesys, stop_signal};
use crate::config::RelayMode;
use crate::relay::Relay;
use crate::relay::intake;
use crate::worker::engine::RunMode;

#[derive(Debug, Args)]
pub struct RelayArgs {
    /// Address to listen on [default: relay.listen in config, else 127.0.0.1:8780]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Only take calls in; do not deliver them (run `redrive worker` elsewhere for that)
    #[arg(long)]
    pub no_worker: bool,
    /// Answer without storing anything: the benchmark's reference server, never for real use
    #[arg(long, hide = true)]
    pub no_store: bool,
}

pub fn relay(ctx: &Ctx, a: RelayArgs) -> eyre::Result<ExitCode> {
    let config = ctx.config.clone();
    if !config.webhooks.values().any(|w| w.relay.is_some()) {
        return Err(super::usage(
            "no webhook is set up for the relay: give one `relay = \"ack\"` (or \"proxy\") with mode = \"direct\" \
             and the target's url in the config file (see assets/config.example.toml)",
        ));
    }
    let store = ctx.open()?;
    let listen = a.listen.clone().unwrap_or_else(|| config.relay.listen.clone());
    let rt = runtime()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .wrap_err_with(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        let (intake, stats, threads) =
            intake::start(&config.db, store, &config.relay, config.store.busy_timeout)
                .wrap_err("opening the relay's inbox")?;
        let relay = Relay::new(&config, if a.no_store { None } else { Some(intake) }, stats);
        let stop = stop_signal();
        let mut out = std::io::stdout();
        writeln!(out, "redrive relay listening on http://{addr}")?;
        for (id, w) in relay.webhooks() {
            let mode = match w.relay {
                Some(RelayMode::Proxy) => "proxy",
                _ => "ack",
            };
            let verify = w
                .verify
                .as_ref()
                .map(|v| format!("{:?}", v.kind))
                .unwrap_or_else(|| "no verification".into());
            writeln!(out, "  /hooks/{id}  {mode}, {verify}")?;
        }
        out.flush()?;
        let worker = if a.no_worker || a.no_store {
            None
        } else {
            let store = ctx.open()?;
            let mut eng = engine(&config, store, genesys(&config)?);
            let stop = stop.clone();
            Some(tokio::spawn(async move { eng.run(RunMode::Forever, stop, |_| {}).await }))
        };
        relay.serve(listener, stop, Duration::from_secs(30)).await;
        eprintln!("relay: stopped accepting; flushing what was received");
        // The last handle on the intake goes with the relay: the writer commits what is queued,
        // the mover empties the inbox into the store, and both end.
        tokio::task::spawn_blocking(move || threads.join()).await.ok();
        if let Some(w) = worker {
            w.await.ok();
        }
        eyre::Ok(ExitCode::SUCCESS)
    })
}
