//! The forward phase: the translated request goes to the upstream through one
//! `tower::Service` interface ([`UpstreamRequest`] in, [`Reply`] out, both in `upstream`),
//! whichever the upstream is, with the headers built for it (`headers`). An HTTP upstream sits
//! behind the layers of [`guarded`] (retry policy, circuit breaker, per-attempt timeout); the
//! embedded backend is called in process. Any service with that interface can stand in for
//! either (the tests below put stubs there). The read-modify-write exchange (`crate::exchange`)
//! makes the calls over [`Forwarder::stack`]; the caller's side takes each reply through
//! [`Forwarder::replied`] (its duration, failures and memory).
//!
//! Concurrency towards the upstream is bounded before this phase, by the working slots of
//! the admit phase (`admit`): they also cover parsing and translating, and carry over reloads,
//! which a per-stack `tower::limit` could not.

mod circuit;
mod embedded;
pub(crate) mod headers;
mod retry;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use dialectgate_dialect::{Endpoint, Operation, measure};
use http::HeaderMap;
use prometheus_client::metrics::histogram::Histogram;
use tower::retry::Retry;
use tower::timeout::Timeout;
use tower::util::Either;
use tower::{BoxError, ServiceBuilder};

pub use self::circuit::{BreakerLayer, CircuitBreaker};
pub use self::embedded::Embedded;
use self::headers::UpstreamHeaders;
pub use self::retry::RetryPolicy;
use crate::breaker::Breaker;
use crate::config::{Config, Secret};
use crate::context::Call;
use crate::metrics::Metrics;
use crate::outcome::{Failure, Outcome};
use crate::pipeline::admit::{Memory, Reserved, answer_reservation};
use crate::upstream::{HttpUpstream, Reply, UpstreamError};

/// A service behind the upstream layers: retry (outermost, so each attempt passes the
/// breaker), circuit breaker (outside the timeout, so a timed-out attempt counts; it also turns
/// the timeout layer's error back into an [`UpstreamError`]), timeout (per attempt).
pub type Guarded<S> = Retry<RetryPolicy, CircuitBreaker<Timeout<S>>>;

/// The service of one configuration's upstream: the HTTP upstream behind its layers, or the
/// embedded backend.
pub(crate) type Stack = Either<Guarded<HttpUpstream>, Embedded>;

/// `inner` behind the upstream layers, reporting to `breaker`.
pub fn guarded<S>(inner: S, breaker: Arc<Breaker>, timeout: Duration, retries: u32) -> Guarded<S> {
    ServiceBuilder::new()
        .retry(RetryPolicy::new(retries))
        .layer(BreakerLayer::new(breaker))
        .timeout(timeout)
        .service(inner)
}

impl From<BoxError> for UpstreamError {
    /// The timeout layer's error: its own `Elapsed`, or the inner service's [`UpstreamError`].
    fn from(e: BoxError) -> UpstreamError {
        match e.downcast::<UpstreamError>() {
            Ok(e) => *e,
            // The only other error the timeout layer makes.
            Err(_) => UpstreamError::Timeout,
        }
    }
}

/// The upstream side of one configuration: the service stack, the headers it gets, and its
/// metric series.
#[derive(Debug)]
pub(crate) struct Forwarder {
    stack: Stack,
    /// The HTTP upstream's base URL; `None` for the embedded backend.
    base: Option<String>,
    endpoint: Endpoint,
    headers: UpstreamHeaders,
    metrics: Arc<Metrics>,
    /// `upstream_duration_seconds` of this upstream, resolved once.
    duration: Histogram,
    /// The working memory an HTTP answer beyond the request's allowance is reserved from
    /// before it is parsed (`pipeline::admit`).
    memory: Memory,
    /// With `translation.overflow`, the prefix of the gateway's keys in the upstream's bag.
    overflow: Option<String>,
}

/// What the upstream calls of a request carry from the caller: its headers, and its credential
/// in passthrough mode; and the memory the request holds.
pub(crate) struct Forwarding<'a> {
    pub(crate) headers: &'a HeaderMap,
    pub(crate) pass_on: Option<&'a Secret>,
    /// The memory the request holds: its body's, then its answers' as they come.
    pub(crate) memory: Mutex<Reserved>,
}

impl Forwarding<'_> {
    /// Gives back now the memory the request holds beyond `bytes`.
    pub(crate) fn keep_only(&self, bytes: usize) {
        self.memory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .shrink_to(bytes);
    }
}

impl Forwarder {
    /// The embedded backend, or the HTTP upstream `http` guarded by `breaker`.
    pub(crate) fn new(
        config: &Config,
        endpoint: Endpoint,
        (upstream, memory): (Either<(HttpUpstream, Arc<Breaker>), Embedded>, Memory),
        metrics: Arc<Metrics>,
        duration: Histogram,
    ) -> Forwarder {
        let (stack, base) = match upstream {
            Either::Left((http, breaker)) => {
                let base = http.base().to_owned();
                let stack = guarded(http, breaker, config.upstream.timeout, config.upstream.retries);
                (Either::Left(stack), Some(base))
            }
            Either::Right(embedded) => (Either::Right(embedded), None),
        };
        Forwarder {
            stack,
            base,
            headers: UpstreamHeaders::new(config, &endpoint),
            endpoint,
            metrics,
            duration,
            memory,
            overflow: config.translation.restore_prefix().map(str::to_owned),
        }
    }

    /// The HTTP upstream's base URL; `None` for the embedded backend.
    pub(crate) fn base(&self) -> Option<&str> {
        self.base.as_deref()
    }

    /// The dialect the upstream speaks.
    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The headers of a read of the stored customer for `call` (the candidate's noise probe):
    /// those [`Forwarder::headers`] gives a retrieve call.
    pub(crate) fn headers_for(
        &self,
        call: &Call<'_>,
        incoming: &HeaderMap,
        pass_on: Option<&Secret>,
    ) -> HeaderMap {
        self.headers(call, incoming, pass_on, Operation::Retrieve)
    }

    /// The headers an upstream call of `call` doing `operation` carries (none for the embedded
    /// backend).
    pub(crate) fn headers(
        &self,
        call: &Call<'_>,
        incoming: &HeaderMap,
        pass_on: Option<&Secret>,
        operation: Operation,
    ) -> HeaderMap {
        if self.base.is_some() {
            self.headers.build(
                call.dialect,
                incoming,
                pass_on,
                call.peer,
                call.request_id,
                operation,
            )
        } else {
            HeaderMap::new()
        }
    }

    /// The service calls to this upstream go through (cloned for each call).
    pub(crate) fn stack(&self) -> &Stack {
        &self.stack
    }

    /// With `translation.overflow`, the prefix of the gateway's keys in the upstream's bag.
    pub(crate) fn overflow(&self) -> Option<&str> {
        self.overflow.as_deref()
    }

    /// Takes the upstream's `reply` to a call of `call` about customer `id`, sent at
    /// `started`: the call's duration and failures are counted, and an HTTP answer's memory is
    /// reserved before it is parsed and held with the request's (`forwarding`) until the
    /// caller's answer is built.
    ///
    /// # Errors
    /// The failed call, or no memory for its answer, in the caller's terms.
    pub(crate) fn replied(
        &self,
        call: &Call<'_>,
        forwarding: &Forwarding<'_>,
        (id, started): (&str, Instant),
        reply: Result<Reply, UpstreamError>,
    ) -> Result<Reply, Failure> {
        if self.base.is_some() {
            self.duration.observe(started.elapsed().as_secs_f64());
        }
        let failure =
            |e: &UpstreamError, outcome| Failure::new(outcome, e.problem()).about(Some(id.to_owned()));
        match reply {
            Ok(Reply::Http { status, body }) => {
                if status >= 500 {
                    self.metrics.upstream_error(self.endpoint.id(), "5xx");
                }
                let memory = self
                    .memory
                    .reserve_now(answer_reservation(&measure(&body)))
                    .map_err(|f| f.about(Some(id.to_owned())))?;
                forwarding
                    .memory
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .add(memory);
                Ok(Reply::Http { status, body })
            }
            Ok(answered) => Ok(answered),
            // The caller's id could not make a URL: its error, never sent, not logged.
            Err(e @ UpstreamError::Unsendable) => Err(failure(&e, Outcome::Unsendable)),
            Err(e) => {
                self.metrics.upstream_error(self.endpoint.id(), e.label());
                // Neither the URL (it holds the customer id) nor caller input: the error and
                // its cause carry neither (`without_url`).
                tracing::warn!(request_id = call.request_id, error = %e, cause = ?std::error::Error::source(&e).map(ToString::to_string), "Upstream call failed.");
                Err(failure(&e, Outcome::UpstreamError))
            }
        }
    }
}

#[cfg(test)]
mod tests;
