//! The operations after the common phases: an update (translated, completed from the stored
//! customer when the upstream needs it, forwarded, answered) and a read (the upstream's retrieve
//! call, answered in the caller's dialect), with migration mode's copies of both.

use std::time::Duration;

use bytes::Bytes;
use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{Fidelity, Operation, Pending, Step, Translation, parse_limited};
use http::Response;
use http_body_util::Full;

use super::{Gateway, Upstream};
use crate::answer;
use crate::context::Call;
use crate::outcome::{Failure, Outcome};
use crate::translate;

impl Gateway {
    /// Translate (reading the stored customer first when the upstream needs it), forward,
    /// answer.
    pub(super) async fn update(
        &self,
        call: &Call<'_>,
        upstream: &Upstream<'_>,
        query: &str,
        bytes: &Bytes,
    ) -> Result<Response<Full<Bytes>>, Failure> {
        let config = &self.config;
        let (step, body_id, translate_time) = translate::translate(
            &self.registry,
            self.forwarder.endpoint(),
            config,
            &self.shared.metrics,
            call,
            query,
            bytes,
        )?;
        let translation = match step {
            Step::Ready(translation) => translation,
            Step::Read(pending) => self.read_modify(call, upstream, body_id, pending).await?,
        };
        let Translation {
            id,
            outbound,
            fidelity,
        } = translation;
        let forwarded = self
            .send(call, upstream, &id, (Operation::Update, outbound))
            .await?;
        let mut customer = answer::customer(
            forwarded.answer,
            config.credentials.mode,
            call.request_id,
            &id,
            self.forwarder.endpoint(),
            &self.shared.metrics,
        )?;
        self.restore_overflow(&mut customer);
        let (rsp, encode_time) =
            self.answer_customer(call, query, &customer, forwarded.body.as_deref(), &fidelity, &id)?;
        // Migration mode: a copy of the accepted update for the candidate, queued, never awaited.
        if let Some(candidate) = &self.candidate {
            candidate.dual_write(call, query, bytes, &customer);
        }
        self.observe_translation(
            call.dialect.id(),
            translate_time + forwarded.read_time + encode_time,
        );
        Ok(rsp)
    }

    /// Read-modify-write: the stored customer is read with the upstream's retrieve operation
    /// (a failed read writes nothing and answers in the caller's dialect), and the request is
    /// completed with what it needs from it. The window between the read and the write is the
    /// completion alone: no other work sits between them.
    async fn read_modify(
        &self,
        call: &Call<'_>,
        upstream: &Upstream<'_>,
        body_id: Option<String>,
        pending: Pending,
    ) -> Result<Translation, Failure> {
        let endpoint = self.forwarder.endpoint();
        let reasons = pending.reasons();
        if let Some(reason) = reasons.first() {
            self.shared.metrics.upstream_read(endpoint.id(), reason.as_str());
        }
        let id = pending.id().to_owned();
        let (restored, raw) = self.read_stored(call, upstream, &id).await?;
        let stored = self.as_held(raw.as_deref()).unwrap_or(restored);
        let translation = self
            .registry
            .complete(
                &call.caller,
                endpoint,
                pending,
                &stored,
                self.config.translation.mode,
            )
            .map_err(|p| translate::refused(&self.shared.metrics, call, body_id, p))?;
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

    /// The stored customer `id` from the upstream, as a canonical Customer (overflowed members
    /// back in place), and the upstream's body as it came.
    async fn read_stored(
        &self,
        call: &Call<'_>,
        upstream: &Upstream<'_>,
        id: &str,
    ) -> Result<(serde_json::Value, Option<Bytes>), Failure> {
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
            .send(call, upstream, id, (Operation::Retrieve, outbound))
            .await?;
        let mut customer = answer::customer(
            forwarded.answer,
            self.config.credentials.mode,
            call.request_id,
            id,
            endpoint,
            &self.shared.metrics,
        )?;
        self.restore_overflow(&mut customer);
        Ok((customer, forwarded.body))
    }

    /// A read in the caller's dialect: the id from the path or the body, the upstream's
    /// retrieve operation, the answer.
    pub(super) async fn retrieve(
        &self,
        call: &Call<'_>,
        upstream: &Upstream<'_>,
        query: &str,
        bytes: &[u8],
    ) -> Result<Response<Full<Bytes>>, Failure> {
        let body = if bytes.is_empty() {
            None
        } else {
            Some(
                parse_limited(bytes, self.config.server.json_limits()).map_err(|e| {
                    Failure::new(
                        Outcome::Malformed,
                        Problem::new(ErrorKind::Malformed, format!("the body is not valid JSON: {e}")),
                    )
                })?,
            )
        };
        let body_id = body.as_ref().and_then(|b| translate::body_id(call, b));
        let id = call
            .dialect
            .retrieve_id(call.path_id, query, body)
            .and_then(|id| {
                self.registry
                    .check_retrieve_id(&call.caller, self.forwarder.endpoint(), &id)
                    .map(|()| id)
            })
            .map_err(|p| translate::refused(&self.shared.metrics, call, body_id, p))?;
        let read = self.read_stored(call, upstream, &id).await;
        self.copy_read(call, upstream, &id, &read);
        let (customer, raw) = read?;
        let (rsp, encode_time) =
            self.answer_customer(call, query, &customer, raw.as_deref(), &Fidelity::default(), &id)?;
        self.observe_translation(call.dialect.id(), encode_time);
        Ok(rsp)
    }

    /// One call to the upstream for `call`, with what it carries from the caller.
    async fn send(
        &self,
        call: &Call<'_>,
        upstream: &Upstream<'_>,
        id: &str,
        request: (Operation, dialectgate_dialect::Outbound),
    ) -> Result<crate::forward::Forwarded, Failure> {
        let mut forwarded = self
            .forwarder
            .forward(
                &self.registry,
                call,
                upstream.headers,
                upstream.pass_on,
                id,
                request,
            )
            .await?;
        // The answer's memory is held with the request's until the caller's answer is built.
        upstream
            .memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .add(std::mem::take(&mut forwarded.memory));
        Ok(forwarded)
    }

    /// Migration mode: a copy of the read for the candidate, with the primary's answer (and,
    /// with `noise_probe`, a second read of the primary, made off the caller's path). Nothing
    /// is copied of a read the primary did not answer or refused as unauthorised.
    fn copy_read(
        &self,
        call: &Call<'_>,
        upstream: &Upstream<'_>,
        id: &str,
        read: &Result<(serde_json::Value, Option<Bytes>), Failure>,
    ) {
        let Some(candidate) = &self.candidate else {
            return;
        };
        let read = read.as_ref().map(|(customer, _)| customer);
        let Some(job) = candidate.read(call.request_id, call.dialect, id, read) else {
            return;
        };
        let probe = match (read, self.registry.retrieve(self.forwarder.endpoint(), id)) {
            (Ok(_), Some(outbound)) if candidate.noise_probe() => outbound,
            _ => return candidate.submit(job),
        };
        let second = self.forwarder.detached_read(
            self.registry.clone(),
            id,
            probe,
            self.forwarder
                .headers_for(call, upstream.headers, upstream.pass_on),
        );
        let candidate = candidate.clone();
        tokio::spawn(async move {
            let second = second.await;
            candidate.submit_probed(job, second.as_ref());
        });
    }

    fn answer_customer(
        &self,
        call: &Call<'_>,
        query: &str,
        customer: &serde_json::Value,
        raw: Option<&[u8]>,
        fidelity: &Fidelity,
        id: &str,
    ) -> Result<(Response<Full<Bytes>>, Duration), Failure> {
        let shaping = answer::Shaping {
            query,
            upstream: self.forwarder.endpoint(),
            body: raw,
        };
        answer::success(
            &self.registry,
            (call.operation, &call.caller),
            customer,
            fidelity,
            id,
            &shaping,
        )
    }

    /// With `translation.overflow`, the stored customer as the upstream holds it, read again
    /// from the upstream's success `body`: its bag still holds the gateway's keys, which
    /// restoring took out, so a bag the upstream replaces in full is sent back with every one
    /// of them. `None` without overflow (nothing was taken out) or without a body (the
    /// embedded backend, which has no bag).
    fn as_held(&self, body: Option<&[u8]>) -> Option<serde_json::Value> {
        if !self.config.translation.overflow {
            return None;
        }
        // `read_stored` accepted this body as a success: the status it came with is a 2xx.
        match self.registry.read_answer(self.forwarder.endpoint(), 200, body?) {
            dialectgate_dialect::Answer::Customer(customer) => Some(customer),
            dialectgate_dialect::Answer::Problem(_) => None,
        }
    }

    /// With `translation.overflow`, members the upstream keeps in its bag come back out.
    fn restore_overflow(&self, customer: &mut serde_json::Value) {
        let t = &self.config.translation;
        if t.overflow {
            self.registry
                .restore_overflow(self.forwarder.endpoint(), customer, &t.overflow_prefix);
        }
    }
}
