//! The simulated platform API: one handler that checks what every call must pass (token,
//! permission, rate limit, injected faults), then routes by path.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::any;
use base64::Engine;
use rand::Rng;
use serde_json::{Value, json};

use super::{Job, Seen, Shared};
use crate::genesys::model::*;
use crate::time::parse_rfc3339;

pub(super) fn router(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new()
        .route("/oauth/token", any(handle))
        .route("/api/v2/{*rest}", any(handle))
        .route("/__sim/downloads/{id}", any(download))
        .route("/__sim/requests", any(requests))
        .with_state(shared)
}

struct Call {
    method: String,
    host: String,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Call {
    fn query_param(&self, name: &str) -> Option<String> {
        url_params(&self.query).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

fn url_params(q: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{q}"))
        .map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
        .unwrap_or_default()
}

/// What a route answers.
struct Answer {
    status: StatusCode,
    body: Vec<u8>,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
}

fn json_answer(status: StatusCode, v: &impl serde::Serialize) -> Answer {
    Answer {
        status,
        body: serde_json::to_vec(v).expect("serialises"),
        content_type: "application/json",
        headers: Vec::new(),
    }
}

fn error_answer(status: StatusCode, code: &str, message: &str) -> Answer {
    json_answer(
        status,
        &json!({"message": message, "code": code, "status": status.as_u16(), "details": [], "errors": []}),
    )
}

/// The request body as `T`, or the 400 answer saying why it is not one.
fn parse_body<T: serde::de::DeserializeOwned>(call: &Call) -> Result<T, Answer> {
    serde_json::from_slice(&call.body)
        .map_err(|e| error_answer(StatusCode::BAD_REQUEST, "bad.request", &format!("invalid body: {e}")))
}

async fn handle(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
    let call = Call {
        method: parts.method.to_string(),
        host: parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("").to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers,
        body,
    };
    let latency = s.state.lock().expect("sim lock").faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let answer = if call.path == "/oauth/token" { token(&s, &call) } else { api(&s, &call).await };
    finish(&s, &call, answer)
}

fn finish(s: &Shared, call: &Call, a: Answer) -> Response {
    let correlation = {
        let mut st = s.state.lock().expect("sim lock");
        st.correlation += 1;
        let auth = call
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split_whitespace().next().unwrap_or("").to_string());
        st.seen.push(Seen {
            method: call.method.clone(),
            host: call.host.clone(),
            path: call.path.clone(),
            query: call.query.clone(),
            body: serde_json::from_slice(&call.body).ok(),
            auth,
            status: a.status.as_u16(),
        });
        format!("sim-{:08}", st.correlation)
    };
    let mut b = Response::builder()
        .status(a.status)
        .header(header::CONTENT_TYPE, a.content_type)
        .header("inin-correlation-id", correlation);
    for (k, v) in a.headers {
        b = b.header(k, v);
    }
    b.body(Body::from(a.body)).expect("valid response")
}

// ---- OAuth ------------------------------------------------------------------------------------

fn token(s: &Shared, call: &Call) -> Answer {
    let bad = |desc: &str| {
        json_answer(
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_client", "description": desc, "error_description": desc}),
        )
    };
    if call.method != "POST" {
        return bad("use POST");
    }
    let form = url_params(std::str::from_utf8(&call.body).unwrap_or(""));
    if !form.iter().any(|(k, v)| k == "grant_type" && v == "client_credentials") {
        return json_answer(
            StatusCode::BAD_REQUEST,
            &json!({"error": "unsupported_grant_type", "error_description": "grant_type must be client_credentials"}),
        );
    }
    let creds = call
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let expected = format!("{}:{}", s.cfg.client_id, s.cfg.client_secret);
    if creds.as_deref() != Some(expected.as_str()) {
        return bad("client authentication failed");
    }
    let mut st = s.state.lock().expect("sim lock");
    st.token_counter += 1;
    let salt: u32 = st.rng.random();
    let tok = format!("sim-token-{}-{salt}", st.token_counter);
    st.tokens.insert(tok.clone(), Instant::now() + s.cfg.token_lifetime);
    json_answer(
        StatusCode::OK,
        &json!({"access_token": tok, "token_type": "bearer", "expires_in": s.cfg.token_lifetime.as_secs()}),
    )
}

// ---- the API ----------------------------------------------------------------------------------

/// The permission each route needs (genesys-api.md), for `deny`.
fn permission(method: &str, path: &str) -> &'static str {
    match (method, path) {
        (_, p) if p.ends_with("/execute") || p.ends_with("/test") => "integrations:action:execute",
        (_, p) if p.starts_with("/api/v2/integrations/actions") => "integrations:action:view",
        (_, p) if p.starts_with("/api/v2/processautomation/triggers") => "processautomation:trigger:view",
        ("POST", "/api/v2/flows/instances/query") => "architect:flowInstance:search",
        (_, "/api/v2/flows/instances/querycapabilities") => "architect:flowInstance:search",
        (_, "/api/v2/flows/instances/settings/executiondata") => "architect:flowinstanceexecutiondata:view",
        _ => "architect:flowInstance:view",
    }
}

async fn api(s: &Shared, call: &Call) -> Answer {
    // Every call: a valid token, then the permission, then the rate limit, then faults.
    let bearer = call
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    {
        let mut st = s.state.lock().expect("sim lock");
        let now = Instant::now();
        let valid = bearer.as_ref().and_then(|t| st.tokens.get(t)).is_some_and(|exp| *exp > now);
        if !valid {
            return error_answer(
                StatusCode::UNAUTHORIZED,
                "authentication.required",
                "Authentication failed: the token is missing, invalid or expired",
            );
        }
        let perm = permission(&call.method, &call.path);
        if s.cfg.deny.iter().any(|d| d == perm) {
            return error_answer(
                StatusCode::FORBIDDEN,
                "missing.any.permissions",
                &format!(
                    "Unable to perform the requested action. You are missing the following permission(s): [{perm}]"
                ),
            );
        }
        if let Some(limit) = st.faults.rate_limit_per_minute {
            while st.calls.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60)) {
                st.calls.pop_front();
            }
            if st.calls.len() >= limit as usize {
                let wait = Duration::from_secs(60) - now.duration_since(*st.calls.front().expect("full"));
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let mut a = json_answer(
                    StatusCode::TOO_MANY_REQUESTS,
                    &json!({"message": format!("Rate limit exceeded the maximum. Retry the request in [{secs}] seconds"),
                        "code": "too.many.requests.retry.after", "status": 429, "details": [], "errors": []}),
                );
                a.headers.push(("retry-after", secs.to_string()));
                return a;
            }
            st.calls.push_back(now);
        }
        let (err, bad) = (st.faults.error_rate, st.faults.malformed_rate);
        let roll: f64 = st.rng.random();
        if roll < err {
            return error_answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "service.unavailable",
                "The service is currently unavailable",
            );
        }
        if roll < err + bad {
            return Answer {
                status: StatusCode::OK,
                body: b"<html><body>upstream proxy error</body></html>".to_vec(),
                content_type: "text/html",
                headers: Vec::new(),
            };
        }
    }
    let segs: Vec<&str> = call.path.trim_start_matches("/api/v2/").split('/').collect();
    match (call.method.as_str(), segs.as_slice()) {
        ("GET", ["integrations", "actions"]) => list_actions(s, call),
        ("GET", ["integrations", "actions", id]) => get_action(s, call, id),
        ("POST", ["integrations", "actions", id, "execute"]) => execute(s, call, id).await,
        ("GET", ["processautomation", "triggers"]) => list_triggers(s, call),
        ("POST", ["flows", "instances", "query"]) => query(s, call),
        ("GET", ["flows", "instances", "querycapabilities"]) => json_answer(
            StatusCode::OK,
            &json!({"criteria": [], "flowTypes": ["workflow"], "errorCodes": ["ACTION.REMOTE_ENDPOINT"], "warningCodes": []}),
        ),
        ("GET", ["flows", "instances", "settings", "executiondata"]) => {
            json_answer(StatusCode::OK, &json!({"enabled": s.cfg.execution_data, "retentionDays": 10}))
        }
        ("POST", ["flows", "instances", "jobs"]) => start_job(s, call),
        ("GET", ["flows", "instances", "jobs", id]) => get_job(s, id),
        _ => error_answer(
            StatusCode::NOT_FOUND,
            "not.found",
            &format!("no such resource: {} {}", call.method, call.path),
        ),
    }
}

fn list_actions(s: &Shared, call: &Call) -> Answer {
    let size: usize = call.query_param("pageSize").and_then(|v| v.parse().ok()).unwrap_or(25).clamp(1, 500);
    let number: usize = call.query_param("pageNumber").and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    let with_config = call.query_param("includeConfig").as_deref() == Some("true");
    let st = s.state.lock().expect("sim lock");
    let all: Vec<Action> = st
        .org
        .webhooks
        .iter()
        .map(|w| {
            let mut a = w.action.clone();
            if !with_config {
                a.config = None;
            }
            a
        })
        .collect();
    let total = all.len();
    let page_count = total.div_ceil(size).max(1);
    let entities: Vec<Action> = all.into_iter().skip((number - 1) * size).take(size).collect();
    let next = (number < page_count).then(|| {
        format!(
            "/api/v2/integrations/actions?pageSize={size}&pageNumber={}&includeConfig={with_config}",
            number + 1
        )
    });
    json_answer(
        StatusCode::OK,
        &PagedListing {
            entities,
            page_size: Some(size as u32),
            page_number: Some(number as u32),
            total: Some(total as u64),
            page_count: Some(page_count as u32),
            next_uri: next,
            self_uri: None,
        },
    )
}

fn get_action(s: &Shared, call: &Call, id: &str) -> Answer {
    let st = s.state.lock().expect("sim lock");
    match st.org.webhooks.iter().find(|w| w.action.id == id) {
        Some(w) => {
            let mut a = w.action.clone();
            if call.query_param("includeConfig").as_deref() != Some("true") {
                a.config = None;
            }
            json_answer(StatusCode::OK, &a)
        }
        None => error_answer(StatusCode::NOT_FOUND, "not.found", &format!("action {id} not found")),
    }
}

fn list_triggers(s: &Shared, call: &Call) -> Answer {
    let size: usize = call.query_param("pageSize").and_then(|v| v.parse().ok()).unwrap_or(25).clamp(1, 200);
    let after: usize =
        call.query_param("after").and_then(|v| v.strip_prefix("cur-")?.parse().ok()).unwrap_or(0);
    let st = s.state.lock().expect("sim lock");
    let all: Vec<Trigger> = st.org.webhooks.iter().map(|w| w.trigger.clone()).collect();
    let entities: Vec<Trigger> = all.iter().skip(after).take(size).cloned().collect();
    let end = after + entities.len();
    let next = (end < all.len())
        .then(|| format!("/api/v2/processautomation/triggers?pageSize={size}&after=cur-{end}"));
    json_answer(
        StatusCode::OK,
        &CursorListing { entities, next_uri: next, previous_uri: None, self_uri: None },
    )
}

/// A criteria item with its value parsed once per query (times especially).
struct Item<'a> {
    key: &'a str,
    op: &'a str,
    value: Option<&'a str>,
    time: Option<i64>,
}

fn compile(item: &CriteriaItem) -> Result<Item<'_>, String> {
    let time = match item.key.as_str() {
        "FlowStartDateTime" => {
            if !matches!(item.operator.as_str(), "gte" | "gt" | "lt" | "lte" | "eq") {
                return Err(format!("operator {} is not supported for FlowStartDateTime", item.operator));
            }
            Some(parse_rfc3339(item.value.as_deref().unwrap_or(""))?)
        }
        "FlowType" | "FlowErrorReason" | "FlowId" | "ConversationId" => None,
        k => return Err(format!("criteria key {k} is not supported by the simulator")),
    };
    if time.is_none() && !matches!(item.operator.as_str(), "eq" | "not" | "not_null" | "begins") {
        return Err(format!("operator {} is not valid here", item.operator));
    }
    Ok(Item { key: &item.key, op: &item.operator, value: item.value.as_deref(), time })
}

/// Does one criteria item hold for an instance?
fn holds(item: &Item<'_>, inst: &super::org::SimInstance) -> bool {
    if let Some(want) = item.time {
        return match item.op {
            "gte" => inst.start >= want,
            "gt" => inst.start > want,
            "lt" => inst.start < want,
            "lte" => inst.start <= want,
            _ => inst.start == want,
        };
    }
    let i = &inst.instance;
    let field = match item.key {
        "FlowType" => i.flow_type.as_deref(),
        "FlowErrorReason" => i.flow_error_reason.as_deref(),
        "FlowId" => i.flow_id.as_deref(),
        _ => i.conversation_id.as_deref(),
    };
    match item.op {
        "eq" => field == item.value,
        "not" => field != item.value,
        "not_null" => field.is_some(),
        _ => field.is_some_and(|f| f.starts_with(item.value.unwrap_or(""))),
    }
}

/// A criteria group, compiled: all of `and` (and `criteria`), any of `or`, none of `not`.
struct Group<'a> {
    all: Vec<Item<'a>>,
    any: Vec<Item<'a>>,
    none: Vec<Item<'a>>,
}

fn compile_group(g: &CriteriaGroup) -> Result<Group<'_>, String> {
    let mut all: Vec<Item<'_>> = g.criteria.iter().map(compile).collect::<Result<_, _>>()?;
    all.extend(g.and.iter().flatten().map(compile).collect::<Result<Vec<_>, _>>()?);
    let any = g.or.iter().flatten().map(compile).collect::<Result<_, _>>()?;
    let none = g.not.iter().flatten().map(compile).collect::<Result<_, _>>()?;
    Ok(Group { all, any, none })
}

fn group_holds(g: &Group<'_>, inst: &super::org::SimInstance) -> bool {
    g.all.iter().all(|c| holds(c, inst))
        && (g.any.is_empty() || g.any.iter().any(|c| holds(c, inst)))
        && !g.none.iter().any(|c| holds(c, inst))
}

fn query(s: &Shared, call: &Call) -> Answer {
    let q: CriteriaQuery = match parse_body(call) {
        Ok(q) => q,
        Err(a) => return a,
    };
    if q.query.is_empty() {
        return error_answer(StatusCode::BAD_REQUEST, "bad.request", "query is required");
    }
    let groups = match q.query.iter().map(compile_group).collect::<Result<Vec<_>, _>>() {
        Ok(g) => g,
        Err(e) => return error_answer(StatusCode::BAD_REQUEST, "bad.request", &e),
    };
    // The start-time bounds every group requires narrow the scan to a slice of the
    // instances sorted by start time.
    let (mut lo, mut hi) = (i64::MIN, i64::MAX);
    for item in groups.iter().flat_map(|g| g.all.iter()) {
        match (item.op, item.time) {
            ("gte" | "gt", Some(t)) => lo = lo.max(t),
            ("lt" | "lte", Some(t)) => hi = hi.min(t.saturating_add(1)),
            _ => {}
        }
    }
    let size: usize = call.query_param("pageSize").and_then(|v| v.parse().ok()).unwrap_or(50).clamp(1, 200);
    let st = s.state.lock().expect("sim lock");
    let order = &st.by_start;
    let first = order.partition_point(|&i| st.org.instances[i].start < lo);
    let last = order.partition_point(|&i| st.org.instances[i].start < hi);
    let mut matched: Vec<((u64, usize), &super::org::SimInstance)> = order[first..last.max(first)]
        .iter()
        .map(|&i| (i, &st.org.instances[i]))
        .filter(|(_, inst)| groups.iter().all(|g| group_holds(g, inst)))
        .map(|(i, inst)| ((fnv(&inst.instance.id), i), inst))
        .collect();
    let total = matched.len();
    // "Not guaranteed to be the most recent ones": a stable order unrelated to time. Only the
    // page is put in order (a window can match a hundred thousand instances).
    if matched.len() > size {
        matched.select_nth_unstable_by_key(size, |&(h, _)| h);
        matched.truncate(size);
    }
    matched.sort_unstable_by_key(|&(h, _)| h);
    let entities: Vec<FlowInstance> = matched.iter().map(|(_, i)| i.instance.clone()).collect();
    json_answer(
        StatusCode::OK,
        &PagedListing {
            entities,
            page_size: Some(size as u32),
            page_number: Some(1),
            total: Some(total as u64),
            page_count: Some(total.div_ceil(size).max(1) as u32),
            next_uri: None,
            self_uri: None,
        },
    )
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

fn start_job(s: &Shared, call: &Call) -> Answer {
    let req: ExecutionDataRequest = match parse_body(call) {
        Ok(r) => r,
        Err(a) => return a,
    };
    if req.ids.is_empty() {
        return error_answer(StatusCode::BAD_REQUEST, "bad.request", "ids is required");
    }
    let mut st = s.state.lock().expect("sim lock");
    st.job_counter += 1;
    let id = format!("job-{}", st.job_counter);
    st.jobs.insert(id.clone(), Job { ids: req.ids, polls: 0 });
    json_answer(
        StatusCode::OK,
        &ExecutionDataJob { id, name: None, job_state: "Registered".into(), entities: Vec::new() },
    )
}

fn get_job(s: &Shared, id: &str) -> Answer {
    let mut st = s.state.lock().expect("sim lock");
    let Some(job) = st.jobs.get_mut(id) else {
        return error_answer(StatusCode::NOT_FOUND, "not.found", &format!("job {id} not found"));
    };
    job.polls += 1;
    if job.polls < 2 {
        return json_answer(
            StatusCode::OK,
            &ExecutionDataJob {
                id: id.into(),
                name: None,
                job_state: "Running".into(),
                entities: Vec::new(),
            },
        );
    }
    let ids = job.ids.clone();
    let entities = if s.cfg.execution_data {
        ids.iter()
            .map(|i| match st.instance(i).filter(|x| x.execution_data.is_some()) {
                Some(_) => ExecutionDataEntity {
                    id: i.clone(),
                    download_uri: Some(format!(
                        "{}/__sim/downloads/{i}?X-Sim-Signature={:016x}",
                        s.download_base,
                        fnv(i)
                    )),
                    failed: false,
                    status_code: None,
                },
                None => ExecutionDataEntity {
                    id: i.clone(),
                    download_uri: None,
                    failed: true,
                    status_code: Some("404".into()),
                },
            })
            .collect()
    } else {
        Vec::new()
    };
    json_answer(
        StatusCode::OK,
        &ExecutionDataJob { id: id.into(), name: None, job_state: "Success".into(), entities },
    )
}

/// Execute a data action: call its target as Genesys would, answer as Genesys does.
async fn execute(s: &Shared, call: &Call, id: &str) -> Answer {
    let (url, method, headers) = {
        let st = s.state.lock().expect("sim lock");
        let Some(w) = st.org.webhooks.iter().find(|w| w.action.id == id) else {
            return error_answer(StatusCode::NOT_FOUND, "not.found", &format!("action {id} not found"));
        };
        let req = w.action.config.as_ref().and_then(|c| c.request.clone()).unwrap_or_default();
        (
            req.request_url_template.unwrap_or_default(),
            req.request_type.unwrap_or_else(|| "POST".into()),
            req.headers,
        )
    };
    if serde_json::from_slice::<Value>(&call.body).map(|v| !v.is_object()).unwrap_or(true) {
        return error_answer(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "the body must be a JSON object of input values",
        );
    }
    let mut req = s
        .http
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::POST), &url)
        .body(call.body.to_vec());
    for (k, v) in headers {
        req = req.header(k, v);
    }
    // Simulation only: pass redrive's replay headers through so tests can see which entry
    // reached the target. (Real Genesys sends only what the action's template says.)
    for h in ["idempotency-key", "webhook-id", "x-redrive-attempt"] {
        if let Some(v) = call.headers.get(h) {
            req = req.header(h, v.clone());
        }
    }
    let remote_failure = |status: u16, outer: StatusCode, msg: String| {
        json_answer(
            outer,
            &json!({
                "message": "Request to backend service failed.",
                "code": if outer.is_server_error() { "internal.server.error" } else { "bad.request" },
                "status": outer.as_u16(),
                "details": [{"errorCode": "ACTION.REMOTE_ENDPOINT"}],
                "errors": [{"message": format!("REST call for action execute failed. Message: Request to backend service failed. Response from web service: {msg} [{status}]"),
                    "code": "INTERNAL_SERVER_ERROR", "status": outer.as_u16()}]
            }),
        )
    };
    match req.send().await {
        Ok(resp) => {
            let status = resp.status();
            let body = resp.bytes().await.unwrap_or_default();
            if status.is_success() {
                let v: Value = serde_json::from_slice(&body).unwrap_or_else(|_| json!({}));
                json_answer(StatusCode::OK, &v)
            } else {
                let outer = if status.is_server_error() || status.as_u16() == 429 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::BAD_REQUEST
                };
                remote_failure(status.as_u16(), outer, super::org::reason(status.as_u16()).to_string())
            }
        }
        Err(e) => {
            let what = if e.is_timeout() { "Read timed out" } else { "Connection reset" };
            json_answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"message": format!("REST call for action execute failed. Message: {what} [ctx]"),
                    "code": "internal.server.error", "status": 500,
                    "details": [{"errorCode": "ACTION.REMOTE_ENDPOINT"}], "errors": []}),
            )
        }
    }
}

// ---- downloads and introspection ----------------------------------------------------------------

async fn download(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let id = parts.uri.path().rsplit('/').next().unwrap_or("").to_string();
    let call = Call {
        method: parts.method.to_string(),
        host: parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("").to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers: parts.headers,
        body: Bytes::new(),
    };
    let file = {
        let st = s.state.lock().expect("sim lock");
        st.instance(&id).and_then(|i| i.execution_data.clone())
    };
    let signed = call.query_param("X-Sim-Signature") == Some(format!("{:016x}", fnv(&id)));
    let answer = match file {
        Some(f) if signed => {
            Answer { status: StatusCode::OK, body: f, content_type: "application/json", headers: Vec::new() }
        }
        Some(_) => error_answer(StatusCode::FORBIDDEN, "forbidden", "bad signature"),
        None => error_answer(StatusCode::NOT_FOUND, "not.found", "no such file"),
    };
    finish(&s, &call, answer)
}

async fn requests(State(s): State<Arc<Shared>>) -> Response {
    let seen: Vec<Seen> = s.state.lock().expect("sim lock").seen.clone();
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(&seen).expect("serialises")))
        .expect("valid response")
}
