//! `redrive relay`: the endpoint Genesys calls. Each call for a configured webhook is checked
//! (signature or token), then either committed to disk before it is acknowledged (`ack`: into
//! the relay's [`inbox`], from which it moves into the store; the worker delivers it with the
//! retry policy) or forwarded at once (`proxy`: the target's
//! answer goes back, and a failed call is stored first so an operator can replay it).
//!
//! Served by hyper directly (not `axum::serve`) for what a public endpoint needs: a deadline on
//! the request head (slow clients are cut off), caps on header count and size, and a graceful
//! stop that finishes the calls in progress and flushes the intake.

pub mod inbox;
pub mod intake;
pub mod verify;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::{Config, RelayConfig, RelayMode, WebhookConfig};
use crate::retry::policy::{self, TransportKind};
use crate::store::{AttemptClass, NewEntry, Store, StoreOptions};
use crate::time::{Millis, now_ms};
use intake::{CommitStats, Intake, Refused};

/// Headers never kept or forwarded: hop-by-hop ones, and credentials meant for the relay.
const DROPPED: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "host",
    "content-length",
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-hub-signature-256",
    "webhook-signature",
];

/// Counters for `/metrics`.
#[derive(Default)]
pub struct Metrics {
    pub received: AtomicU64,
    pub stored: AtomicU64,
    pub forwarded: AtomicU64,
    pub failed: AtomicU64,
    pub rejected: AtomicU64,
}

struct Shared {
    hooks: BTreeMap<String, WebhookConfig>,
    limits: RelayConfig,
    /// `None`: storage off (the benchmark's reference server).
    intake: Option<Intake>,
    client: reqwest::Client,
    metrics: Metrics,
    commits: Arc<CommitStats>,
    /// A read connection for `/metrics` (counts by state).
    reader: Option<std::sync::Mutex<Store>>,
}

/// A relay ready to serve.
#[derive(Clone)]
pub struct Relay {
    shared: Arc<Shared>,
}

impl Relay {
    /// The webhooks with `relay` set in `config`, the intake feeding the store, and the HTTP
    /// client for proxy mode. `intake` is `None` to answer without storing (a benchmark's
    /// reference only).
    pub fn new(config: &Config, intake: Option<Intake>, commits: Arc<CommitStats>) -> Relay {
        let hooks = config
            .webhooks
            .iter()
            .filter(|(_, w)| w.relay.is_some())
            .map(|(k, w)| (k.clone(), w.clone()))
            .collect();
        let reader =
            Store::open(&config.db, StoreOptions { read_only: true, ..StoreOptions::from(&config.store) })
                .ok()
                .map(std::sync::Mutex::new);
        Relay {
            shared: Arc::new(Shared {
                hooks,
                limits: config.relay.clone(),
                intake,
                client: crate::genesys::client::http_client(config.retry.timeout),
                metrics: Metrics::default(),
                commits,
                reader,
            }),
        }
    }

    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    pub fn webhooks(&self) -> impl Iterator<Item = (&String, &WebhookConfig)> {
        self.shared.hooks.iter()
    }

    fn router(&self) -> Router {
        Router::new()
            .route("/hooks/{webhook}", any(hook))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/metrics", get(metrics))
            .with_state(self.shared.clone())
    }

    /// Serve on `listener` until `stop` turns true; then stop accepting, let the calls in
    /// progress finish (up to `grace`), and return.
    pub async fn serve(self, listener: TcpListener, mut stop: watch::Receiver<bool>, grace: Duration) {
        let router = self.router();
        let limits = self.shared.limits.clone();
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let _ = stream.set_nodelay(true);
                    let svc = TowerToHyperService::new(router.clone());
                    let mut stop = stop.clone();
                    let mut b = hyper::server::conn::http1::Builder::new();
                    b.timer(TokioTimer::new())
                        .header_read_timeout(limits.read_timeout)
                        .max_headers(limits.max_headers)
                        .max_buf_size(limits.header_bytes.max(8192));
                    conns.spawn(async move {
                        let conn = b.serve_connection(TokioIo::new(stream), svc);
                        tokio::pin!(conn);
                        tokio::select! {
                            _ = conn.as_mut() => {}
                            () = stopped(&mut stop) => {
                                conn.as_mut().graceful_shutdown();
                                let _ = conn.await;
                            }
                        }
                    });
                }
                () = stopped(&mut stop) => break,
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
        drop(listener);
        let _ = tokio::time::timeout(grace, async { while conns.join_next().await.is_some() {} }).await;
        conns.abort_all();
    }
}

/// Until `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn plain(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], msg.into() + "\n").into_response()
}

/// A unique id for a received call (the entry's source id).
/// A unique id for a received call: the time first, so ids sort by arrival and each insert
/// lands at the end of the source-id index instead of on a random page of it (a third of the
/// store's time per call at 100,000 entries), then 64 random bits.
fn request_id() -> String {
    format!("relay:{:012x}{:016x}", now_ms(), rand::random::<u64>())
}

/// What was received besides the body, kept beside the entry for inspection (credentials and
/// signatures are not kept).
fn envelope(method: &Method, uri: &Uri, headers: &HeaderMap) -> Vec<u8> {
    let kept: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| !DROPPED.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "received_by": "redrive relay",
        "method": method.as_str(),
        "path": uri.path(),
        "query": uri.query(),
        "headers": kept,
    }))
    .expect("JSON")
}

async fn hook(
    State(s): State<Arc<Shared>>,
    Path(webhook): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let m = &s.metrics;
    m.received.fetch_add(1, Ordering::Relaxed);
    let reject = |status: StatusCode, msg: String| {
        m.rejected.fetch_add(1, Ordering::Relaxed);
        plain(status, msg)
    };
    let Some(w) = s.hooks.get(&webhook) else {
        return reject(StatusCode::NOT_FOUND, "unknown webhook".into());
    };
    let want = w.relay_method.as_deref().unwrap_or("POST");
    if !method.as_str().eq_ignore_ascii_case(want) {
        let mut r = reject(StatusCode::METHOD_NOT_ALLOWED, format!("this webhook takes {want}"));
        if let Ok(v) = HeaderValue::from_str(&want.to_ascii_uppercase()) {
            r.headers_mut().insert(header::ALLOW, v);
        }
        return r;
    }
    let head_bytes: usize = headers.iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
    if headers.len() > s.limits.max_headers || head_bytes > s.limits.header_bytes {
        return reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "too many or too large headers".into());
    }
    let body =
        match tokio::time::timeout(s.limits.read_timeout, axum::body::to_bytes(body, s.limits.body_limit))
            .await
        {
            Err(_) => return reject(StatusCode::REQUEST_TIMEOUT, "the body took too long".into()),
            Ok(Err(_)) => {
                return reject(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the body is larger than {} bytes", s.limits.body_limit),
                );
            }
            Ok(Ok(b)) => b,
        };
    if let Some(v) = &w.verify
        && let Err(why) = verify::verify(v, &headers, &body, now_ms() / 1000, s.limits.tolerance)
    {
        return reject(StatusCode::UNAUTHORIZED, why.to_string());
    }
    let call = Call { webhook: &webhook, method: &method, uri: &uri, headers: &headers, body };
    match w.relay.unwrap_or(RelayMode::Ack) {
        RelayMode::Ack => ack(&s, call).await,
        RelayMode::Proxy => proxy(&s, w, call).await,
    }
}

/// A call as received, for the webhook it names.
struct Call<'a> {
    webhook: &'a str,
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    body: Bytes,
}

impl Call<'_> {
    /// The entry that keeps this call: due at `due` (`None`: held for an operator), with the
    /// failure seen, if any, and the envelope (method, path, query, kept headers) beside it.
    fn entry(
        &self,
        source_id: String,
        failure: Option<(Option<u16>, String)>,
        due: Option<Millis>,
    ) -> NewEntry {
        let (status_code, error) = failure.map_or((None, None), |(s, e)| (s, Some(e)));
        NewEntry {
            source_id,
            webhook_id: self.webhook.to_string(),
            source_kind: "relay".into(),
            payload: self.body.to_vec(),
            content_type: self
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            status_code,
            error,
            failed_at: now_ms(),
            payload_unavailable: None,
            next_attempt_at: due,
            execution_data: Some(envelope(self.method, self.uri, self.headers)),
        }
    }
}

/// Commit to the inbox, then answer 202 with the call's id (its entry's source id in the store).
async fn ack(s: &Shared, call: Call<'_>) -> Response {
    let Some(intake) = &s.intake else {
        return (
            StatusCode::ACCEPTED,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"id\":\"relay:none\"}\n",
        )
            .into_response();
    };
    let id = request_id();
    let answer = format!("{{\"id\":\"{id}\"}}\n");
    let entry = call.entry(id, None, Some(now_ms()));
    store(s, intake, entry, || {
        (StatusCode::ACCEPTED, [(header::CONTENT_TYPE, "application/json")], answer).into_response()
    })
    .await
}

/// Queue `entry`, wait until it is on disk (in the inbox), then answer with `ok()`.
async fn store(s: &Shared, intake: &Intake, entry: NewEntry, ok: impl FnOnce() -> Response) -> Response {
    let busy = |why: &str| {
        let mut r = plain(StatusCode::SERVICE_UNAVAILABLE, format!("the relay is busy {why}; try again"));
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        r
    };
    let rx = match intake.submit(entry) {
        Ok(rx) => rx,
        Err(refused) => {
            s.metrics.rejected.fetch_add(1, Ordering::Relaxed);
            return busy(match refused {
                Refused::Full | Refused::Closed => "writing to disk",
                Refused::Behind => "moving calls into its store",
            });
        }
    };
    match rx.await {
        Ok(Ok(())) => {
            s.metrics.stored.fetch_add(1, Ordering::Relaxed);
            ok()
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "relay: could not store a call");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "could not store the call")
        }
        Err(_) => busy("writing to disk"),
    }
}

/// Forward now; a retryable failure is stored (held for an operator) before it is answered.
async fn proxy(s: &Shared, w: &WebhookConfig, call: Call<'_>) -> Response {
    let Call { method, uri, headers, .. } = call;
    let mut url = w.url.clone().expect("checked by config");
    if let Some(q) = uri.query() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(q);
    }
    let mut req = s.client.request(method.clone(), &url).body(call.body.clone());
    for (k, v) in headers.iter().filter(|(k, _)| !DROPPED.contains(&k.as_str())) {
        req = req.header(k, v);
    }
    for (name, value) in &w.headers {
        req = req.header(name.as_str(), value.expose());
    }
    let started = std::time::Instant::now();
    let (result, answer) = match req.send().await {
        Ok(resp) => {
            let status = resp.status();
            let retry_after = resp
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| crate::time::parse_retry_after(v, now_ms()));
            let ct = resp.headers().get(header::CONTENT_TYPE).cloned();
            let bytes = resp.bytes().await.unwrap_or_default();
            let mut r = (status, bytes).into_response();
            if let Some(ct) = ct {
                r.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            (policy::Result::Status { code: status.as_u16(), retry_after, genesys: None }, r)
        }
        Err(e) => {
            let kind = if e.is_timeout() { TransportKind::Timeout } else { TransportKind::Connect };
            (policy::Result::Transport(kind), plain(StatusCode::BAD_GATEWAY, "the target did not answer"))
        }
    };
    let class = policy::classify(&result);
    if class != AttemptClass::Retryable {
        s.metrics.forwarded.fetch_add(1, Ordering::Relaxed);
        return answer;
    }
    s.metrics.failed.fetch_add(1, Ordering::Relaxed);
    let Some(intake) = &s.intake else { return answer };
    let (status, error) = match &result {
        policy::Result::Status { code, .. } => {
            (Some(*code), format!("target answered {code} through the relay"))
        }
        policy::Result::Transport(k) => {
            (None, format!("target did not answer ({k:?}) after {} ms", started.elapsed().as_millis()))
        }
    };
    let entry = call.entry(request_id(), Some((status, error)), None);
    store(s, intake, entry, move || answer).await
}

async fn metrics(State(s): State<Arc<Shared>>) -> Response {
    let m = &s.metrics;
    let c = &s.commits;
    let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        let _ = writeln!(
            out,
            "# HELP redrive_relay_{name} {help}\n# TYPE redrive_relay_{name} {kind}\nredrive_relay_{name} {value}"
        );
    };
    metric("received_total", "counter", "Calls received on /hooks/.", g(&m.received).to_string());
    metric(
        "stored_total",
        "counter",
        "Calls committed to disk (the inbox) and answered.",
        g(&m.stored).to_string(),
    );
    metric("forwarded_total", "counter", "Proxy calls the target answered.", g(&m.forwarded).to_string());
    metric(
        "failed_total",
        "counter",
        "Proxy calls the target failed (stored for replay).",
        g(&m.failed).to_string(),
    );
    metric(
        "rejected_total",
        "counter",
        "Calls refused (unknown, unverified, too large, busy).",
        g(&m.rejected).to_string(),
    );
    metric(
        "intake_queue_depth",
        "gauge",
        "Calls waiting for the disk.",
        s.intake.as_ref().map(|i| i.depth()).unwrap_or(0).to_string(),
    );
    metric("commits_total", "counter", "Group commits to the inbox.", g(&c.commits).to_string());
    metric("moved_total", "counter", "Calls moved from the inbox into the store.", g(&c.moved).to_string());
    metric(
        "inbox_backlog",
        "gauge",
        "Calls on disk in the inbox, not yet moved into the store (as of the last move).",
        g(&c.backlog).to_string(),
    );
    metric(
        "commit_seconds_sum",
        "counter",
        "Time spent in commits.",
        format!("{:.6}", g(&c.micros_sum) as f64 / 1e6),
    );
    metric("commit_seconds_max", "gauge", "Longest commit.", format!("{:.6}", g(&c.micros_max) as f64 / 1e6));
    // Entries by state (`dead` among them; `pending` is the delivery queue's depth).
    if let Some(reader) = &s.reader
        && let Ok(counts) = reader.lock().expect("reader lock").counts_by_state()
    {
        out.push_str("# HELP redrive_entries Entries in the store by state.\n# TYPE redrive_entries gauge\n");
        for (st, n) in counts {
            let _ = writeln!(out, "redrive_entries{{state=\"{st}\"}} {n}");
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
