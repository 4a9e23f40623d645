//! Errors from Genesys Cloud, with what an operator or Genesys support needs to act: the call,
//! the status, the parsed ErrorBody and the `ININ-Correlation-Id`. Never a secret.

use super::model::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum GenesysError {
    #[error(
        "no Genesys Cloud credentials: set GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET (or \
         genesys.client_id / genesys.client_secret in the config file)"
    )]
    NoCredentials,
    #[error("login as OAuth client {client_id} failed ({status}): {error}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Auth { client_id: String, status: u16, error: String, description: Option<String> },
    #[error("{method} {path} answered {status}: {}{}{}", body.summary(), code_text(body), correlation_text(correlation_id))]
    Api { method: String, path: String, status: u16, body: Box<ErrorBody>, correlation_id: Option<String> },
    #[error(
        "{method} {path}: rate limited for {secs} s (more than the 180 s redrive waits){}",
        correlation_text(correlation_id)
    )]
    RateLimited { method: String, path: String, secs: u64, correlation_id: Option<String> },
    #[error("{method} {path}: {detail}")]
    Transport { method: String, path: String, detail: String },
    #[error(
        "{method} {path}: the answer is not what the API contract describes ({detail}); it starts: {snippet:?}"
    )]
    Malformed { method: String, path: String, detail: String, snippet: String },
    #[error("{0}")]
    Refused(String),
}

fn code_text(b: &ErrorBody) -> String {
    let mut codes: Vec<&str> = b.code.as_deref().into_iter().collect();
    codes.extend(b.detail_codes());
    if codes.is_empty() { String::new() } else { format!(" [{}]", codes.join(", ")) }
}

fn correlation_text(c: &Option<String>) -> String {
    c.as_deref().map(|c| format!(" (ININ-Correlation-Id {c})")).unwrap_or_default()
}

impl GenesysError {
    /// The HTTP status, when the API answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            GenesysError::Api { status, .. } | GenesysError::Auth { status, .. } => Some(*status),
            GenesysError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    pub fn body(&self) -> Option<&ErrorBody> {
        match self {
            GenesysError::Api { body, .. } => Some(body),
            _ => None,
        }
    }
}

/// The first `n` characters of a body, for messages about malformed answers.
pub fn snippet(bytes: &[u8], n: usize) -> String {
    let s = String::from_utf8_lossy(bytes);
    let cut: String = s.chars().take(n).collect();
    crate::text::sanitize(&cut).into_owned()
}
