//! The read-modify-write phase: when the upstream replaces what it is sent (or needs members
//! the caller's dialect does not carry), the stored customer is read with the upstream's
//! retrieve operation and the translated request is completed with what it needs from it. A
//! failed read writes nothing and answers in the caller's dialect. The read of a caller's
//! retrieve goes the same way ([`Stored::read`]).

use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{Operation, Pending, Registry, Translation, Understood};
use serde_json::Value;

use crate::config::Config;
use crate::context::Call;
use crate::metrics::Metrics;
use crate::outcome::{Failure, Outcome};
use crate::pipeline::answer;
use crate::pipeline::forward::{Forwarder, Forwarding};
use crate::pipeline::translate;

/// What reading and completing with the stored customer needs of the gateway.
pub(crate) struct Stored<'a> {
    pub(crate) registry: &'a Registry,
    pub(crate) forwarder: &'a Forwarder,
    pub(crate) config: &'a Config,
    pub(crate) metrics: &'a Metrics,
}

impl Stored<'_> {
    /// Read-modify-write: the stored customer is read with the upstream's retrieve operation,
    /// and the request is completed with what it needs from it. The window between the read
    /// and the write is the completion alone: no other work sits between them.
    pub(crate) async fn complete(
        &self,
        call: &Call<'_>,
        forwarding: &Forwarding<'_>,
        body_id: Option<String>,
        pending: Pending,
    ) -> Result<Translation, Failure> {
        let endpoint = self.forwarder.endpoint();
        let reasons = pending.reasons();
        if let Some(reason) = reasons.first() {
            self.metrics.upstream_read(endpoint.id(), reason.as_str());
        }
        let id = pending.id().to_owned();
        let read = self.read(call, forwarding, &id).await?;
        let stored = read.held.unwrap_or(read.customer);
        let translation = self
            .registry
            .complete(
                &call.caller,
                endpoint,
                pending,
                &stored,
                self.config.translation.mode,
            )
            .map_err(|p| translate::refused(self.metrics, call, body_id, p))?;
        let filled: Vec<&str> = translation
            .fidelity
            .filled
            .iter()
            .map(|f| f.pointer.as_str())
            .collect();
        let reasons: Vec<&str> = reasons.iter().map(|r| r.as_str()).collect();
        // Canonical pointers only: never a value, never the id.
        tracing::info!(
            request_id = call.request_id,
            upstream = endpoint.id(),
            reasons = %reasons.join(","),
            filled = %filled.join(","),
            "Read the stored customer before writing."
        );
        Ok(translation)
    }

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
