//! What the store holds, as plain data.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::time::Millis;

pub type EntryId = i64;

/// Where an entry is in its life: `pending` → `in_flight` → `delivered` | `pending` | `dead`;
/// an operator may `discard`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    Pending,
    InFlight,
    Delivered,
    Dead,
    Discarded,
}

impl EntryState {
    pub const ALL: [EntryState; 5] = [
        EntryState::Pending,
        EntryState::InFlight,
        EntryState::Delivered,
        EntryState::Dead,
        EntryState::Discarded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryState::Pending => "pending",
            EntryState::InFlight => "in_flight",
            EntryState::Delivered => "delivered",
            EntryState::Dead => "dead",
            EntryState::Discarded => "discarded",
        }
    }
}

impl fmt::Display for EntryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EntryState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        EntryState::ALL
            .into_iter()
            .find(|st| st.as_str() == norm || (norm == "inflight" && *st == EntryState::InFlight))
            .ok_or_else(|| {
                format!("unknown state `{s}`; valid states: pending, in_flight, delivered, dead, discarded")
            })
    }
}

/// How an attempt ended, as the retry policy classified it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptClass {
    Success,
    Retryable,
    Permanent,
    /// The target said it is gone (410): the entry is dead and its webhook paused.
    Gone,
}

impl AttemptClass {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptClass::Success => "success",
            AttemptClass::Retryable => "retryable",
            AttemptClass::Permanent => "permanent",
            AttemptClass::Gone => "gone",
        }
    }
}

impl FromStr for AttemptClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [AttemptClass::Success, AttemptClass::Retryable, AttemptClass::Permanent, AttemptClass::Gone]
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown attempt class `{s}`"))
    }
}

/// A failed delivery as a source reports it, before the store has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEntry {
    /// The source's own id of the failure (a Genesys flow instance id, a relay request id).
    /// Unique: storing the same id twice is a no-op.
    pub source_id: String,
    pub webhook_id: String,
    /// `genesys`, `relay`, `manual`, …
    pub source_kind: String,
    pub payload: Vec<u8>,
    pub content_type: Option<String>,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub failed_at: Millis,
    /// Why the payload could not be recovered, if it could not (the entry cannot be replayed).
    pub payload_unavailable: Option<String>,
    /// When the worker may first retry it; `None` holds it for an operator.
    pub next_attempt_at: Option<Millis>,
    /// The raw file the payload was recovered from (Genesys execution data), kept for
    /// inspection.
    pub execution_data: Option<Vec<u8>>,
}

/// An entry as stored, without its payload (see [`super::Store::payload`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub id: EntryId,
    pub source_id: String,
    pub webhook_id: String,
    pub source_kind: String,
    pub state: EntryState,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub failed_at: Millis,
    /// Attempts made in all.
    pub attempts: u32,
    /// Attempts made since the entry was last (re)queued; the retry budget counts these.
    pub round_attempts: u32,
    pub next_attempt_at: Option<Millis>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<Millis>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub content_type: Option<String>,
    /// The payload's size as received (larger than what is stored when truncated).
    pub payload_size: u64,
    pub payload_truncated: bool,
    pub payload_unavailable: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// One try at delivering an entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// 1 for the first attempt, counting across every round.
    pub attempt: u32,
    pub started_at: Millis,
    pub duration_ms: u64,
    pub status_code: Option<u16>,
    pub class: AttemptClass,
    pub error: Option<String>,
    /// The start of the response body, bounded (see [`SNIPPET_MAX`]).
    pub response_snippet: Option<String>,
}

/// How many bytes of a response body an attempt keeps.
pub const SNIPPET_MAX: usize = 2048;

/// An entry with everything that belongs to it: what `show` prints and `export` writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryRecord {
    pub entry: Entry,
    pub payload: Vec<u8>,
    pub attempts: Vec<Attempt>,
    pub execution_data: Option<Vec<u8>>,
}

/// A webhook: one outbound endpoint (a Genesys data action, or a relay route).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Webhook {
    pub id: String,
    pub name: String,
    /// `genesys` or `relay` or `config`.
    pub source: String,
    pub method: Option<String>,
    pub url: Option<String>,
    /// Cached configuration from the source, as JSON (header names only, never values).
    pub config: Option<String>,
    pub paused: bool,
    pub paused_reason: Option<String>,
    pub updated_at: Millis,
}

impl Webhook {
    /// A webhook known only by id and name (no method, URL or cached configuration).
    pub fn named(id: &str, name: &str, source: &str, now: Millis) -> Webhook {
        Webhook {
            id: id.to_string(),
            name: name.to_string(),
            source: source.to_string(),
            method: None,
            url: None,
            config: None,
            paused: false,
            paused_reason: None,
            updated_at: now,
        }
    }
}

/// One row of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    pub at: Millis,
    pub operator: String,
    pub action: String,
    pub count: u64,
    pub filter: Option<String>,
    pub ids: Option<String>,
    pub detail: Option<String>,
}
