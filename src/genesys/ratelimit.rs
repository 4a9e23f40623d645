//! One limiter for every Genesys API call: at most `limit` calls in any rolling minute, the
//! way the platform counts, so a burst uses the whole budget at once and a steady drain never
//! goes over it. A 429's `Retry-After` pauses every caller, not just the one that got it.
//!
//! Hand-written (about forty lines) rather than `governor`, because it must run on tokio's
//! clock: tests pause and advance time, and the console shows the budget left.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

pub struct RateLimiter {
    limit: usize,
    window: Duration,
    state: Mutex<State>,
}

struct State {
    /// When each call in the current window was let through, oldest first.
    sent: VecDeque<Instant>,
    /// No call before this (a 429's Retry-After).
    paused_until: Option<Instant>,
}

impl RateLimiter {
    /// At most `limit` calls in any rolling minute, counted over 61 seconds: a call is counted
    /// when it leaves here but by the platform when it arrives, so a window a second longer
    /// keeps a call sent just as an old one expires here from landing before it expires there.
    pub fn per_minute(limit: u32) -> RateLimiter {
        RateLimiter::new(limit.max(1) as usize, Duration::from_secs(61))
    }

    pub fn new(limit: usize, window: Duration) -> RateLimiter {
        RateLimiter {
            limit,
            window,
            state: Mutex::new(State { sent: VecDeque::with_capacity(limit), paused_until: None }),
        }
    }

    /// Wait until a call may be made, and count it.
    pub async fn acquire(&self) {
        loop {
            let wake = {
                let mut s = self.state.lock().expect("limiter lock");
                let now = Instant::now();
                while s.sent.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
                    s.sent.pop_front();
                }
                match s.paused_until {
                    Some(until) if until > now => until,
                    _ if s.sent.len() < self.limit => {
                        s.sent.push_back(now);
                        return;
                    }
                    _ => *s.sent.front().expect("full window") + self.window,
                }
            };
            tokio::time::sleep_until(wake).await;
        }
    }

    /// Hold every caller back until `until` (the platform said to wait).
    pub fn pause_until(&self, until: Instant) {
        let mut s = self.state.lock().expect("limiter lock");
        if s.paused_until.is_none_or(|p| p < until) {
            s.paused_until = Some(until);
        }
    }

    /// Calls still allowed in the current window.
    pub fn remaining(&self) -> usize {
        let s = self.state.lock().expect("limiter lock");
        let now = Instant::now();
        let used = s.sent.iter().filter(|t| now.duration_since(**t) < self.window).count();
        self.limit.saturating_sub(used)
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_limit_in_any_window() {
        let lim = RateLimiter::new(5, Duration::from_secs(60));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..12 {
            lim.acquire().await;
            times.push(start.elapsed());
        }
        // A burst of five, then five more a minute later, then two a minute after that.
        assert!(times[..5].iter().all(|t| *t == Duration::ZERO), "{times:?}");
        assert!(times[5..10].iter().all(|t| *t == Duration::from_secs(60)), "{times:?}");
        assert_eq!(times[10], Duration::from_secs(120));
        for (i, t) in times.iter().enumerate() {
            let in_window = times.iter().filter(|u| **u <= *t && *t - **u < Duration::from_secs(60)).count();
            assert!(in_window <= 5, "call {i} at {t:?} has {in_window} in its window");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_everyone() {
        let lim = RateLimiter::new(100, Duration::from_secs(60));
        assert_eq!(lim.remaining(), 100);
        lim.acquire().await;
        assert_eq!(lim.remaining(), 99);
        let start = Instant::now();
        lim.pause_until(start + Duration::from_secs(7));
        lim.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(7));
    }
}
