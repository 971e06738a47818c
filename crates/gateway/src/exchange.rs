//! The read-modify-write exchange with an upstream, one driver for the caller's path
//! (`service/operations.rs` with `pipeline/read_modify_write.rs`) and the candidate's
//! (`candidate/worker.rs`), over any `tower::Service` taking an [`UpstreamRequest`]
//! ([`Upstream`]): plan → read if needed → complete → send → understand. The driver builds the
//! read from the upstream's dialect (its retrieve operation), calls the service, understands
//! each answer once (`Registry::understand`), completes the request with the stored customer
//! and sends it; what differs between the two sides is data ([`Upstream`]: the service, the
//! upstream's dialect, the caller a parsed body passes through to, the overflow prefix) and the
//! [`Observer`]'s hooks (headers, the reply's accounting, what a failure becomes, events for
//! logs and metrics).
//!
//! The window between the read and the write is the completion alone; when the request carries
//! the version the read found (a dialect that requires one on every write: commercetools), the
//! upstream itself closes it: its conflict answer makes the driver read again and retry, at most
//! `translation.conflict_retries` times.

use std::time::{Duration, Instant};

use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{
    Answer, Endpoint, Fidelity, FillReason, Mode, Operation, Outbound, Registry, Step, Translation,
    Understood, VERSION,
};
use http::HeaderMap;
use serde_json::Value;
use tower::util::Oneshot;
use tower::{Service, ServiceExt};
use tracing::Instrument;
use tracing::instrument::Instrumented;

use crate::pipeline::forward::headers::repeatable;
use crate::upstream::{Reply, UpstreamError, UpstreamRequest};

/// One upstream as the driver sees it: the service calls go through, and how its answers are
/// understood.
pub(crate) struct Upstream<'a, S> {
    /// Cloned for each call (`oneshot`), as the forward stack expects.
    pub(crate) service: &'a S,
    pub(crate) registry: &'a Registry,
    /// The dialect the upstream speaks.
    pub(crate) endpoint: &'a Endpoint,
    /// The caller whose dialect may be the upstream's: its success body then comes back parsed
    /// (`Understood::body`). `None`: never.
    pub(crate) caller: Option<&'a Endpoint>,
    /// The gateway's key prefix in the upstream's bag when overflow is on: the members there
    /// are restored in the request's answer (never in the read, which completes the request
    /// with the customer as the upstream holds it).
    pub(crate) overflow: Option<&'a str>,
}

// By hand: `derive` would ask `S: Copy`.
impl<S> Clone for Upstream<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Upstream<'_, S> {}

/// Which call of an exchange an upstream's reply answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leg {
    /// The read of the stored customer before a write.
    Read,
    /// The request itself.
    Send,
}

/// One call of an exchange, as its reply is handed to the [`Observer`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Called<'a> {
    pub(crate) leg: Leg,
    /// The customer the call is about.
    pub(crate) id: &'a str,
    /// When it was sent.
    pub(crate) started: Instant,
}

/// What the side an exchange serves adds to it: the headers of its calls, the accounting of
/// their replies, what a failure becomes in its own terms, and events for logs and metrics.
pub(crate) trait Observer {
    /// What goes wrong, in the side's own terms.
    type Error;

    /// The headers of an upstream call doing `operation`.
    fn headers(&self, operation: Operation) -> HeaderMap;

    /// What the upstream replied to the call `called`: the reply to understand, or what its
    /// failure becomes.
    ///
    /// # Errors
    /// A failed call, or a reply the side cannot take.
    fn replied(&self, called: Called<'_>, reply: Result<Reply, UpstreamError>) -> Result<Reply, Self::Error>;

    /// The stored customer `id` from the read's answer (overflow not restored).
    ///
    /// # Errors
    /// The read's problem, in the side's terms: nothing is written.
    fn stored(&self, id: &str, answer: Answer) -> Result<Value, Self::Error>;

    /// The upstream's dialect declares no retrieve operation, so the customer cannot be read.
    fn unreadable(&self, upstream: &Endpoint) -> Self::Error;

    /// A request the stored customer could not complete.
    fn refused(&self, problem: Problem) -> Self::Error;

    /// The stored customer is about to be read, for `reasons`.
    fn reading(&self, _reasons: &[FillReason]) {}

    /// The request was completed from the stored customer (read for `reasons`).
    fn completed(&self, _reasons: &[FillReason], _translation: &Translation) {}

    /// A write carrying the version the gateway read met a conflict: it is read and sent again
    /// (`retry` counts from 1).
    fn retrying(&self, _retry: u32) {}
}

/// A request sent: the customer's id, how faithful the request was, the upstream's answer
/// understood, and the time spent understanding it.
pub(crate) struct Exchanged {
    pub(crate) id: String,
    pub(crate) fidelity: Fidelity,
    pub(crate) answer: Understood,
    pub(crate) read_time: Duration,
}

/// Drives one request planned as `step` (from `from` for the upstream): reads the stored
/// customer and completes the request (in `mode`) when the upstream needs it
/// (`Registry::settle`, the synchronous core the CLI's `translate --current` shares), then
/// sends it as `operation`. A write whose version the gateway filled from its read is retried on a
/// conflict, at most `conflict_retries` times: `conflict_retries + 1` writes in all; the last
/// answer is the caller's (its conflict, in the caller's dialect). A caller's own version is
/// never retried: its conflict is the caller's to resolve.
pub(crate) async fn exchange<S, O>(
    upstream: Upstream<'_, S>,
    observer: &O,
    from: &Endpoint,
    (operation, step): (Operation, Step),
    (mode, conflict_retries): (Mode, u32),
) -> Result<Exchanged, O::Error>
where
    S: Service<UpstreamRequest, Response = Reply, Error = UpstreamError> + Clone,
    O: Observer,
{
    let registry = upstream.registry;
    let (mut step, mut stored, mut reasons, mut retry) = (step, None, Vec::new(), 0);
    loop {
        // Kept for a retry: a write completed from a read may be completed again.
        let again = match &step {
            Step::Read(pending) if stored.is_some() => Some(pending.clone()),
            _ => None,
        };
        let settled = registry
            .settle((from, upstream.endpoint), step, stored.as_ref(), mode)
            .map_err(|p| observer.refused(p))?;
        let translation = match settled {
            Step::Ready(translation) => translation,
            Step::Read(pending) => {
                reasons = pending.reasons();
                observer.reading(&reasons);
                stored = Some(upstream.read(observer, pending.id()).await?);
                step = Step::Read(pending);
                continue;
            }
        };
        if stored.is_some() {
            observer.completed(&reasons, &translation);
        }
        let Translation {
            id,
            outbound,
            fidelity,
        } = translation;
        let versioned = fidelity.filled.iter().any(|f| f.pointer == VERSION);
        let (answer, read_time) = upstream.send(observer, &id, (operation, outbound)).await?;
        if let Some(pending) = again
            && versioned
            && retry < conflict_retries
            && conflicted(&answer.answer)
        {
            retry += 1;
            observer.retrying(retry);
            (step, stored) = (Step::Read(pending), None);
            continue;
        }
        return Ok(Exchanged {
            id,
            fidelity,
            answer,
            read_time,
        });
    }
}

/// Whether `answer` is the upstream's conflict (a stale version).
fn conflicted(answer: &Answer) -> bool {
    matches!(answer, Answer::Problem(p) if p.kind() == ErrorKind::Conflict)
}

impl<S> Upstream<'_, S>
where
    S: Service<UpstreamRequest, Response = Reply, Error = UpstreamError> + Clone,
{
    /// The stored customer `id`, as the upstream holds it (overflow not restored): a bag the
    /// upstream replaces in full is sent back with every one of the gateway's keys.
    async fn read<O: Observer>(self, observer: &O, id: &str) -> Result<Value, O::Error> {
        let outbound = self
            .registry
            .retrieve(self.endpoint, id)
            .ok_or_else(|| observer.unreadable(self.endpoint))?;
        let operation = Operation::Retrieve;
        let (called, reply) = self.call(observer, Leg::Read, id, (operation, outbound));
        let reply = observer.replied(called, reply.await)?;
        let answer = match reply {
            // An answer already understood (the embedded backend's) holds no bag the upstream
            // replaces: it is taken as the request's answer is.
            Reply::Answer(answer) => self.registry.restored(self.endpoint, answer, self.overflow),
            Reply::Http { status, body } => {
                self.registry
                    .understand((operation, self.endpoint), status, &body, None, None)
                    .answer
            }
        };
        observer.stored(id, answer)
    }

    /// Sends `outbound` for customer `id` as `operation`, and understands the answer once
    /// (overflow restored; the body as parsed for a caller speaking the upstream's dialect).
    async fn send<O: Observer>(
        self,
        observer: &O,
        id: &str,
        (operation, outbound): (Operation, Outbound),
    ) -> Result<(Understood, Duration), O::Error> {
        let (called, reply) = self.call(observer, Leg::Send, id, (operation, outbound));
        let reply = observer.replied(called, reply.await)?;
        Ok(match reply {
            Reply::Answer(answer) => (
                Understood {
                    answer: self.registry.restored(self.endpoint, answer, self.overflow),
                    body: None,
                },
                Duration::ZERO,
            ),
            Reply::Http { status, body } => {
                let started = Instant::now();
                let understood = self.registry.understand(
                    (operation, self.endpoint),
                    status,
                    &body,
                    self.caller,
                    self.overflow,
                );
                (understood, started.elapsed())
            }
        })
    }

    /// One call to the upstream as `leg`: the call (sent now), and its reply to hand to the
    /// observer with it. A plain function, not an `async` one: the reply's future is awaited by
    /// [`Self::read`] and [`Self::send`] themselves, not inside a future of its own that would
    /// also hold this function's arguments (about 500 B more, copied as each is made).
    fn call<'i, O: Observer>(
        self,
        observer: &O,
        leg: Leg,
        id: &'i str,
        (operation, outbound): (Operation, Outbound),
    ) -> (Called<'i>, Instrumented<Oneshot<S, UpstreamRequest>>) {
        let headers = observer.headers(operation);
        let repeatable = repeatable(operation, &outbound.method, &headers);
        let request = UpstreamRequest::new(id.to_owned(), outbound, headers, (operation, repeatable));
        let started = Instant::now();
        let reply = self
            .service
            .clone()
            .oneshot(request)
            .instrument(tracing::debug_span!("forward"));
        (Called { leg, id, started }, reply)
    }
}

#[cfg(test)]
mod tests;
