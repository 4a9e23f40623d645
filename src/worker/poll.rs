//! One poll: discover webhooks and triggers, find the failed workflow runs since the last poll,
//! recover their payloads through execution-data jobs, and store each failure exactly once
//! (genesys-api.md §8).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::genesys::execdata;
use crate::genesys::model::{ExecutionDataEntity, FlowInstance};
use crate::genesys::{Client, GenesysError};
use crate::store::{NewEntry, Store, StoreError, Webhook};
use crate::time::{Millis, format_ms, parse_rfc3339};

/// The newest window fully read, so the next poll starts there.
pub const CURSOR_KEY: &str = "genesys.poll.cursor";
/// The triggers last seen, as JSON, for display.
pub const TRIGGERS_KEY: &str = "genesys.triggers";

pub const EXECUTION_DATA_OFF: &str = "execution data is not available for this run: Genesys returned \
    none for any instance. Enable historical execution data for the org (Architect > Settings), \
    republish the workflows, and note that Genesys keeps it for 10 days";

#[derive(Clone, Debug)]
pub struct PollOptions {
    /// How far back the first poll looks.
    pub lookback: Duration,
    /// How far before the cursor each later poll starts again (dedupe makes it harmless).
    pub overlap: Duration,
    /// Start the window here instead (an operator's `--since`).
    pub since: Option<Millis>,
    /// Instances per execution-data job.
    pub job_batch: usize,
    /// How long to wait for one job.
    pub job_wait: Duration,
    /// Files downloaded at once.
    pub download_concurrency: usize,
    /// Queue new entries for the worker at once (otherwise they wait for an operator).
    pub auto_retry: bool,
}

impl Default for PollOptions {
    fn default() -> Self {
        PollOptions {
            lookback: Duration::from_secs(24 * 3600),
            overlap: Duration::from_secs(300),
            since: None,
            job_batch: 100,
            job_wait: Duration::from_secs(120),
            download_concurrency: 8,
            auto_retry: false,
        }
    }
}

/// What a poll did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PollSummary {
    pub window_start: String,
    pub window_end: String,
    pub webhooks: usize,
    pub triggers: usize,
    pub failures_found: usize,
    pub new: usize,
    pub duplicates: usize,
    pub without_payload: usize,
    pub queries: u32,
    pub window_splits: u32,
    pub api_calls: u64,
    pub rate_limited: u64,
    pub retries: u64,
    pub downloads: u64,
    /// True when every execution-data job came back empty (the org stores none).
    pub execution_data_unavailable: bool,
    pub warnings: Vec<String>,
    pub elapsed_ms: u64,
}

/// Where a poll is, for a progress display.
#[derive(Clone, Debug)]
pub enum PollProgress {
    Discovering,
    Scanning { queries: u32, found: usize },
    Recovering { done: usize, total: usize },
    Storing { done: usize, total: usize },
}

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Genesys(#[from] GenesysError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Poll once. The cursor moves only when everything found has been stored, so a poll that
/// fails half-way is simply done again.
pub async fn poll(
    client: &Arc<Client>,
    store: &mut Store,
    opts: &PollOptions,
    now: Millis,
    mut progress: impl FnMut(PollProgress),
) -> Result<PollSummary, PollError> {
    let started = Instant::now();
    let before = client.stats();
    let mut sum = PollSummary::default();

    progress(PollProgress::Discovering);
    let actions = client.list_actions().await?;
    let triggers = client.list_triggers().await?;
    sum.webhooks = actions.len();
    sum.triggers = triggers.len();
    let hooks: Vec<Webhook> = actions.iter().map(webhook_of).collect();
    store.upsert_webhooks(&hooks, now)?;
    let trig: Vec<_> = triggers
        .iter()
        .map(|t| {
            serde_json::json!({"id": t.id, "name": t.name, "topic": t.topic_name, "enabled": t.enabled,
                "workflow": t.target.as_ref().and_then(|x| x.id.clone())})
        })
        .collect();
    store.kv_set(TRIGGERS_KEY, &serde_json::to_string(&trig).expect("serialises"), now)?;

    let start = match (opts.since, store.kv_get(CURSOR_KEY)?.and_then(|c| c.parse::<Millis>().ok())) {
        (Some(s), _) => s,
        (None, Some(cursor)) => cursor - opts.overlap.as_millis() as i64,
        (None, None) => now - opts.lookback.as_millis() as i64,
    };
    let end = now;
    sum.window_start = format_ms(start);
    sum.window_end = format_ms(end);

    let scan = client
        .failed_instances(start, end, |s| {
            progress(PollProgress::Scanning { queries: s.queries, found: s.instances.len() })
        })
        .await?;
    sum.queries = scan.queries;
    sum.window_splits = scan.splits;
    sum.failures_found = scan.instances.len();
    for (s, e, total, got) in &scan.incomplete_windows {
        sum.warnings.push(format!(
            "{total} failures started in [{}, {}) but a query returns at most {got}; some may be missing",
            format_ms(*s),
            format_ms(*e)
        ));
    }

    let ids: Vec<String> = scan.instances.iter().map(|i| i.id.clone()).collect();
    let existing = store.existing_source_ids(&ids)?;
    let fresh: Vec<&FlowInstance> = scan.instances.iter().filter(|i| !existing.contains(&i.id)).collect();
    sum.duplicates = scan.instances.len() - fresh.len();

    // Execution data for the new ones: start every job, then wait for them together.
    let mut entities: HashMap<String, ExecutionDataEntity> = HashMap::new();
    let fresh_ids: Vec<String> = fresh.iter().map(|i| i.id.clone()).collect();
    let jobs = client.start_execution_jobs(&fresh_ids, opts.job_batch).await?;
    for done in client.wait_execution_jobs(&jobs, opts.job_wait).await? {
        if done.job_state == "Failed" {
            sum.warnings.push(format!(
                "execution-data job {} failed; its entries are stored without payload",
                done.id
            ));
        }
        entities.extend(done.entities.into_iter().map(|e| (e.id.clone(), e)));
    }
    sum.execution_data_unavailable = !fresh.is_empty() && entities.is_empty();
    let files = download_all(client, &fresh_ids, &entities, opts.download_concurrency, &mut progress).await;

    let flag = if opts.auto_retry { Some(now) } else { None };
    let mut batch = Vec::with_capacity(fresh.len());
    let mut flow_hooks: HashMap<String, Webhook> = HashMap::new();
    for inst in &fresh {
        let (entry, flow_hook) = entry_of(
            inst,
            entities.get(&inst.id),
            files.get(&inst.id),
            sum.execution_data_unavailable,
            flag,
            now,
        );
        if let Some(w) = flow_hook {
            flow_hooks.entry(w.id.clone()).or_insert(w);
        }
        if entry.payload_unavailable.is_some() {
            sum.without_payload += 1;
        }
        batch.push(entry);
    }
    if !flow_hooks.is_empty() {
        let known: std::collections::HashSet<String> = store.webhooks()?.into_iter().map(|w| w.id).collect();
        let missing: Vec<Webhook> = flow_hooks.into_values().filter(|w| !known.contains(&w.id)).collect();
        store.upsert_webhooks(&missing, now)?;
    }
    let total = batch.len();
    for (i, chunk) in batch.chunks(500).enumerate() {
        let r = store.insert_batch(chunk, now)?;
        sum.new += r.inserted.len();
        sum.duplicates += r.duplicates.len();
        progress(PollProgress::Storing { done: (i * 500 + chunk.len()).min(total), total });
    }
    if sum.execution_data_unavailable {
        sum.warnings.push(EXECUTION_DATA_OFF.to_string());
    }
    store.kv_set(CURSOR_KEY, &end.to_string(), now)?;

    let after = client.stats();
    sum.api_calls = after.api_calls - before.api_calls;
    sum.rate_limited = after.rate_limited - before.rate_limited;
    sum.retries = after.retries - before.retries;
    sum.downloads = after.downloads - before.downloads;
    sum.elapsed_ms = started.elapsed().as_millis() as u64;
    tracing::info!(?sum, "poll finished");
    Ok(sum)
}

/// A data action as a redrive webhook: method, URL template and header names (never values).
pub fn webhook_of(a: &crate::genesys::model::Action) -> Webhook {
    let req = a.config.as_ref().and_then(|c| c.request.as_ref());
    let header_names: Vec<&String> = req.map(|r| r.headers.keys().collect()).unwrap_or_default();
    let config = serde_json::json!({
        "category": a.category,
        "integrationId": a.integration_id,
        "timeoutSeconds": a.config.as_ref().and_then(|c| c.timeout_seconds),
        "headerNames": header_names,
        "secure": a.secure,
    });
    Webhook {
        id: a.id.clone(),
        name: a.name.clone(),
        source: "genesys".into(),
        method: req.and_then(|r| r.request_type.clone()),
        url: req.and_then(|r| r.request_url_template.clone()),
        config: Some(config.to_string()),
        paused: false,
        paused_reason: None,
        updated_at: 0,
    }
}

async fn download_all(
    client: &Arc<Client>,
    ids: &[String],
    entities: &HashMap<String, ExecutionDataEntity>,
    concurrency: usize,
    progress: &mut impl FnMut(PollProgress),
) -> HashMap<String, Result<Vec<u8>, String>> {
    let mut out = HashMap::new();
    let mut todo = ids.iter().filter_map(|id| {
        let e = entities.get(id)?;
        (!e.failed).then(|| (id.clone(), e.download_uri.clone()))
    });
    let total = ids.iter().filter(|id| entities.get(*id).is_some_and(|e| !e.failed)).count();
    let mut set = tokio::task::JoinSet::new();
    let spawn = |set: &mut tokio::task::JoinSet<_>, (id, uri): (String, Option<String>)| {
        let client = client.clone();
        set.spawn(async move {
            let r = match uri {
                Some(u) => client.download(&u).await.map_err(|e| e.to_string()),
                None => Err("the job gave no downloadUri".to_string()),
            };
            (id, r)
        });
    };
    for item in todo.by_ref().take(concurrency.max(1)) {
        spawn(&mut set, item);
    }
    while let Some(joined) = set.join_next().await {
        if let Ok((id, r)) = joined {
            out.insert(id, r);
        }
        progress(PollProgress::Recovering { done: out.len(), total });
        if let Some(item) = todo.next() {
            spawn(&mut set, item);
        }
    }
    out
}

/// The DLQ entry for one failed instance, and a webhook row when the failure could not be tied
/// to a data action (named after its workflow).
fn entry_of(
    inst: &FlowInstance,
    entity: Option<&ExecutionDataEntity>,
    file: Option<&Result<Vec<u8>, String>>,
    org_has_none: bool,
    due: Option<Millis>,
    now: Millis,
) -> (NewEntry, Option<Webhook>) {
    let failed_at = inst
        .end_date_time
        .as_deref()
        .or(inst.start_date_time.as_deref())
        .and_then(|t| parse_rfc3339(t).ok())
        .unwrap_or(now);
    let mut entry = NewEntry {
        source_id: inst.id.clone(),
        webhook_id: String::new(),
        source_kind: "genesys".into(),
        payload: Vec::new(),
        content_type: Some("application/json".into()),
        status_code: None,
        error: inst.flow_error_reason.clone(),
        failed_at,
        payload_unavailable: None,
        next_attempt_at: None,
        execution_data: None,
    };
    let mut action_id = None;
    match (entity, file) {
        (_, Some(Ok(bytes))) => {
            let r = execdata::parse(bytes);
            entry.execution_data = Some(bytes.clone());
            action_id = r.action_id;
            entry.status_code = r.status;
            if let Some(e) = r.error {
                entry.error = Some(e);
            }
            match (r.payload, r.unavailable) {
                (Some(p), None) => entry.payload = p,
                (_, why) => {
                    entry.payload_unavailable =
                        Some(why.unwrap_or_else(|| "no payload in the execution data".into()))
                }
            }
        }
        (_, Some(Err(e))) => {
            entry.payload_unavailable = Some(format!("downloading the execution data failed: {e}"))
        }
        (Some(e), None) if e.failed => {
            entry.payload_unavailable = Some(format!(
                "Genesys could not retrieve the execution data (status {})",
                e.status_code.as_deref().unwrap_or("unknown")
            ))
        }
        _ if org_has_none => entry.payload_unavailable = Some(EXECUTION_DATA_OFF.into()),
        _ => entry.payload_unavailable = Some("no execution data for this run (older than 10 days?)".into()),
    }
    if entry.payload_unavailable.is_none() {
        entry.next_attempt_at = due;
    }
    let (webhook_id, flow_hook) = match action_id {
        Some(a) => (a, None),
        None => {
            let flow = inst.flow_id.clone().unwrap_or_else(|| "unknown".into());
            let id = format!("flow:{flow}");
            let name = inst.flow_name.clone().unwrap_or_else(|| format!("workflow {flow}"));
            let hook = Webhook::named(&id, &name, "genesys-flow", now);
            (id, Some(hook))
        }
    };
    entry.webhook_id = webhook_id;
    (entry, flow_hook)
}
