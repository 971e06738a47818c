//! The read-modify-write exchange with an upstream, one driver for the caller's path
//! (`service/operations.rs` with `pipeline/read_modify_write.rs`) and the candidate's
//! (`candidate/worker.rs`): a planned request is completed with the stored customer when the
//! upstream needs it (read first), then sent; what the answer becomes is the [`Channel`]'s.
//! The window between the read and the write is the completion alone.

use dialectgate_canonical::Problem;
use dialectgate_dialect::{
    Endpoint, Fidelity, FillReason, Mode, Operation, Outbound, Registry, Step, Translation,
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
}

/// A request sent: the customer's id, how faithful the request was, and the upstream's answer.
pub(crate) struct Exchanged<A> {
    pub(crate) id: String,
    pub(crate) fidelity: Fidelity,
    pub(crate) answer: A,
}

/// Drives one request planned as `step` (from `from` for `to`): reads the stored customer and
/// completes the request (in `mode`) when the upstream needs it, then sends it as `operation`.
pub(crate) async fn exchange<C: Channel>(
    channel: &C,
    registry: &Registry,
    (from, to): (&Endpoint, &Endpoint),
    (operation, step): (Operation, Step),
    mode: Mode,
) -> Result<Exchanged<C::Answer>, C::Error> {
    let translation = match step {
        Step::Ready(translation) => translation,
        Step::Read(pending) => {
            let reasons = pending.reasons();
            channel.reading(&reasons);
            let stored = channel.read(pending.id()).await?;
            let translation = registry
                .complete(from, to, pending, &stored, mode)
                .map_err(|p| channel.refused(p))?;
            channel.completed(&reasons, &translation);
            translation
        }
    };
    let Translation {
        id,
        outbound,
        fidelity,
    } = translation;
    let answer = channel.send(&id, operation, outbound).await?;
    Ok(Exchanged { id, fidelity, answer })
}
