//! Simulated target systems, one per webhook, under `/__sim/targets/{slug}`: each healthy,
//! failing a share of calls, slow, gone, or down until a time. Every request is recorded with
//! its idempotency key, so tests can check what was delivered and how often.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::any;
use rand::Rng;
use serde::Serialize;

use super::Shared;
use super::org::Org;
use crate::time::now_ms;

#[derive(Clone, Debug, PartialEq)]
pub enum TargetBehaviour {
    /// 200 to everything.
    Healthy,
    /// Fail this share (0.0–1.0) of calls with a mix of 500/502/503/504 and 429 + Retry-After.
    Failing { share: f64 },
    /// Answer 200 after this long (a client with a shorter timeout sees a timeout).
    Slow { delay: Duration },
    /// 503 to everything until `for_` has passed since the simulator started, then healthy.
    DownFor { for_: Duration },
    /// 410 Gone.
    Gone,
    /// Drop this share of connections without an answer (a reset, as the client sees it).
    Reset { share: f64 },
    /// Always answer this status.
    Answer { status: u16 },
    /// Answer each idempotency key with these statuses in turn (429s carry `Retry-After:
    /// retry_after` seconds), then 200.
    Script { statuses: Vec<u16>, retry_after: u64 },
    /// Fail this share of calls, evenly among 500/502/503/504, 429 + Retry-After: 1, a timeout
    /// (an answer after `hang`), and a reset.
    Chaos { share: f64, hang: Duration },
}

/// One request a target received.
#[derive(Clone, Debug, Serialize)]
pub struct Received {
    pub target: String,
    pub method: String,
    pub idempotency_key: Option<String>,
    pub webhook_id: Option<String>,
    pub attempt: Option<String>,
    pub signature: Option<String>,
    pub at: i64,
    pub status: u16,
    pub body_len: usize,
    /// How long the target held the answer back (a slow or hanging call).
    pub delay_ms: u64,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct TargetStats {
    pub received: u64,
    pub ok: u64,
    pub failed: u64,
    /// Distinct idempotency keys answered 2xx.
    pub delivered_keys: u64,
    /// 2xx answers to a key that had already been answered 2xx.
    pub duplicates: u64,
}

pub(crate) struct Targets {
    behaviour: HashMap<String, TargetBehaviour>,
    pub received: Vec<Received>,
    /// How many answers each (target, key) has had, for `Script`.
    seen_keys: HashMap<(String, String), usize>,
    pub count: tokio::sync::watch::Sender<usize>,
}

impl Targets {
    pub fn new(org: &Org, plan: &[TargetBehaviour]) -> Targets {
        let behaviour = org
            .webhooks
            .iter()
            .enumerate()
            .map(|(i, w)| (w.slug.clone(), plan.get(i).cloned().unwrap_or(TargetBehaviour::Healthy)))
            .collect();
        Targets {
            behaviour,
            received: Vec::new(),
            seen_keys: HashMap::new(),
            count: tokio::sync::watch::channel(0).0,
        }
    }

    pub fn set(&mut self, slug: &str, b: TargetBehaviour) {
        self.behaviour.insert(slug.to_string(), b);
    }

    pub fn stats(&self) -> BTreeMap<String, TargetStats> {
        let mut out: BTreeMap<String, TargetStats> = BTreeMap::new();
        let mut keys: HashMap<(&str, &str), u32> = HashMap::new();
        for r in &self.received {
            let s = out.entry(r.target.clone()).or_default();
            s.received += 1;
            if (200..300).contains(&r.status) {
                s.ok += 1;
                if let Some(k) = &r.idempotency_key {
                    let n = keys.entry((r.target.as_str(), k.as_str())).or_default();
                    *n += 1;
                    if *n == 1 {
                        s.delivered_keys += 1;
                    } else {
                        s.duplicates += 1;
                    }
                }
            } else {
                s.failed += 1;
            }
        }
        out
    }
}

pub(super) fn router(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new()
        .route("/__sim/targets/{slug}", any(target))
        .route("/__sim/targets/{slug}/{*rest}", any(target))
        .route("/__sim/received", any(received))
        .route("/__sim/stats", any(stats))
        .with_state(shared)
}

async fn target(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
    let slug =
        parts.uri.path().trim_start_matches("/__sim/targets/").split('/').next().unwrap_or("").to_string();
    let h = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (status, delay, retry_after, reset) = {
        let mut st = s.state.lock().expect("sim lock");
        let behaviour = st.targets.behaviour.get(&slug).cloned();
        let roll: f64 = st.rng.random();
        let pick: usize = st.rng.random_range(0..5);
        let chaos_pick: usize = st.rng.random_range(0..7);
        let key = h("idempotency-key").unwrap_or_default();
        let z = Duration::ZERO;
        match behaviour {
            None => (404, z, None, false),
            Some(TargetBehaviour::Healthy) => (200, z, None, false),
            Some(TargetBehaviour::Slow { delay }) => (200, delay, None, false),
            Some(TargetBehaviour::Gone) => (410, z, None, false),
            Some(TargetBehaviour::DownFor { for_ }) => {
                (if s.started.elapsed() < for_ { 503 } else { 200 }, z, None, false)
            }
            Some(TargetBehaviour::Failing { share }) if roll < share => {
                let status = [500u16, 502, 503, 504, 429][pick];
                (status, z, (status == 429).then_some(1u64), false)
            }
            Some(TargetBehaviour::Failing { .. }) => (200, z, None, false),
            Some(TargetBehaviour::Reset { share }) => {
                (if roll < share { 0 } else { 200 }, z, None, roll < share)
            }
            Some(TargetBehaviour::Answer { status }) => (status, z, None, false),
            Some(TargetBehaviour::Script { statuses, retry_after }) => {
                let n = st.targets.seen_keys.entry((slug.clone(), key)).or_default();
                let status = statuses.get(*n).copied().unwrap_or(200);
                *n += 1;
                (status, z, (status == 429).then_some(retry_after), false)
            }
            Some(TargetBehaviour::Chaos { share, hang }) if roll < share => match chaos_pick {
                0..=3 => ([500u16, 502, 503, 504][chaos_pick], z, None, false),
                4 => (429, z, Some(1), false),
                5 => (200, hang, None, false),
                _ => (0, z, None, true),
            },
            Some(TargetBehaviour::Chaos { .. }) => (200, z, None, false),
        }
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    {
        let mut st = s.state.lock().expect("sim lock");
        st.targets.received.push(Received {
            target: slug.clone(),
            method: parts.method.to_string(),
            idempotency_key: h("idempotency-key"),
            webhook_id: h("webhook-id"),
            attempt: h("x-redrive-attempt"),
            signature: h("webhook-signature"),
            at: now_ms(),
            status,
            body_len: body.len(),
            delay_ms: delay.as_millis() as u64,
        });
        let n = st.targets.received.len();
        st.targets.count.send_replace(n);
    }
    if reset {
        // A body that fails before its first byte: hyper drops the connection with no answer.
        let broken = futures_util::stream::once(async {
            Err::<Bytes, _>(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "simulated reset"))
        });
        return Response::new(Body::from_stream(broken));
    }
    let mut b = Response::builder().status(StatusCode::from_u16(status).unwrap_or(StatusCode::OK));
    if let Some(secs) = retry_after {
        b = b.header(header::RETRY_AFTER, secs.to_string());
    }
    let body = if (200..300).contains(&status) {
        format!("{{\"ok\":true,\"target\":\"{slug}\"}}")
    } else {
        format!("{{\"error\":\"{}\"}}", super::org::reason(status))
    };
    b.header(header::CONTENT_TYPE, "application/json").body(Body::from(body)).expect("valid response")
}

async fn received(State(s): State<Arc<Shared>>) -> Response {
    let r = s.state.lock().expect("sim lock").targets.received.clone();
    json(&r)
}

async fn stats(State(s): State<Arc<Shared>>) -> Response {
    let r = s.state.lock().expect("sim lock").targets.stats();
    json(&r)
}

fn json(v: &impl Serialize) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(v).expect("serialises")))
        .expect("valid response")
}
