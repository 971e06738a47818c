//! A connection's guard: it drives the connection and closes it when it breaks the transport's
//! rules (the header and idle timeouts, the server stopping), which hyper enforces for HTTP/1
//! headers only.

use std::task::Poll;

use hyper_util::server::graceful::GracefulConnection;
use tokio::sync::watch;
use tokio::time::{Duration, Instant};

use super::side_wake::SideWake;
use super::{Activity, Phase, Transport};

/// How long a connection being closed (idle, or the server stopping) may take to say goodbye
/// once no request is in flight on it: an HTTP/2 GOAWAY waits for the client's PING answer,
/// which a hostile client never sends.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Drives `conn` and closes it when it breaks the transport's rules, which hyper enforces for
/// HTTP/1 headers only:
/// - no complete request within the header timeout of opening (an HTTP/2 client that sent only
///   the preface, or stopped in the middle of a HEADERS frame);
/// - no request in flight for the idle timeout (HTTP/1 keep-alive and HTTP/2 alike);
/// - the server stopping.
///
/// Closing asks hyper to finish gracefully (HTTP/2 GOAWAY; HTTP/1 closes after the answer being
/// written), then drops the connection if it is still open [`CLOSE_GRACE`] after its last
/// request ended. Requests in flight are never cut off here (the body and upstream timeouts
/// bound them).
pub(super) async fn guard<C>(
    conn: C,
    transport: &Transport,
    activity: &Activity,
    mut stopping: watch::Receiver<Phase>,
) -> Result<(), C::Error>
where
    C: GracefulConnection,
{
    let mut conn = std::pin::pin!(conn);
    // The guard looks at least once per idle timeout, so that a request that came and went
    // before the header timeout ran out is noticed in time.
    let every = transport.idle_timeout;
    let deadline = tokio::time::sleep(transport.header_read_timeout.min(every));
    let mut deadline = std::pin::pin!(deadline);
    let mut closing = false;
    // The deadline and the phase are polled only when one of them woke the task.
    let side = SideWake::new();
    loop {
        // One wait on the server's phase, not one per phase. Before closing it waits for the
        // server to stop (or to close at once), then for it to close.
        let awaited = move |phase: &Phase| {
            if closing {
                *phase == Phase::Closing
            } else {
                *phase >= Phase::Stopping
            }
        };
        let mut phase = std::pin::pin!(stopping.wait_for(awaited));
        side.renew();
        let woke = std::future::poll_fn(|cx| {
            // The connection first: it is what wakes the task, and it ends the loop.
            if let Poll::Ready(result) = conn.as_mut().poll(cx) {
                return Poll::Ready(Woke::Done(result));
            }
            let Some(mut side_cx) = side.due(cx) else {
                return Poll::Pending;
            };
            if deadline.as_mut().poll(&mut side_cx).is_ready() {
                return Poll::Ready(Woke::Deadline);
            }
            phase
                .as_mut()
                .poll(&mut side_cx)
                .map(|phase| Woke::Phase(phase.map(|phase| *phase)))
        })
        .await;
        match woke {
            Woke::Done(result) => return result,
            Woke::Deadline => {
                let (idle_since, seen) = activity.idle_since();
                let allowance = if closing {
                    CLOSE_GRACE
                } else if seen {
                    transport.idle_timeout
                } else {
                    transport.header_read_timeout
                };
                let now = Instant::now();
                match idle_since {
                    // A request in flight: look again later.
                    None => deadline.as_mut().reset(now + allowance.min(every)),
                    // Not idle for the whole allowance yet: look again when it would be.
                    Some(since) if since + allowance > now => {
                        deadline.as_mut().reset((since + allowance).min(now + every));
                    }
                    // Dropping the connection closes the socket.
                    Some(_) if closing => return Ok(()),
                    Some(_) => {
                        conn.as_mut().graceful_shutdown();
                        closing = true;
                        deadline.as_mut().reset(Instant::now() + CLOSE_GRACE);
                    }
                }
            }
            // Closing (or the channel gone: the server is gone) cuts off the connection's
            // requests; dropping it closes the socket.
            Woke::Phase(Ok(Phase::Closing) | Err(_)) => return Ok(()),
            Woke::Phase(Ok(_)) => {
                conn.as_mut().graceful_shutdown();
                closing = true;
                deadline.as_mut().reset(Instant::now() + CLOSE_GRACE);
            }
        }
    }
}

/// What ended a wait of a connection's guard.
enum Woke<R> {
    /// The connection ended, with this result.
    Done(R),
    /// The deadline passed.
    Deadline,
    /// The server's phase is the one awaited (or the server is gone).
    Phase(Result<Phase, watch::error::RecvError>),
}
