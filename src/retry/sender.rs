//! Sending one entry again: straight to its target (reqwest, one pooled client, no redirects,
//! only http/https, a per-call timeout, optional Standard Webhooks signature) or through
//! Genesys (execute the data action, through the shared API rate limiter).
//!
//! Every replay carries `Idempotency-Key` and `webhook-id` (the entry id, the same on every
//! attempt) and `X-Redrive-Attempt` (the attempt number), so a receiver can drop duplicates.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, Url};
use sha2::Sha256;

use super::policy::{GenesysFailure, Result as SendResult, TransportKind};
use crate::config::Secret;
use crate::genesys::{Client, GenesysError};
use crate::store::SNIPPET_MAX;
use crate::time::{now_ms, parse_retry_after};

/// Where a webhook's entries go.
#[derive(Clone, Debug)]
pub enum Route {
    Direct(DirectTarget),
    /// Execute this data action through Genesys.
    Genesys {
        action_id: String,
    },
}

#[derive(Clone, Debug)]
pub struct DirectTarget {
    pub url: Url,
    pub method: Method,
    /// Extra headers (values are secrets: auth tokens).
    pub headers: Vec<(String, Secret)>,
    /// Standard Webhooks signing key, decoded.
    pub signing_key: Option<Secret>,
}

impl DirectTarget {
    /// Only http and https URLs are accepted.
    pub fn new(url: &str, method: Option<&str>) -> Result<DirectTarget, String> {
        let url = Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("`{url}` is not an http or https URL"));
        }
        let method = Method::from_bytes(method.unwrap_or("POST").to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("`{}` is not an HTTP method", method.unwrap_or("")))?;
        Ok(DirectTarget { url, method, headers: Vec::new(), signing_key: None })
    }
}

/// One replay to make.
pub struct Replay<'a> {
    pub entry_id: i64,
    /// This attempt's number (1 for the first attempt ever).
    pub attempt: u32,
    pub payload: &'a [u8],
    pub content_type: Option<&'a str>,
}

/// What happened.
#[derive(Clone, Debug)]
pub struct Sent {
    pub result: SendResult,
    pub duration: Duration,
    /// The start of the response body (bounded).
    pub snippet: Option<String>,
    /// A short description of a failure.
    pub error: Option<String>,
}

pub struct Sender {
    http: reqwest::Client,
    genesys: Option<Arc<Client>>,
    timeout: Duration,
}

impl Sender {
    pub fn new(timeout: Duration, genesys: Option<Arc<Client>>) -> Sender {
        Sender { http: crate::genesys::client::http_client(timeout), genesys, timeout }
    }

    pub fn genesys(&self) -> Option<&Arc<Client>> {
        self.genesys.as_ref()
    }

    pub async fn send(&self, route: &Route, r: Replay<'_>) -> Sent {
        let started = Instant::now();
        let mut sent = match route {
            Route::Direct(t) => self.direct(t, &r).await,
            Route::Genesys { action_id } => self.through_genesys(action_id, &r).await,
        };
        sent.duration = started.elapsed();
        sent
    }

    async fn direct(&self, t: &DirectTarget, r: &Replay<'_>) -> Sent {
        let id = r.entry_id.to_string();
        let mut req = self
            .http
            .request(t.method.clone(), t.url.clone())
            .timeout(self.timeout)
            .header("content-type", r.content_type.unwrap_or("application/json"))
            .header("idempotency-key", &id)
            .header("webhook-id", &id)
            .header("x-redrive-attempt", r.attempt.to_string())
            .body(r.payload.to_vec());
        for (name, value) in &t.headers {
            let (Ok(name), Ok(mut value)) =
                (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value.expose()))
            else {
                return failure(
                    TransportKind::Invalid,
                    format!("header {name} has an invalid name or value"),
                );
            };
            value.set_sensitive(true);
            req = req.header(name, value);
        }
        if let Some(key) = &t.signing_key {
            let ts = now_ms() / 1000;
            req = req
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", sign(key.expose().as_bytes(), &id, ts, r.payload));
        }
        match req.send().await {
            Ok(mut resp) => {
                let code = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, now_ms()));
                let mut body = Vec::new();
                while body.len() < SNIPPET_MAX {
                    match resp.chunk().await {
                        Ok(Some(c)) => body.extend_from_slice(&c),
                        _ => break,
                    }
                }
                body.truncate(SNIPPET_MAX);
                let snippet = (!body.is_empty()).then(|| String::from_utf8_lossy(&body).into_owned());
                let error = (!(200..300).contains(&code)).then(|| format!("target answered {code}"));
                Sent {
                    result: SendResult::Status { code, retry_after, genesys: None },
                    duration: Duration::ZERO,
                    snippet,
                    error,
                }
            }
            Err(e) => {
                let kind = if e.is_timeout() {
                    TransportKind::Timeout
                } else if e.is_connect() {
                    TransportKind::Connect
                } else if e.is_builder() {
                    TransportKind::Invalid
                } else {
                    TransportKind::Reset
                };
                failure(kind, describe(kind, &e.without_url()))
            }
        }
    }

    async fn through_genesys(&self, action_id: &str, r: &Replay<'_>) -> Sent {
        let Some(client) = &self.genesys else {
            return failure(
                TransportKind::Connect,
                "replay through Genesys needs credentials (GENESYS_CLIENT_ID / GENESYS_CLIENT_SECRET)".into(),
            );
        };
        let input: serde_json::Value = match serde_json::from_slice(r.payload) {
            Ok(v @ serde_json::Value::Object(_)) => v,
            _ => {
                return failure(
                    TransportKind::Invalid,
                    "the payload is not a JSON object, which a data action needs as its input".into(),
                );
            }
        };
        let id = r.entry_id.to_string();
        let headers = [
            ("idempotency-key", id.clone()),
            ("webhook-id", id),
            ("x-redrive-attempt", r.attempt.to_string()),
        ];
        match client.execute_raw(action_id, &input, &headers).await {
            Ok(raw) => {
                let code = raw.status.as_u16();
                let snippet =
                    Some(String::from_utf8_lossy(&raw.body[..raw.body.len().min(SNIPPET_MAX)]).into_owned());
                if raw.status.is_success() {
                    return Sent {
                        result: SendResult::Status { code, retry_after: None, genesys: None },
                        duration: Duration::ZERO,
                        snippet,
                        error: None,
                    };
                }
                let err = crate::genesys::client::api_error(&Method::POST, "execute", &raw);
                let body = err.body().cloned().unwrap_or_default();
                Sent {
                    result: SendResult::Status {
                        code,
                        retry_after: None,
                        genesys: Some(GenesysFailure {
                            detail_codes: body.detail_codes().map(str::to_string).collect(),
                            remote_status: body.remote_status(),
                        }),
                    },
                    duration: Duration::ZERO,
                    snippet,
                    error: Some(body.summary()),
                }
            }
            Err(GenesysError::RateLimited { secs, .. }) => Sent {
                result: SendResult::Status {
                    code: 429,
                    retry_after: Some(Duration::from_secs(secs)),
                    genesys: None,
                },
                duration: Duration::ZERO,
                snippet: None,
                error: Some(format!("Genesys rate limit: retry in {secs} s")),
            },
            Err(e) => failure(TransportKind::Connect, e.to_string()),
        }
    }
}

fn failure(kind: TransportKind, error: String) -> Sent {
    Sent { result: SendResult::Transport(kind), duration: Duration::ZERO, snippet: None, error: Some(error) }
}

fn describe(kind: TransportKind, e: &reqwest::Error) -> String {
    let what = match kind {
        TransportKind::Timeout => "timed out",
        TransportKind::Connect => "could not connect",
        TransportKind::Reset => "connection broke off",
        TransportKind::Invalid => "invalid request",
    };
    let mut s = what.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// A Standard Webhooks signature: `v1,` + base64 HMAC-SHA256 over `{id}.{timestamp}.{body}`.
/// A `whsec_` secret is base64 after its prefix; any other secret is used as its bytes.
pub fn sign(secret: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mac = standard_webhooks_mac(secret, msg_id, &timestamp.to_string(), body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

/// The Standard Webhooks HMAC over `{id}.{timestamp}.{body}`, not yet finalised (the relay
/// verifies with it in constant time).
pub fn standard_webhooks_mac(secret: &[u8], msg_id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let key = match std::str::from_utf8(secret).ok().and_then(|s| s.strip_prefix("whsec_")) {
        Some(b64) => B64.decode(b64).unwrap_or_else(|_| secret.to_vec()),
        None => secret.to_vec(),
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_reference() {
        // The example from the Standard Webhooks specification.
        let sig = sign(
            b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn only_http_urls_are_targets() {
        assert!(DirectTarget::new("https://example.com/x", None).is_ok());
        assert!(DirectTarget::new("file:///etc/passwd", None).is_err());
        assert!(DirectTarget::new("not a url", None).is_err());
        assert_eq!(DirectTarget::new("http://h/", Some("put")).unwrap().method, Method::PUT);
    }
}
