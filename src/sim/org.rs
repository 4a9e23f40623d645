//! A seeded Genesys org: data actions (the webhooks), triggers and workflows, workflow runs
//! that succeeded and runs that failed, and the execution-data file of each failure. The
//! same seed always gives the same org (relative to the time it is made).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::genesys::model::*;
use crate::time::{Millis, format_ms};

/// One simulated outbound endpoint.
#[derive(Clone, Debug)]
pub struct SimWebhook {
    pub action: Action,
    /// Path segment of its target under `/__sim/targets/`.
    pub slug: String,
    pub flow_id: String,
    pub flow_name: String,
    pub trigger: Trigger,
}

/// One workflow run.
#[derive(Clone, Debug)]
pub struct SimInstance {
    pub instance: FlowInstance,
    pub start: Millis,
    /// Index into the org's webhooks.
    pub webhook: usize,
    /// The execution-data file (failures only).
    pub execution_data: Option<Vec<u8>>,
}

#[derive(Clone, Debug)]
pub struct Org {
    pub webhooks: Vec<SimWebhook>,
    pub instances: Vec<SimInstance>,
}

/// How the org is made.
#[derive(Clone, Debug)]
pub struct OrgSpec {
    pub seed: u64,
    pub webhooks: usize,
    pub failures: usize,
    pub successes: usize,
    /// How many of the failures fall inside one minute (an outage burst).
    pub burst: usize,
    /// Failures are spread over this long before `now`.
    pub spread_ms: i64,
}

const NAMES: [(&str, &str, &str); 8] = [
    ("Orders API - order updated", "POST", "orders"),
    ("CRM - upsert contact", "PUT", "crm"),
    ("Ticketing - create case", "POST", "tickets"),
    ("Billing ledger - post charge", "POST", "billing"),
    ("SMS gateway - send receipt", "POST", "sms"),
    ("Loyalty - add points", "PATCH", "loyalty"),
    ("Survey results - store", "POST", "surveys"),
    ("Fraud check - score call", "POST", "fraud"),
];

/// How failures split across webhooks: the later webhooks fail more (a few bad targets).
const WEIGHTS: [u32; 8] = [1, 6, 3, 2, 1, 4, 1, 2];

/// The remote statuses failed calls came back with.
const REMOTE: [u16; 6] = [503, 503, 502, 500, 504, 429];

pub fn uuid(rng: &mut StdRng) -> String {
    let v: u128 = rng.random();
    let h = format!("{v:032x}");
    format!("{}-{}-4{}-a{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

impl Org {
    /// Make an org whose targets live under `target_base` (the simulator's own address).
    pub fn generate(spec: &OrgSpec, now: Millis, target_base: &str) -> Org {
        let mut rng = StdRng::seed_from_u64(spec.seed);
        let webhooks: Vec<SimWebhook> = (0..spec.webhooks.max(1))
            .map(|i| {
                let (name, method, slug) = NAMES[i % NAMES.len()];
                let (name, slug) = if i < NAMES.len() {
                    (name.to_string(), slug.to_string())
                } else {
                    (format!("{name} #{}", i / NAMES.len() + 1), format!("{slug}{}", i / NAMES.len() + 1))
                };
                let action_id = format!("custom_-_{}", uuid(&mut rng));
                let flow_id = uuid(&mut rng);
                let mut headers = std::collections::BTreeMap::new();
                headers.insert("Authorization".to_string(), format!("Bearer sim-target-secret-{i}"));
                headers.insert("Content-Type".to_string(), "application/json".to_string());
                let action = Action {
                    id: action_id.clone(),
                    name: name.clone(),
                    integration_id: Some(uuid(&mut rng)),
                    category: Some("Web Services Data Actions".into()),
                    version: Some(1 + rng.random_range(0..4)),
                    secure: Some(false),
                    config: Some(ActionConfig {
                        timeout_seconds: Some(20),
                        request: Some(RequestConfig {
                            request_url_template: Some(format!("{target_base}/__sim/targets/{slug}")),
                            request_template: Some("${input.rawRequest}".into()),
                            request_type: Some(method.into()),
                            headers,
                        }),
                    }),
                    self_uri: Some(format!("/api/v2/integrations/actions/{action_id}")),
                };
                let trigger = Trigger {
                    id: uuid(&mut rng),
                    name: format!("{name} trigger"),
                    topic_name: Some("v2.detail.events.conversation.{id}.customer.end".into()),
                    target: Some(TriggerTarget { kind: Some("Workflow".into()), id: Some(flow_id.clone()) }),
                    enabled: Some(true),
                    version: Some(1),
                };
                SimWebhook { action, slug, flow_name: format!("{name} workflow"), flow_id, trigger }
            })
            .collect();
        let total_weight: u32 = (0..webhooks.len()).map(|i| WEIGHTS[i % WEIGHTS.len()]).sum();
        let pick = |rng: &mut StdRng| {
            let mut x = rng.random_range(0..total_weight);
            for i in 0..webhooks.len() {
                let w = WEIGHTS[i % WEIGHTS.len()];
                if x < w {
                    return i;
                }
                x -= w;
            }
            0
        };
        let spread = spec.spread_ms.max(120_000);
        let burst_at = now - spread / 2;
        let mut instances = Vec::with_capacity(spec.failures + spec.successes);
        for k in 0..spec.failures {
            let start = if k < spec.burst {
                burst_at + rng.random_range(0..60_000)
            } else {
                now - spread + rng.random_range(0..spread - 60_000)
            };
            let webhook = pick(&mut rng);
            instances.push(failure(&mut rng, &webhooks[webhook], webhook, start, k));
        }
        for _ in 0..spec.successes {
            let start = now - spread + rng.random_range(0..spread - 60_000);
            let webhook = rng.random_range(0..webhooks.len());
            let w = &webhooks[webhook];
            let id = uuid(&mut rng);
            instances.push(SimInstance {
                instance: instance(&id, w, start, None),
                start,
                webhook,
                execution_data: None,
            });
        }
        Org { webhooks, instances }
    }
}

fn instance(id: &str, w: &SimWebhook, start: Millis, error: Option<&str>) -> FlowInstance {
    FlowInstance {
        id: id.to_string(),
        name: Some(w.flow_name.clone()),
        start_date_time: Some(format_ms(start)),
        end_date_time: Some(format_ms(start + 1800)),
        flow_id: Some(w.flow_id.clone()),
        flow_name: Some(w.flow_name.clone()),
        flow_version: Some("3.0".into()),
        flow_type: Some("workflow".into()),
        conversation_id: None,
        flow_error_reason: error.map(str::to_string),
        flow_warning_reason: None,
    }
}

fn failure(rng: &mut StdRng, w: &SimWebhook, webhook: usize, start: Millis, k: usize) -> SimInstance {
    let id = uuid(rng);
    let remote = REMOTE[rng.random_range(0..REMOTE.len())];
    let order = format!("A-{}", 100_000 + k);
    let payload = json!({
        "orderId": order,
        "customerId": format!("C-{}", rng.random_range(1000..9999)),
        "amount": (rng.random_range(500..50_000) as f64) / 100.0,
        "event": "order.updated",
        "conversationId": uuid(rng),
    });
    let inputs: Vec<_> =
        payload.as_object().expect("object").iter().map(|(k, v)| json!({"name": k, "value": v})).collect();
    // Most files have the assumed layout; a few have no data-action step (the flow failed
    // elsewhere) or a step the parser cannot read, as real files may.
    let roll = rng.random_range(0..100);
    let step = if roll < 2 {
        json!({"actionDecision": {"actionId": "step-3", "dateTime": format_ms(start + 900), "outputPathId": "no"}})
    } else {
        let input = if roll < 3 { json!({"unexpected": "shape"}) } else { json!(inputs) };
        json!({"actionCallData": {
            "actionId": "step-5",
            "dateTime": format_ms(start + 1000),
            "executionId": uuid(rng),
            "trackingId": uuid(rng),
            "dataActionId": w.action.id,
            "inputVariables": input,
            "outputPathId": "failure",
            "errorInfo": {
                "message": "Request to backend service failed.",
                "code": "internal.server.error",
                "status": 500,
                "details": [{"errorCode": "ACTION.REMOTE_ENDPOINT"}],
                "errors": [{"message": format!(
                    "REST call for action execute failed. Message: Request to backend service failed. Response from web service: {} [{remote}]",
                    reason(remote)
                )}]
            }
        }})
    };
    let file = json!({"flow": {
        "flowId": w.flow_id,
        "flowName": w.flow_name,
        "conversationId": null,
        "startDateTime": format_ms(start),
        "endDateTime": format_ms(start + 1800),
        "execution": [
            {"startedFlow": {"dateTime": format_ms(start), "languageTag": "en-us",
                "variables": [{"name": "Flow.eventBody", "value": payload.to_string()}]}},
            step
        ]
    }});
    SimInstance {
        instance: instance(&id, w, start, Some("ACTION.REMOTE_ENDPOINT")),
        start,
        webhook,
        execution_data: Some(serde_json::to_vec(&file).expect("serialises")),
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        410 => "Gone",
        _ => "Error",
    }
}
