//! The read-modify-write phase: when the upstream replaces what it is sent (or needs members
//! the caller's dialect does not carry), the stored customer is read with the upstream's
//! retrieve operation and the translated request is completed with what it needs from it. A
//! failed read writes nothing and answers in the caller's dialect. The exchange
//! (`crate::exchange`) drives it; [`Write`] is what it asks of the caller's path. The read of a
//! caller's retrieve goes the same way ([`Stored::read`]).

use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{Answer, FillReason, Operation, Outbound, Registry, Translation, Understood};
use serde_json::Value;

use crate::config::Config;
use crate::context::Call;
use crate::exchange::Channel;
use crate::metrics::Metrics;
use crate::outcome::{Failure, Outcome};
use crate::pipeline::answer;
use crate::pipeline::forward::{Forwarded, Forwarder, Forwarding};
use crate::pipeline::translate;

/// What reading the stored customer needs of the gateway.
pub(crate) struct Stored<'a> {
    pub(crate) registry: &'a Registry,
    pub(crate) forwarder: &'a Forwarder,
    pub(crate) config: &'a Config,
    pub(crate) metrics: &'a Metrics,
}

impl Stored<'_> {
    /// The stored customer `id` from the upstream, understood once.
    pub(crate) async fn read(
        &self,
        call: &Call<'_>,
        forwarding: &Forwarding<'_>,
        id: &str,
    ) -> Result<Read, Failure> {
        let endpoint = self.forwarder.endpoint();
        let outbound = self.registry.retrieve(endpoint, id).ok_or_else(|| {
            Failure::new(
                Outcome::UpstreamError,
                Problem::new(
                    ErrorKind::BadGateway,
                    format!(
                        "the upstream's dialect `{}` declares no retrieve operation",
                        endpoint.id()
                    ),
                ),
            )
        })?;
        let forwarded = self
            .forwarder
            .send(
                self.registry,
                call,
                forwarding,
                id,
                (Operation::Retrieve, outbound),
            )
            .await?;
        let Understood { answer, held, body } = forwarded.understood;
        let customer = answer::customer(
            answer,
            self.config.credentials.mode,
            call.request_id,
            id,
            endpoint,
            self.metrics,
        )?;
        Ok(Read { customer, held, body })
    }
}

/// The stored customer, read.
pub(crate) struct Read {
    /// As a canonical Customer, the members the upstream keeps in its bag back in place.
    pub(crate) customer: Value,
    /// With overflow, as the upstream holds it (its bag still holding the gateway's keys), so a
    /// bag the upstream replaces in full is sent back with every one of them. `None` without
    /// overflow (nothing was taken out) or from the embedded backend (which has no bag).
    pub(crate) held: Option<Value>,
    /// The upstream's body as parsed, when the caller speaks its dialect.
    pub(crate) body: Option<Value>,
}

/// A caller's request, as the read-modify-write exchange's channel: the stored customer and
/// the request go through the forwarder.
pub(crate) struct Write<'a, 'c> {
    pub(crate) stored: Stored<'a>,
    pub(crate) call: &'a Call<'c>,
    pub(crate) forwarding: &'a Forwarding<'c>,
    /// The id in the caller's body, named in a refusal.
    pub(crate) body_id: Option<String>,
}

impl Channel for Write<'_, '_> {
    type Answer = Forwarded;
    type Error = Failure;

    /// Overflow was restored in the customer read; a bag the upstream replaces in full is sent
    /// back with every one of the gateway's keys, so the request is completed with the
    /// customer as the upstream holds it.
    async fn read(&self, id: &str) -> Result<Value, Failure> {
        let read = self.stored.read(self.call, self.forwarding, id).await?;
        Ok(read.held.unwrap_or(read.customer))
    }

    async fn send(&self, id: &str, operation: Operation, outbound: Outbound) -> Result<Forwarded, Failure> {
        let stored = &self.stored;
        stored
            .forwarder
            .send(
                stored.registry,
                self.call,
                self.forwarding,
                id,
                (operation, outbound),
            )
            .await
    }

    fn refused(&self, problem: Problem) -> Failure {
        translate::refused(self.stored.metrics, self.call, self.body_id.clone(), problem)
    }

    fn conflicted(&self, forwarded: &Forwarded) -> bool {
        matches!(&forwarded.understood.answer, Answer::Problem(p) if p.kind() == ErrorKind::Conflict)
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
