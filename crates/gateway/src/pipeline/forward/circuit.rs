//! The circuit breaker as a tower middleware around one upstream: each call asks the
//! [`Breaker`] (`breaker.rs`, the state machine) whether it may go, and reports what its result
//! says about the upstream's health; a refused call fails at once with
//! [`UpstreamError::CircuitOpen`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower::{Layer, Service};

use crate::breaker::{Admission, Breaker, Health, health};
use crate::upstream::{Reply, UpstreamError};

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
        let permit = self.breaker.admit().map(|admission| Permit {
            breaker: self.breaker.clone(),
            admission,
            settled: false,
        });
        let inner = permit.is_some().then(|| self.inner.call(request));
        ResponseFuture { inner, permit }
    }
}

/// A call let through: reports its outcome to the breaker once, and, dropped unreported (the
/// call was abandoned), reports that it said nothing, so an abandoned trial hands on its turn.
#[derive(Debug)]
struct Permit {
    breaker: Arc<Breaker>,
    admission: Admission,
    settled: bool,
}

impl Permit {
    fn settle(&mut self, health: Health) {
        self.settled = true;
        self.breaker.settle(self.admission, health);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.settled {
            self.settle(Health::Silent);
        }
    }
}

pin_project_lite::pin_project! {
    /// The call with its permit, or neither when the breaker refused it; reports the result.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: Option<F>,
        permit: Option<Permit>,
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
        let (Some(inner), Some(permit)) = (this.inner.as_pin_mut(), this.permit.as_mut()) else {
            return Poll::Ready(Err(UpstreamError::CircuitOpen));
        };
        let result = std::task::ready!(inner.poll(cx)).map_err(Into::into);
        permit.settle(health(&result));
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const COOLDOWN: Duration = Duration::from_secs(10);

    #[test]
    fn an_abandoned_trial_hands_on_its_turn() {
        let b = Arc::new(Breaker::new(1, Duration::ZERO));
        b.settle(Admission::Closed, Health::Bad);
        let admission = b.admit();
        assert_eq!(admission, Some(Admission::Trial));
        let permit = Permit {
            breaker: b.clone(),
            admission: Admission::Trial,
            settled: false,
        };
        assert_eq!(b.admit(), None);
        drop(permit);
        assert_eq!(b.admit(), Some(Admission::Trial));
    }

    /// An upstream answering each request (a status) with that status, counting its calls.
    fn upstream(
        calls: Arc<std::sync::atomic::AtomicUsize>,
    ) -> impl Service<u16, Response = Reply, Error = UpstreamError, Future: Send> + Clone {
        tower::service_fn(move |status: u16| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                Ok::<_, UpstreamError>(Reply::Http {
                    status,
                    body: bytes::Bytes::new(),
                })
            }
        })
    }

    #[tokio::test]
    async fn the_middleware_reports_every_outcome_and_refuses_while_open() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tower::ServiceExt;
        let calls = Arc::new(AtomicUsize::new(0));
        let breaker = Arc::new(Breaker::new(2, Duration::from_secs(3600)));
        let service = BreakerLayer::new(breaker.clone()).layer(upstream(calls.clone()));
        let status = |reply: Result<Reply, UpstreamError>| match reply {
            Ok(Reply::Http { status, .. }) => status,
            other => panic!("not an HTTP answer: {other:?}"),
        };
        assert_eq!(status(service.clone().oneshot(500).await), 500);
        assert_eq!(
            status(service.clone().oneshot(200).await),
            200,
            "a success resets the count"
        );
        assert_eq!(status(service.clone().oneshot(500).await), 500);
        assert!(!breaker.is_open(), "one failure since the success");
        assert_eq!(status(service.clone().oneshot(503).await), 503);
        assert!(breaker.is_open(), "two in a row");
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        let refused = service.clone().oneshot(200).await;
        assert!(matches!(refused, Err(UpstreamError::CircuitOpen)), "{refused:?}");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            4,
            "a refused call never reaches the upstream"
        );
    }

    #[tokio::test]
    async fn a_trial_through_the_middleware_closes_it_for_good() {
        use tower::ServiceExt;
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let breaker = Arc::new(Breaker::new(2, Duration::ZERO));
        let service = BreakerLayer::new(breaker.clone()).layer(upstream(calls));
        for _ in 0..2 {
            service.clone().oneshot(500).await.unwrap();
        }
        // The cooldown (zero) is over: this call is the trial, and its success closes it.
        service.clone().oneshot(200).await.unwrap();
        // Closed from zero: one failure does not reopen it, and the next call is an ordinary one.
        service.clone().oneshot(500).await.unwrap();
        assert_eq!(breaker.admit(), Some(Admission::Closed));
    }

    /// A service that is never ready.
    #[derive(Clone)]
    struct Broken;

    impl Service<u16> for Broken {
        type Response = Reply;
        type Error = UpstreamError;
        type Future = std::future::Ready<Result<Reply, UpstreamError>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), UpstreamError>> {
            Poll::Ready(Err(UpstreamError::Timeout))
        }

        fn call(&mut self, _status: u16) -> Self::Future {
            std::future::ready(Err(UpstreamError::Timeout))
        }
    }

    #[test]
    fn readiness_is_the_inner_services() {
        let mut service = BreakerLayer::new(Arc::new(Breaker::new(1, COOLDOWN))).layer(Broken);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let ready = service.poll_ready(&mut cx);
        assert!(
            matches!(ready, Poll::Ready(Err(UpstreamError::Timeout))),
            "{ready:?}"
        );
    }
}
