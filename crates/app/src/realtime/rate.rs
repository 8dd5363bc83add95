//! A token bucket per session, and the rule that turns sustained abuse into a close.

use std::time::{Duration, Instant};

/// Rate limits of one session.
#[derive(Debug, Clone, Copy)]
pub struct RateSettings {
    /// Frames per second allowed on average.
    pub per_second: f64,
    /// Frames allowed in a burst.
    pub burst: f64,
    /// Refused frames within `abuse_window` after which the session is closed.
    pub abuse_limit: u32,
    /// Window of the abuse count.
    pub abuse_window: Duration,
}

/// What to do with one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Process it.
    Allow,
    /// Refuse it with `rate_limited`.
    Refuse,
    /// Refuse it and close the session (4008).
    Close,
}

/// A token bucket with an abuse counter.
#[derive(Debug)]
pub struct RateLimiter {
    settings: RateSettings,
    tokens: f64,
    refilled_at: Instant,
    refusals: u32,
    window_started: Instant,
}

impl RateLimiter {
    /// A full bucket.
    pub fn new(settings: RateSettings, now: Instant) -> Self {
        Self {
            settings,
            tokens: settings.burst,
            refilled_at: now,
            refusals: 0,
            window_started: now,
        }
    }

    /// Takes a token for one frame arriving at `now`.
    pub fn check(&mut self, now: Instant) -> Verdict {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.settings.per_second).min(self.settings.burst);
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Verdict::Allow;
        }
        if now.saturating_duration_since(self.window_started) > self.settings.abuse_window {
            self.window_started = now;
            self.refusals = 0;
        }
        self.refusals += 1;
        if self.refusals > self.settings.abuse_limit {
            Verdict::Close
        } else {
            Verdict::Refuse
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> RateSettings {
        RateSettings {
            per_second: 20.0,
            burst: 40.0,
            abuse_limit: 5,
            abuse_window: Duration::from_secs(10),
        }
    }

    #[test]
    fn a_burst_passes_then_frames_are_refused_then_the_session_closes() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(settings(), start);
        for _ in 0..40 {
            assert_eq!(limiter.check(start), Verdict::Allow);
        }
        for _ in 0..5 {
            assert_eq!(limiter.check(start), Verdict::Refuse);
        }
        assert_eq!(limiter.check(start), Verdict::Close);
    }

    #[test]
    fn tokens_refill_at_the_configured_rate() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(settings(), start);
        for _ in 0..40 {
            limiter.check(start);
        }
        assert_eq!(limiter.check(start), Verdict::Refuse);
        let later = start + Duration::from_millis(100);
        assert_eq!(limiter.check(later), Verdict::Allow);
        assert_eq!(limiter.check(later), Verdict::Allow);
        assert_eq!(limiter.check(later), Verdict::Refuse);
    }

    #[test]
    fn a_steady_client_under_the_rate_is_never_refused() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(settings(), start);
        for i in 0..1000 {
            let at = start + Duration::from_millis(60 * i);
            assert_eq!(limiter.check(at), Verdict::Allow, "frame {i}");
        }
    }

    #[test]
    fn refusals_are_forgiven_after_the_window() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(settings(), start);
        for _ in 0..40 {
            limiter.check(start);
        }
        for _ in 0..5 {
            assert_eq!(limiter.check(start), Verdict::Refuse);
        }
        let much_later = start + Duration::from_secs(11);
        for _ in 0..40 {
            limiter.check(much_later);
        }
        assert_eq!(limiter.check(much_later), Verdict::Refuse);
    }
}
