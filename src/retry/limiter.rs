//! How fast and how many: a global limit on replays in flight, a per-target limit and optional
//! rate, and a per-target circuit breaker that stops hammering a target that is down (it opens
//! after N consecutive retryable failures, lets one probe through after a cool-down, and
//! closes on a success). The worker owns one; send tasks hold its permits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::store::AttemptClass;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerConfig {
    pub threshold: u32,
    pub cooldown: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    /// Cool-down over: one probe may go.
    HalfOpen,
}

/// Paces calls to at most `rate` per second.
pub struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    pub fn new(rate: f64) -> Pacer {
        Pacer { interval: Duration::from_secs_f64(1.0 / rate.max(0.001)), next: Mutex::new(Instant::now()) }
    }

    pub async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().expect("pacer lock");
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// How many calls per slot may be claimed ahead (held under lease, waiting for a slot), so a
/// slot that frees is filled at once however busy the engine's loop is.
pub const PREFETCH: usize = 4;

struct Target {
    sem: Arc<Semaphore>,
    /// Set while nothing may be sent to the target (breaker open or half-open, or webhook
    /// paused): calls already claimed and waiting for a slot give their entries back.
    blocked: Arc<AtomicBool>,
    paused: bool,
    pacer: Option<Arc<Pacer>>,
    concurrency: usize,
    in_flight: usize,
    failures: u32,
    state: BreakerState,
    open_until: Option<Instant>,
    probing: bool,
}

/// A breaker changed state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakerChange {
    pub target: String,
    pub state: BreakerState,
}

pub struct Limiter {
    global: Arc<Semaphore>,
    default_concurrency: usize,
    default_rate: Option<f64>,
    breaker: BreakerConfig,
    targets: HashMap<String, Target>,
    overrides: HashMap<String, (Option<usize>, Option<f64>)>,
}

/// What the worker may claim now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClaimPlan {
    /// Targets not to claim for (breaker open, or as many in flight as allowed).
    pub exclude: Vec<String>,
    /// Targets whose breaker allows exactly one probe now.
    pub probes: Vec<String>,
    /// Free global slots.
    pub capacity: usize,
}

impl Limiter {
    pub fn new(global: usize, per_target: usize, rate: Option<f64>, breaker: BreakerConfig) -> Limiter {
        Limiter {
            global: Arc::new(Semaphore::new(global.max(1))),
            default_concurrency: per_target.max(1),
            default_rate: rate,
            breaker,
            targets: HashMap::new(),
            overrides: HashMap::new(),
        }
    }

    /// Per-target concurrency and rate for one webhook.
    pub fn set_target_limits(&mut self, target: &str, concurrency: Option<usize>, rate: Option<f64>) {
        self.overrides.insert(target.to_string(), (concurrency, rate));
    }

    fn target(&mut self, name: &str) -> &mut Target {
        let (c, r) = self.overrides.get(name).copied().unwrap_or((None, None));
        let concurrency = c.unwrap_or(self.default_concurrency).max(1);
        let rate = r.or(self.default_rate);
        self.targets.entry(name.to_string()).or_insert_with(|| Target {
            sem: Arc::new(Semaphore::new(concurrency)),
            blocked: Arc::new(AtomicBool::new(false)),
            paused: false,
            pacer: rate.map(|r| Arc::new(Pacer::new(r))),
            concurrency,
            in_flight: 0,
            failures: 0,
            state: BreakerState::Closed,
            open_until: None,
            probing: false,
        })
    }

    /// Move open breakers whose cool-down is over to half-open, and say what may be claimed.
    pub fn plan(&mut self, now: Instant) -> (ClaimPlan, Vec<BreakerChange>) {
        let mut plan = ClaimPlan { capacity: self.global.available_permits(), ..Default::default() };
        let mut changes = Vec::new();
        for (name, t) in &mut self.targets {
            if t.state == BreakerState::Open && t.open_until.is_some_and(|u| now >= u) {
                // Still blocked: only the probe, claimed on its own, goes through.
                t.state = BreakerState::HalfOpen;
                t.probing = false;
                changes.push(BreakerChange { target: name.clone(), state: BreakerState::HalfOpen });
            }
            let prefetch = PREFETCH * t.concurrency;
            match t.state {
                BreakerState::Open => plan.exclude.push(name.clone()),
                BreakerState::HalfOpen => {
                    plan.exclude.push(name.clone());
                    if !t.probing && t.in_flight == 0 {
                        plan.probes.push(name.clone());
                    }
                }
                BreakerState::Closed if t.in_flight >= prefetch => plan.exclude.push(name.clone()),
                BreakerState::Closed => {}
            }
        }
        plan.exclude.sort();
        plan.probes.sort();
        (plan, changes)
    }

    /// Whether `target` may take one more claimed call: [`PREFETCH`] times as many as may be in
    /// flight at once, so a slot that frees is filled at once.
    pub fn has_room(&mut self, target: &str) -> bool {
        let t = self.target(target);
        t.in_flight < PREFETCH * t.concurrency
    }

    /// A webhook was paused or resumed: its waiting calls give their entries back while paused.
    pub fn set_paused(&mut self, target: &str, paused: bool) {
        let t = self.target(target);
        t.paused = paused;
        t.blocked.store(paused || t.state != BreakerState::Closed, Ordering::SeqCst);
    }

    /// An entry for `target` was claimed: the permits its send task must hold.
    pub fn start(&mut self, target: &str) -> Permits {
        let global = self.global.clone();
        let t = self.target(target);
        t.in_flight += 1;
        let probe = t.state == BreakerState::HalfOpen && !t.probing;
        if probe {
            t.probing = true;
        }
        Permits { global, target: t.sem.clone(), pacer: t.pacer.clone(), blocked: t.blocked.clone(), probe }
    }

    /// An attempt for `target` ended with `class`.
    pub fn finish(&mut self, target: &str, class: AttemptClass, now: Instant) -> Option<BreakerChange> {
        let cfg = self.breaker;
        let t = self.target(target);
        t.in_flight = t.in_flight.saturating_sub(1);
        let before = t.state;
        match class {
            AttemptClass::Retryable => {
                t.failures += 1;
                if t.state == BreakerState::HalfOpen || t.failures >= cfg.threshold {
                    t.state = BreakerState::Open;
                    t.open_until = Some(now + cfg.cooldown);
                    t.probing = false;
                }
            }
            // The target answered: it is up (a permanent error is about the request).
            AttemptClass::Success | AttemptClass::Permanent | AttemptClass::Gone => {
                t.failures = 0;
                t.state = BreakerState::Closed;
                t.open_until = None;
                t.probing = false;
            }
        }
        t.blocked.store(t.paused || t.state != BreakerState::Closed, Ordering::SeqCst);
        (t.state != before).then(|| BreakerChange { target: target.to_string(), state: t.state })
    }

    /// A claimed entry was given back without an attempt.
    pub fn abandon(&mut self, target: &str, probe: bool) {
        let t = self.target(target);
        t.in_flight = t.in_flight.saturating_sub(1);
        if probe {
            t.probing = false;
        }
    }
}

/// What a send task holds while it sends.
pub struct Permits {
    global: Arc<Semaphore>,
    target: Arc<Semaphore>,
    pacer: Option<Arc<Pacer>>,
    blocked: Arc<AtomicBool>,
    /// This call is a half-open breaker's probe (it goes even while the target is blocked).
    pub probe: bool,
}

/// The slots a call holds while it is sent.
pub type Slots = (tokio::sync::OwnedSemaphorePermit, tokio::sync::OwnedSemaphorePermit);

impl Permits {
    /// Wait for a target slot, a global slot and the target's pace. `None` when the target
    /// became blocked meanwhile (the call must not be sent).
    pub async fn acquire(&self) -> Option<Slots> {
        let t = self.target.clone().acquire_owned().await.expect("semaphore open");
        let g = self.global.clone().acquire_owned().await.expect("semaphore open");
        if self.blocked.load(Ordering::SeqCst) && !self.probe {
            return None;
        }
        if let Some(p) = &self.pacer {
            p.wait().await;
        }
        Some((g, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim() -> Limiter {
        Limiter::new(4, 2, None, BreakerConfig { threshold: 3, cooldown: Duration::from_secs(10) })
    }

    #[test]
    fn breaker_opens_after_consecutive_failures_probes_then_closes() {
        let mut l = lim();
        let t0 = Instant::now();
        for i in 0..3 {
            l.start("a");
            let change = l.finish("a", AttemptClass::Retryable, t0);
            assert_eq!(change.is_some(), i == 2, "opens on the third failure");
        }
        let (plan, _) = l.plan(t0 + Duration::from_secs(5));
        assert_eq!(plan.exclude, vec!["a".to_string()]);
        assert!(plan.probes.is_empty(), "still cooling down");
        let (plan, changes) = l.plan(t0 + Duration::from_secs(10));
        assert_eq!(changes, vec![BreakerChange { target: "a".into(), state: BreakerState::HalfOpen }]);
        assert_eq!(plan.probes, vec!["a".to_string()]);
        l.start("a");
        assert!(l.plan(t0 + Duration::from_secs(10)).0.probes.is_empty(), "one probe at a time");
        // The probe fails: open again.
        let c = l.finish("a", AttemptClass::Retryable, t0 + Duration::from_secs(11)).unwrap();
        assert_eq!(c.state, BreakerState::Open);
        let (plan, _) = l.plan(t0 + Duration::from_secs(21));
        l.start(&plan.probes[0]);
        let c = l.finish("a", AttemptClass::Success, t0 + Duration::from_secs(22)).unwrap();
        assert_eq!(c.state, BreakerState::Closed);
        assert!(l.plan(t0 + Duration::from_secs(22)).0.exclude.is_empty());
    }

    #[test]
    fn a_success_or_permanent_error_resets_the_count() {
        let mut l = lim();
        let t0 = Instant::now();
        for class in [
            AttemptClass::Retryable,
            AttemptClass::Retryable,
            AttemptClass::Permanent,
            AttemptClass::Retryable,
            AttemptClass::Retryable,
        ] {
            l.start("a");
            assert_eq!(l.finish("a", class, t0), None);
        }
    }

    #[test]
    fn a_full_target_is_excluded_from_claims() {
        let mut l = lim();
        l.set_target_limits("slow", Some(1), None);
        l.start("slow");
        for _ in 1..PREFETCH {
            assert!(l.has_room("slow"), "up to PREFETCH may wait for the slot");
            l.start("slow");
        }
        assert!(!l.has_room("slow"));
        l.start("b");
        let (plan, _) = l.plan(Instant::now());
        assert_eq!(plan.exclude, vec!["slow".to_string()]);
        l.abandon("slow", false);
        assert!(l.plan(Instant::now()).0.exclude.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn pacer_spaces_calls() {
        let p = Pacer::new(10.0);
        let start = Instant::now();
        for _ in 0..5 {
            p.wait().await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(400));
    }
}
