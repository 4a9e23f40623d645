//! The filter flags shared by list, discard and export (and later retry).

use clap::Args;
use color_eyre::eyre;

use super::usage;
use crate::store::{EntryState, Filter, StatusMatch};
use crate::time::{Millis, parse_time_arg};

#[derive(Debug, Args, Default, Clone)]
pub struct FilterArgs {
    /// Only these states (repeat or comma-separate): pending, in_flight, delivered, dead, discarded
    #[arg(long, value_delimiter = ',', value_name = "STATE")]
    pub state: Vec<String>,
    /// A webhook id, or text in a webhook's name
    #[arg(long, value_name = "WEBHOOK")]
    pub webhook: Option<String>,
    /// The failure's status code (503) or class (5xx)
    #[arg(long, value_name = "CODE|CLASS")]
    pub status: Option<String>,
    /// Failed at or after: RFC 3339 (2026-12-04T10:00:00Z) or a duration ago (2h, 30m, 7d)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Failed before: RFC 3339 or a duration ago
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Text in the payload or an error message (case-insensitive for ASCII)
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// At most this many entries
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

impl FilterArgs {
    /// The store filter these flags describe (`now` resolves `--since 2h`).
    pub fn to_filter(&self, now: Millis) -> eyre::Result<Filter> {
        let states = self
            .state
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.parse::<EntryState>().map_err(|e| usage(format!("--state: {e}"))))
            .collect::<eyre::Result<Vec<_>>>()?;
        let status = self
            .status
            .as_deref()
            .map(StatusMatch::parse)
            .transpose()
            .map_err(|e| usage(format!("--status: {e}")))?;
        let time = |flag: &str, v: &Option<String>| {
            v.as_deref()
                .map(|s| parse_time_arg(s, now))
                .transpose()
                .map_err(|e| usage(format!("{flag}: {e}")))
        };
        let since = time("--since", &self.since)?;
        let until = time("--until", &self.until)?;
        if let (Some(s), Some(u)) = (since, until)
            && s >= u
        {
            return Err(usage("--since must be earlier than --until"));
        }
        if self.limit == Some(0) {
            return Err(usage("--limit must be at least 1"));
        }
        Ok(Filter {
            states,
            webhook: self.webhook.clone().filter(|w| !w.is_empty()),
            status,
            since,
            until,
            search: self.search.clone().filter(|s| !s.is_empty()),
        })
    }

    /// True when no flag narrows the selection (so a bulk action would hit everything).
    pub fn is_unset(&self) -> bool {
        self.state.is_empty()
            && self.webhook.is_none()
            && self.status.is_none()
            && self.since.is_none()
            && self.until.is_none()
            && self.search.is_none()
            && self.limit.is_none()
    }
}
