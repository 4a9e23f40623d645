//! The JSONL export format (what `export` writes and `import` reads back, exactly), the CSV
//! export, and the JSON shape `list --json` prints.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::store::{Attempt, AttemptClass, Entry, EntryRecord, EntryState};
use crate::time::{Millis, format_ms, parse_rfc3339};

/// One entry as a JSON object. Export writes every field; import needs only `source_id`,
/// `webhook_id` and `payload` and fills the rest with defaults (a `pending` entry held for an
/// operator), so hand-written files import too.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EntryLine {
    #[serde(default)]
    pub id: Option<i64>,
    pub source_id: String,
    pub webhook_id: String,
    #[serde(default = "default_kind")]
    pub source_kind: String,
    #[serde(default = "default_state")]
    pub state: EntryState,
    #[serde(default)]
    pub status_code: Option<u16>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub failed_at: Option<String>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub round_attempts: u32,
    #[serde(default)]
    pub next_attempt_at: Option<String>,
    #[serde(default)]
    pub lease_owner: Option<String>,
    #[serde(default)]
    pub lease_until: Option<String>,
    #[serde(default)]
    pub last_status: Option<u16>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub payload_size: Option<u64>,
    #[serde(default)]
    pub payload_truncated: bool,
    #[serde(default)]
    pub payload_unavailable: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    /// The payload: the text itself when it is UTF-8, else base64 (and `payload_encoding`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// `base64` when `payload` is base64; absent for UTF-8 text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<AttemptLine>>,
    /// The raw execution-data file the payload was recovered from, when kept (text, or base64
    /// with `execution_data_encoding`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_data_encoding: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AttemptLine {
    pub attempt: u32,
    pub started_at: String,
    pub duration_ms: u64,
    #[serde(default)]
    pub status_code: Option<u16>,
    pub class: AttemptClass,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub response_snippet: Option<String>,
}

fn default_kind() -> String {
    "import".into()
}

fn default_state() -> EntryState {
    EntryState::Pending
}

impl EntryLine {
    /// An entry without payload or history (`list --json`).
    pub fn summary(e: &Entry) -> EntryLine {
        EntryLine {
            id: Some(e.id),
            source_id: e.source_id.clone(),
            webhook_id: e.webhook_id.clone(),
            source_kind: e.source_kind.clone(),
            state: e.state,
            status_code: e.status_code,
            error: e.error.clone(),
            failed_at: Some(format_ms(e.failed_at)),
            attempts: e.attempts,
            round_attempts: e.round_attempts,
            next_attempt_at: e.next_attempt_at.map(format_ms),
            lease_owner: e.lease_owner.clone(),
            lease_until: e.lease_until.map(format_ms),
            last_status: e.last_status,
            last_error: e.last_error.clone(),
            content_type: e.content_type.clone(),
            payload_size: Some(e.payload_size),
            payload_truncated: e.payload_truncated,
            payload_unavailable: e.payload_unavailable.clone(),
            created_at: Some(format_ms(e.created_at)),
            updated_at: Some(format_ms(e.updated_at)),
            payload: None,
            payload_encoding: None,
            history: None,
            execution_data: None,
            execution_data_encoding: None,
        }
    }

    /// Everything about an entry (`export`, `show --json`).
    pub fn full(rec: &EntryRecord) -> EntryLine {
        let mut line = EntryLine::summary(&rec.entry);
        let (payload, encoding) = encode_payload(&rec.payload);
        line.payload = Some(payload);
        line.payload_encoding = encoding;
        if let Some(raw) = &rec.execution_data {
            let (data, encoding) = encode_payload(raw);
            line.execution_data = Some(data);
            line.execution_data_encoding = encoding;
        }
        line.history = Some(
            rec.attempts
                .iter()
                .map(|a| AttemptLine {
                    attempt: a.attempt,
                    started_at: format_ms(a.started_at),
                    duration_ms: a.duration_ms,
                    status_code: a.status_code,
                    class: a.class,
                    error: a.error.clone(),
                    response_snippet: a.response_snippet.clone(),
                })
                .collect(),
        );
        line
    }

    /// Back to a record, filling what is absent (times default to `now`).
    pub fn into_record(self, now: Millis) -> Result<EntryRecord, String> {
        let time = |field: &str, v: &Option<String>| -> Result<Option<Millis>, String> {
            v.as_deref().map(parse_rfc3339).transpose().map_err(|e| format!("{field}: {e}"))
        };
        if self.source_id.is_empty() {
            return Err("source_id is empty".into());
        }
        if self.webhook_id.is_empty() {
            return Err("webhook_id is empty".into());
        }
        let payload = match self.payload.as_deref() {
            None => return Err("payload is missing".into()),
            Some(p) => decode("payload", p, self.payload_encoding.as_deref())?,
        };
        let execution_data = self
            .execution_data
            .as_deref()
            .map(|d| decode("execution_data", d, self.execution_data_encoding.as_deref()))
            .transpose()?;
        let history = self
            .history
            .unwrap_or_default()
            .into_iter()
            .map(|a| {
                Ok(Attempt {
                    attempt: a.attempt,
                    started_at: parse_rfc3339(&a.started_at)
                        .map_err(|e| format!("history.started_at: {e}"))?,
                    duration_ms: a.duration_ms,
                    status_code: a.status_code,
                    class: a.class,
                    error: a.error,
                    response_snippet: a.response_snippet,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let state_needs_lease = self.state == EntryState::InFlight;
        let lease_until = time("lease_until", &self.lease_until)?;
        if state_needs_lease && (self.lease_owner.is_none() || lease_until.is_none()) {
            return Err("state in_flight needs lease_owner and lease_until".into());
        }
        let entry = Entry {
            id: self.id.unwrap_or(0),
            source_id: self.source_id,
            webhook_id: self.webhook_id,
            source_kind: self.source_kind,
            state: self.state,
            status_code: self.status_code,
            error: self.error,
            failed_at: time("failed_at", &self.failed_at)?.unwrap_or(now),
            attempts: self.attempts,
            round_attempts: self.round_attempts,
            next_attempt_at: time("next_attempt_at", &self.next_attempt_at)?,
            lease_owner: self.lease_owner,
            lease_until,
            last_status: self.last_status,
            last_error: self.last_error,
            content_type: self.content_type,
            payload_size: self.payload_size.unwrap_or(payload.len() as u64).max(payload.len() as u64),
            payload_truncated: self.payload_truncated,
            payload_unavailable: self.payload_unavailable,
            created_at: time("created_at", &self.created_at)?.unwrap_or(now),
            updated_at: time("updated_at", &self.updated_at)?.unwrap_or(now),
        };
        Ok(EntryRecord { entry, payload, attempts: history, execution_data })
    }
}

fn decode(field: &str, text: &str, encoding: Option<&str>) -> Result<Vec<u8>, String> {
    match encoding {
        None => Ok(text.as_bytes().to_vec()),
        Some("base64") => B64.decode(text).map_err(|e| format!("{field}: bad base64 ({e})")),
        Some(other) => Err(format!("{field}_encoding `{other}` is not supported (only base64)")),
    }
}

/// The payload as JSON text: itself when UTF-8, else base64 with the encoding named.
pub fn encode_payload(p: &[u8]) -> (String, Option<String>) {
    match std::str::from_utf8(p) {
        Ok(s) => (s.to_string(), None),
        Err(_) => (B64.encode(p), Some("base64".into())),
    }
}

/// Parse one JSONL line of an export.
pub fn parse_line(line: &str, now: Millis) -> Result<EntryRecord, String> {
    let parsed: EntryLine = serde_json::from_str(line).map_err(|e| format!("not a valid entry: {e}"))?;
    parsed.into_record(now)
}

/// The CSV header (payload columns only with `with_payload`).
pub fn csv_header(with_payload: bool) -> Vec<&'static str> {
    let mut h = vec![
        "id",
        "source_id",
        "webhook_id",
        "source_kind",
        "state",
        "status_code",
        "error",
        "failed_at",
        "attempts",
        "next_attempt_at",
        "last_status",
        "last_error",
        "content_type",
        "payload_size",
        "payload_truncated",
        "payload_unavailable",
        "created_at",
        "updated_at",
    ];
    if with_payload {
        h.extend(["payload", "payload_encoding"]);
    }
    h
}

/// One CSV row. Text that came from outside is guarded against spreadsheet formula injection
/// (a leading `=`, `+`, `-`, `@`, tab or carriage return gets a `'` in front).
pub fn csv_row(rec: &EntryRecord, with_payload: bool) -> Vec<String> {
    let e = &rec.entry;
    let opt = |v: Option<String>| v.unwrap_or_default();
    let num = |v: Option<u16>| v.map(|n| n.to_string()).unwrap_or_default();
    let mut row = vec![
        e.id.to_string(),
        guard(&e.source_id),
        guard(&e.webhook_id),
        e.source_kind.clone(),
        e.state.to_string(),
        num(e.status_code),
        guard(&opt(e.error.clone())),
        format_ms(e.failed_at),
        e.attempts.to_string(),
        opt(e.next_attempt_at.map(format_ms)),
        num(e.last_status),
        guard(&opt(e.last_error.clone())),
        guard(&opt(e.content_type.clone())),
        e.payload_size.to_string(),
        e.payload_truncated.to_string(),
        guard(&opt(e.payload_unavailable.clone())),
        format_ms(e.created_at),
        format_ms(e.updated_at),
    ];
    if with_payload {
        let (p, enc) = encode_payload(&rec.payload);
        row.push(guard(&p));
        row.push(enc.unwrap_or_default());
    }
    row
}

fn guard(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_line_gets_defaults() {
        let rec = parse_line(r#"{"source_id":"s1","webhook_id":"w","payload":"{\"a\":1}"}"#, 5000).unwrap();
        assert_eq!(rec.entry.state, EntryState::Pending);
        assert_eq!(rec.entry.failed_at, 5000);
        assert_eq!(rec.entry.next_attempt_at, None);
        assert_eq!(rec.payload, br#"{"a":1}"#);
        assert_eq!(rec.entry.payload_size, 7);
    }

    #[test]
    fn binary_payload_round_trips_as_base64() {
        let bytes = vec![0u8, 159, 146, 150, 255];
        let (p, enc) = encode_payload(&bytes);
        assert_eq!(enc.as_deref(), Some("base64"));
        let line =
            format!(r#"{{"source_id":"s","webhook_id":"w","payload":"{p}","payload_encoding":"base64"}}"#);
        assert_eq!(parse_line(&line, 0).unwrap().payload, bytes);
    }

    #[test]
    fn bad_lines_say_why() {
        assert!(parse_line("{", 0).unwrap_err().contains("not a valid entry"));
        assert!(
            parse_line(r#"{"source_id":"s","webhook_id":"w"}"#, 0)
                .unwrap_err()
                .contains("payload is missing")
        );
        let e = parse_line(r#"{"source_id":"s","webhook_id":"w","payload":"x","failed_at":"noon"}"#, 0)
            .unwrap_err();
        assert!(e.contains("failed_at"), "{e}");
        let e =
            parse_line(r#"{"source_id":"s","webhook_id":"w","payload":"x","state":"lost"}"#, 0).unwrap_err();
        assert!(e.contains("lost"), "{e}");
    }

    #[test]
    fn csv_guards_formulas() {
        assert_eq!(guard("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(guard("503 upstream"), "503 upstream");
    }
}
