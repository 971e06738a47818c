//! One attempt of an HTTP upstream call as a named future ([`Attempt`]): the answer's head, then
//! its body read up to the limit. Written out rather than as an `async` block so that the
//! service can name its future: it is not boxed (one allocation less per attempt, and no copy
//! of its state into the box), and the layers around it hold it as it is.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::Body;
use http_body_util::{LengthLimitError, Limited};
use hyper::body::Incoming;
use tower::BoxError;

use super::client::Sending;
use super::plain::{self, Lease};
use super::{Reply, UpstreamError, classify};

/// One attempt: the answer's status and body, read up to `limit` bytes.
pub struct Attempt {
    state: State,
    limit: usize,
}

enum State {
    /// Nothing was sent (the request could not be built): this error, once.
    Refused(Option<UpstreamError>),
    /// Waiting for the answer's head.
    Head(Sending),
    /// Reading the answer's body. A small answer usually comes in one chunk: it is kept as
    /// is (`first`), not copied; later chunks are gathered in `buf`. The plain client's
    /// connection (`lease`) goes back to its pool once the body was read to the end, if the
    /// answer keeps it open.
    Body {
        status: u16,
        body: Limited<Incoming>,
        first: Option<Bytes>,
        buf: Vec<u8>,
        lease: Option<Lease>,
    },
}

impl Attempt {
    /// The attempt whose request `response` is sending (`Err`: none could be built).
    pub(super) fn new(response: Result<Sending, UpstreamError>, limit: usize) -> Attempt {
        let state = match response {
            Ok(response) => State::Head(response),
            Err(e) => State::Refused(Some(e)),
        };
        Attempt { state, limit }
    }
}

impl std::fmt::Debug for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl Future for Attempt {
    type Output = Result<Reply, UpstreamError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Every part is `Unpin` (the client's future is boxed inside it).
        let this = self.get_mut();
        let limit = this.limit;
        loop {
            match &mut this.state {
                // Polled again after it finished: the contract is broken; it fails again.
                State::Refused(e) => {
                    return Poll::Ready(Err(e.take().unwrap_or(UpstreamError::Unsendable)));
                }
                State::Head(sending) => {
                    let answer = match sending {
                        Sending::Pooled(response) => ready!(Pin::new(response).poll(cx))
                            .map(|r| (r, None))
                            .map_err(BoxError::from),
                        Sending::Plain(response) => ready!(response.as_mut().poll(cx)).map(|(r, lease)| {
                            let lease = plain::keeps_alive(&r).then_some(lease);
                            (r, lease)
                        }),
                    };
                    let (response, lease) = match answer {
                        Ok(answer) => answer,
                        Err(e) => return this.finish(Err(classify(e))),
                    };
                    let status = response.status().as_u16();
                    if response
                        .body()
                        .size_hint()
                        .exact()
                        .is_some_and(|n| n > limit as u64)
                    {
                        return this.finish(Err(UpstreamError::TooLarge { limit }));
                    }
                    this.state = State::Body {
                        status,
                        body: Limited::new(response.into_body(), limit),
                        first: None,
                        buf: Vec::new(),
                        lease,
                    };
                }
                State::Body {
                    status,
                    body,
                    first,
                    buf,
                    lease,
                } => {
                    let Some(frame) = ready!(Pin::new(body).poll_frame(cx)) else {
                        if let Some(lease) = lease.take() {
                            lease.release();
                        }
                        let status = *status;
                        let body = match first.take() {
                            Some(only) => only,
                            None => Bytes::from(std::mem::take(buf)),
                        };
                        return this.finish(Ok(Reply::Http { status, body }));
                    };
                    let frame = match frame {
                        Ok(frame) => frame,
                        Err(e) => {
                            let e = match e.downcast::<LengthLimitError>() {
                                Ok(_) => UpstreamError::TooLarge { limit },
                                Err(e) => classify(e),
                            };
                            return this.finish(Err(e));
                        }
                    };
                    // Trailers (HTTP/2) carry nothing the gateway reads.
                    let Ok(chunk) = frame.into_data() else {
                        continue;
                    };
                    match first.take() {
                        None if buf.is_empty() => *first = Some(chunk),
                        held => {
                            if let Some(held) = held {
                                buf.reserve(held.len() + chunk.len());
                                buf.extend_from_slice(&held);
                            }
                            buf.extend_from_slice(&chunk);
                        }
                    }
                }
            }
        }
    }
}

impl Attempt {
    /// Ends the attempt with `result`: the connection's parts it held are released now.
    fn finish(&mut self, result: Result<Reply, UpstreamError>) -> Poll<Result<Reply, UpstreamError>> {
        self.state = State::Refused(None);
        Poll::Ready(result)
    }
}
