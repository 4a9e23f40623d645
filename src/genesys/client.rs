//! The Genesys Cloud HTTP client: OAuth client credentials with a cached token, one shared
//! rate limiter, 401/429/5xx handling, and the typed calls redrive makes (genesys-api.md §8).
//!
//! The bearer token goes only to the API and login hosts. Execution-data `downloadUri`s are
//! pre-signed and may live elsewhere: they are fetched without it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;

use super::error::{GenesysError, snippet};
use super::model::*;
use super::ratelimit::RateLimiter;
use crate::config::{GenesysConfig, Secret};
use crate::time::{Millis, format_ms, now_ms, parse_retry_after};

/// API calls a batch of independent calls (job starts, job status) makes at once.
const CONCURRENT_CALLS: usize = 4;

/// The most instances one query returns (genesys-api.md §4.1).
pub const QUERY_CAP: usize = 200;
/// How long a 429 may ask us to wait before the call fails instead (as the Go SDK does).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(180);
/// Retry-After assumed when a 429 has none.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(3);

#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub api_base: String,
    pub login_base: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub rate_limit_per_minute: u32,
    /// Retries of a call that met a 5xx (not 501) or a connection error.
    pub max_retries: u32,
    /// First backoff of those retries (full jitter, doubling).
    pub retry_base: Duration,
    pub timeout: Duration,
    /// Largest execution-data file accepted.
    pub max_download: usize,
}

impl ClientOptions {
    pub fn from_config(c: &GenesysConfig) -> Result<ClientOptions, GenesysError> {
        let (Some(id), Some(secret)) = (c.client_id.clone(), c.client_secret.clone()) else {
            return Err(GenesysError::NoCredentials);
        };
        if id.is_empty() || secret.is_empty() {
            return Err(GenesysError::NoCredentials);
        }
        Ok(ClientOptions {
            api_base: c.api_base(),
            login_base: c.login_base(),
            client_id: id,
            client_secret: secret,
            rate_limit_per_minute: c.rate_limit_per_minute,
            max_retries: 4,
            retry_base: Duration::from_millis(250),
            timeout: Duration::from_secs(30),
            max_download: 32 * 1024 * 1024,
        })
    }
}

/// Counters for summaries and the status bar.
#[derive(Debug, Default)]
pub struct ClientStats {
    pub api_calls: AtomicU64,
    pub rate_limited: AtomicU64,
    pub retries: AtomicU64,
    pub token_fetches: AtomicU64,
    pub downloads: AtomicU64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    pub api_calls: u64,
    pub rate_limited: u64,
    pub retries: u64,
    pub token_fetches: u64,
    pub downloads: u64,
}

struct Token {
    value: Secret,
    refresh_at: Instant,
}

/// An answer from the API after retries: any status.
pub struct Raw {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub correlation_id: Option<String>,
}

pub struct Client {
    http: reqwest::Client,
    opts: ClientOptions,
    api: Url,
    token: tokio::sync::Mutex<Option<Token>>,
    limiter: Arc<RateLimiter>,
    stats: ClientStats,
}

fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// An HTTP client with redrive's settings: rustls, no redirects followed, a timeout.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    install_crypto();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("redrive/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("TLS backend initialises")
}

impl Client {
    pub fn new(opts: ClientOptions) -> Result<Client, GenesysError> {
        let api = Url::parse(&opts.api_base)
            .map_err(|e| GenesysError::Refused(format!("API base {:?} is not a URL: {e}", opts.api_base)))?;
        Url::parse(&opts.login_base).map_err(|e| {
            GenesysError::Refused(format!("login base {:?} is not a URL: {e}", opts.login_base))
        })?;
        Ok(Client {
            http: http_client(opts.timeout),
            limiter: Arc::new(RateLimiter::per_minute(opts.rate_limit_per_minute)),
            api,
            opts,
            token: tokio::sync::Mutex::new(None),
            stats: ClientStats::default(),
        })
    }

    /// API calls still allowed in the current rolling minute, and the per-minute limit.
    pub fn budget(&self) -> (usize, usize) {
        (self.limiter.remaining(), self.limiter.limit())
    }

    pub fn client_id(&self) -> &str {
        &self.opts.client_id
    }

    pub fn stats(&self) -> StatsSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            api_calls: g(&self.stats.api_calls),
            rate_limited: g(&self.stats.rate_limited),
            retries: g(&self.stats.retries),
            token_fetches: g(&self.stats.token_fetches),
            downloads: g(&self.stats.downloads),
        }
    }

    // ---- auth ------------------------------------------------------------------------------

    /// The cached token, or a new one. `stale` is a token the API just refused: it is replaced
    /// unless another caller already did.
    async fn token(&self, stale: Option<&Secret>) -> Result<Secret, GenesysError> {
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref()
            && Instant::now() < t.refresh_at
            && stale != Some(&t.value)
        {
            return Ok(t.value.clone());
        }
        let fresh = self.fetch_token().await?;
        let value = fresh.value.clone();
        *slot = Some(fresh);
        Ok(value)
    }

    async fn fetch_token(&self) -> Result<Token, GenesysError> {
        self.stats.token_fetches.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}/oauth/token", self.opts.login_base.trim_end_matches('/'));
        let transport = |e: reqwest::Error| GenesysError::Transport {
            method: "POST".into(),
            path: url.clone(),
            detail: describe_transport(&e),
        };
        let resp = self
            .http
            .post(&url)
            .basic_auth(&self.opts.client_id, Some(self.opts.client_secret.expose()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(transport)?;
        if status != StatusCode::OK {
            let err: AuthErrorResponse = serde_json::from_slice(&body).unwrap_or_default();
            return Err(GenesysError::Auth {
                client_id: self.opts.client_id.clone(),
                status: status.as_u16(),
                error: err.error.unwrap_or_else(|| snippet(&body, 80)),
                description: err.error_description.or(err.description),
            });
        }
        let auth: AuthResponse = serde_json::from_slice(&body).map_err(|e| GenesysError::Malformed {
            method: "POST".into(),
            path: url.clone(),
            detail: e.to_string(),
            snippet: "(token response withheld)".into(),
        })?;
        if auth.access_token.is_empty() {
            return Err(GenesysError::Malformed {
                method: "POST".into(),
                path: url,
                detail: "no access_token".into(),
                snippet: String::new(),
            });
        }
        let life = Duration::from_secs(auth.expires_in.unwrap_or(3600));
        let margin = (life / 10).min(Duration::from_secs(60));
        Ok(Token { value: Secret::new(auth.access_token), refresh_at: Instant::now() + life - margin })
    }

    // ---- the core call ---------------------------------------------------------------------

    /// Resolve a path (`/api/v2/…`) or a `nextUri` against the API base. An absolute URL on
    /// another origin is refused: the token must never go there.
    fn url(&self, path_or_uri: &str) -> Result<Url, GenesysError> {
        let url = self
            .api
            .join(path_or_uri)
            .map_err(|e| GenesysError::Refused(format!("cannot build a URL from {path_or_uri:?}: {e}")))?;
        if url.origin() != self.api.origin() {
            return Err(GenesysError::Refused(format!(
                "refusing to send the Genesys token to {} (not the API host {})",
                url.origin().ascii_serialization(),
                self.api.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }

    /// One API call with the platform's rules: the shared limiter, a token (renewed once on
    /// 401), `Retry-After` on 429 (failing above 180 s), and bounded jittered retries on 5xx
    /// other than 501 and on connection errors. Returns the final answer whatever its status.
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Raw, GenesysError> {
        self.send_with(method, path, body, &[], true).await
    }

    async fn send_with(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, String)],
        retry_failures: bool,
    ) -> Result<Raw, GenesysError> {
        let url = self.url(path)?;
        let max_retries = if retry_failures { self.opts.max_retries } else { 0 };
        let shown = url.path().to_string();
        let mut stale: Option<Secret> = None;
        let mut refreshed = false;
        let mut retries = 0u32;
        let mut waits_429 = 0u32;
        loop {
            self.limiter.acquire().await;
            let token = self.token(stale.as_ref()).await?;
            self.stats.api_calls.fetch_add(1, Ordering::Relaxed);
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.expose())
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(b) = body {
                req = req.json(b);
            }
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            // The answer in full, or the transport error that cut it short (connecting,
            // sending, or reading the body): those are retried alike.
            let answer = async {
                let resp = req.send().await?;
                let status = resp.status();
                let header = |name| {
                    resp.headers().get(name).and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                };
                let correlation_id = header("inin-correlation-id").map(str::to_string);
                let retry_after = header(reqwest::header::RETRY_AFTER.as_str())
                    .and_then(|v| parse_retry_after(v, now_ms()));
                let bytes = resp.bytes().await?;
                Ok::<_, reqwest::Error>((status, correlation_id, retry_after, bytes))
            };
            let (status, correlation_id, retry_after, bytes) = match answer.await {
                Ok(a) => a,
                Err(e)
                    if retries < max_retries
                        && (e.is_connect() || e.is_timeout() || e.is_request() || e.is_body()) =>
                {
                    retries += 1;
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(error = %e, path = %shown, "transport error; retrying");
                    tokio::time::sleep(self.backoff(retries)).await;
                    continue;
                }
                Err(e) => {
                    return Err(GenesysError::Transport {
                        method: method.to_string(),
                        path: shown,
                        detail: describe_transport(&e),
                    });
                }
            };
            match status.as_u16() {
                401 if !refreshed => {
                    refreshed = true;
                    stale = Some(token);
                    tracing::info!(path = %shown, "401: fetching a new token and repeating the call once");
                    continue;
                }
                429 => {
                    self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                    let wait = retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
                    if wait > MAX_RETRY_AFTER || waits_429 >= 10 {
                        return Err(GenesysError::RateLimited {
                            method: method.to_string(),
                            path: shown,
                            secs: wait.as_secs(),
                            correlation_id,
                        });
                    }
                    waits_429 += 1;
                    tracing::warn!(path = %shown, wait_s = wait.as_secs_f32(), correlation_id, "429 rate limited");
                    self.limiter.pause_until(Instant::now() + wait);
                    continue;
                }
                500..=599 if status.as_u16() != 501 && retries < max_retries => {
                    retries += 1;
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(path = %shown, status = status.as_u16(), correlation_id, "server error; retrying");
                    tokio::time::sleep(self.backoff(retries)).await;
                    continue;
                }
                _ => return Ok(Raw { status, body: bytes.to_vec(), correlation_id }),
            }
        }
    }

    fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.opts.retry_base.saturating_mul(1 << retry.min(10)).min(Duration::from_secs(10));
        ceiling.mul_f64(rand::random::<f64>())
    }

    /// A call whose 2xx answer is `T`; any other answer is an [`GenesysError::Api`].
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, GenesysError> {
        let raw = self.send(method.clone(), path, body).await?;
        let shown = self.url(path).map(|u| u.path().to_string()).unwrap_or_else(|_| path.to_string());
        if !raw.status.is_success() {
            return Err(api_error(&method, &shown, &raw));
        }
        serde_json::from_slice(&raw.body).map_err(|e| GenesysError::Malformed {
            method: method.to_string(),
            path: shown,
            detail: e.to_string(),
            snippet: snippet(&raw.body, 120),
        })
    }

    /// Obtain a token (the doctor's "can we log in" check).
    pub async fn login(&self) -> Result<(), GenesysError> {
        self.token(None).await.map(|_| ())
    }

    // ---- typed calls (genesys-api.md §8) -----------------------------------------------------

    /// Every data action with its configuration (page-number paging to `pageCount`).
    pub async fn list_actions(&self) -> Result<Vec<Action>, GenesysError> {
        let mut out = Vec::new();
        let mut page = 1u32;
        loop {
            let path =
                format!("/api/v2/integrations/actions?includeConfig=true&pageSize=100&pageNumber={page}");
            let listing: PagedListing<Action> = self.call(Method::GET, &path, None).await?;
            let n = listing.entities.len();
            out.extend(listing.entities);
            let last = match listing.page_count {
                Some(count) => page >= count,
                None => n == 0 || listing.next_uri.is_none(),
            };
            if last || n == 0 {
                return Ok(out);
            }
            page += 1;
        }
    }

    /// Every trigger (cursor paging: follow `nextUri` until it is absent).
    pub async fn list_triggers(&self) -> Result<Vec<Trigger>, GenesysError> {
        let mut out = Vec::new();
        let mut next = Some("/api/v2/processautomation/triggers?pageSize=200".to_string());
        let mut pages = 0;
        while let Some(path) = next.take() {
            let listing: CursorListing<Trigger> = self.call(Method::GET, &path, None).await?;
            out.extend(listing.entities);
            pages += 1;
            if pages > 10_000 {
                return Err(GenesysError::Refused("trigger listing did not end after 10,000 pages".into()));
            }
            next = listing.next_uri.filter(|u| !u.is_empty());
        }
        Ok(out)
    }

    /// One flow-instance query (at most 200 results, not necessarily the newest).
    pub async fn query_instances(
        &self,
        q: &CriteriaQuery,
    ) -> Result<PagedListing<FlowInstance>, GenesysError> {
        let body = serde_json::to_value(q).expect("query serialises");
        self.call(Method::POST, &format!("/api/v2/flows/instances/query?pageSize={QUERY_CAP}"), Some(&body))
            .await
    }

    /// Every failed workflow instance that started in `[start, end)`. A window whose `total`
    /// is more than came back is split in two, recursively, so that none is missed.
    pub async fn failed_instances(
        &self,
        start: Millis,
        end: Millis,
        mut progress: impl FnMut(&FailureScan),
    ) -> Result<FailureScan, GenesysError> {
        let mut scan = FailureScan::default();
        let mut seen = std::collections::HashSet::new();
        let mut windows = vec![(start, end)];
        while let Some((s, e)) = windows.pop() {
            let listing = self.query_instances(&failure_query(s, e)).await?;
            scan.queries += 1;
            let got = listing.entities.len();
            let total = listing.total.map(|t| t as usize).unwrap_or(got);
            let complete = total <= got && got < QUERY_CAP;
            if !complete && e - s > 1 {
                let mid = s + (e - s) / 2;
                scan.splits += 1;
                windows.push((mid, e));
                windows.push((s, mid));
            } else {
                if !complete && total > got {
                    scan.incomplete_windows.push((s, e, total as u64, got as u64));
                }
                for inst in listing.entities {
                    if seen.insert(inst.id.clone()) {
                        scan.instances.push(inst);
                    }
                }
            }
            progress(&scan);
        }
        Ok(scan)
    }

    /// Start execution-data jobs for these instances, `per_job` a job, a few at once.
    pub async fn start_execution_jobs(
        &self,
        ids: &[String],
        per_job: usize,
    ) -> Result<Vec<String>, GenesysError> {
        let chunks: Vec<&[String]> = ids.chunks(per_job.max(1)).collect();
        let mut out = Vec::with_capacity(chunks.len());
        for group in chunks.chunks(CONCURRENT_CALLS) {
            for job in futures_util::future::join_all(group.iter().map(|c| self.start_execution_job(c))).await
            {
                out.push(job?.id);
            }
        }
        Ok(out)
    }

    /// Start an execution-data job for these instances (`expand=dataActions`).
    pub async fn start_execution_job(&self, ids: &[String]) -> Result<ExecutionDataJob, GenesysError> {
        let body = serde_json::to_value(ExecutionDataRequest { ids: ids.to_vec() }).expect("serialises");
        self.call(Method::POST, "/api/v2/flows/instances/jobs?expand=dataActions", Some(&body)).await
    }

    pub async fn get_execution_job(&self, job_id: &str) -> Result<ExecutionDataJob, GenesysError> {
        self.call(Method::GET, &format!("/api/v2/flows/instances/jobs/{}", encode_segment(job_id)), None)
            .await
    }

    /// Poll jobs until each is `Success` or `Failed`: every unfinished job once a round, the
    /// rounds backing off from 250 ms to 2 s, for at most `max_wait` in all. Waiting for them
    /// together (not one after another) keeps a large backlog from waiting once per job.
    pub async fn wait_execution_jobs(
        &self,
        job_ids: &[String],
        max_wait: Duration,
    ) -> Result<Vec<ExecutionDataJob>, GenesysError> {
        let deadline = Instant::now() + max_wait;
        let mut delay = Duration::from_millis(250);
        let mut pending: Vec<&String> = job_ids.iter().collect();
        let mut done = Vec::with_capacity(job_ids.len());
        loop {
            // A few status calls at once: they all pass the shared limiter, which keeps the
            // pace; one at a time would leave the budget idle during each round trip.
            let mut answers = Vec::with_capacity(pending.len());
            for group in pending.chunks(CONCURRENT_CALLS) {
                let got =
                    futures_util::future::join_all(group.iter().map(|id| self.get_execution_job(id))).await;
                answers.extend(group.iter().copied().zip(got));
            }
            let mut still = Vec::new();
            for (id, job) in answers {
                let job = job?;
                if matches!(job.job_state.as_str(), "Success" | "Failed") {
                    done.push(job);
                } else {
                    still.push(id);
                }
            }
            if still.is_empty() {
                return Ok(done);
            }
            if Instant::now() + delay > deadline {
                return Err(GenesysError::Refused(format!(
                    "{} execution-data jobs were still running after {} s (first: {})",
                    still.len(),
                    max_wait.as_secs(),
                    still[0]
                )));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
            pending = still;
        }
    }

    /// Fetch a pre-signed execution-data file. No Authorization header (the URI may be on
    /// another host), not counted against the API limit, size-capped, and the URI (whose
    /// query is a signature) never appears in an error.
    pub async fn download(&self, uri: &str) -> Result<Vec<u8>, GenesysError> {
        let url =
            Url::parse(uri).map_err(|e| GenesysError::Refused(format!("downloadUri is not a URL: {e}")))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(GenesysError::Refused(format!("downloadUri has scheme {:?}", url.scheme())));
        }
        let shown = format!("{}{}", url.origin().ascii_serialization(), url.path());
        let transport = |e: reqwest::Error| GenesysError::Transport {
            method: "GET".into(),
            path: shown.clone(),
            detail: describe_transport(&e.without_url()),
        };
        self.stats.downloads.fetch_add(1, Ordering::Relaxed);
        let mut resp = self.http.get(url.clone()).send().await.map_err(transport)?;
        if !resp.status().is_success() {
            return Err(GenesysError::Transport {
                method: "GET".into(),
                path: shown.clone(),
                detail: format!("download answered {}", resp.status()),
            });
        }
        let mut out = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if out.len() + chunk.len() > self.opts.max_download {
                return Err(GenesysError::Refused(format!(
                    "execution-data file at {shown} is larger than {} bytes",
                    self.opts.max_download
                )));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// Execute a data action with `input` and extra headers, returning the answer whatever its
    /// status (the retry policy reads failures).
    pub async fn execute_raw(
        &self,
        action_id: &str,
        input: &Value,
        headers: &[(&str, String)],
    ) -> Result<Raw, GenesysError> {
        let path = format!("/api/v2/integrations/actions/{}/execute", encode_segment(action_id));
        // No retries here on 5xx or a broken connection: the retry engine decides, with its
        // backoff and circuit breaker, and counts the attempt.
        self.send_with(Method::POST, &path, Some(input), headers, false).await
    }

    /// Execute a data action with `input` (§1.3): the remote's answer on success.
    pub async fn execute_action(&self, action_id: &str, input: &Value) -> Result<Value, GenesysError> {
        let path = format!("/api/v2/integrations/actions/{}/execute", encode_segment(action_id));
        self.call(Method::POST, &path, Some(input)).await
    }
}

/// What a failure scan found and how much work it took.
#[derive(Clone, Debug, Default)]
pub struct FailureScan {
    pub instances: Vec<FlowInstance>,
    pub queries: u32,
    pub splits: u32,
    /// Windows that still held more than one query returns after splitting down to a
    /// millisecond: `(start, end, total, returned)`.
    pub incomplete_windows: Vec<(Millis, Millis, u64, u64)>,
}

/// The query for failed workflow runs that started in `[start, end)` (§8 "Find failures").
pub fn failure_query(start: Millis, end: Millis) -> CriteriaQuery {
    CriteriaQuery {
        query: vec![
            CriteriaGroup::single("FlowType", "eq", Some("workflow")),
            CriteriaGroup::single("FlowErrorReason", "not_null", None),
            CriteriaGroup::single("FlowStartDateTime", "gte", Some(&format_ms(start))),
            CriteriaGroup::single("FlowStartDateTime", "lt", Some(&format_ms(end))),
        ],
    }
}

/// An ErrorBody error from a non-2xx answer.
pub fn api_error(method: &Method, path: &str, raw: &Raw) -> GenesysError {
    let mut body: ErrorBody = serde_json::from_slice(&raw.body)
        .unwrap_or_else(|_| ErrorBody { message: Some(snippet(&raw.body, 200)), ..Default::default() });
    if body.context_id.is_none() {
        body.context_id = raw.correlation_id.clone();
    }
    GenesysError::Api {
        method: method.to_string(),
        path: path.to_string(),
        status: raw.status.as_u16(),
        body: Box::new(body),
        correlation_id: raw.correlation_id.clone(),
    }
}

/// A path segment with anything but unreserved characters percent-encoded.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A transport error in words, with its cause (reqwest's own Display is terse).
fn describe_transport(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    let mut detail = kind.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        src = s.source();
    }
    detail
}
