//! The read-modify-write exchange with an upstream, one driver for the caller's path
//! (`service/operations.rs` with `pipeline/read_modify_write.rs`) and the candidate's
//! (`candidate/worker.rs`): a planned request is completed with the stored customer when the
//! upstream needs it (read first), then sent; what the answer becomes is the [`Channel`]'s.
//! The window between the read and the write is the completion alone; when the request carries
//! the version the read found (a dialect that requires one on every write: commercetools), the
//! upstream itself closes it: its conflict answer makes the driver read again and retry, at most
//! `translation.conflict_retries` times.

use dialectgate_canonical::Problem;
use dialectgate_dialect::{
    Endpoint, Fidelity, FillReason, Mode, Operation, Outbound, Registry, Step, Translation, VERSION,
};
use serde_json::Value;

/// The way to one upstream, what the driver asks of the side it serves: how a read and a
/// request go, and what a refusal becomes.
pub(crate) trait Channel {
    /// The upstream's answer to the request, understood.
    type Answer;
    /// What goes wrong, in the side's own terms.
    type Error;

    /// The stored customer `id`, as the upstream holds it (overflow not restored).
    async fn read(&self, id: &str) -> Result<Value, Self::Error>;

    /// Sends `outbound` for customer `id` as `operation`, and understands the answer.
    async fn send(
        &self,
        id: &str,
        operation: Operation,
        outbound: Outbound,
    ) -> Result<Self::Answer, Self::Error>;

    /// A request the stored customer could not complete.
    fn refused(&self, problem: Problem) -> Self::Error;

    /// The stored customer is about to be read, for `reasons`.
    fn reading(&self, _reasons: &[FillReason]) {}

    /// The request was completed from the stored customer (read for `reasons`).
    fn completed(&self, _reasons: &[FillReason], _translation: &Translation) {}

    /// True when `answer` is the upstream's conflict (a stale version).
    fn conflicted(&self, answer: &Self::Answer) -> bool;

    /// A write carrying the version the gateway read met a conflict: it is read and sent again
    /// (`retry` counts from 1).
    fn retrying(&self, _retry: u32) {}
}

/// A request sent: the customer's id, how faithful the request was, and the upstream's answer.
pub(crate) struct Exchanged<A> {
    pub(crate) id: String,
    pub(crate) fidelity: Fidelity,
    pub(crate) answer: A,
}

/// Drives one request planned as `step` (from `from` for `to`): reads the stored customer and
/// completes the request (in `mode`) when the upstream needs it, then sends it as `operation`.
/// A write whose version the gateway filled from its read is retried on a conflict, at most
/// `conflict_retries` times: `conflict_retries + 1` writes in all; the last answer is the
/// caller's (its conflict, in the caller's dialect). A caller's own version is never retried: its
/// conflict is the caller's to resolve.
pub(crate) async fn exchange<C: Channel>(
    channel: &C,
    registry: &Registry,
    (from, to): (&Endpoint, &Endpoint),
    (operation, step): (Operation, Step),
    (mode, conflict_retries): (Mode, u32),
) -> Result<Exchanged<C::Answer>, C::Error> {
    let pending = match step {
        Step::Ready(translation) => {
            let Translation {
                id,
                outbound,
                fidelity,
            } = translation;
            let answer = channel.send(&id, operation, outbound).await?;
            return Ok(Exchanged { id, fidelity, answer });
        }
        Step::Read(pending) => pending,
    };
    let reasons = pending.reasons();
    let mut retry = 0;
    loop {
        channel.reading(&reasons);
        let stored = channel.read(pending.id()).await?;
        let translation = registry
            .complete(from, to, pending.clone(), &stored, mode)
            .map_err(|p| channel.refused(p))?;
        channel.completed(&reasons, &translation);
        let Translation {
            id,
            outbound,
            fidelity,
        } = translation;
        let versioned = fidelity.filled.iter().any(|f| f.pointer == VERSION);
        let answer = channel.send(&id, operation, outbound).await?;
        if versioned && retry < conflict_retries && channel.conflicted(&answer) {
            retry += 1;
            channel.retrying(retry);
            continue;
        }
        return Ok(Exchanged { id, fidelity, answer });
    }
}
