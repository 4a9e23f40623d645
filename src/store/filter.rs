//! Which entries an operation applies to, and the SQL that selects them.

use std::fmt;

use rusqlite::types::Value;
use serde::Serialize;

use super::model::{EntryId, EntryState};
use crate::time::{Millis, format_ms};

/// A status code (`503`) or a class (`5xx`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum StatusMatch {
    Code(u16),
    /// 1–5 for 1xx–5xx.
    Class(u8),
}

impl StatusMatch {
    pub fn parse(s: &str) -> Result<StatusMatch, String> {
        let t = s.trim().to_ascii_lowercase();
        let bad = || format!("`{s}` is not a status code (503) or class (5xx)");
        if let Some(d) = t.strip_suffix("xx") {
            return match d.parse::<u8>() {
                Ok(c @ 1..=5) => Ok(StatusMatch::Class(c)),
                _ => Err(bad()),
            };
        }
        match t.parse::<u16>() {
            Ok(c @ 100..=599) => Ok(StatusMatch::Code(c)),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for StatusMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatusMatch::Code(c) => write!(f, "{c}"),
            StatusMatch::Class(c) => write!(f, "{c}xx"),
        }
    }
}

/// A filter over entries. Every field narrows; the empty filter matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Any of these states (empty: any state).
    pub states: Vec<EntryState>,
    /// A webhook id, or text contained in a webhook's name.
    pub webhook: Option<String>,
    /// The failure's status code or class, as the source reported it.
    pub status: Option<StatusMatch>,
    /// `failed_at >= since`.
    pub since: Option<Millis>,
    /// `failed_at < until`.
    pub until: Option<Millis>,
    /// Text contained (ASCII case-insensitive) in the payload or in an error.
    pub search: Option<String>,
}

/// The keys a filter query understands (the console's `/`).
pub const QUERY_KEYS: &str = "state:dead,pending status:5xx webhook:orders since:2h until:30m";

impl Filter {
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// A filter as an operator types it: `state:dead status:5xx webhook:orders since:2h`, and
    /// any other words as text to search for. `now` anchors `since:`/`until:` durations.
    pub fn parse_query(text: &str, now: Millis) -> Result<Filter, String> {
        let mut f = Filter::default();
        let mut words = Vec::new();
        for tok in text.split_whitespace() {
            let Some((key, value)) = tok
                .split_once(':')
                .filter(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphabetic()))
            else {
                words.push(tok);
                continue;
            };
            let need = |v: &str| {
                if v.is_empty() { Err(format!("`{key}:` needs a value, e.g. {QUERY_KEYS}")) } else { Ok(()) }
            };
            need(value)?;
            match key.to_ascii_lowercase().as_str() {
                "state" | "s" => {
                    for st in value.split(',').filter(|v| !v.is_empty()) {
                        let st: EntryState = st.parse()?;
                        if !f.states.contains(&st) {
                            f.states.push(st);
                        }
                    }
                }
                "status" => f.status = Some(StatusMatch::parse(value)?),
                "webhook" | "w" => f.webhook = Some(value.to_string()),
                "since" => f.since = Some(crate::time::parse_time_arg(value, now)?),
                "until" => f.until = Some(crate::time::parse_time_arg(value, now)?),
                "http" | "https" => words.push(tok),
                _ => {
                    return Err(format!(
                        "unknown filter `{key}:`; use {QUERY_KEYS}, or plain words to search"
                    ));
                }
            }
        }
        if !words.is_empty() {
            f.search = Some(words.join(" "));
        }
        Ok(f)
    }

    /// SQL conditions (joined with AND, never empty) and their parameters. A webhook filter
    /// needs the ids it resolves to (see `Store::resolve_webhooks`), so the query can walk the
    /// `(webhook_id, …, id)` indexes in id order instead of sorting.
    pub(crate) fn to_sql(&self, conn: &rusqlite::Connection) -> rusqlite::Result<(String, Vec<Value>)> {
        let mut conds = vec!["1".to_string()];
        let mut params = Vec::new();
        if !self.states.is_empty() {
            let list: Vec<String> = self.states.iter().map(|s| format!("'{}'", s.as_str())).collect();
            conds.push(format!("state IN ({})", list.join(",")));
        }
        if let Some(w) = &self.webhook {
            let ids = resolve_webhooks(conn, w)?;
            let marks: Vec<String> = ids
                .into_iter()
                .map(|id| {
                    params.push(Value::Text(id));
                    format!("?{}", params.len())
                })
                .collect();
            conds.push(format!("webhook_id IN ({})", marks.join(", ")));
        }
        match self.status {
            Some(StatusMatch::Code(c)) => {
                params.push(Value::Integer(c.into()));
                conds.push(format!("status_code = ?{}", params.len()));
            }
            Some(StatusMatch::Class(c)) => {
                // `+` keeps SQLite off the status index here: a class spans many codes, so the
                // index would hand rows back out of id order and force a sort of all of them.
                let lo = i64::from(c) * 100;
                conds.push(format!("+status_code BETWEEN {lo} AND {}", lo + 99));
            }
            None => {}
        }
        if let Some(t) = self.since {
            params.push(Value::Integer(t));
            conds.push(format!("failed_at >= ?{}", params.len()));
        }
        if let Some(t) = self.until {
            params.push(Value::Integer(t));
            conds.push(format!("failed_at < ?{}", params.len()));
        }
        if let Some(s) = &self.search {
            params.push(Value::Text(like_pattern(s)));
            let n = params.len();
            conds.push(format!(
                "(CAST(payload AS TEXT) LIKE ?{n} ESCAPE '\\' OR error LIKE ?{n} ESCAPE '\\' \
                 OR last_error LIKE ?{n} ESCAPE '\\')"
            ));
        }
        Ok((conds.join(" AND "), params))
    }
}

/// The webhook ids a `webhook` filter means: the text itself as an id, and every known webhook
/// whose id or name contains it (ASCII case-insensitive).
fn resolve_webhooks(conn: &rusqlite::Connection, w: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM webhooks WHERE id LIKE ?1 ESCAPE '\\' OR name LIKE ?1 ESCAPE '\\' ORDER BY id",
    )?;
    let mut ids: Vec<String> =
        stmt.query_map([like_pattern(w)], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    if !ids.iter().any(|id| id == w) {
        ids.insert(0, w.to_string());
    }
    Ok(ids)
}

/// `%text%` with LIKE's wildcards in `text` escaped.
fn like_pattern(s: &str) -> String {
    let mut p = String::with_capacity(s.len() + 2);
    p.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

impl fmt::Display for Filter {
    /// The filter as an operator would type it: `state:dead webhook:orders status:5xx`;
    /// `(everything)` for the empty filter. Used in confirmations and the audit log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if !self.states.is_empty() {
            let s: Vec<_> = self.states.iter().map(|s| s.as_str()).collect();
            parts.push(format!("state:{}", s.join(",")));
        }
        if let Some(w) = &self.webhook {
            parts.push(format!("webhook:{w}"));
        }
        if let Some(s) = self.status {
            parts.push(format!("status:{s}"));
        }
        if let Some(t) = self.since {
            parts.push(format!("since:{}", format_ms(t)));
        }
        if let Some(t) = self.until {
            parts.push(format!("until:{}", format_ms(t)));
        }
        if let Some(s) = &self.search {
            parts.push(format!("search:{s:?}"));
        }
        if parts.is_empty() { f.write_str("(everything)") } else { f.write_str(&parts.join(" ")) }
    }
}

/// What a bulk operation applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    Ids(Vec<EntryId>),
    Filter(Filter),
}

impl Selection {
    pub(crate) fn to_sql(&self, conn: &rusqlite::Connection) -> rusqlite::Result<(String, Vec<Value>)> {
        match self {
            Selection::Ids(ids) => {
                let json = serde_json::to_string(ids).expect("ids serialise");
                Ok(("id IN (SELECT value FROM json_each(?1))".into(), vec![Value::Text(json)]))
            }
            Selection::Filter(f) => f.to_sql(conn),
        }
    }

    /// For the audit log: the filter's text, or `None` for explicit ids.
    pub fn filter_text(&self) -> Option<String> {
        match self {
            Selection::Ids(_) => None,
            Selection::Filter(f) => Some(f.to_string()),
        }
    }
}

impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selection::Ids(ids) if ids.len() <= 10 => {
                let s: Vec<_> = ids.iter().map(|i| i.to_string()).collect();
                write!(f, "ids {}", s.join(", "))
            }
            Selection::Ids(ids) => write!(f, "{} ids", ids.len()),
            Selection::Filter(flt) => write!(f, "{flt}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_parses_codes_and_classes() {
        assert_eq!(StatusMatch::parse("503"), Ok(StatusMatch::Code(503)));
        assert_eq!(StatusMatch::parse("5XX"), Ok(StatusMatch::Class(5)));
        assert!(StatusMatch::parse("6xx").is_err());
        assert!(StatusMatch::parse("99").is_err());
        assert!(StatusMatch::parse("five").is_err());
    }

    #[test]
    fn parses_a_console_query() {
        let now = 10 * 3_600_000;
        let f = Filter::parse_query("state:dead,pending status:5xx webhook:orders since:2h  timeout x", now)
            .unwrap();
        assert_eq!(f.states, vec![EntryState::Dead, EntryState::Pending]);
        assert_eq!(f.status, Some(StatusMatch::Class(5)));
        assert_eq!(f.webhook.as_deref(), Some("orders"));
        assert_eq!(f.since, Some(8 * 3_600_000));
        assert_eq!(f.search.as_deref(), Some("timeout x"));
        assert_eq!(Filter::parse_query("  ", now).unwrap(), Filter::default());
        assert_eq!(
            Filter::parse_query("https://x.example/a", now).unwrap().search.as_deref(),
            Some("https://x.example/a")
        );
        assert!(Filter::parse_query("state:lost", now).unwrap_err().contains("unknown state"));
        assert!(Filter::parse_query("colour:red", now).unwrap_err().contains("unknown filter `colour:`"));
        assert!(Filter::parse_query("status:", now).unwrap_err().contains("needs a value"));
    }

    #[test]
    fn like_escapes_wildcards() {
        assert_eq!(like_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
    }

    #[test]
    fn describes_itself_like_the_console_filter() {
        let f = Filter {
            states: vec![EntryState::Dead],
            webhook: Some("orders".into()),
            status: Some(StatusMatch::Class(5)),
            ..Default::default()
        };
        assert_eq!(f.to_string(), "state:dead webhook:orders status:5xx");
        assert_eq!(Filter::default().to_string(), "(everything)");
    }
}
