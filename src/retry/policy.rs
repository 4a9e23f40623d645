//! The retry policy, as pure functions: what an attempt's result means, and when (or whether)
//! to try again. Defaults follow Standard Webhooks practice (see design.md): success is 2xx;
//! 408, 425, 429, 5xx and transport errors are worth retrying; 410 means the target is gone
//! (the entry dies and its webhook is paused); any other 3xx/4xx is permanent.

use std::time::Duration;

use crate::store::{AttemptClass, Disposition};
use crate::time::Millis;

/// How an attempt ended, as the sender saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Result {
    /// The target (or Genesys, for a replay through it) answered with a status.
    Status {
        code: u16,
        /// `Retry-After`, already turned into a wait.
        retry_after: Option<Duration>,
        /// For a replay through Genesys: the ErrorBody's `details[].errorCode`s and the remote
        /// status read from its message (`… [503]`), when there was one.
        genesys: Option<GenesysFailure>,
    },
    /// No answer: the connection failed, timed out or was reset.
    Transport(TransportKind),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesysFailure {
    pub detail_codes: Vec<String>,
    pub remote_status: Option<u16>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    Connect,
    Timeout,
    Reset,
    /// The request could not be built or sent (a bad URL): retrying will not help.
    Invalid,
}

/// Classify one attempt.
pub fn classify(r: &Result) -> AttemptClass {
    match r {
        Result::Transport(TransportKind::Invalid) => AttemptClass::Permanent,
        Result::Transport(_) => AttemptClass::Retryable,
        Result::Status { code, genesys: Some(g), .. } if !(200..300).contains(code) => {
            classify_genesys(*code, g)
        }
        Result::Status { code, .. } => classify_status(*code),
    }
}

/// A target's status code.
pub fn classify_status(code: u16) -> AttemptClass {
    match code {
        200..=299 => AttemptClass::Success,
        410 => AttemptClass::Gone,
        408 | 425 | 429 | 500..=599 => AttemptClass::Retryable,
        _ => AttemptClass::Permanent,
    }
}

/// A failed data-action execute (genesys-api.md §8 "Replay"): the remote endpoint's failure is
/// judged by the remote status when Genesys reports one; `ACTION.REMOTE_ENDPOINT` without one,
/// and 429/5xx from the API itself, are retryable; authentication and input errors are
/// permanent until an operator acts.
fn classify_genesys(code: u16, g: &GenesysFailure) -> AttemptClass {
    let has = |c: &str| g.detail_codes.iter().any(|d| d == c);
    if has("ACTION.REMOTE_ENDPOINT") {
        return match g.remote_status {
            Some(remote) => match classify_status(remote) {
                AttemptClass::Success => AttemptClass::Retryable,
                other => other,
            },
            None => AttemptClass::Retryable,
        };
    }
    if has("ACTION.AUTHENTICATION") {
        return AttemptClass::Permanent;
    }
    match code {
        429 | 500..=599 => AttemptClass::Retryable,
        _ => AttemptClass::Permanent,
    }
}

/// The longest `Retry-After` honoured: a target asking for more gets an hour (design.md).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// When and how often to retry. Settable globally and per webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub base: Duration,
    pub cap: Duration,
    /// Attempts per round (since the entry was last queued by an operator) before `dead`.
    pub max_attempts: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { base: Duration::from_secs(2), cap: Duration::from_secs(3600), max_attempts: 8 }
    }
}

/// The full-jitter ceiling after `attempt` failures: `min(cap, base * 2^attempt)`.
pub fn backoff_ceiling(p: &Policy, attempt: u32) -> Duration {
    let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
    p.base.saturating_mul(factor).min(p.cap)
}

/// Full jitter: `random(0, ceiling)`, with `unit` a random number in `[0, 1)`.
pub fn backoff(p: &Policy, attempt: u32, unit: f64) -> Duration {
    backoff_ceiling(p, attempt).mul_f64(unit.clamp(0.0, 1.0))
}

/// Where an entry goes after an attempt: `round_attempts` counts this attempt too.
pub fn decide(
    p: &Policy,
    class: AttemptClass,
    round_attempts: u32,
    retry_after: Option<Duration>,
    now: Millis,
    unit: f64,
) -> Disposition {
    match class {
        AttemptClass::Success => Disposition::Delivered,
        AttemptClass::Permanent | AttemptClass::Gone => Disposition::Dead,
        AttemptClass::Retryable if round_attempts >= p.max_attempts => Disposition::Dead,
        AttemptClass::Retryable => {
            let jitter = backoff(p, round_attempts, unit);
            // Never earlier than the target asked (up to an hour), whatever the backoff cap.
            let wait = jitter.max(retry_after.unwrap_or_default().min(MAX_RETRY_AFTER));
            Disposition::RetryAt(now + wait.as_millis() as i64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn status(code: u16) -> Result {
        Result::Status { code, retry_after: None, genesys: None }
    }

    #[test]
    fn statuses_classify_as_standard_webhooks_do() {
        for (code, class) in [
            (200, AttemptClass::Success),
            (204, AttemptClass::Success),
            (301, AttemptClass::Permanent),
            (400, AttemptClass::Permanent),
            (404, AttemptClass::Permanent),
            (408, AttemptClass::Retryable),
            (410, AttemptClass::Gone),
            (425, AttemptClass::Retryable),
            (429, AttemptClass::Retryable),
            (500, AttemptClass::Retryable),
            (501, AttemptClass::Retryable),
            (503, AttemptClass::Retryable),
        ] {
            assert_eq!(classify(&status(code)), class, "{code}");
        }
        assert_eq!(classify(&Result::Transport(TransportKind::Reset)), AttemptClass::Retryable);
        assert_eq!(classify(&Result::Transport(TransportKind::Timeout)), AttemptClass::Retryable);
        assert_eq!(classify(&Result::Transport(TransportKind::Invalid)), AttemptClass::Permanent);
    }

    #[test]
    fn genesys_failures_classify_by_detail_code_and_remote_status() {
        let g = |codes: &[&str], remote: Option<u16>| GenesysFailure {
            detail_codes: codes.iter().map(|c| c.to_string()).collect(),
            remote_status: remote,
        };
        let r = |code, f| Result::Status { code, retry_after: None, genesys: Some(f) };
        assert_eq!(classify(&r(500, g(&["ACTION.REMOTE_ENDPOINT"], Some(503)))), AttemptClass::Retryable);
        assert_eq!(classify(&r(400, g(&["ACTION.REMOTE_ENDPOINT"], Some(404)))), AttemptClass::Permanent);
        assert_eq!(classify(&r(400, g(&["ACTION.REMOTE_ENDPOINT"], Some(410)))), AttemptClass::Gone);
        assert_eq!(classify(&r(500, g(&["ACTION.REMOTE_ENDPOINT"], None))), AttemptClass::Retryable);
        assert_eq!(classify(&r(400, g(&["ACTION.AUTHENTICATION"], None))), AttemptClass::Permanent);
        assert_eq!(classify(&r(400, g(&[], None))), AttemptClass::Permanent, "input validation");
        assert_eq!(classify(&r(429, g(&[], None))), AttemptClass::Retryable);
        assert_eq!(classify(&r(503, g(&[], None))), AttemptClass::Retryable);
        assert_eq!(classify(&r(200, g(&[], None))), AttemptClass::Success);
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let p = Policy::default();
        assert_eq!((p.base, p.cap, p.max_attempts), (Duration::from_secs(2), Duration::from_secs(3600), 8));
        assert_eq!(backoff_ceiling(&p, 0), Duration::from_secs(2));
        assert_eq!(backoff_ceiling(&p, 3), Duration::from_secs(16));
        assert_eq!(backoff_ceiling(&p, 20), Duration::from_secs(3600));
        assert_eq!(backoff_ceiling(&p, 200), Duration::from_secs(3600));
    }

    #[test]
    fn exhausted_retries_and_permanent_errors_are_dead() {
        let p = Policy::default();
        assert_eq!(decide(&p, AttemptClass::Retryable, 8, None, 0, 0.5), Disposition::Dead);
        assert_eq!(decide(&p, AttemptClass::Permanent, 1, None, 0, 0.5), Disposition::Dead);
        assert_eq!(decide(&p, AttemptClass::Gone, 1, None, 0, 0.5), Disposition::Dead);
        assert_eq!(decide(&p, AttemptClass::Success, 8, None, 0, 0.5), Disposition::Delivered);
        assert!(matches!(decide(&p, AttemptClass::Retryable, 7, None, 0, 0.5), Disposition::RetryAt(_)));
    }

    proptest! {
        #[test]
        fn backoff_stays_within_full_jitter_bounds(base_ms in 1u64..10_000, cap_s in 1u64..7200, attempt in 0u32..64, unit in 0.0f64..1.0) {
            let p = Policy { base: Duration::from_millis(base_ms), cap: Duration::from_secs(cap_s), max_attempts: 8 };
            let b = backoff(&p, attempt, unit);
            prop_assert!(b <= p.cap);
            prop_assert!(b <= backoff_ceiling(&p, attempt));
            let exact = Duration::from_millis(base_ms).saturating_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX));
            prop_assert_eq!(backoff_ceiling(&p, attempt), exact.min(p.cap));
        }

        #[test]
        fn never_earlier_than_retry_after_capped(ra_s in 0u64..20_000, cap_s in 1u64..7200, attempt in 1u32..8, unit in 0.0f64..1.0, now in 0i64..1_000_000_000) {
            let p = Policy { cap: Duration::from_secs(cap_s), ..Policy::default() };
            let ra = Duration::from_secs(ra_s);
            match decide(&p, AttemptClass::Retryable, attempt, Some(ra), now, unit) {
                Disposition::RetryAt(t) => {
                    prop_assert!(t >= now + ra.min(MAX_RETRY_AFTER).as_millis() as i64);
                    prop_assert!(t <= now + p.cap.max(ra.min(MAX_RETRY_AFTER)).as_millis() as i64);
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }

        #[test]
        fn every_status_has_one_class(code in 100u16..600) {
            let c = classify(&status(code));
            let expected = (200..300).contains(&code) == (c == AttemptClass::Success);
            prop_assert!(expected);
        }

        #[test]
        fn round_attempts_past_the_budget_are_always_dead(extra in 0u32..100, max in 1u32..20, unit in 0.0f64..1.0) {
            let p = Policy { max_attempts: max, ..Policy::default() };
            prop_assert_eq!(decide(&p, AttemptClass::Retryable, max + extra, None, 0, unit), Disposition::Dead);
        }
    }
}
