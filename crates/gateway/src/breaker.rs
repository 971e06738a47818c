//! The circuit breaker's state machine, one per upstream (`forward/circuit.rs` is the tower
//! middleware that consults it): after `threshold` consecutive
//! failures the upstream is left alone for `cooldown` (calls fail at once with
//! [`UpstreamError::CircuitOpen`]); then the breaker is half-open: exactly one trial call goes
//! through while every other call still fails at once. The trial decides: a success closes the
//! breaker, a failure opens it for another cooldown. A trial that says nothing about the
//! upstream (see below), or that is abandoned (the caller went away), hands its turn to the
//! next call.
//!
//! It hears only the upstream's health: 5xx answers and transport failures (refused or reset
//! connections, timeouts, broken answers) count as failures, any other answer is a success, and
//! failures that say nothing about the upstream (an answer over the size limit, a request never
//! sent) leave it as it is. Only calls let through while it is closed count towards opening it;
//! while it is open or half-open only the trial's outcome is heard (calls admitted before it
//! opened report late and are ignored). Its state outlives a configuration reload (`carryover`).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::upstream::{Reply, UpstreamError};

/// Where a breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Calls go through; `failures` consecutive failures so far.
    Closed { failures: u32 },
    /// Calls are refused until `until`; then the breaker is half-open.
    Open { until: Instant },
    /// The cooldown is over: one trial call may go (`trial`: it is under way).
    HalfOpen { trial: bool },
}

/// A breaker's state, shared by every call to one upstream (and handed to the next
/// configuration while the upstream URL stays the same).
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

/// What a call let through is to the breaker: an ordinary call while it was closed, or the
/// half-open breaker's one trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Let through while closed.
    Closed,
    /// The trial call of a half-open breaker.
    Trial,
}

/// What a call's outcome says about the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Health {
    Good,
    Bad,
    /// Nothing (a request never sent, an answer over the size limit, an abandoned call).
    Silent,
}

impl Breaker {
    /// A breaker opening after `threshold` consecutive failures (0: never).
    pub fn new(threshold: u32, cooldown: Duration) -> Breaker {
        Breaker {
            threshold,
            cooldown,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    /// The breaker for the next configuration of the same upstream: this one if the settings
    /// are unchanged (calls still running under the old configuration keep reporting to it),
    /// else a new one with the new settings that starts from this one's state. A trial under
    /// way reports to the old breaker, so the new one starts half-open without a trial.
    pub fn successor(self: &Arc<Self>, threshold: u32, cooldown: Duration) -> Arc<Breaker> {
        if self.threshold == threshold && self.cooldown == cooldown {
            return self.clone();
        }
        let state = match *self.lock() {
            State::HalfOpen { .. } => State::HalfOpen { trial: false },
            other => other,
        };
        Arc::new(Breaker {
            threshold,
            cooldown,
            state: Mutex::new(state),
        })
    }

    /// The state; a panic elsewhere while it was held cannot leave it half-written (every
    /// change is one assignment), so a poisoned lock is used as it is.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a call may go out now, and as what; `None`: refuse it.
    pub fn admit(&self) -> Option<Admission> {
        self.admit_at(Instant::now())
    }

    fn admit_at(&self, now: Instant) -> Option<Admission> {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Some(Admission::Closed),
            State::Open { until } if now < until => None,
            State::Open { .. } | State::HalfOpen { trial: false } => {
                *state = State::HalfOpen { trial: true };
                Some(Admission::Trial)
            }
            State::HalfOpen { trial: true } => None,
        }
    }

    /// Records the outcome of a call admitted as `admission`.
    pub(crate) fn settle(&self, admission: Admission, health: Health) {
        self.settle_at(admission, health, Instant::now());
    }

    fn settle_at(&self, admission: Admission, health: Health, now: Instant) {
        let mut state = self.lock();
        let next = match (admission, *state, health) {
            // The trial decides a half-open breaker; a trial that says nothing hands on its turn.
            (Admission::Trial, _, Health::Silent) => State::HalfOpen { trial: false },
            (Admission::Trial, _, Health::Good) => State::Closed { failures: 0 },
            (Admission::Trial, _, Health::Bad) => {
                tracing::warn!(
                    cooldown_ms = self.cooldown.as_millis() as u64,
                    "Upstream circuit breaker trial call failed: open again."
                );
                self.open_until(now)
            }
            // Nothing said, or a late report from a call admitted before the breaker opened.
            (Admission::Closed, _, Health::Silent)
            | (Admission::Closed, State::Open { .. } | State::HalfOpen { .. }, _) => return,
            (Admission::Closed, State::Closed { .. }, Health::Good) => State::Closed { failures: 0 },
            (Admission::Closed, State::Closed { failures }, Health::Bad) => {
                let failures = failures.saturating_add(1);
                if self.threshold > 0 && failures >= self.threshold {
                    tracing::warn!(
                        failures,
                        cooldown_ms = self.cooldown.as_millis() as u64,
                        "Upstream circuit breaker opened."
                    );
                    self.open_until(now)
                } else {
                    State::Closed { failures }
                }
            }
        };
        *state = next;
    }

    /// Open for one cooldown from `now` (a cooldown past what `Instant` can hold: a year).
    fn open_until(&self, now: Instant) -> State {
        let year = Duration::from_secs(365 * 24 * 3600);
        State::Open {
            until: now
                .checked_add(self.cooldown)
                .or_else(|| now.checked_add(year))
                .unwrap_or(now),
        }
    }

    /// Records the outcome of a call let through while closed (for tests elsewhere).
    #[cfg(test)]
    pub(crate) fn record(&self, ok: bool) {
        let health = if ok { Health::Good } else { Health::Bad };
        self.settle(Admission::Closed, health);
    }

    /// Whether the breaker refuses calls now: open in its cooldown, or half-open with the
    /// trial call under way (the tests' view of the state).
    #[cfg(test)]
    pub fn is_open(&self) -> bool {
        match *self.lock() {
            State::Closed { .. } | State::HalfOpen { trial: false } => false,
            State::Open { until } => Instant::now() < until,
            State::HalfOpen { trial: true } => true,
        }
    }
}

/// What one call's result says about the upstream's health.
pub(crate) fn health(result: &Result<Reply, UpstreamError>) -> Health {
    match result {
        Ok(Reply::Http { status, .. }) if *status >= 500 => Health::Bad,
        Ok(_) => Health::Good,
        Err(e) if e.is_upstream_health() => Health::Bad,
        Err(_) => Health::Silent,
    }
}

/// Puts a [`Breaker`] in front of a service.
#[cfg(test)]
mod tests {
    use super::*;

    const COOLDOWN: Duration = Duration::from_secs(10);

    /// A breaker opened at `t0` by `threshold` failures.
    fn opened(threshold: u32, t0: Instant) -> Breaker {
        let b = Breaker::new(threshold, COOLDOWN);
        for _ in 0..threshold {
            assert_eq!(b.admit_at(t0), Some(Admission::Closed));
            b.settle_at(Admission::Closed, Health::Bad, t0);
        }
        b
    }

    #[test]
    fn it_opens_after_the_threshold_of_consecutive_failures() {
        let t0 = Instant::now();
        let b = Breaker::new(3, COOLDOWN);
        b.settle_at(Admission::Closed, Health::Bad, t0);
        b.settle_at(Admission::Closed, Health::Bad, t0);
        b.settle_at(Admission::Closed, Health::Good, t0);
        b.settle_at(Admission::Closed, Health::Bad, t0);
        b.settle_at(Admission::Closed, Health::Bad, t0);
        assert_eq!(
            b.admit_at(t0),
            Some(Admission::Closed),
            "a success resets the count"
        );
        b.settle_at(Admission::Closed, Health::Bad, t0);
        assert_eq!(b.admit_at(t0), None, "three in a row open it");
        assert_eq!(b.admit_at(t0 + COOLDOWN - Duration::from_millis(1)), None);
    }

    #[test]
    fn silent_outcomes_and_threshold_zero_never_open_it() {
        let t0 = Instant::now();
        let b = Breaker::new(1, COOLDOWN);
        for _ in 0..5 {
            b.settle_at(Admission::Closed, Health::Silent, t0);
        }
        assert_eq!(b.admit_at(t0), Some(Admission::Closed));
        let never = Breaker::new(0, COOLDOWN);
        for _ in 0..10 {
            never.settle_at(Admission::Closed, Health::Bad, t0);
        }
        assert_eq!(
            never.admit_at(t0),
            Some(Admission::Closed),
            "threshold 0 disables it"
        );
    }

    #[test]
    fn after_the_cooldown_exactly_one_trial_goes_and_its_success_closes_it() {
        let t0 = Instant::now();
        let b = opened(2, t0);
        let later = t0 + COOLDOWN;
        assert_eq!(b.admit_at(later), Some(Admission::Trial));
        for _ in 0..5 {
            assert_eq!(b.admit_at(later), None, "one trial at a time");
        }
        assert!(b.is_open());
        b.settle_at(Admission::Trial, Health::Good, later);
        assert!(!b.is_open());
        assert_eq!(b.admit_at(later), Some(Admission::Closed));
        assert_eq!(b.admit_at(later), Some(Admission::Closed));
        // Closed again from zero: one failure is not enough to reopen it.
        b.settle_at(Admission::Closed, Health::Bad, later);
        assert_eq!(b.admit_at(later), Some(Admission::Closed));
    }

    #[test]
    fn a_failed_trial_opens_it_for_another_cooldown() {
        let t0 = Instant::now();
        let b = opened(2, t0);
        let later = t0 + COOLDOWN;
        assert_eq!(b.admit_at(later), Some(Admission::Trial));
        b.settle_at(Admission::Trial, Health::Bad, later);
        assert_eq!(b.admit_at(later), None);
        assert_eq!(b.admit_at(later + COOLDOWN - Duration::from_millis(1)), None);
        assert_eq!(b.admit_at(later + COOLDOWN), Some(Admission::Trial));
    }

    #[test]
    fn a_trial_that_says_nothing_hands_on_its_turn() {
        let t0 = Instant::now();
        let b = opened(1, t0);
        let later = t0 + COOLDOWN;
        assert_eq!(b.admit_at(later), Some(Admission::Trial));
        b.settle_at(Admission::Trial, Health::Silent, later);
        assert_eq!(
            b.admit_at(later),
            Some(Admission::Trial),
            "the next call is the trial"
        );
        assert_eq!(b.admit_at(later), None);
    }

    #[test]
    fn late_reports_of_calls_admitted_while_closed_do_not_decide() {
        let t0 = Instant::now();
        let b = opened(1, t0);
        b.settle_at(Admission::Closed, Health::Good, t0);
        assert_eq!(
            b.admit_at(t0),
            None,
            "a late success does not close an open breaker"
        );
        let later = t0 + COOLDOWN;
        assert_eq!(b.admit_at(later), Some(Admission::Trial));
        b.settle_at(Admission::Closed, Health::Good, later);
        b.settle_at(Admission::Closed, Health::Bad, later);
        assert_eq!(b.admit_at(later), None, "nor decide a half-open one");
    }

    #[test]
    fn a_successor_keeps_the_state_but_not_a_trial_under_way() {
        let b = Arc::new(Breaker::new(1, Duration::ZERO));
        b.settle(Admission::Closed, Health::Bad);
        assert_eq!(b.admit(), Some(Admission::Trial));
        assert!(Arc::ptr_eq(&b, &b.successor(1, Duration::ZERO)));
        let next = b.successor(2, Duration::ZERO);
        assert_eq!(next.admit(), Some(Admission::Trial));
        let open = Arc::new(opened(1, Instant::now()));
        assert!(open.successor(3, COOLDOWN * 2).is_open());
    }

    #[test]
    fn what_counts_as_the_upstreams_health() {
        let answer = |status| {
            Ok(Reply::Http {
                status,
                body: bytes::Bytes::new(),
            })
        };
        assert_eq!(health(&answer(500)), Health::Bad);
        assert_eq!(health(&answer(503)), Health::Bad);
        assert_eq!(health(&answer(499)), Health::Good);
        assert_eq!(health(&answer(200)), Health::Good);
        assert_eq!(health(&Err(UpstreamError::Timeout)), Health::Bad);
        assert_eq!(health(&Err(UpstreamError::Unsendable)), Health::Silent);
        assert_eq!(health(&Err(UpstreamError::CircuitOpen)), Health::Silent);
    }

    #[test]
    fn a_cooldown_past_what_instant_can_hold_lasts_a_year() {
        let t0 = Instant::now();
        let b = Breaker::new(1, Duration::MAX);
        b.settle_at(Admission::Closed, Health::Bad, t0);
        let day = Duration::from_secs(24 * 3600);
        assert_eq!(b.admit_at(t0 + day * 364), None, "still open after 364 days");
        assert_eq!(
            b.admit_at(t0 + day * 365),
            Some(Admission::Trial),
            "a year, not longer"
        );
    }
}
