//! The background worker behind the console: `Command`s in, `WorkerEvent`s out. It owns every
//! piece of I/O the console needs (store queries and changes, polls, the retry engine) so the
//! screen never waits on a disk or a network. Knows nothing of the UI: it answers in plain data
//! with every outside string already sanitised.
//!
//! Store work runs on one thread of its own, which coalesces queries the screen has already
//! superseded (scrolling fast asks for many pages; only the last one is answered). Polls and the
//! retry engine run as tokio tasks with their own connections.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::engine::{AttemptOutcome, Engine, EngineConfig, Event, Progress, RunMode};
use super::poll::{PollOptions, poll, webhook_of};
use super::routes::Routes;
use crate::config::{Config, ReplayMode};
use crate::genesys::Client;
use crate::retry::limiter::BreakerState;
use crate::retry::sender::Sender;
use crate::store::{
    Attempt, EntryId, EntryState, Filter, Histogram, Selection, Store, StoreOptions, WebhookSummary,
};
use crate::text::{pretty_payload, sanitize, truncate};
use crate::time::{Millis, now_ms};

/// What the console asks of the worker.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Webhook summaries and totals (answered with [`WorkerEvent::Overview`]).
    Refresh,
    /// A page of the dead letter queue. `total` is the count the screen already has for this
    /// filter, or `None` to count again.
    Page {
        seq: u64,
        filter: Filter,
        offset: u64,
        limit: usize,
        total: Option<u64>,
    },
    /// The newest failures stored for one webhook.
    Failures {
        webhook: String,
    },
    Detail {
        id: EntryId,
    },
    /// List the org's webhooks (data actions) without looking for failures.
    SyncWebhooks,
    Poll,
    Retry {
        selection: Selection,
        force: bool,
    },
    Discard {
        selection: Selection,
    },
    /// Hold again the entries of the running bulk job not attempted yet.
    CancelJob,
    /// Write the payload to a private file and say where.
    SavePayload {
        id: EntryId,
    },
    /// Write the payload to a private file for the operator's editor ([`WorkerEvent::EditReady`]).
    PrepareEdit {
        id: EntryId,
    },
    /// Queue the edited copy in `path` (the original is kept).
    RetryEdited {
        id: EntryId,
        path: PathBuf,
    },
    Shutdown,
}

/// Whether Genesys can be reached, as the status bar says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GenesysStatus {
    /// A real org: its region and API base.
    Connected {
        region: String,
    },
    Demo,
    /// Why polling and Genesys replay are unavailable.
    Unavailable(String),
}

/// What the worker tells the console. Every string from outside is sanitised.
#[derive(Clone, Debug, PartialEq)]
pub enum WorkerEvent {
    Overview {
        webhooks: Vec<WebhookSummary>,
        totals: BTreeMap<EntryState, u64>,
    },
    Page {
        seq: u64,
        offset: u64,
        rows: Vec<Row>,
        total: u64,
    },
    Failures {
        webhook: String,
        rows: Vec<Row>,
    },
    Detail(Box<Detail>),
    PollStarted,
    PollDone {
        at: Millis,
        summary: String,
    },
    PollFailed {
        at: Millis,
        error: String,
    },
    JobStarted {
        total: u64,
        label: String,
        skipped: u64,
    },
    JobProgress(Progress),
    JobDone {
        progress: Progress,
        cancelled: bool,
    },
    Breaker {
        target: String,
        state: BreakerState,
    },
    /// Engine throughput (attempts per second over the last interval) and entries in flight.
    Engine {
        rate: f64,
        attempts: u64,
    },
    /// API calls left in the current minute, of the limit.
    Budget {
        remaining: usize,
        limit: usize,
    },
    /// Whether the last call to Genesys worked: `None`, or why it did not (unreachable,
    /// refused credentials…).
    GenesysHealth(Option<String>),
    /// The retry engine, or the store thread that answers the screen, stopped on an internal
    /// error (a panic): nothing is retried (or answered) until a restart. The text says which.
    EngineStopped(String),
    /// The store changed (the screen re-asks for what it shows).
    Changed,
    EditReady {
        id: EntryId,
        path: PathBuf,
    },
    Info(String),
    Error(String),
}

/// One entry as a list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub id: EntryId,
    pub webhook_id: String,
    pub state: EntryState,
    pub attempts: u32,
    pub next_attempt_at: Option<Millis>,
    /// The last attempt's status, or the original failure's.
    pub status: Option<u16>,
    /// The status of the failure as first reported (Genesys's, or the relay's target's).
    pub failure_status: Option<u16>,
    /// The failure as first reported.
    pub error: String,
    /// What the last attempt's failure was (empty once delivered; `None` before any attempt).
    pub last_error: Option<String>,
    pub failed_at: Millis,
    pub replayable: bool,
    pub source_kind: String,
}

/// Everything the detail view shows for one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detail {
    pub row: Row,
    pub source_id: String,
    pub content_type: Option<String>,
    pub payload_size: u64,
    pub payload_note: Option<String>,
    /// Pretty-printed when JSON; sanitised, newlines kept.
    pub payload: String,
    /// The headers a replay sends, secret values masked.
    pub headers: Vec<(String, String)>,
    pub attempts: Vec<Attempt>,
    pub execution_data: Option<String>,
}

/// How to start the worker.
pub struct ServiceConfig {
    pub config: Config,
    pub genesys: Option<Arc<Client>>,
    pub status: GenesysStatus,
    /// Open the store read-only, run no engine, refuse every change.
    pub read_only: bool,
}

pub struct Service {
    pub commands: mpsc::Sender<Command>,
    /// Why the store cannot be changed (opened read-only, or a read-only file).
    pub read_only_reason: Option<String>,
    pub events: mpsc::UnboundedReceiver<WorkerEvent>,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
    engine: Option<tokio::task::JoinHandle<()>>,
}

impl Service {
    /// Open the store and start the worker on the current tokio runtime.
    pub fn start(cfg: ServiceConfig) -> Result<Service, crate::store::StoreError> {
        let opts = StoreOptions { read_only: cfg.read_only, ..StoreOptions::from(&cfg.config.store) };
        let store = Store::open(&cfg.config.db, opts)?;
        let (cmd_tx, cmd_rx) = mpsc::channel(256);
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = watch::channel(false);
        let job: Arc<Mutex<Option<Job>>> = Arc::default();
        let rt = tokio::runtime::Handle::current();
        let writable = !cfg.read_only && store.read_only_reason().is_none();
        let read_only_reason = store.read_only_reason().map(str::to_string);
        let engine = if writable {
            let estore = Store::open(&cfg.config.db, StoreOptions::from(&cfg.config.store))?;
            let engine = rt.spawn(run_engine(
                cfg.config.clone(),
                estore,
                cfg.genesys.clone(),
                stop_rx.clone(),
                ev_tx.clone(),
                job.clone(),
            ));
            // A panic in the engine (a bug) becomes a message on the screen, not silence; the
            // bulk job it was running ends (its entries stay queued for the next worker).
            let (events, watched) = (ev_tx.clone(), job.clone());
            Some(rt.spawn(async move {
                if let Err(e) = engine.await
                    && e.is_panic()
                {
                    let left = watched.lock().unwrap_or_else(|p| p.into_inner()).take();
                    if let Some(j) = left {
                        let _ = events.send(WorkerEvent::JobDone { progress: j.progress, cancelled: true });
                    }
                    let _ = events.send(WorkerEvent::EngineStopped(
                        "the retry engine stopped on an internal error (the log has it); browsing still works, \
                         restart redrive to resume retries"
                            .into(),
                    ));
                }
            }))
        } else {
            None
        };
        if let Some(client) = cfg.genesys.clone() {
            rt.spawn(budget_ticker(client, stop_rx.clone(), ev_tx.clone()));
        }
        let died = ev_tx.clone();
        let ctx = StoreThread {
            store,
            config: cfg.config,
            genesys: cfg.genesys,
            writable,
            events: ev_tx,
            job,
            polling: Arc::default(),
            rt,
        };
        let thread = std::thread::Builder::new()
            .name("redrive-store".into())
            .spawn(move || {
                // A panic here (a bug) would leave the screen waiting for answers that never
                // come: say so instead.
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ctx.run(cmd_rx))).is_err() {
                    let _ = died.send(WorkerEvent::EngineStopped(
                        "the console's store worker stopped on an internal error (the log has it); \
                         restart redrive"
                            .into(),
                    ));
                }
            })
            .expect("spawn the store thread");
        Ok(Service {
            commands: cmd_tx,
            read_only_reason,
            events: ev_rx,
            stop: stop_tx,
            thread: Some(thread),
            engine,
        })
    }

    /// Stop the engine (calls in flight finish or are released) and the store thread.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let _ = self.commands.send(Command::Shutdown).await;
        if let Some(e) = self.engine.take() {
            let _ = e.await;
        }
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

/// The bulk job the console is watching: the entries queued, and those not attempted yet.
struct Job {
    remaining: HashSet<EntryId>,
    progress: Progress,
    /// (when, entries done) about every 100 ms over the last two seconds: the rate and ETA
    /// come from this recent window, not from the average since the start (a job whose first
    /// half went direct and fast and whose rest waits for the API budget is not a second from
    /// done).
    samples: std::collections::VecDeque<(Instant, u64)>,
}

impl Job {
    const WINDOW: Duration = Duration::from_secs(2);

    fn new() -> Job {
        Job {
            remaining: HashSet::new(),
            progress: Progress::default(),
            samples: std::collections::VecDeque::from([(Instant::now(), 0)]),
        }
    }

    /// Note an entry done at `now`, and update the rate and ETA.
    fn moved(&mut self, now: Instant) {
        let done = self.progress.done();
        if self.samples.back().is_none_or(|(t, _)| now.duration_since(*t) >= Duration::from_millis(100)) {
            self.samples.push_back((now, done));
        }
        while self.samples.len() > 2 && self.samples[1].0 + Self::WINDOW <= now {
            self.samples.pop_front();
        }
        let (t0, d0) = self.samples[0];
        let secs = now.duration_since(t0).as_secs_f64().max(0.001);
        self.progress.rate = done.saturating_sub(d0) as f64 / secs;
        let left = self.progress.total.saturating_sub(done);
        self.progress.eta_secs = (self.progress.rate > 0.0).then(|| left as f64 / self.progress.rate);
    }
}

struct StoreThread {
    store: Store,
    config: Config,
    genesys: Option<Arc<Client>>,
    writable: bool,
    events: mpsc::UnboundedSender<WorkerEvent>,
    job: Arc<Mutex<Option<Job>>>,
    polling: Arc<std::sync::atomic::AtomicBool>,
    rt: tokio::runtime::Handle,
}

/// Whether `later` makes `earlier` pointless to answer (the screen only wants the newest).
fn supersedes(later: &Command, earlier: &Command) -> bool {
    matches!(
        (earlier, later),
        (Command::Refresh, Command::Refresh)
            | (Command::Page { .. }, Command::Page { .. })
            | (Command::Failures { .. }, Command::Failures { .. })
            | (Command::Detail { .. }, Command::Detail { .. })
    )
}

impl StoreThread {
    fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        while let Some(first) = rx.blocking_recv() {
            let mut batch = vec![first];
            while let Ok(c) = rx.try_recv() {
                batch.push(c);
            }
            let n = batch.len();
            for i in 0..n {
                if batch[i + 1..].iter().any(|l| supersedes(l, &batch[i])) {
                    continue;
                }
                if batch[i] == Command::Shutdown {
                    return;
                }
                let cmd = batch[i].clone();
                if let Err(e) = self.handle(cmd) {
                    self.send(WorkerEvent::Error(sanitize(&e).into_owned()));
                }
            }
        }
    }

    fn send(&self, e: WorkerEvent) {
        let _ = self.events.send(e);
    }

    fn need_write(&self, what: &str) -> Result<(), String> {
        if self.writable { Ok(()) } else { Err(format!("read-only: cannot {what}")) }
    }

    fn handle(&mut self, cmd: Command) -> Result<(), String> {
        let e = |e: crate::store::StoreError| e.to_string();
        match cmd {
            Command::Refresh => {
                let webhooks = self.store.webhook_summaries(Histogram::day(now_ms())).map_err(e)?;
                let webhooks = webhooks.into_iter().map(clean_summary).collect();
                let totals = self.store.counts_by_state().map_err(e)?.into_iter().collect();
                self.send(WorkerEvent::Overview { webhooks, totals });
            }
            Command::Page { seq, filter, offset, limit, total } => {
                let total = match total {
                    Some(t) => t,
                    None => self.store.count(&filter).map_err(e)?,
                };
                let rows = self.store.list_at(&filter, offset, limit, total).map_err(e)?;
                let rows = rows.iter().map(row).collect();
                self.send(WorkerEvent::Page { seq, offset, rows, total });
            }
            Command::Failures { webhook } => {
                let f = Filter { webhook: Some(webhook.clone()), ..Default::default() };
                let rows = self.store.list(&f, crate::store::Order::NewestFirst, None, 200).map_err(e)?;
                let mut rows: Vec<Row> = rows.iter().filter(|r| r.webhook_id == webhook).map(row).collect();
                rows.sort_by_key(|r| std::cmp::Reverse((r.failed_at, r.id)));
                self.send(WorkerEvent::Failures { webhook, rows });
            }
            Command::Detail { id } => {
                let d = self.detail(id).map_err(e)?;
                self.send(WorkerEvent::Detail(Box::new(d)));
            }
            Command::SyncWebhooks => self.spawn_genesys(false)?,
            Command::Poll => {
                self.need_write("poll")?;
                self.spawn_genesys(true)?
            }
            Command::Retry { selection, force } => {
                self.need_write("retry")?;
                let report =
                    self.store.retry_now(&selection, force, &self.config.operator, now_ms()).map_err(e)?;
                let skipped: u64 = report.skipped.values().sum();
                let mut guard = self.job.lock().expect("job lock");
                let job = guard.get_or_insert_with(Job::new);
                job.remaining.extend(report.ids.iter().copied());
                job.progress.total += report.changed;
                let total = job.progress.total;
                if job.remaining.is_empty() {
                    *guard = None;
                }
                drop(guard);
                self.send(WorkerEvent::JobStarted { total, skipped, label: format!("retry {total}") });
                if skipped > 0 {
                    let why: Vec<String> =
                        report.skipped.iter().map(|(why, n)| format!("{n} {why}")).collect();
                    self.send(WorkerEvent::Info(format!("skipped {}", why.join(", "))));
                }
                self.send(WorkerEvent::Changed);
            }
            Command::Discard { selection } => {
                self.need_write("discard")?;
                let report = self.store.discard(&selection, &self.config.operator, now_ms()).map_err(e)?;
                let skipped: u64 = report.skipped.values().sum();
                self.send(WorkerEvent::Info(if skipped > 0 {
                    format!("discarded {} (skipped {skipped})", report.changed)
                } else {
                    format!("discarded {}", report.changed)
                }));
                self.send(WorkerEvent::Changed);
            }
            Command::CancelJob => {
                let job = self.job.lock().expect("job lock").take();
                let Some(job) = job else {
                    self.send(WorkerEvent::Info("no bulk job is running".into()));
                    return Ok(());
                };
                let ids: Vec<EntryId> = job.remaining.into_iter().collect();
                let held = self.store.hold(&ids, &self.config.operator, now_ms()).map_err(e)?;
                self.send(WorkerEvent::JobDone { progress: job.progress, cancelled: true });
                self.send(WorkerEvent::Info(format!("cancelled: {held} entries held again")));
                self.send(WorkerEvent::Changed);
            }
            Command::SavePayload { id } => {
                let path = self.write_payload(id, "payload")?;
                self.send(WorkerEvent::Info(format!("payload of #{id} saved to {}", path.display())));
            }
            Command::PrepareEdit { id } => {
                self.need_write("retry an edited copy")?;
                let path = self.write_payload(id, "edit")?;
                self.send(WorkerEvent::EditReady { id, path });
            }
            Command::RetryEdited { id, path } => {
                self.need_write("retry an edited copy")?;
                let body =
                    std::fs::read(&path).map_err(|err| format!("reading {}: {err}", path.display()))?;
                let new_id =
                    self.store.queue_edited_copy(id, &body, &self.config.operator, now_ms()).map_err(e)?;
                let _ = std::fs::remove_file(&path);
                self.send(WorkerEvent::Info(format!("edited copy of #{id} queued as #{new_id}")));
                self.send(WorkerEvent::Changed);
            }
            Command::Shutdown => {}
        }
        Ok(())
    }

    fn write_payload(&self, id: EntryId, what: &str) -> Result<PathBuf, String> {
        let payload = self.store.payload(id).map_err(|e| e.to_string())?;
        let entry = self.store.get(id).map_err(|e| e.to_string())?;
        let ext = if entry.content_type.as_deref().is_some_and(|c| c.contains("json"))
            || serde_json::from_slice::<serde_json::Value>(&payload).is_ok()
        {
            "json"
        } else {
            "txt"
        };
        let path = std::env::temp_dir().join(format!("redrive-{what}-{id}-{}.{ext}", std::process::id()));
        write_private(&path, &payload).map_err(|err| format!("writing {}: {err}", path.display()))?;
        Ok(path)
    }

    fn detail(&self, id: EntryId) -> crate::store::Result<Detail> {
        let entry = self.store.get(id)?;
        let payload = self.store.payload(id)?;
        let attempts = self.store.attempts(id)?;
        let exec = self.store.execution_data(id)?;
        let mut headers = vec![
            (
                "Content-Type".to_string(),
                entry.content_type.clone().unwrap_or_else(|| "application/json".into()),
            ),
            ("Idempotency-Key".to_string(), id.to_string()),
            ("webhook-id".to_string(), id.to_string()),
            ("X-Redrive-Attempt".to_string(), (entry.attempts + 1).to_string()),
        ];
        if let Some(w) = self.config.webhooks.get(&entry.webhook_id) {
            for (name, _) in &w.headers {
                headers.push((sanitize(name).into_owned(), "***".into()));
            }
            if w.signing_secret.is_some() && w.mode == Some(ReplayMode::Direct) {
                headers.push(("webhook-signature".into(), "v1,*** (signed at send)".into()));
            }
        }
        let mut attempts = attempts;
        for a in &mut attempts {
            a.error = a.error.as_deref().map(|s| sanitize(s).into_owned());
            a.response_snippet = a.response_snippet.as_deref().map(|s| sanitize(s).into_owned());
        }
        Ok(Detail {
            row: row(&entry),
            source_id: sanitize(&entry.source_id).into_owned(),
            content_type: entry.content_type.as_deref().map(|s| sanitize(s).into_owned()),
            payload_size: entry.payload_size,
            payload_note: entry.payload_unavailable.as_deref().map(|s| sanitize(s).into_owned()),
            payload: pretty_payload(&payload),
            headers,
            attempts,
            execution_data: exec.map(|d| pretty_payload(&d)),
        })
    }

    /// Poll (or only list webhooks) in a task of its own, one at a time.
    fn spawn_genesys(&self, full: bool) -> Result<(), String> {
        use std::sync::atomic::Ordering;
        let Some(client) = self.genesys.clone() else {
            return Err("Genesys is not configured: polling is unavailable".into());
        };
        if self.polling.swap(true, Ordering::SeqCst) {
            return Err("a poll is already running".into());
        }
        let polling = self.polling.clone();
        let events = self.events.clone();
        let config = self.config.clone();
        let writable = self.writable;
        self.rt.spawn(async move {
            let result = async {
                let mut store = Store::open(
                    &config.db,
                    StoreOptions { read_only: !writable, ..StoreOptions::from(&config.store) },
                )
                .map_err(|e| e.to_string())?;
                if !full {
                    let actions = client.list_actions().await.map_err(|e| e.to_string())?;
                    let hooks: Vec<_> = actions.iter().map(webhook_of).collect();
                    if writable {
                        store.upsert_webhooks(&hooks, now_ms()).map_err(|e| e.to_string())?;
                    }
                    return Ok(None);
                }
                let _ = events.send(WorkerEvent::PollStarted);
                let opts = PollOptions {
                    lookback: config.genesys.lookback,
                    auto_retry: false,
                    ..Default::default()
                };
                let s =
                    poll(&client, &mut store, &opts, now_ms(), |_| {}).await.map_err(|e| e.to_string())?;
                let mut text = format!("{} failures found, {} new", s.failures_found, s.new);
                if s.without_payload > 0 {
                    text.push_str(&format!(", {} without payload", s.without_payload));
                }
                Ok::<_, String>(Some(text))
            }
            .await;
            polling.store(false, Ordering::SeqCst);
            let health = result.as_ref().err().map(|e| sanitize(e).into_owned());
            let _ = events.send(WorkerEvent::GenesysHealth(health));
            match result {
                Ok(Some(summary)) => {
                    let _ = events.send(WorkerEvent::PollDone { at: now_ms(), summary });
                }
                Ok(None) => {}
                Err(e) if full => {
                    let _ = events
                        .send(WorkerEvent::PollFailed { at: now_ms(), error: sanitize(&e).into_owned() });
                }
                Err(e) => {
                    let _ = events.send(WorkerEvent::Error(format!("listing webhooks: {}", sanitize(&e))));
                }
            }
            let _ = events.send(WorkerEvent::Changed);
        });
        Ok(())
    }
}

/// A file only its owner can read (payloads may hold personal data).
fn write_private(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)?.write_all(data)
}

fn clean_summary(mut w: WebhookSummary) -> WebhookSummary {
    let s = |v: &mut String| {
        if let std::borrow::Cow::Owned(o) = sanitize(v) {
            *v = o;
        }
    };
    s(&mut w.id);
    s(&mut w.name);
    for o in [&mut w.method, &mut w.url, &mut w.paused_reason, &mut w.last_error].into_iter().flatten() {
        s(o);
    }
    w
}

fn row(e: &crate::store::Entry) -> Row {
    let error = e.error.as_deref().unwrap_or("");
    let last_error = (e.attempts > 0)
        .then(|| truncate(&sanitize(e.last_error.as_deref().unwrap_or("")), 300).into_owned());
    Row {
        last_error,
        id: e.id,
        webhook_id: sanitize(&e.webhook_id).into_owned(),
        state: e.state,
        attempts: e.attempts,
        next_attempt_at: e.next_attempt_at,
        status: e.last_status.or(e.status_code),
        failure_status: e.status_code,
        error: truncate(&sanitize(error), 300).into_owned(),
        failed_at: e.failed_at,
        replayable: e.payload_unavailable.is_none(),
        source_kind: sanitize(&e.source_kind).into_owned(),
    }
}

async fn budget_ticker(
    client: Arc<Client>,
    mut stop: watch::Receiver<bool>,
    events: mpsc::UnboundedSender<WorkerEvent>,
) {
    let mut last = None;
    loop {
        let b = client.budget();
        if last != Some(b) {
            last = Some(b);
            if events.send(WorkerEvent::Budget { remaining: b.0, limit: b.1 }).is_err() {
                return;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// What the engine has done since the ticker last looked.
#[derive(Default)]
struct Activity {
    attempts: AtomicU64,
    changed: AtomicBool,
}

/// Reports on a clock, not per outcome (trailing edge: a burst of outcomes followed by a quiet
/// spell still reaches the screen): every 100 ms the bulk job's progress if it moved; every
/// 500 ms `Changed` if outcomes were stored, and the engine's rate over those 500 ms (sent when
/// it changes, so it drops to 0 when the engine rests).
async fn activity_ticker(
    activity: Arc<Activity>,
    job: Arc<Mutex<Option<Job>>>,
    mut stop: watch::Receiver<bool>,
    events: mpsc::UnboundedSender<WorkerEvent>,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut ticks, mut job_sent, mut rate_sent) = (0u64, None::<u64>, None::<u64>);
    let mut last = (Instant::now(), 0u64);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        ticks += 1;
        let mut out = Vec::new();
        if let Some(j) = job.lock().expect("job lock").as_ref() {
            let done = j.progress.done();
            if job_sent != Some(done) {
                job_sent = Some(done);
                out.push(WorkerEvent::JobProgress(j.progress.clone()));
            }
        } else {
            job_sent = None;
        }
        if ticks % 5 == 0 && activity.changed.swap(false, Ordering::Relaxed) {
            out.push(WorkerEvent::Changed);
        }
        if ticks % 5 == 0 {
            let now = Instant::now();
            let attempts = activity.attempts.load(Ordering::Relaxed);
            let rate = (attempts - last.1) as f64 / now.duration_since(last.0).as_secs_f64();
            last = (now, attempts);
            if rate_sent != Some(rate.round() as u64) {
                rate_sent = Some(rate.round() as u64);
                out.push(WorkerEvent::Engine { rate, attempts });
            }
        }
        for ev in out {
            if events.send(ev).is_err() {
                return;
            }
        }
    }
}

/// The retry engine, forever, telling the console about the bulk job it watches.
async fn run_engine(
    config: Config,
    store: Store,
    genesys: Option<Arc<Client>>,
    stop: watch::Receiver<bool>,
    events: mpsc::UnboundedSender<WorkerEvent>,
    job: Arc<Mutex<Option<Job>>>,
) {
    let has_genesys = genesys.is_some();
    let sender = Arc::new(Sender::new(config.retry.timeout, genesys));
    let routes = Routes::new(&config.retry, config.webhooks.clone(), has_genesys);
    // Quitting the console should not take a call timeout: calls still out after a few seconds
    // are cut off and their leases released (their entries are retried later, at least once).
    let cfg = EngineConfig { stop_grace: Duration::from_secs(3), ..EngineConfig::new(config.retry.clone()) };
    let mut engine = Engine::new(store, cfg, sender, routes);
    // What the engine did is reported by a ticker (trailing edge): a burst of outcomes just
    // after a report, followed by a quiet spell, must still reach the screen, and the rate must
    // fall to zero when nothing happens.
    let activity = Arc::new(Activity::default());
    tokio::spawn(activity_ticker(activity.clone(), job.clone(), stop.clone(), events.clone()));
    let result = engine
        .run(RunMode::Forever, stop, |ev| match ev {
            Event::Attempted { id, outcome, .. } => {
                activity.attempts.fetch_add(1, Ordering::Relaxed);
                activity.changed.store(true, Ordering::Relaxed);
                let mut guard = job.lock().expect("job lock");
                if let Some(j) = guard.as_mut()
                    && outcome != AttemptOutcome::LeaseLost
                    && j.remaining.remove(&id)
                {
                    match outcome {
                        AttemptOutcome::Delivered => j.progress.delivered += 1,
                        AttemptOutcome::RetryAt(_) => j.progress.rescheduled += 1,
                        AttemptOutcome::Dead => j.progress.dead += 1,
                        AttemptOutcome::LeaseLost => {}
                    }
                    j.progress.attempts += 1;
                    j.moved(Instant::now());
                    if j.remaining.is_empty() {
                        let progress = j.progress.clone();
                        *guard = None;
                        let _ = events.send(WorkerEvent::JobDone { progress, cancelled: false });
                        let _ = events.send(WorkerEvent::Changed);
                    }
                }
            }
            Event::Held { id, .. } => {
                let mut guard = job.lock().expect("job lock");
                if let Some(j) = guard.as_mut()
                    && j.remaining.remove(&id)
                {
                    j.progress.held += 1;
                    if j.remaining.is_empty() {
                        let progress = j.progress.clone();
                        *guard = None;
                        let _ = events.send(WorkerEvent::JobDone { progress, cancelled: false });
                    }
                }
            }
            Event::Breaker { target, state } => {
                let _ = events.send(WorkerEvent::Breaker { target: sanitize(&target).into_owned(), state });
            }
            Event::Paused { webhook, reason } => {
                let _ = events.send(WorkerEvent::Info(format!(
                    "paused webhook {}: {}",
                    sanitize(&webhook),
                    truncate(&sanitize(&reason), 120)
                )));
                let _ = events.send(WorkerEvent::Changed);
            }
            Event::Progress(_) => {}
        })
        .await;
    if let Err(e) = result {
        let _ = events
            .send(WorkerEvent::Error(format!("the retry engine stopped: {}", sanitize(&e.to_string()))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jobs_rate_and_eta_come_from_the_last_seconds_not_the_start() {
        let t0 = Instant::now();
        let mut j = Job::new();
        j.samples = std::collections::VecDeque::from([(t0, 0)]);
        j.progress.total = 200;
        // 100 entries in the first second (direct targets)...
        for i in 1..=100u64 {
            j.progress.delivered = i;
            j.moved(t0 + Duration::from_millis(10 * i));
        }
        assert!(j.progress.rate > 80.0, "{}", j.progress.rate);
        // ...then one more after 20 s (the rest waits for the API budget).
        j.progress.delivered = 101;
        j.moved(t0 + Duration::from_secs(20));
        assert!(j.progress.rate < 0.1, "{}", j.progress.rate);
        assert!(j.progress.eta_secs.unwrap() > 600.0, "{:?}", j.progress.eta_secs);
    }
}
