//! `poll`, `sim` and `doctor`: the commands that talk to Genesys Cloud (or the simulator).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use color_eyre::eyre::{self, WrapErr};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::output::thousands;
use super::{Ctx, usage};
use crate::genesys::{Client, ClientOptions, GenesysError, permissions};
use crate::sim::{Faults, OrgSpec, SimConfig, SimHandle, TargetBehaviour};
use crate::time::{now_ms, parse_duration, parse_time_arg};
use crate::worker::poll::{PollOptions, PollProgress, poll as run_poll};

pub fn runtime() -> eyre::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .wrap_err("starting tokio")
}

fn client(ctx: &Ctx) -> eyre::Result<Arc<Client>> {
    let opts = ClientOptions::from_config(&ctx.config.genesys)?;
    Ok(Arc::new(Client::new(opts)?))
}

#[derive(Debug, Args)]
pub struct PollArgs {
    /// Start the window here (RFC 3339 or a duration ago) instead of where the last poll ended
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// How far back a first poll looks [default: genesys.lookback, 24h]
    #[arg(long, value_name = "DURATION")]
    pub lookback: Option<String>,
    /// Queue new entries for the worker at once (default: hold them for an operator)
    #[arg(long)]
    pub auto_retry: bool,
    /// Print the summary as JSON
    #[arg(long)]
    pub json: bool,
}

pub fn poll(ctx: &Ctx, a: PollArgs) -> eyre::Result<ExitCode> {
    let now = now_ms();
    let mut opts =
        PollOptions { auto_retry: a.auto_retry, lookback: ctx.config.genesys.lookback, ..Default::default() };
    if let Some(s) = &a.since {
        opts.since = Some(parse_time_arg(s, now).map_err(|e| usage(format!("--since: {e}")))?);
    }
    if let Some(l) = &a.lookback {
        opts.lookback = parse_duration(l).map_err(|e| usage(format!("--lookback: {e}")))?;
    }
    let client = client(ctx)?;
    let mut store = ctx.open()?;
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("valid template"));
    bar.enable_steady_tick(Duration::from_millis(120));
    let summary = runtime()?.block_on(run_poll(&client, &mut store, &opts, now, |p| {
        bar.set_message(match p {
            PollProgress::Discovering => "discovering webhooks and triggers".to_string(),
            PollProgress::Scanning { queries, found } => {
                format!("finding failures: {found} found in {queries} queries")
            }
            PollProgress::Recovering { done, total } => format!("recovering payloads: {done}/{total}"),
            PollProgress::Storing { done, total } => format!("storing: {done}/{total}"),
        })
    }));
    bar.finish_and_clear();
    let s = summary?;
    if a.json {
        println!("{}", serde_json::to_string(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("polled {} .. {} in {:.1} s", s.window_start, s.window_end, s.elapsed_ms as f64 / 1000.0);
    let rows = [
        ("webhooks seen", s.webhooks as u64),
        ("triggers seen", s.triggers as u64),
        ("failures found", s.failures_found as u64),
        ("new entries", s.new as u64),
        ("already stored", s.duplicates as u64),
        ("without payload", s.without_payload as u64),
        ("API calls", s.api_calls),
        ("429s waited out", s.rate_limited),
        ("retried calls", s.retries),
    ];
    for (k, v) in rows {
        println!("  {k:<16}{}", thousands(v));
    }
    for w in &s.warnings {
        println!("warning: {w}");
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to serve on
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Seed for the org's webhooks, runs and failures
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Failed workflow runs over the look-back
    #[arg(long, default_value_t = 300)]
    pub failures: usize,
    /// How many of those fall inside one minute (an outage burst)
    #[arg(long)]
    pub burst: Option<usize>,
    /// Data actions (webhooks) in the org
    #[arg(long, default_value_t = 6)]
    pub webhooks: usize,
    /// API calls allowed per rolling minute (429 above)
    #[arg(long, value_name = "N")]
    pub rate_limit: Option<u32>,
    /// Token lifetime
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    pub token_lifetime: String,
    /// Share of API calls answered 503 (0.0-1.0)
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Share of API calls answered with a body that is not JSON (0.0-1.0)
    #[arg(long, default_value_t = 0.0)]
    pub malformed_rate: f64,
    /// Added to every API answer
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub latency: String,
    /// The org stores no execution data (payloads cannot be recovered)
    #[arg(long)]
    pub no_execution_data: bool,
    /// A permission the OAuth client lacks (repeatable), e.g. integrations:action:execute
    #[arg(long, value_name = "PERMISSION")]
    pub deny: Vec<String>,
    /// Target behaviour by webhook, in order (repeatable): healthy, failing:0.3, slow:3s, down:60s,
    /// reset:0.3, gone
    /// [default: healthy, failing:0.3, down:60s, healthy, slow:3s, healthy]
    #[arg(long, value_name = "BEHAVIOUR")]
    pub target: Vec<String>,
}

/// `healthy`, `failing:0.3`, `slow:3s`, `down:60s`, `gone`.
pub fn parse_behaviour(s: &str) -> Result<TargetBehaviour, String> {
    let (kind, arg) = s.split_once(':').map(|(k, a)| (k, Some(a))).unwrap_or((s, None));
    let dur = |a: Option<&str>| parse_duration(a.ok_or(format!("`{s}` needs a duration, e.g. {kind}:30s"))?);
    match kind {
        "healthy" => Ok(TargetBehaviour::Healthy),
        "gone" => Ok(TargetBehaviour::Gone),
        "failing" => {
            let share: f64 =
                arg.unwrap_or("0.3").parse().map_err(|_| format!("`{s}`: the share is a number 0.0-1.0"))?;
            Ok(TargetBehaviour::Failing { share: share.clamp(0.0, 1.0) })
        }
        "slow" => Ok(TargetBehaviour::Slow { delay: dur(arg)? }),
        "down" => Ok(TargetBehaviour::DownFor { for_: dur(arg)? }),
        "reset" => {
            let share: f64 =
                arg.unwrap_or("0.3").parse().map_err(|_| format!("`{s}`: the share is a number 0.0-1.0"))?;
            Ok(TargetBehaviour::Reset { share: share.clamp(0.0, 1.0) })
        }
        _ => Err(format!(
            "unknown target behaviour `{s}`; use healthy, failing:0.3, slow:3s, down:60s or gone"
        )),
    }
}

pub fn demo_targets() -> Vec<TargetBehaviour> {
    vec![
        TargetBehaviour::Healthy,
        TargetBehaviour::Failing { share: 0.3 },
        TargetBehaviour::DownFor { for_: Duration::from_secs(60) },
        TargetBehaviour::Healthy,
        TargetBehaviour::Slow { delay: Duration::from_secs(3) },
        TargetBehaviour::Healthy,
    ]
}

pub fn sim(a: SimArgs) -> eyre::Result<ExitCode> {
    let share = |name: &str, v: f64| {
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            Err(usage(format!("--{name} is a share from 0.0 to 1.0")))
        }
    };
    let targets = if a.target.is_empty() {
        demo_targets()
    } else {
        a.target.iter().map(|t| parse_behaviour(t).map_err(usage)).collect::<eyre::Result<_>>()?
    };
    let cfg = SimConfig {
        listen: a.listen,
        org: OrgSpec {
            seed: a.seed,
            webhooks: a.webhooks.max(1),
            failures: a.failures,
            successes: a.failures,
            burst: a.burst.unwrap_or(a.failures * 2 / 5).min(a.failures),
            spread_ms: 6 * 3_600_000,
        },
        token_lifetime: parse_duration(&a.token_lifetime)
            .map_err(|e| usage(format!("--token-lifetime: {e}")))?,
        execution_data: !a.no_execution_data,
        deny: a.deny,
        faults: Faults {
            rate_limit_per_minute: a.rate_limit,
            error_rate: share("error-rate", a.error_rate)?,
            malformed_rate: share("malformed-rate", a.malformed_rate)?,
            latency: parse_duration(&a.latency).map_err(|e| usage(format!("--latency: {e}")))?,
        },
        targets,
        ..Default::default()
    };
    runtime()?.block_on(async move {
        let sim = SimHandle::start(cfg).await.wrap_err_with(|| format!("cannot listen on {}", a.listen))?;
        let base = sim.base_url();
        println!("simulated Genesys Cloud org on {base}");
        println!("export GENESYS_API_BASE={base}");
        println!("export GENESYS_LOGIN_BASE={base}");
        println!("export GENESYS_CLIENT_ID={}", sim.client_id());
        println!("export GENESYS_CLIENT_SECRET={}", sim.client_secret());
        eprintln!("serving until interrupted (Ctrl-C); target stats at {base}/__sim/stats");
        tokio::signal::ctrl_c().await.wrap_err("waiting for Ctrl-C")?;
        sim.stop().await;
        Ok(ExitCode::SUCCESS)
    })
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// One JSON object per check
    #[arg(long)]
    pub json: bool,
}

#[derive(serde::Serialize)]
struct Check {
    ok: bool,
    check: String,
    detail: String,
    fix: Option<String>,
}

pub fn doctor(ctx: &Ctx, a: DoctorArgs) -> eyre::Result<ExitCode> {
    let mut checks: Vec<Check> = Vec::new();
    let mut add = |ok: bool, check: &str, detail: String, fix: Option<&str>| {
        checks.push(Check { ok, check: check.into(), detail, fix: fix.map(Into::into) })
    };
    let c = &ctx.config;
    match &c.file {
        Some(p) => add(true, "config file", format!("read {}", p.display()), None),
        None => add(true, "config file", "none found; using the environment and defaults".into(), None),
    }
    let opts = ClientOptions::from_config(&c.genesys);
    match &opts {
        Ok(o) => add(true, "credentials", format!("OAuth client {}", o.client_id), None),
        Err(e) => add(
            false,
            "credentials",
            e.to_string(),
            Some(
                "create an OAuth client (grant type: Client Credentials) and export GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET",
            ),
        ),
    }
    if let Ok(o) = opts {
        runtime()?.block_on(async {
            let http = crate::genesys::client::http_client(Duration::from_secs(10));
            match http.get(&o.login_base).send().await {
                Ok(r) => add(true, "login host", format!("{} answered {}", o.login_base, r.status().as_u16()), None),
                Err(e) => add(false, "login host", format!("{}: {}", o.login_base, e.without_url()), Some("check the network, a proxy, GENESYS_REGION or GENESYS_LOGIN_BASE")),
            }
            let client = match Client::new(o) {
                Ok(c) => c,
                Err(e) => return add(false, "token", e.to_string(), None),
            };
            match client.login().await {
                Err(e @ GenesysError::Auth { .. }) | Err(e @ GenesysError::Transport { .. }) => {
                    add(false, "token", e.to_string(), Some("check the client id and secret, and that the client's grant type is Client Credentials"));
                    return;
                }
                _ => add(true, "token", "obtained".into(), None),
            }
            let mut execution_setting = None;
            for p in permissions::probes() {
                let body = p.body.then(|| serde_json::json!({}));
                match client.send(p.method.clone(), p.path, body.as_ref()).await {
                    Ok(raw) if raw.status.as_u16() == 403 => add(
                        false,
                        &format!("permission {}", p.permission),
                        format!("missing: needed to {}", p.why),
                        Some("add it to a role of the OAuth client (Admin > Roles/Permissions)"),
                    ),
                    Ok(raw) => {
                        if p.permission == "architect:flowinstanceexecutiondata:view" && raw.status.is_success() {
                            execution_setting = serde_json::from_slice::<serde_json::Value>(&raw.body).ok();
                        }
                        add(true, &format!("permission {}", p.permission), format!("granted ({})", p.why), None)
                    }
                    Err(e) => add(false, &format!("permission {}", p.permission), e.to_string(), None),
                }
            }
            match execution_setting.as_ref().and_then(|v| v.get("enabled")).and_then(|v| v.as_bool()) {
                Some(true) => add(true, "execution data", "enabled: failed payloads can be recovered".into(), None),
                Some(false) => add(false, "execution data", "disabled: polls will find failures but cannot recover their payloads".into(), Some("enable historical execution data for the org (Architect settings), set the workflows' log level to All, and republish them; Genesys keeps it 10 days")),
                None => add(true, "execution data", "setting not readable here; a poll will say if jobs come back empty".into(), None),
            }
        });
    }
    match ctx.open() {
        Ok(mut store) => match store.kv_set("doctor.checked_at", &now_ms().to_string(), now_ms()) {
            Ok(()) => add(true, "database", format!("{} is writable", store.path().display()), None),
            Err(e) => {
                add(false, "database", e.to_string(), Some("point --db or REDRIVE_DB at a writable file"))
            }
        },
        Err(e) => add(false, "database", e.to_string(), Some("point --db or REDRIVE_DB at a writable file")),
    }
    let all_ok = checks.iter().all(|c| c.ok);
    for c in &checks {
        if a.json {
            println!("{}", serde_json::to_string(c)?);
            continue;
        }
        let mark = if c.ok { "✓" } else { "✗" };
        println!("{mark} {:<46} {}", c.check, crate::text::sanitize(&c.detail));
        if let Some(fix) = &c.fix {
            println!("  {:<46} fix: {fix}", "");
        }
    }
    Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
