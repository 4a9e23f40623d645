//! Configuration: defaults < `config.toml` < environment < command-line flags.
//!
//! Secrets are held in [`Secret`], whose `Debug` and `Display` print `***`, so they cannot reach
//! a log line, the screen or an error message by accident.

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

    /// Load with an explicit environment lookup (tests pass a map).
    pub fn load_with(over: &Overrides, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let (default_config, default_db, default_log) = default_paths();
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
    fn unknown_region_lists_valid_ones() {
        let e = Config::load_with(&Overrides::default(), &env_of(&[("GENESYS_REGION", "moon_1")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("GENESYS_REGION") && e.contains("moon_1") && e.contains("eu_west_1"), "{e}");
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
        ] {
            assert!(text.contains(&format!("# {key} = ")), "example lacks {key}");
        }
    }
}
