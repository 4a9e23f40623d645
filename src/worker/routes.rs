//! Which way each webhook's entries are replayed, and with which retry policy: from the config
//! file's `[webhooks."…"]` tables, else through Genesys for webhooks polled from it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::config::{ReplayMode, RetryConfig, WebhookConfig};
use crate::retry::policy::Policy;
use crate::retry::sender::{DirectTarget, Route};
use crate::store::Webhook;

/// A webhook's route, or why it has none.
pub type Resolved = Result<(Arc<Route>, Policy), String>;

pub struct Routes {
    config: BTreeMap<String, WebhookConfig>,
    defaults: Policy,
    genesys: bool,
    cache: HashMap<String, Resolved>,
}

impl Routes {
    pub fn new(retry: &RetryConfig, config: BTreeMap<String, WebhookConfig>, genesys: bool) -> Routes {
        let defaults = Policy { base: retry.base, cap: retry.cap, max_attempts: retry.max_attempts };
        Routes { config, defaults, genesys, cache: HashMap::new() }
    }

    /// The per-webhook settings that apply to `webhook` (by id, or by name).
    pub fn settings(&self, webhook: &Webhook) -> Option<&WebhookConfig> {
        self.config.get(&webhook.id).or_else(|| self.config.get(&webhook.name))
    }

    pub fn configured(&self) -> impl Iterator<Item = (&String, &WebhookConfig)> {
        self.config.iter()
    }

    /// Forget cached routes (webhooks were refreshed by a poll).
    pub fn refresh(&mut self) {
        self.cache.clear();
    }

    pub fn resolve(&mut self, id: &str, known: &HashMap<String, Webhook>) -> Resolved {
        if let Some(r) = self.cache.get(id) {
            return r.clone();
        }
        let hook = known.get(id).cloned().unwrap_or_else(|| Webhook::named(id, id, "unknown", 0));
        let settings = self.settings(&hook).cloned().unwrap_or_default();
        let policy = Policy {
            base: settings.base.unwrap_or(self.defaults.base),
            cap: settings.cap.unwrap_or(self.defaults.cap),
            max_attempts: settings.max_attempts.unwrap_or(self.defaults.max_attempts).max(1),
        };
        let from_genesys = hook.source == "genesys";
        let mode = settings.mode.or(if settings.url.is_some() {
            Some(ReplayMode::Direct)
        } else if from_genesys {
            Some(ReplayMode::Genesys)
        } else {
            None
        });
        let r = match mode {
            Some(ReplayMode::Direct) => match &settings.url {
                Some(url) => DirectTarget::new(url, settings.method.as_deref()).map(|mut t| {
                    t.headers = settings.headers.clone();
                    t.signing_key = settings.signing_secret.clone();
                    (Arc::new(Route::Direct(t)), policy)
                }),
                None => Err(format!("webhook {id} is set to direct replay but has no url")),
            },
            Some(ReplayMode::Genesys) if self.genesys => {
                Ok((Arc::new(Route::Genesys { action_id: hook.id.clone() }), policy))
            }
            Some(ReplayMode::Genesys) => Err(format!(
                "webhook {id} replays through Genesys, which needs credentials (GENESYS_CLIENT_ID / \
                 GENESYS_CLIENT_SECRET); or configure a direct url for it"
            )),
            None => Err(format!(
                "no route for webhook {id}: add [webhooks.\"{id}\"] with url = \"https://…\" to the config"
            )),
        };
        self.cache.insert(id.to_string(), r.clone());
        r
    }
}
