//! The driver of the operations after the common phases, each phase one call: an update
//! (translate, read-modify-write when the upstream needs the stored customer, forward, answer)
//! and a read (read the stored customer, answer), with migration mode's copies of both.

use std::time::Duration;

use bytes::Bytes;
use dialectgate_dialect::{Fidelity, Operation, Step, Understood, measure};
use http::Response;
use http_body_util::Full;
use serde_json::Value;

use super::Gateway;
use crate::context::Call;
use crate::exchange::{Exchanged, exchange};
use crate::outcome::Failure;
use crate::pipeline::forward::Forwarding;
use crate::pipeline::read_modify_write::{Read, Stored, Write};
use crate::pipeline::translate;
use crate::pipeline::{admit, answer};

impl Gateway {
    /// Translate (reading the stored customer first when the upstream needs it), forward,
    /// answer. The body is its bytes, and its parse when the route phase made it already.
    pub(super) async fn update(
        &self,
        call: &Call<'_>,
        forwarding: &Forwarding<'_>,
        query: &str,
        (bytes, parsed): (Bytes, Option<Value>),
    ) -> Result<Response<Full<Bytes>>, Failure> {
        let config = &self.config;
        // Only migration mode's copy needs the bytes after parsing (a shared handle, not a copy).
        let kept = self.candidate.as_ref().map(|_| bytes.clone());
        let (step, body_id, translate_time) = translate::translate(
            &self.registry,
            self.forwarder.endpoint(),
            config,
            &self.shared.metrics,
            call,
            query,
            (bytes, parsed),
        )?;
        // With members held as text, what the request needs from here on is its rest's trees
        // and the texts: the difference goes back to waiting requests while the upstream works.
        if let Step::Ready(t) = &step
            && !t.outbound.held.is_empty()
        {
            let held = &t.outbound.held;
            let members = held.members().map(measure);
            let max_values = config.server.max_json_values.get();
            forwarding.keep_only(admit::held_reservation(
                &measure(held.body()),
                members,
                max_values,
            ));
        }
        let stored = self.stored();
        let write = Write {
            stored,
            call,
            forwarding,
            body_id,
        };
        let Exchanged {
            id,
            fidelity,
            answer,
            read_time,
        } = exchange(
            stored.upstream(&call.caller),
            &write,
            &call.caller,
            (Operation::Update, step),
            (config.translation.mode, config.translation.conflict_retries),
        )
        .await?;
        let Understood { answer, body, .. } = answer;
        let customer = answer::customer(
            answer,
            config.credentials.mode,
            call.request_id,
            &id,
            self.forwarder.endpoint(),
            &self.shared.metrics,
        )?;
        let (rsp, encode_time) =
            self.answer_customer(call, query, &customer, body.as_ref(), &fidelity, &id)?;
        // Migration mode: a copy of the accepted update for the candidate, queued, never awaited.
        if let (Some(candidate), Some(bytes)) = (&self.candidate, &kept) {
            candidate.dual_write(call, query, bytes, &customer);
        }
        self.observe_translation(call.dialect.id(), translate_time + read_time + encode_time);
        Ok(rsp)
    }

    /// A read in the caller's dialect: the id from the path or the body (`parsed` when the
    /// route phase parsed it already), the upstream's retrieve operation, the answer.
    pub(super) async fn retrieve(
        &self,
        call: &Call<'_>,
        forwarding: &Forwarding<'_>,
        query: &str,
        (bytes, parsed): (&[u8], Option<Value>),
    ) -> Result<Response<Full<Bytes>>, Failure> {
        let body = match parsed {
            Some(body) => Some(body),
            None if bytes.is_empty() => None,
            None => Some(translate::parse_body(bytes, self.config.server.json_limits())?),
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
        let read = self.stored().read(call, forwarding, &id).await;
        self.copy_read(call, forwarding, &id, &read);
        let Read { customer, body, .. } = read?;
        let (rsp, encode_time) =
            self.answer_customer(call, query, &customer, body.as_ref(), &Fidelity::default(), &id)?;
        self.observe_translation(call.dialect.id(), encode_time);
        Ok(rsp)
    }

    /// Migration mode: a copy of the read for the candidate, with the primary's answer (and,
    /// with `noise_probe`, a second read of the primary, made off the caller's path). Nothing
    /// is copied of a read the primary did not answer or refused as unauthorised.
    fn copy_read(
        &self,
        call: &Call<'_>,
        forwarding: &Forwarding<'_>,
        id: &str,
        read: &Result<Read, Failure>,
    ) {
        let Some(candidate) = &self.candidate else {
            return;
        };
        let read = read.as_ref().map(|read| &read.customer);
        let Some(job) = candidate.read(call.request_id, call.dialect, id, read) else {
            return;
        };
        let probe = match (read, self.registry.retrieve(self.forwarder.endpoint(), id)) {
            (Ok(_), Some(outbound)) if candidate.noise_probe() => outbound,
            _ => return candidate.submit(job),
        };
        let second = self.stored().detached_read(
            self.registry.clone(),
            (id, probe),
            self.forwarder
                .headers_for(call, forwarding.headers, forwarding.pass_on),
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
        body: Option<&serde_json::Value>,
        fidelity: &Fidelity,
        id: &str,
    ) -> Result<(Response<Full<Bytes>>, Duration), Failure> {
        let shaping = answer::Shaping { query, body };
        answer::success(
            &self.registry,
            (call.operation, &call.caller),
            customer,
            fidelity,
            id,
            &shaping,
        )
    }

    /// The read-modify-write phase over this gateway's registry, upstream and configuration.
    fn stored(&self) -> Stored<'_> {
        Stored {
            registry: &self.registry,
            forwarder: &self.forwarder,
            config: &self.config,
            metrics: &self.shared.metrics,
        }
    }
}
