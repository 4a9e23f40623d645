//! A simulated Genesys Cloud org on 127.0.0.1, speaking the contract redrive builds on
//! (genesys-api.md): OAuth, data actions, triggers, flow-instance queries, execution-data jobs
//! and downloads, plus simulated target systems whose behaviour is set per webhook. Used by
//! `redrive sim`, `redrive demo`, the tests and the benchmarks. Fault knobs: rate limit, token
//! lifetime, a share of 5xx answers, latency, malformed bodies, execution data off, denied
//! permissions.

mod api;
pub mod org;
mod targets;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

pub use org::{Org, OrgSpec};
pub use targets::{Received, TargetBehaviour, TargetStats};

use crate::time::now_ms;

/// Faults the simulated API injects; changeable while it runs.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// At most this many API calls per rolling minute per client (429 above).
    pub rate_limit_per_minute: Option<u32>,
    /// Share of API calls answered 503 (0.0–1.0).
    pub error_rate: f64,
    /// Added before every API answer.
    pub latency: Duration,
    /// Share of API calls answered 200 with a body that is not JSON.
    pub malformed_rate: f64,
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub listen: SocketAddr,
    pub org: OrgSpec,
    pub client_id: String,
    pub client_secret: String,
    pub token_lifetime: Duration,
    /// Whether the org stores execution data (off: jobs come back empty).
    pub execution_data: bool,
    /// Permissions the OAuth client lacks (403 on the endpoints that need them).
    pub deny: Vec<String>,
    pub faults: Faults,
    /// Target behaviour by webhook index; webhooks beyond the list are healthy.
    pub targets: Vec<TargetBehaviour>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: ([127, 0, 0, 1], 0).into(),
            org: OrgSpec {
                seed: 1,
                webhooks: 6,
                failures: 300,
                successes: 300,
                burst: 120,
                spread_ms: 6 * 3_600_000,
            },
            client_id: "redrive-sim-client".into(),
            client_secret: "redrive-sim-secret".into(),
            token_lifetime: Duration::from_secs(86_399),
            execution_data: true,
            deny: Vec::new(),
            faults: Faults::default(),
            targets: Vec::new(),
        }
    }
}

/// One request the simulated API saw (for contract tests). The Authorization header is kept
/// as its scheme only.
#[derive(Clone, Debug, Serialize)]
pub struct Seen {
    pub method: String,
    pub host: String,
    pub path: String,
    pub query: String,
    pub body: Option<serde_json::Value>,
    pub auth: Option<String>,
    pub status: u16,
}

struct Job {
    ids: Vec<String>,
    polls: u32,
}

pub(crate) struct State {
    org: Org,
    /// Indexes into `org.instances`, by start time (the instance query narrows on it).
    by_start: Vec<usize>,
    /// Index into `org.instances` by instance id (jobs and downloads look them up).
    by_id: HashMap<String, usize>,
    faults: Faults,
    tokens: HashMap<String, Instant>,
    token_counter: u64,
    calls: VecDeque<Instant>,
    jobs: HashMap<String, Job>,
    job_counter: u64,
    correlation: u64,
    seen: Vec<Seen>,
    rng: rand::rngs::StdRng,
    targets: targets::Targets,
}

impl State {
    fn instance(&self, id: &str) -> Option<&org::SimInstance> {
        self.by_id.get(id).map(|&i| &self.org.instances[i])
    }
}

pub(crate) struct Shared {
    cfg: SimConfig,
    state: Mutex<State>,
    base: String,
    download_base: String,
    http: reqwest::Client,
    started: Instant,
}

/// A running simulator. Dropping it stops the server.
pub struct SimHandle {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SimHandle {
    /// Start the simulator on the current tokio runtime.
    pub async fn start(cfg: SimConfig) -> std::io::Result<SimHandle> {
        let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
        let addr = listener.local_addr()?;
        let base = format!("http://{addr}");
        // Downloads are served from a different host name, as pre-signed storage URLs are, so a
        // client that sends its token there is caught.
        let download_base = format!("http://localhost:{}", addr.port());
        let org = Org::generate(&cfg.org, now_ms(), &base);
        let targets = targets::Targets::new(&org, &cfg.targets);
        use rand::SeedableRng;
        let mut by_start: Vec<usize> = (0..org.instances.len()).collect();
        by_start.sort_by_key(|&i| org.instances[i].start);
        let by_id = org.instances.iter().enumerate().map(|(i, x)| (x.instance.id.clone(), i)).collect();
        let state = State {
            by_start,
            by_id,
            org,
            faults: cfg.faults.clone(),
            tokens: HashMap::new(),
            token_counter: 0,
            calls: VecDeque::new(),
            jobs: HashMap::new(),
            job_counter: 0,
            correlation: 0,
            seen: Vec::new(),
            rng: rand::rngs::StdRng::seed_from_u64(cfg.org.seed ^ 0x5eed),
            targets,
        };
        let shared = Arc::new(Shared {
            cfg,
            state: Mutex::new(state),
            base,
            download_base,
            http: crate::genesys::client::http_client(Duration::from_secs(30)),
            started: Instant::now(),
        });
        let app = api::router(shared.clone()).merge(targets::router(shared.clone()));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(SimHandle { addr, shared, shutdown: Some(tx), task: Some(task) })
    }

    /// `http://127.0.0.1:PORT`: both the API and the login base.
    pub fn base_url(&self) -> String {
        self.shared.base.clone()
    }

    pub fn client_id(&self) -> &str {
        &self.shared.cfg.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.shared.cfg.client_secret
    }

    /// Settings for a redrive client pointed at this simulator.
    pub fn genesys_config(&self) -> crate::config::GenesysConfig {
        crate::config::GenesysConfig {
            region: crate::genesys::Region::default(),
            client_id: Some(self.shared.cfg.client_id.clone()),
            client_secret: Some(crate::config::Secret::new(self.shared.cfg.client_secret.clone())),
            api_base: Some(self.base_url()),
            login_base: Some(self.base_url()),
            rate_limit_per_minute: self.shared.cfg.faults.rate_limit_per_minute.unwrap_or(300),
            lookback: Duration::from_secs(24 * 3600),
        }
    }

    pub fn org(&self) -> Org {
        self.shared.state.lock().expect("sim lock").org.clone()
    }

    /// Invalidate every token issued so far (the next API call gets a 401).
    pub fn revoke_tokens(&self) {
        self.shared.state.lock().expect("sim lock").tokens.clear();
    }

    pub fn set_faults(&self, faults: Faults) {
        self.shared.state.lock().expect("sim lock").faults = faults;
    }

    pub fn set_target(&self, slug: &str, behaviour: TargetBehaviour) {
        self.shared.state.lock().expect("sim lock").targets.set(slug, behaviour);
    }

    /// Every API, login and download request seen so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.shared.state.lock().expect("sim lock").seen.clone()
    }

    /// Every request the simulated targets received.
    pub fn received(&self) -> Vec<Received> {
        self.shared.state.lock().expect("sim lock").targets.received.clone()
    }

    /// Wait until the targets have received at least `n` requests in all; false on timeout.
    pub async fn wait_received(&self, n: usize, timeout: std::time::Duration) -> bool {
        let mut rx = self.shared.state.lock().expect("sim lock").targets.count.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|c| *c >= n)).await.is_ok_and(|r| r.is_ok())
    }

    pub fn received_count(&self) -> usize {
        self.shared.state.lock().expect("sim lock").targets.received.len()
    }

    pub fn target_stats(&self) -> std::collections::BTreeMap<String, TargetStats> {
        self.shared.state.lock().expect("sim lock").targets.stats()
    }

    /// Stop serving and wait for the server task to end.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
