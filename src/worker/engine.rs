//! The retry engine: claim due entries with a lease, send each through its route within the
//! limiter's bounds, classify what came back, and record the outcomes in small group commits.
//! Leases are renewed while calls are in flight and expired ones reclaimed, so a worker that
//! dies loses nothing: its entries return to `pending` when their leases run out.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::routes::Routes;
use crate::config::RetryConfig;
use crate::retry::limiter::{BreakerChange, BreakerConfig, Limiter, PREFETCH};
use crate::retry::policy::{self, Policy};
use crate::retry::sender::{Replay, Route, Sender, Sent};
use crate::store::{
    Attempt, AttemptClass, ClaimFilter, Disposition, Entry, EntryId, Outcome, Store, StoreError,
};
use crate::time::{Millis, now_ms};

/// What a run is for.
#[derive(Clone, Debug)]
pub enum RunMode {
    /// Until stopped (`redrive worker`).
    Forever,
    /// Until nothing is due and nothing is in flight (`redrive worker --once`).
    Drain,
    /// One attempt for each of these entries, then stop (`redrive retry`).
    Job(Vec<EntryId>),
}

/// What the engine tells whoever watches it.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Attempted {
        id: EntryId,
        webhook: String,
        class: AttemptClass,
        status: Option<u16>,
        outcome: AttemptOutcome,
    },
    Progress(Progress),
    Breaker {
        target: String,
        state: crate::retry::limiter::BreakerState,
    },
    Paused {
        webhook: String,
        reason: String,
    },
    Held {
        id: EntryId,
        reason: String,
    },
}

/// Where an attempted entry went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    Delivered,
    RetryAt(Millis),
    Dead,
    /// The lease ran out before the answer came; another worker may have the entry.
    LeaseLost,
}

/// A run's counts so far (a bulk job's progress).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Progress {
    /// Entries the job covers (0 outside a job).
    pub total: u64,
    pub attempts: u64,
    pub delivered: u64,
    pub rescheduled: u64,
    pub dead: u64,
    /// Held for an operator: no route to send them by.
    pub held: u64,
    /// Attempts per second since the run started.
    pub rate: f64,
    /// Seconds left at that rate (a job only).
    pub eta_secs: Option<f64>,
}

impl Progress {
    pub fn done(&self) -> u64 {
        self.delivered + self.rescheduled + self.dead + self.held
    }
}

/// How a run ended.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunReport {
    pub progress: Progress,
    /// Job entries not attempted (their target's breaker stayed open, their webhook is paused,
    /// or the run was stopped).
    pub not_attempted: Vec<EntryId>,
    /// Leases given back at a stop (calls cut off before they answered).
    pub released: u64,
    pub stopped: bool,
    /// Turns of the engine's loop (a diagnostic: an idle engine must not spin).
    #[serde(skip)]
    pub turns: u64,
}

#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Who holds the leases (unique per process).
    pub owner: String,
    pub retry: RetryConfig,
    /// How often to look for due entries when idle.
    pub claim_interval: Duration,
    /// Outcomes are committed together at least this often.
    pub commit_interval: Duration,
    /// …or as soon as this many are waiting.
    pub commit_batch: usize,
    /// How long a stop waits for calls in flight before cutting them off.
    pub stop_grace: Duration,
}

impl EngineConfig {
    pub fn new(retry: RetryConfig) -> EngineConfig {
        let stop_grace = retry.timeout + Duration::from_secs(2);
        EngineConfig {
            owner: worker_id(),
            retry,
            claim_interval: Duration::from_millis(200),
            commit_interval: Duration::from_millis(20),
            commit_batch: 256,
            stop_grace,
        }
    }
}

/// `host:pid:random`, unique enough to tell workers apart in leases.
pub fn worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    format!(
        "{}:{}:{:06x}",
        if host.is_empty() { "host" } else { &host },
        std::process::id(),
        rand::random::<u32>() & 0xff_ffff
    )
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the event for a recorded outcome needs: webhook, class, status.
type OutcomeMeta = (String, AttemptClass, Option<u16>);

struct InFlight {
    webhook: String,
    round_attempts: u32,
    policy: Policy,
}

struct Done {
    id: EntryId,
    started_at: Millis,
    /// `None`: not sent (the target became blocked while the call waited for a slot).
    sent: Option<Sent>,
    probe: bool,
    /// The slots of a call that did not succeed, freed only once the engine has taken in its
    /// result: the next call waiting for the target must see a breaker or a pause this result
    /// causes. (A success gives its slots back as soon as it answers.)
    slots: Option<crate::retry::limiter::Slots>,
}

pub struct Engine {
    store: Store,
    cfg: EngineConfig,
    sender: Arc<Sender>,
    limiter: Limiter,
    routes: Routes,
    webhooks: HashMap<String, crate::store::Webhook>,
    /// Webhook ids entries name that the store does not know (looked up once).
    unknown_webhooks: HashSet<String>,
    in_flight: HashMap<EntryId, InFlight>,
    tasks: JoinSet<Done>,
    outcomes: Vec<(Outcome, String, AttemptClass, Option<u16>)>,
    progress: Progress,
    started: Instant,
}

impl Engine {
    pub fn new(store: Store, cfg: EngineConfig, sender: Arc<Sender>, routes: Routes) -> Engine {
        let r = &cfg.retry;
        let mut limiter = Limiter::new(
            r.concurrency,
            r.per_target_concurrency,
            r.per_target_rate,
            BreakerConfig { threshold: r.breaker_threshold, cooldown: r.breaker_cooldown },
        );
        for (id, w) in routes.configured() {
            limiter.set_target_limits(id, w.concurrency, w.rate);
        }
        Engine {
            store,
            cfg,
            sender,
            limiter,
            routes,
            webhooks: HashMap::new(),
            unknown_webhooks: HashSet::new(),
            in_flight: HashMap::new(),
            tasks: JoinSet::new(),
            outcomes: Vec::new(),
            progress: Progress::default(),
            started: Instant::now(),
        }
    }

    pub fn owner(&self) -> &str {
        &self.cfg.owner
    }

    /// Run until `mode` is satisfied or `stop` turns true. `on_event` sees every outcome,
    /// breaker change and progress.
    pub async fn run(
        &mut self,
        mode: RunMode,
        mut stop: watch::Receiver<bool>,
        mut on_event: impl FnMut(Event),
    ) -> Result<RunReport, EngineError> {
        self.started = Instant::now();
        self.progress = Progress::default();
        let mut job: Option<HashSet<EntryId>> = match &mode {
            RunMode::Job(ids) => Some(ids.iter().copied().collect()),
            _ => None,
        };
        if let Some(j) = &job {
            self.progress.total = j.len() as u64;
        }
        let reclaimed = self.store.expire_leases(now_ms())?;
        if reclaimed > 0 {
            tracing::info!(reclaimed, "returned expired leases to pending");
        }
        self.refresh_webhooks()?;
        let lease = self.cfg.retry.lease;
        let mut next_claim = Instant::now();
        let mut next_renew = Instant::now() + lease / 3;
        // Expired leases (a dead worker's entries) are looked for at least every second, so
        // they are retried within a second of running out.
        let expire_every = (lease / 2).min(Duration::from_secs(1));
        let mut next_expire = Instant::now() + expire_every;
        let mut commit_due: Option<Instant> = None;
        let mut stopping: Option<Instant> = None;
        let mut idle = false;
        let mut report = RunReport::default();
        // One timer and one stop future for the whole run, not one per turn of the loop: at
        // tens of thousands of calls a second their setup and teardown showed in profiles.
        let sleep = tokio::time::sleep_until(Instant::now());
        tokio::pin!(sleep);
        let stop_signal = async {
            loop {
                if stop.changed().await.is_err() || *stop.borrow() {
                    return;
                }
            }
        };
        tokio::pin!(stop_signal);
        let mut turns = 0u64;
        loop {
            turns += 1;
            let now = Instant::now();
            if stopping.is_none() && now >= next_claim {
                let claimed = self.claim(job.as_ref(), &mut on_event)?;
                idle = claimed == 0;
                next_claim = if claimed > 0 && self.in_flight.len() < PREFETCH * self.cfg.retry.concurrency {
                    now
                } else {
                    now + self.cfg.claim_interval
                };
            }
            if !self.outcomes.is_empty()
                && (self.outcomes.len() >= self.cfg.commit_batch || commit_due.is_some_and(|d| now >= d))
            {
                self.commit(job.as_mut(), &mut on_event)?;
                commit_due = None;
            }
            if now >= next_renew {
                if !self.in_flight.is_empty() {
                    let ids: Vec<EntryId> = self.in_flight.keys().copied().collect();
                    self.store.renew_leases(&self.cfg.owner, &ids, now_ms() + lease.as_millis() as i64)?;
                }
                // Moved on even with nothing to renew: a renewal time in the past would wake
                // the loop at once, over and over, while the worker is idle.
                next_renew = now + lease / 3;
            }
            if now >= next_expire {
                self.store.expire_leases(now_ms())?;
                next_expire = now + expire_every;
            }
            // Finished?
            let quiet = self.in_flight.is_empty() && self.outcomes.is_empty();
            match (&mode, stopping) {
                (_, Some(deadline)) if quiet || now >= deadline => break,
                (RunMode::Drain, None) if quiet && idle => break,
                (RunMode::Job(_), None) if quiet && (idle || job.as_ref().is_some_and(|j| j.is_empty())) => {
                    break;
                }
                _ => {}
            }
            if self.outcomes.is_empty() {
                commit_due = None;
            }
            // While stopping nothing is claimed: the claim time must not wake the loop (it
            // would spin until the calls still out come back).
            let claim_wake = if stopping.is_none() { Some(next_claim) } else { None };
            let wake = [claim_wake, commit_due, Some(next_renew), Some(next_expire), stopping]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(now + self.cfg.claim_interval);
            if sleep.deadline() != wake {
                sleep.as_mut().reset(wake);
            }
            tokio::select! {
                biased;
                () = &mut stop_signal, if stopping.is_none() => {
                    tracing::info!(in_flight = self.in_flight.len(), "stopping: no more claims");
                    stopping = Some(Instant::now() + self.cfg.stop_grace);
                    report.stopped = true;
                }
                Some(joined) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    // Take every call that has finished, not one per turn of the loop.
                    let mut joined = Some(joined);
                    let mut n = 0;
                    while let Some(j) = joined.take() {
                        if let Ok(done) = j {
                            self.finish(done, &mut on_event)?;
                        }
                        n += 1;
                        if n < 256 {
                            joined = self.tasks.try_join_next();
                        }
                    }
                    let now = Instant::now();
                    commit_due.get_or_insert(now + self.cfg.commit_interval);
                    // A slot is free: look for more work at once.
                    next_claim = next_claim.min(now);
                }
                () = &mut sleep => {}
            }
        }
        report.turns = turns;
        // Calls still out at the deadline are cut off; their leases go back.
        if !self.tasks.is_empty() {
            self.tasks.abort_all();
            while self.tasks.join_next().await.is_some() {}
        }
        self.commit(job.as_mut(), &mut on_event)?;
        report.released = self.store.release_leases(&self.cfg.owner, now_ms())?;
        self.in_flight.clear();
        report.not_attempted = job
            .map(|j| {
                let mut v: Vec<_> = j.into_iter().collect();
                v.sort_unstable();
                v
            })
            .unwrap_or_default();
        self.update_rate();
        report.progress = self.progress.clone();
        on_event(Event::Progress(self.progress.clone()));
        Ok(report)
    }

    fn refresh_webhooks(&mut self) -> Result<(), EngineError> {
        self.webhooks = self.store.webhooks()?.into_iter().map(|w| (w.id.clone(), w)).collect();
        self.unknown_webhooks.clear();
        for (id, w) in &self.webhooks {
            self.limiter.set_paused(id, w.paused);
        }
        self.routes.refresh();
        Ok(())
    }

    /// Claim what the limiter allows and start sending it. Returns how many were started.
    fn claim(
        &mut self,
        job: Option<&HashSet<EntryId>>,
        on_event: &mut impl FnMut(Event),
    ) -> Result<usize, EngineError> {
        let (plan, changes) = self.limiter.plan(Instant::now());
        for c in changes {
            on_event(Event::Breaker { target: c.target, state: c.state });
        }
        // Claimed calls may wait for a slot (PREFETCH times the concurrency in all), so a slot
        // that frees is filled at once; claims come in batches of the concurrency, one
        // transaction each (per entry, a claim of 16 cost 8.8 µs and one of 128 5.9 µs).
        let capacity = (PREFETCH * self.cfg.retry.concurrency).saturating_sub(self.in_flight.len());
        let batch = self.cfg.retry.concurrency.max(1);
        if capacity == 0 || (capacity < batch && !self.in_flight.is_empty() && plan.probes.is_empty()) {
            return Ok(0);
        }
        let now = now_ms();
        let lease = self.cfg.retry.lease;
        // A job's claim looks at a window of its remaining ids (cheap however large the job),
        // and at all of them only for a breaker's probe or when the window yields nothing (its
        // targets may be paused or open).
        let limit = capacity * 4 + 64;
        let in_flight = &self.in_flight;
        let window: Option<Vec<EntryId>> =
            job.map(|j| j.iter().filter(|id| !in_flight.contains_key(id)).copied().take(limit).collect());
        if window.as_ref().is_some_and(|w| w.is_empty()) {
            return Ok(0);
        }
        let all =
            || job.map(|j| j.iter().filter(|id| !in_flight.contains_key(id)).copied().collect::<Vec<_>>());
        let mut claimed = Vec::new();
        for probe in &plan.probes {
            let filter =
                ClaimFilter { only_webhook: Some(probe.clone()), only_ids: all(), ..Default::default() };
            claimed.extend(self.store.claim_due_with_payloads(&self.cfg.owner, now, lease, 1, &filter)?);
        }
        let room = capacity.saturating_sub(claimed.len());
        if room > 0 {
            let truncated = window.as_ref().is_some_and(|w| w.len() == limit);
            let filter = ClaimFilter {
                exclude_webhooks: plan.exclude.clone(),
                only_ids: window,
                ..Default::default()
            };
            let mut got = self.store.claim_due_with_payloads(&self.cfg.owner, now, lease, room, &filter)?;
            if got.is_empty() && truncated {
                let filter = ClaimFilter {
                    exclude_webhooks: plan.exclude.clone(),
                    only_ids: all(),
                    ..Default::default()
                };
                got = self.store.claim_due_with_payloads(&self.cfg.owner, now, lease, room, &filter)?;
            }
            claimed.extend(got);
        }
        let unknown: Vec<String> = claimed
            .iter()
            .filter(|(e, _)| {
                !self.webhooks.contains_key(&e.webhook_id) && !self.unknown_webhooks.contains(&e.webhook_id)
            })
            .map(|(e, _)| e.webhook_id.clone())
            .collect();
        if !unknown.is_empty() {
            self.refresh_webhooks()?;
            self.unknown_webhooks.extend(unknown.into_iter().filter(|w| !self.webhooks.contains_key(w)));
        }
        // A claim may take more for one target than it may have in flight: hand the surplus
        // back at once rather than hold leases on calls that cannot start.
        let mut surplus = Vec::new();
        let mut started = 0;
        for (entry, payload) in claimed {
            if self.limiter.has_room(&entry.webhook_id) {
                self.start(entry, payload, on_event)?;
                started += 1;
            } else {
                surplus.push(entry.id);
            }
        }
        if !surplus.is_empty() {
            self.store.release_ids(&self.cfg.owner, &surplus)?;
        }
        Ok(started)
    }

    fn start(
        &mut self,
        entry: Entry,
        payload: Vec<u8>,
        on_event: &mut impl FnMut(Event),
    ) -> Result<(), EngineError> {
        let (route, policy) = match self.routes.resolve(&entry.webhook_id, &self.webhooks) {
            Ok(r) => r,
            Err(reason) => {
                self.store.hold_leased(&self.cfg.owner, &[entry.id], &reason, now_ms())?;
                self.progress.held += 1;
                on_event(Event::Held { id: entry.id, reason });
                return Ok(());
            }
        };
        let permits = self.limiter.start(&entry.webhook_id);
        self.in_flight.insert(
            entry.id,
            InFlight { webhook: entry.webhook_id.clone(), round_attempts: entry.round_attempts, policy },
        );
        let sender = self.sender.clone();
        let (id, attempt, content_type) = (entry.id, entry.attempts + 1, entry.content_type.clone());
        self.tasks.spawn(send(sender, route, permits, id, attempt, payload, content_type));
        Ok(())
    }

    fn finish(&mut self, mut done: Done, on_event: &mut impl FnMut(Event)) -> Result<(), EngineError> {
        let slots = done.slots.take();
        let r = self.take_result(done, on_event);
        drop(slots);
        r
    }

    fn take_result(&mut self, done: Done, on_event: &mut impl FnMut(Event)) -> Result<(), EngineError> {
        let Some(f) = self.in_flight.remove(&done.id) else { return Ok(()) };
        let Some(sent) = done.sent else {
            self.limiter.abandon(&f.webhook, done.probe);
            self.store.release_ids(&self.cfg.owner, &[done.id])?;
            return Ok(());
        };
        let class = policy::classify(&sent.result);
        let (status, retry_after) = match &sent.result {
            policy::Result::Status { code, retry_after, .. } => (Some(*code), *retry_after),
            policy::Result::Transport(_) => (None, None),
        };
        let now = now_ms();
        let disposition = policy::decide(
            &f.policy,
            class,
            f.round_attempts + 1,
            retry_after,
            now,
            rand::rng().random::<f64>(),
        );
        if class == AttemptClass::Gone {
            let reason = format!("target answered 410 Gone (entry {})", done.id);
            if self.store.set_webhook_paused(&f.webhook, true, Some(&reason), &self.cfg.owner, now)? {
                self.refresh_webhooks()?;
            } else {
                // Not known yet (an imported entry): record it so it can be paused.
                let hook = crate::store::Webhook::named(&f.webhook, &f.webhook, "config", now);
                self.store.upsert_webhooks(&[hook], now)?;
                self.store.set_webhook_paused(&f.webhook, true, Some(&reason), &self.cfg.owner, now)?;
                self.refresh_webhooks()?;
            }
            self.limiter.set_paused(&f.webhook, true);
            on_event(Event::Paused { webhook: f.webhook.clone(), reason });
        }
        if let Some(BreakerChange { target, state }) = self.limiter.finish(&f.webhook, class, Instant::now())
        {
            tracing::warn!(%target, ?state, "circuit breaker");
            on_event(Event::Breaker { target, state });
        }
        let attempt = Attempt {
            attempt: 0,
            started_at: done.started_at,
            duration_ms: sent.duration.as_millis() as u64,
            status_code: status,
            class,
            error: sent.error,
            response_snippet: sent.snippet,
        };
        self.outcomes.push((Outcome { id: done.id, attempt, disposition }, f.webhook, class, status));
        Ok(())
    }

    fn commit(
        &mut self,
        mut job: Option<&mut HashSet<EntryId>>,
        on_event: &mut impl FnMut(Event),
    ) -> Result<(), EngineError> {
        if self.outcomes.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.outcomes);
        let (outcomes, meta): (Vec<Outcome>, Vec<OutcomeMeta>) =
            batch.into_iter().map(|(o, w, c, s)| (o, (w, c, s))).unzip();
        let applied = self.store.record_outcomes(&self.cfg.owner, &outcomes, now_ms())?;
        for ((o, (webhook, class, status)), ok) in outcomes.into_iter().zip(meta).zip(applied) {
            self.progress.attempts += 1;
            if let Some(j) = job.as_deref_mut() {
                j.remove(&o.id);
            }
            let outcome = if !ok {
                AttemptOutcome::LeaseLost
            } else {
                match o.disposition {
                    Disposition::Delivered => {
                        self.progress.delivered += 1;
                        AttemptOutcome::Delivered
                    }
                    Disposition::RetryAt(t) => {
                        self.progress.rescheduled += 1;
                        AttemptOutcome::RetryAt(t)
                    }
                    Disposition::Dead => {
                        self.progress.dead += 1;
                        AttemptOutcome::Dead
                    }
                }
            };
            on_event(Event::Attempted { id: o.id, webhook, class, status, outcome });
        }
        self.update_rate();
        on_event(Event::Progress(self.progress.clone()));
        Ok(())
    }

    fn update_rate(&mut self) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        self.progress.rate = self.progress.attempts as f64 / secs;
        self.progress.eta_secs = (self.progress.total > 0 && self.progress.rate > 0.0)
            .then(|| self.progress.total.saturating_sub(self.progress.done()) as f64 / self.progress.rate);
    }
}

async fn send(
    sender: Arc<Sender>,
    route: Arc<Route>,
    permits: crate::retry::limiter::Permits,
    id: EntryId,
    attempt: u32,
    payload: Vec<u8>,
    content_type: Option<String>,
) -> Done {
    let probe = permits.probe;
    let Some(slots) = permits.acquire().await else {
        return Done { id, started_at: now_ms(), sent: None, probe, slots: None };
    };
    let started_at = now_ms();
    let sent = sender
        .send(
            &route,
            Replay { entry_id: id, attempt, payload: &payload, content_type: content_type.as_deref() },
        )
        .await;
    // A success cannot open a breaker or pause a webhook, so its slots go back at once:
    // held until the engine's loop takes the result in (it may be busy committing), they
    // left the target idle at high rates.
    let slots = (policy::classify(&sent.result) != AttemptClass::Success).then_some(slots);
    Done { id, started_at, sent: Some(sent), probe, slots }
}
