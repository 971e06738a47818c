//! The circuit breaker, a tower middleware around one upstream: after `threshold` consecutive
//! failures the upstream is left alone for `cooldown` (calls fail at once with
//! [`UpstreamError::CircuitOpen`]); then calls go through again, and one success closes it.
//!
//! It hears only the upstream's health: 5xx answers and transport failures (refused or reset
//! connections, timeouts, broken answers) count as failures, any other answer closes it, and
//! failures that say nothing about the upstream (an answer over the size limit, a request never
//! sent) leave it as it is. Its state outlives a configuration reload (`carryover`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tower::{Layer, Service};

use super::Reply;
use crate::upstream::UpstreamError;

/// A breaker's state, shared by every call to one upstream (and handed to the next
/// configuration while the upstream URL stays the same).
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    failures: AtomicU32,
    /// Milliseconds since `epoch` until which the breaker is open (0: closed).
    open_until: AtomicU64,
    epoch: Instant,
}

impl Breaker {
    /// A breaker opening after `threshold` failures (0: never).
    pub fn new(threshold: u32, cooldown: Duration) -> Breaker {
        Breaker {
            threshold,
            cooldown,
            failures: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// The breaker for the next configuration of the same upstream: this one if the settings
    /// are unchanged (calls still running under the old configuration keep reporting to it),
    /// else a new one with the new settings that starts from this one's failures and open state.
    pub fn successor(self: &Arc<Self>, threshold: u32, cooldown: Duration) -> Arc<Breaker> {
        if self.threshold == threshold && self.cooldown == cooldown {
            return self.clone();
        }
        Arc::new(Breaker {
            threshold,
            cooldown,
            failures: AtomicU32::new(self.failures.load(Ordering::Relaxed)),
            open_until: AtomicU64::new(self.open_until.load(Ordering::Relaxed)),
            epoch: self.epoch,
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether a call may go out now.
    pub fn allows(&self) -> bool {
        self.now_ms() >= self.open_until.load(Ordering::Relaxed)
    }

    /// Records a call's outcome.
    pub fn record(&self, ok: bool) {
        if ok {
            self.failures.store(0, Ordering::Relaxed);
            self.open_until.store(0, Ordering::Relaxed);
            return;
        }
        let failures = self.failures.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        if self.threshold > 0 && failures >= self.threshold {
            let until = self
                .now_ms()
                .saturating_add(u64::try_from(self.cooldown.as_millis()).unwrap_or(u64::MAX));
            if self.open_until.swap(until, Ordering::Relaxed) < self.now_ms() {
                tracing::warn!(
                    failures,
                    cooldown_ms = self.cooldown.as_millis() as u64,
                    "Upstream circuit breaker opened."
                );
            }
        }
    }

    /// Whether the breaker is open now.
    pub fn is_open(&self) -> bool {
        !self.allows()
    }

    /// Records what one call says about the upstream's health.
    fn hear(&self, result: &Result<Reply, UpstreamError>) {
        match result {
            Ok(Reply::Http { status, .. }) => self.record(*status < 500),
            Ok(Reply::Answer(_)) => self.record(true),
            Err(e) if e.is_upstream_health() => self.record(false),
            Err(_) => {}
        }
    }
}

/// Puts a [`Breaker`] in front of a service.
#[derive(Debug, Clone)]
pub struct BreakerLayer {
    breaker: Arc<Breaker>,
}

impl BreakerLayer {
    /// A layer reporting to `breaker`.
    pub fn new(breaker: Arc<Breaker>) -> BreakerLayer {
        BreakerLayer { breaker }
    }
}

impl<S> Layer<S> for BreakerLayer {
    type Service = CircuitBreaker<S>;

    fn layer(&self, inner: S) -> CircuitBreaker<S> {
        CircuitBreaker {
            inner,
            breaker: self.breaker.clone(),
        }
    }
}

/// A service behind a circuit breaker.
#[derive(Debug, Clone)]
pub struct CircuitBreaker<S> {
    inner: S,
    breaker: Arc<Breaker>,
}

impl<S, R> Service<R> for CircuitBreaker<S>
where
    S: Service<R, Response = Reply>,
    S::Error: Into<UpstreamError>,
{
    type Response = Reply;
    type Error = UpstreamError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), UpstreamError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let inner = self.breaker.allows().then(|| self.inner.call(request));
        ResponseFuture {
            inner,
            breaker: self.breaker.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The call, or nothing when the breaker was open; reports the result to the breaker.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: Option<F>,
        breaker: Arc<Breaker>,
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Reply, E>>,
    E: Into<UpstreamError>,
{
    type Output = Result<Reply, UpstreamError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(inner) = this.inner.as_pin_mut() else {
            return Poll::Ready(Err(UpstreamError::CircuitOpen));
        };
        let result = std::task::ready!(inner.poll(cx)).map_err(Into::into);
        this.breaker.hear(&result);
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaker_opens_after_the_threshold_and_closes_on_success() {
        let b = Breaker::new(3, Duration::from_secs(60));
        b.record(false);
        b.record(false);
        assert!(b.allows());
        b.record(false);
        assert!(b.is_open());
        b.record(true);
        assert!(b.allows());
    }

    #[test]
    fn breaker_recovers_after_the_cooldown() {
        let b = Breaker::new(1, Duration::from_millis(0));
        b.record(false);
        assert!(b.allows(), "a zero cooldown lets the next call through");
        let never = Breaker::new(0, Duration::from_secs(60));
        for _ in 0..10 {
            never.record(false);
        }
        assert!(never.allows(), "threshold 0 disables the breaker");
    }
}
