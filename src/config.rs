//! Configuration: defaults < `config.toml` < environment < command-line flags.
//!
//! Secrets are held in [`Secret`], whose `Debug` and `Display` print `***`, so they cannot reach
//! a log line, the screen or an error message by accident.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::genesys::Region;
use crate::time::parse_duration;

/// A secret value (client secret, token, auth header). Only [`Secret::expose`] reveals it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Where a setting came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Env(&'static str),
    Flag,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The config file that was read, if any.
    pub file: Option<PathBuf>,
    pub db: PathBuf,
    pub db_origin: Origin,
    pub log_file: PathBuf,
    /// Name recorded in the audit log for operator actions.
    pub operator: String,
    pub genesys: GenesysConfig,
    pub store: StoreConfig,
    pub retry: RetryConfig,
    pub worker: WorkerConfig,
    pub relay: RelayConfig,
    /// Per-webhook settings, by webhook id (or name).
    pub webhooks: BTreeMap<String, WebhookConfig>,
    /// Console key bindings replaced from `[keys]` (action name → keys), checked by the console.
    pub keys: BTreeMap<String, Vec<String>>,
}

/// How entries are retried (defaults for every webhook).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryConfig {
    pub base: Duration,
    pub cap: Duration,
    pub max_attempts: u32,
    /// Per-call timeout of a replay.
    pub timeout: Duration,
    /// Replays in flight at once, in all.
    pub concurrency: usize,
    /// Replays in flight at once to one target.
    pub per_target_concurrency: usize,
    /// Replays per second to one target (none: unlimited).
    pub per_target_rate: Option<f64>,
    /// Consecutive retryable failures that open a target's circuit breaker.
    pub breaker_threshold: u32,
    /// How long an open breaker waits before one probe.
    pub breaker_cooldown: Duration,
    /// How long a claimed entry stays leased to a worker without renewal.
    pub lease: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(3600),
            max_attempts: 8,
            timeout: Duration::from_secs(30),
            concurrency: 32,
            per_target_concurrency: 8,
            per_target_rate: None,
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            lease: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkerConfig {
    /// How often `redrive worker` polls Genesys (when credentials are set).
    pub poll_interval: Duration,
    /// Whether polled entries are queued for retry at once (else held for an operator).
    pub auto_retry: bool,
}

/// `redrive relay`'s intake limits.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayConfig {
    /// Where it listens.
    pub listen: String,
    /// Largest request body accepted (413 above).
    pub body_limit: usize,
    /// Most request headers accepted, and their total size (431 above).
    pub max_headers: usize,
    pub header_bytes: usize,
    /// Time allowed to send the request head, and then the body (slow clients are cut off).
    pub read_timeout: Duration,
    /// Requests waiting for the disk at once; more get 503 with Retry-After.
    pub queue: usize,
    /// Calls on disk in the inbox, not yet moved into the store, at most; more get 503 with
    /// Retry-After (the mover yields the CPU to the callers, so under a load the CPU cannot
    /// carry it falls behind; this bounds how far).
    pub inbox_limit: u64,
    /// How far a Standard Webhooks timestamp may be from now.
    pub tolerance: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            listen: "127.0.0.1:8780".into(),
            body_limit: 1024 * 1024,
            max_headers: 100,
            header_bytes: 32 * 1024,
            read_timeout: Duration::from_secs(10),
            queue: 4096,
            inbox_limit: 100_000,
            tolerance: Duration::from_secs(300),
        }
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig { poll_interval: Duration::from_secs(300), auto_retry: true }
    }
}

/// How one webhook is replayed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookConfig {
    /// `genesys` (execute the data action; the default for webhooks polled from Genesys) or
    /// `direct` (send the payload to `url`).
    pub mode: Option<ReplayMode>,
    pub url: Option<String>,
    pub method: Option<String>,
    /// Header name → the value (read from the environment variable the file names).
    pub headers: Vec<(String, Secret)>,
    /// Standard Webhooks signing secret (`whsec_…`), read from the environment.
    pub signing_secret: Option<Secret>,
    pub base: Option<Duration>,
    pub cap: Option<Duration>,
    pub max_attempts: Option<u32>,
    pub concurrency: Option<usize>,
    pub rate: Option<f64>,
    /// How `redrive relay` takes calls for this webhook (none: the relay does not serve it).
    pub relay: Option<RelayMode>,
    /// The method the relay accepts on `/hooks/{webhook}` (default POST).
    pub relay_method: Option<String>,
    /// How the relay checks that a call really comes from the sender.
    pub verify: Option<Verify>,
}

/// `ack`: store, answer 202, deliver with retries. `proxy`: forward at once and answer with
/// the target's answer, storing the call when the target fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RelayMode {
    Ack,
    Proxy,
}

/// Inbound verification: which scheme, and its shared secret (from the environment).
#[derive(Debug, Clone, PartialEq)]
pub struct Verify {
    pub kind: VerifyKind,
    pub secret: Secret,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyKind {
    /// Genesys Open Messaging: `X-Hub-Signature-256: sha256=<base64 HMAC-SHA256 of the body>`.
    HubSignature,
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`.
    StandardWebhooks,
    /// `Authorization: Bearer <token>`.
    Bearer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplayMode {
    Genesys,
    Direct,
}

#[derive(Debug, Clone)]
pub struct GenesysConfig {
    pub region: Region,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    /// Overrides `https://api.<region domain>` (a proxy, or the simulator).
    pub api_base: Option<String>,
    /// Overrides `https://login.<region domain>`.
    pub login_base: Option<String>,
    pub rate_limit_per_minute: u32,
    /// How far back the first poll looks.
    pub lookback: Duration,
}

impl GenesysConfig {
    pub fn api_base(&self) -> String {
        self.api_base.clone().unwrap_or_else(|| self.region.api_base())
    }
    pub fn login_base(&self) -> String {
        self.login_base.clone().unwrap_or_else(|| self.region.login_base())
    }
}

#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Payloads larger than this are stored truncated and flagged.
    pub payload_cap: usize,
    /// How long a write waits for another process's lock before giving up.
    pub busy_timeout: Duration,
    /// Delivered and discarded entries older than this are removed by `prune`.
    pub prune_after: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            payload_cap: 1024 * 1024,
            busy_timeout: Duration::from_secs(5),
            prune_after: Duration::from_secs(30 * 86400),
        }
    }
}

/// What the command line says about configuration (global flags).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub db: Option<PathBuf>,
    pub log_file: Option<PathBuf>,
    pub operator: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}, line {line}: key `{key}`: {message}")]
    Key { path: PathBuf, line: usize, key: String, message: String },
    #[error("config file {path}, line {line}: {message}")]
    Syntax { path: PathBuf, line: usize, message: String },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

// ---- the file ---------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    db: Option<PathBuf>,
    log_file: Option<PathBuf>,
    operator: Option<String>,
    #[serde(default)]
    genesys: FileGenesys,
    #[serde(default)]
    store: FileStore,
    #[serde(default)]
    retry: FileRetry,
    #[serde(default)]
    worker: FileWorker,
    #[serde(default)]
    relay: FileRelay,
    #[serde(default)]
    webhooks: BTreeMap<String, FileWebhook>,
    #[serde(default)]
    keys: BTreeMap<String, KeyList>,
}

/// `retry = "ctrl-r"` or `retry = ["r", "ctrl-r"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum KeyList {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRetry {
    base: Option<DurationText>,
    cap: Option<DurationText>,
    max_attempts: Option<u32>,
    timeout: Option<DurationText>,
    concurrency: Option<usize>,
    per_target_concurrency: Option<usize>,
    per_target_rate: Option<f64>,
    breaker_threshold: Option<u32>,
    breaker_cooldown: Option<DurationText>,
    lease: Option<DurationText>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWorker {
    poll_interval: Option<DurationText>,
    auto_retry: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRelay {
    listen: Option<String>,
    body_limit: Option<usize>,
    max_headers: Option<usize>,
    header_bytes: Option<usize>,
    read_timeout: Option<DurationText>,
    queue: Option<usize>,
    inbox_limit: Option<u64>,
    tolerance: Option<DurationText>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWebhook {
    mode: Option<ReplayMode>,
    url: Option<String>,
    method: Option<String>,
    /// Header name → name of the environment variable holding its value.
    #[serde(default)]
    headers_env: BTreeMap<String, String>,
    signing_secret_env: Option<String>,
    base: Option<DurationText>,
    cap: Option<DurationText>,
    max_attempts: Option<u32>,
    concurrency: Option<usize>,
    rate: Option<f64>,
    relay: Option<RelayMode>,
    relay_method: Option<String>,
    verify: Option<VerifyKind>,
    verify_secret_env: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGenesys {
    region: Option<String>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    api_base: Option<String>,
    login_base: Option<String>,
    rate_limit_per_minute: Option<u32>,
    lookback: Option<DurationText>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStore {
    payload_cap: Option<usize>,
    busy_timeout: Option<DurationText>,
    prune_after: Option<DurationText>,
}

/// A duration written as text in the file (`"24h"`), checked while parsing so that an error
/// names its line and key.
#[derive(Debug, Clone, Copy)]
struct DurationText(Duration);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s).map(DurationText).map_err(serde::de::Error::custom)
    }
}

fn parse_file(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    let line_of = |span: Option<std::ops::Range<usize>>| {
        span.map(|r| text[..r.start.min(text.len())].matches('\n').count() + 1).unwrap_or(1)
    };
    let de = toml::Deserializer::parse(text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        line: line_of(e.span()),
        message: e.message().to_string(),
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        ConfigError::Key {
            path: path.to_path_buf(),
            line: line_of(inner.span()),
            key,
            message: inner.message().to_string(),
        }
    })
}

// ---- loading ----------------------------------------------------------------------------------

/// Where redrive keeps its files when nothing says otherwise.
pub fn default_paths() -> (PathBuf, PathBuf, PathBuf) {
    match directories::ProjectDirs::from("", "", "redrive") {
        Some(d) => (
            d.config_dir().join("config.toml"),
            d.data_dir().join("redrive.db"),
            d.state_dir().unwrap_or(d.data_local_dir()).join("redrive.log"),
        ),
        None => ("config.toml".into(), "redrive.db".into(), "redrive.log".into()),
    }
}

impl Config {
    /// Load from the process environment.
    pub fn load(over: &Overrides) -> Result<Config, ConfigError> {
        Self::load_with(over, &|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// Every default, with the store at `db`: no file and no environment read (the demo's
    /// base, and tests').
    pub fn defaults(db: PathBuf) -> Config {
        let over = Overrides { db: Some(db), ..Default::default() };
        Self::build(&over, &|_| None, None, FileConfig::default()).expect("the defaults are valid")
    }

    /// Load with an explicit environment lookup (tests pass a map).
    pub fn load_with(over: &Overrides, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let (default_config, _, _) = default_paths();
        let (file, fc) = match &over.config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|source| ConfigError::Read { path: p.clone(), source })?;
                (Some(p.clone()), parse_file(p, &text)?)
            }
            None => match std::fs::read_to_string(&default_config) {
                Ok(text) => (Some(default_config.clone()), parse_file(&default_config, &text)?),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, FileConfig::default()),
                Err(source) => return Err(ConfigError::Read { path: default_config, source }),
            },
        };
        Self::build(over, env, file, fc)
    }

    fn build(
        over: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
        file: Option<PathBuf>,
        fc: FileConfig,
    ) -> Result<Config, ConfigError> {
        let (_, default_db, default_log) = default_paths();
        let file_origin = |key: &str| match &file {
            Some(p) => format!("config file {}: key `{key}`", p.display()),
            None => key.to_string(),
        };

        let (db, db_origin) = if let Some(p) = &over.db {
            (p.clone(), Origin::Flag)
        } else if let Some(p) = env("REDRIVE_DB") {
            (PathBuf::from(p), Origin::Env("REDRIVE_DB"))
        } else if let Some(p) = fc.db {
            (p, Origin::File(file.clone().unwrap_or_default()))
        } else {
            (default_db, Origin::Default)
        };

        let region = match env("GENESYS_REGION") {
            Some(r) => Region::parse(&r).map_err(|e| ConfigError::Invalid {
                origin: "environment variable GENESYS_REGION".into(),
                message: e.to_string(),
            })?,
            None => match &fc.genesys.region {
                Some(r) => Region::parse(r).map_err(|e| ConfigError::Invalid {
                    origin: file_origin("genesys.region"),
                    message: e.to_string(),
                })?,
                None => Region::default(),
            },
        };

        let genesys = GenesysConfig {
            region,
            client_id: env("GENESYS_CLIENT_ID").or(fc.genesys.client_id),
            client_secret: env("GENESYS_CLIENT_SECRET").map(Secret).or(fc.genesys.client_secret),
            api_base: env("GENESYS_API_BASE").or(fc.genesys.api_base),
            login_base: env("GENESYS_LOGIN_BASE").or(fc.genesys.login_base),
            rate_limit_per_minute: fc.genesys.rate_limit_per_minute.unwrap_or(300),
            lookback: fc.genesys.lookback.map(|d| d.0).unwrap_or(Duration::from_secs(24 * 3600)),
        };
        if genesys.rate_limit_per_minute == 0 {
            return Err(ConfigError::Invalid {
                origin: file_origin("genesys.rate_limit_per_minute"),
                message: "must be at least 1".into(),
            });
        }

        let defaults = StoreConfig::default();
        let store = StoreConfig {
            payload_cap: fc.store.payload_cap.unwrap_or(defaults.payload_cap),
            busy_timeout: fc.store.busy_timeout.map(|d| d.0).unwrap_or(defaults.busy_timeout),
            prune_after: fc.store.prune_after.map(|d| d.0).unwrap_or(defaults.prune_after),
        };

        let rd = RetryConfig::default();
        let fr = &fc.retry;
        let retry = RetryConfig {
            base: fr.base.map(|d| d.0).unwrap_or(rd.base),
            cap: fr.cap.map(|d| d.0).unwrap_or(rd.cap),
            max_attempts: fr.max_attempts.unwrap_or(rd.max_attempts),
            timeout: fr.timeout.map(|d| d.0).unwrap_or(rd.timeout),
            concurrency: fr.concurrency.unwrap_or(rd.concurrency),
            per_target_concurrency: fr.per_target_concurrency.unwrap_or(rd.per_target_concurrency),
            per_target_rate: fr.per_target_rate.filter(|r| *r > 0.0),
            breaker_threshold: fr.breaker_threshold.unwrap_or(rd.breaker_threshold),
            breaker_cooldown: fr.breaker_cooldown.map(|d| d.0).unwrap_or(rd.breaker_cooldown),
            lease: fr.lease.map(|d| d.0).unwrap_or(rd.lease),
        };
        let positive = |key: &str, ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(ConfigError::Invalid { origin: file_origin(key), message: "must be at least 1".into() })
            }
        };
        positive("retry.max_attempts", retry.max_attempts >= 1)?;
        positive("retry.concurrency", retry.concurrency >= 1)?;
        positive("retry.per_target_concurrency", retry.per_target_concurrency >= 1)?;
        positive("retry.breaker_threshold", retry.breaker_threshold >= 1)?;
        let wd = WorkerConfig::default();
        let worker = WorkerConfig {
            poll_interval: fc.worker.poll_interval.map(|d| d.0).unwrap_or(wd.poll_interval),
            auto_retry: fc.worker.auto_retry.unwrap_or(wd.auto_retry),
        };
        let rd = RelayConfig::default();
        let relay = RelayConfig {
            listen: fc.relay.listen.unwrap_or(rd.listen),
            body_limit: fc.relay.body_limit.unwrap_or(rd.body_limit).max(1),
            max_headers: fc.relay.max_headers.unwrap_or(rd.max_headers).max(1),
            header_bytes: fc.relay.header_bytes.unwrap_or(rd.header_bytes).max(1024),
            read_timeout: fc.relay.read_timeout.map(|d| d.0).unwrap_or(rd.read_timeout),
            queue: fc.relay.queue.unwrap_or(rd.queue).max(1),
            inbox_limit: fc.relay.inbox_limit.unwrap_or(rd.inbox_limit).max(1),
            tolerance: fc.relay.tolerance.map(|d| d.0).unwrap_or(rd.tolerance),
        };
        let mut webhooks = BTreeMap::new();
        for (id, w) in fc.webhooks {
            let key = |k: &str| file_origin(&format!("webhooks.\"{id}\".{k}"));
            if let Some(url) = &w.url {
                let ok = url.starts_with("http://") || url.starts_with("https://");
                if !ok || reqwest::Url::parse(url).is_err() {
                    return Err(ConfigError::Invalid {
                        origin: key("url"),
                        message: format!("`{url}` is not an http or https URL"),
                    });
                }
            }
            if w.mode == Some(ReplayMode::Direct) && w.url.is_none() {
                return Err(ConfigError::Invalid {
                    origin: key("mode"),
                    message: "direct mode needs a url".into(),
                });
            }
            let read_env = |var: &str, k: &str| {
                env(var).map(Secret).ok_or_else(|| ConfigError::Invalid {
                    origin: key(k),
                    message: format!("environment variable {var} is not set"),
                })
            };
            let mut headers = Vec::new();
            for (name, var) in &w.headers_env {
                headers.push((name.clone(), read_env(var, "headers_env")?));
            }
            let signing_secret = match &w.signing_secret_env {
                Some(var) => Some(read_env(var, "signing_secret_env")?),
                None => None,
            };
            if w.relay.is_some() && (w.mode != Some(ReplayMode::Direct) || w.url.is_none()) {
                return Err(ConfigError::Invalid {
                    origin: key("relay"),
                    message: "a relayed webhook needs mode = \"direct\" and the target's url".into(),
                });
            }
            let verify = match (w.verify, &w.verify_secret_env) {
                (Some(kind), Some(var)) => Some(Verify { kind, secret: read_env(var, "verify_secret_env")? }),
                (Some(_), None) => {
                    return Err(ConfigError::Invalid {
                        origin: key("verify"),
                        message: "verify needs verify_secret_env, the variable holding the shared secret"
                            .into(),
                    });
                }
                (None, Some(_)) => {
                    return Err(ConfigError::Invalid {
                        origin: key("verify_secret_env"),
                        message:
                            "verify_secret_env without verify (hub_signature, standard_webhooks or bearer)"
                                .into(),
                    });
                }
                (None, None) => None,
            };
            webhooks.insert(
                id.clone(),
                WebhookConfig {
                    mode: w.mode,
                    url: w.url,
                    method: w.method,
                    headers,
                    signing_secret,
                    base: w.base.map(|d| d.0),
                    cap: w.cap.map(|d| d.0),
                    max_attempts: w.max_attempts,
                    concurrency: w.concurrency,
                    rate: w.rate.filter(|r| *r > 0.0),
                    relay: w.relay,
                    relay_method: w.relay_method,
                    verify,
                },
            );
        }

        let operator = over
            .operator
            .clone()
            .or(fc.operator)
            .or_else(|| env("USER"))
            .or_else(|| env("USERNAME"))
            .unwrap_or_else(|| "unknown".into());

        Ok(Config {
            file,
            db,
            db_origin,
            log_file: over.log_file.clone().or(fc.log_file).unwrap_or(default_log),
            operator,
            genesys,
            store,
            retry,
            worker,
            relay,
            webhooks,
            keys: fc
                .keys
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        match v {
                            KeyList::One(s) => vec![s],
                            KeyList::Many(v) => v,
                        },
                    )
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| m.get(k).cloned()
    }

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(&p, text).unwrap();
        (dir, p)
    }

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        let g = GenesysConfig {
            region: Region::default(),
            client_id: Some("id".into()),
            client_secret: Some(s.clone()),
            api_base: None,
            login_base: None,
            rate_limit_per_minute: 300,
            lookback: Duration::from_secs(1),
        };
        let dbg = format!("{g:?} {:#?}", g);
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn precedence_defaults_file_env_flags() {
        let (_d, path) = write(
            "db = \"/from/file.db\"\n[genesys]\nregion = \"eu_west_1\"\nclient_id = \"file-id\"\nrate_limit_per_minute = 120\n[store]\nbusy_timeout = \"2s\"\n",
        );
        let over = Overrides { config: Some(path.clone()), ..Default::default() };
        let c = Config::load_with(&over, &env_of(&[])).unwrap();
        assert_eq!(c.db, PathBuf::from("/from/file.db"));
        assert_eq!(c.genesys.region.key, "eu_west_1");
        assert_eq!(c.genesys.client_id.as_deref(), Some("file-id"));
        assert_eq!(c.genesys.rate_limit_per_minute, 120);
        assert_eq!(c.store.busy_timeout, Duration::from_secs(2));
        assert_eq!(c.store.payload_cap, StoreConfig::default().payload_cap);

        let env = env_of(&[
            ("REDRIVE_DB", "/from/env.db"),
            ("GENESYS_REGION", "mypurecloud.de"),
            ("GENESYS_CLIENT_ID", "env-id"),
            ("GENESYS_CLIENT_SECRET", "s3cret"),
            ("GENESYS_API_BASE", "http://127.0.0.1:9/"),
        ]);
        let c = Config::load_with(&over, &env).unwrap();
        assert_eq!(c.db, PathBuf::from("/from/env.db"));
        assert_eq!(c.db_origin, Origin::Env("REDRIVE_DB"));
        assert_eq!(c.genesys.region.key, "eu_central_1");
        assert_eq!(c.genesys.client_id.as_deref(), Some("env-id"));
        assert_eq!(c.genesys.api_base(), "http://127.0.0.1:9/");
        assert_eq!(c.genesys.login_base(), "https://login.mypurecloud.de");

        let flags = Overrides { db: Some("/from/flag.db".into()), ..over };
        let c = Config::load_with(&flags, &env).unwrap();
        assert_eq!(c.db, PathBuf::from("/from/flag.db"));
    }

    #[test]
    fn missing_explicit_file_is_an_error_naming_it() {
        let over = Overrides { config: Some("/nonexistent/redrive.toml".into()), ..Default::default() };
        let e = Config::load_with(&over, &env_of(&[])).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/redrive.toml"), "{e}");
    }

    #[test]
    fn bad_value_names_line_and_key() {
        let (_d, path) = write("# comment\n[store]\npayload_cap = 10\nbusy_timeout = \"soon\"\n");
        let over = Overrides { config: Some(path), ..Default::default() };
        let e = Config::load_with(&over, &env_of(&[])).unwrap_err().to_string();
        assert!(e.contains("line 4") && e.contains("store.busy_timeout") && e.contains("soon"), "{e}");
    }

    #[test]
    fn unknown_key_and_wrong_type_name_line_and_key() {
        let (_d, path) = write("[genesys]\nregion = \"eu_west_1\"\nclient_sekret = \"x\"\n");
        let over = Overrides { config: Some(path), ..Default::default() };
        let e = Config::load_with(&over, &env_of(&[])).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("client_sekret"), "{e}");
        assert!(!e.contains("\"x\""), "{e}");

        let (_d, path) = write("[genesys]\nrate_limit_per_minute = \"fast\"\n");
        let over = Overrides { config: Some(path), ..Default::default() };
        let e = Config::load_with(&over, &env_of(&[])).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("genesys.rate_limit_per_minute"), "{e}");

        let (_d, path) = write("[genesys\nregion = 1\n");
        let over = Overrides { config: Some(path), ..Default::default() };
        let e = Config::load_with(&over, &env_of(&[])).unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn webhook_settings_read_secrets_from_the_environment() {
        let (_d, path) = write(
            "[retry]\nbase = \"100ms\"\nmax_attempts = 3\n[webhooks.orders]\nmode = \"direct\"\nurl = \"http://127.0.0.1:9/x\"\nheaders_env = { Authorization = \"ORDERS_AUTH\" }\nsigning_secret_env = \"ORDERS_SIGNING\"\nmax_attempts = 5\n",
        );
        let over = Overrides { config: Some(path.clone()), ..Default::default() };
        let env = env_of(&[("ORDERS_AUTH", "Bearer xyz"), ("ORDERS_SIGNING", "whsec_c2VjcmV0")]);
        let c = Config::load_with(&over, &env).unwrap();
        assert_eq!(c.retry.base, Duration::from_millis(100));
        assert_eq!(c.retry.max_attempts, 3);
        let w = &c.webhooks["orders"];
        assert_eq!(w.mode, Some(ReplayMode::Direct));
        assert_eq!(w.headers[0].0, "Authorization");
        assert_eq!(w.headers[0].1.expose(), "Bearer xyz");
        assert_eq!(w.max_attempts, Some(5));
        assert!(!format!("{c:?}").contains("xyz"), "secrets stay out of Debug");
        let e = Config::load_with(&over, &env_of(&[])).unwrap_err().to_string();
        assert!(e.contains("ORDERS_AUTH") && e.contains("not set"), "{e}");

        let (_d, path) = write("[webhooks.x]\nurl = \"ftp://example.com\"\n");
        let over = Overrides { config: Some(path), ..Default::default() };
        let e = Config::load_with(&over, &env_of(&[])).unwrap_err().to_string();
        assert!(e.contains("not an http or https URL"), "{e}");
    }

    #[test]
    fn unknown_region_lists_valid_ones() {
        let e = Config::load_with(&Overrides::default(), &env_of(&[("GENESYS_REGION", "moon_1")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("GENESYS_REGION") && e.contains("moon_1") && e.contains("eu_west_1"), "{e}");
    }

    #[test]
    fn every_toml_block_in_the_readme_parses() {
        let readme = include_str!("../README.md");
        let blocks: Vec<&str> =
            readme.split("```toml\n").skip(1).map(|b| b.split("```").next().unwrap()).collect();
        assert!(blocks.len() >= 2, "README's toml examples were not found");
        for b in blocks {
            parse_file(Path::new("README.md"), b).unwrap_or_else(|e| panic!("{e}\n{b}"));
        }
    }

    #[test]
    fn example_config_parses_and_mentions_every_key() {
        let text = include_str!("../assets/config.example.toml");
        // Uncomment every `# key = value` line: the result must be a valid config.
        let uncommented: String = text
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.contains(" = ") || rest.starts_with('[') => rest.to_string(),
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let p = Path::new("assets/config.example.toml");
        parse_file(p, &uncommented).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
        assert!(text.contains("# [keys]"), "example lacks the [keys] table");
        for key in [
            "db",
            "log_file",
            "operator",
            "region",
            "client_id",
            "client_secret",
            "api_base",
            "login_base",
            "rate_limit_per_minute",
            "lookback",
            "payload_cap",
            "busy_timeout",
            "prune_after",
            "max_attempts",
            "timeout",
            "concurrency",
            "per_target_concurrency",
            "per_target_rate",
            "breaker_threshold",
            "breaker_cooldown",
            "lease",
            "poll_interval",
            "auto_retry",
            "mode",
            "url",
            "method",
            "headers_env",
            "signing_secret_env",
            "relay",
            "relay_method",
            "verify",
            "verify_secret_env",
            "listen",
            "body_limit",
            "max_headers",
            "header_bytes",
            "read_timeout",
            "queue",
            "inbox_limit",
            "tolerance",
            "rate",
        ] {
            assert!(text.contains(&format!("# {key} = ")), "example lacks {key}");
        }
    }
}
