//! The read-modify-write phase: when the upstream replaces what it is sent (or needs members
//! the caller's dialect does not carry), the stored customer is read with the upstream's
//! retrieve operation and the translated request is completed with what it needs from it. A
//! failed read writes nothing and answers in the caller's dialect. The exchange
//! (`crate::exchange`) drives it over the forwarder's service; [`Write`] is what the caller's
//! path adds to it (headers, accounting, failures, logs and metrics). The read of a caller's
//! retrieve goes the same way ([`Stored::read`]).

use std::pin::Pin;
use std::sync::Arc;

use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{
    Answer, Endpoint, Fidelity, FillReason, Mode, Operation, Outbound, Registry, Step, Translation,
    Understood,
};
use http::HeaderMap;
use serde_json::Value;

use crate::config::Config;
use crate::context::Call;
use crate::exchange::{Called, Exchanged, Observer, Upstream, exchange};
use crate::metrics::Metrics;
use crate::outcome::{Failure, Outcome};
use crate::pipeline::answer;
use crate::pipeline::forward::{Forwarder, Forwarding, Stack};
use crate::pipeline::translate;
use crate::upstream::{Reply, UpstreamError};

/// What reading the stored customer needs of the gateway.
#[derive(Clone, Copy)]
pub(crate) struct Stored<'a> {
    pub(crate) registry: &'a Registry,
    pub(crate) forwarder: &'a Forwarder,
    pub(crate) config: &'a Config,
    pub(crate) metrics: &'a Metrics,
}

impl<'a> Stored<'a> {
    /// The upstream as the exchange drives it for `caller`.
    pub(crate) fn upstream(&self, caller: &'a Endpoint) -> Upstream<'a, Stack> {
        Upstream {
            service: self.forwarder.stack(),
            registry: self.registry,
            endpoint: self.forwarder.endpoint(),
            caller: Some(caller),
            overflow: self.forwarder.overflow(),
        }
    }

    /// The stored customer `id` from the upstream, understood once.
    pub(crate) async fn read(
        &self,
        call: &Call<'_>,
        forwarding: &Forwarding<'_>,
        id: &str,
    ) -> Result<Read, Failure> {
        let write = Write {
            stored: *self,
            call,
            forwarding,
            body_id: None,
        };
        let endpoint = self.forwarder.endpoint();
        let outbound = self
            .registry
            .retrieve(endpoint, id)
            .ok_or_else(|| write.unreadable(endpoint))?;
        let step = Step::Ready(Translation {
            id: id.to_owned(),
            outbound,
            fidelity: Fidelity::default(),
        });
        let translation = &self.config.translation;
        let Exchanged { answer, .. } = exchange(
            self.upstream(&call.caller),
            &write,
            &call.caller,
            (Operation::Retrieve, step),
            (translation.mode, translation.conflict_retries),
        )
        .await?;
        let Understood { answer, body, .. } = answer;
        let customer = answer::customer(
            answer,
            self.config.credentials.mode,
            call.request_id,
            id,
            endpoint,
            self.metrics,
        )?;
        Ok(Read { customer, body })
    }
}

impl Stored<'_> {
    /// A read of customer `id` (the upstream's retrieve request `outbound`, with `headers`)
    /// through the same exchange, owning everything it needs, for a task of its own (the
    /// candidate's noise probe, off the caller's path): the customer, or `None` whatever went
    /// wrong. Nothing of it is counted or logged.
    pub(crate) fn detached_read(
        &self,
        registry: Arc<Registry>,
        (id, outbound): (&str, Outbound),
        headers: HeaderMap,
    ) -> impl Future<Output = Option<Value>> + Send + 'static {
        let (stack, endpoint) = (self.forwarder.stack().clone(), self.forwarder.endpoint().clone());
        let step = Step::Ready(Translation {
            id: id.to_owned(),
            outbound,
            fidelity: Fidelity::default(),
        });
        async move {
            let upstream = Upstream {
                service: &stack,
                registry: &registry,
                endpoint: &endpoint,
                caller: None,
                overflow: None,
            };
            let probe = Probe { headers };
            // Boxed as `Send` here, where its lifetimes are known: a spawned task cannot prove
            // it for every lifetime (rust-lang/rust#102211).
            let read: Pin<Box<dyn Future<Output = Result<Exchanged, ()>> + Send + '_>> = Box::pin(exchange(
                upstream,
                &probe,
                &endpoint,
                (Operation::Retrieve, step),
                (Mode::default(), 0),
            ));
            match read.await.ok()?.answer.answer {
                Answer::Customer(customer) => Some(customer),
                Answer::Problem(_) => None,
            }
        }
    }
}

/// The noise probe's read, as the exchange observes it: the headers of the caller's read, and
/// every failure only `None`.
struct Probe {
    headers: HeaderMap,
}

impl Observer for Probe {
    type Error = ();

    fn headers(&self, _: Operation) -> HeaderMap {
        self.headers.clone()
    }

    fn replied(&self, _: Called<'_>, reply: Result<Reply, UpstreamError>) -> Result<Reply, ()> {
        reply.map_err(drop)
    }

    fn stored(&self, _: &str, answer: Answer) -> Result<Value, ()> {
        match answer {
            Answer::Customer(customer) => Ok(customer),
            Answer::Problem(_) => Err(()),
        }
    }

    fn unreadable(&self, _: &Endpoint) {}

    fn refused(&self, _: Problem) {}
}

/// The stored customer, read.
pub(crate) struct Read {
    /// As a canonical Customer, the members the upstream keeps in its bag back in place.
    pub(crate) customer: Value,
    /// The upstream's body as parsed, when the caller speaks its dialect.
    pub(crate) body: Option<Value>,
}

/// A caller's request, as the read-modify-write exchange observes it: its headers, the
/// forwarder's accounting of each reply, its failures in the caller's terms, logs and metrics.
pub(crate) struct Write<'a, 'c> {
    pub(crate) stored: Stored<'a>,
    pub(crate) call: &'a Call<'c>,
    pub(crate) forwarding: &'a Forwarding<'c>,
    /// The id in the caller's body, named in a refusal.
    pub(crate) body_id: Option<String>,
}

impl Observer for Write<'_, '_> {
    type Error = Failure;

    fn headers(&self, operation: Operation) -> HeaderMap {
        let forwarding = self.forwarding;
        self.stored
            .forwarder
            .headers(self.call, forwarding.headers, forwarding.pass_on, operation)
    }

    fn replied(&self, called: Called<'_>, reply: Result<Reply, UpstreamError>) -> Result<Reply, Failure> {
        let (forwarder, started) = (self.stored.forwarder, called.started);
        forwarder.replied(self.call, self.forwarding, (called.id, started), reply)
    }

    /// A read's problem is the caller's answer, as the request's would be; an answer about
    /// another customer is refused (`answer::customer`).
    fn stored(&self, id: &str, answer: Answer) -> Result<Value, Failure> {
        let stored = &self.stored;
        answer::customer(
            answer,
            stored.config.credentials.mode,
            self.call.request_id,
            id,
            stored.forwarder.endpoint(),
            stored.metrics,
        )
    }

    fn unreadable(&self, upstream: &Endpoint) -> Failure {
        Failure::new(
            Outcome::UpstreamError,
            Problem::new(
                ErrorKind::BadGateway,
                format!(
                    "the upstream's dialect `{}` declares no retrieve operation",
                    upstream.id()
                ),
            ),
        )
    }

    fn refused(&self, problem: Problem) -> Failure {
        translate::refused(self.stored.metrics, self.call, self.body_id.clone(), problem)
    }

    fn retrying(&self, retry: u32) {
        tracing::info!(
            request_id = self.call.request_id,
            upstream = self.stored.forwarder.endpoint().id(),
            retry,
            "The upstream answered the write with a conflict: reading the customer again."
        );
    }

    fn reading(&self, reasons: &[FillReason]) {
        if let Some(reason) = reasons.first() {
            let endpoint = self.stored.forwarder.endpoint();
            self.stored.metrics.upstream_read(endpoint.id(), reason.as_str());
        }
    }

    fn completed(&self, reasons: &[FillReason], translation: &Translation) {
        let filled: Vec<&str> = translation
            .fidelity
            .filled
            .iter()
            .map(|f| f.pointer.as_str())
            .collect();
        let reasons: Vec<&str> = reasons.iter().map(|r| r.as_str()).collect();
        // Canonical pointers only: never a value, never the id.
        tracing::info!(
            request_id = self.call.request_id,
            upstream = self.stored.forwarder.endpoint().id(),
            reasons = %reasons.join(","),
            filled = %filled.join(","),
            "Read the stored customer before writing."
        );
    }
}
