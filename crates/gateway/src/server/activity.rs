//! What a connection's guard knows of its requests, kept by the requests themselves: how many are
//! in flight and when the last one ended, and the answer body that holds its request in flight
//! until hyper has sent it.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::{Body, Frame, SizeHint};
use tokio::time::Instant;

/// The requests of one connection, as its guard sees them: how many are in flight and when the
/// last one ended. Requests only touch atomics; the guard reads them when its deadline fires
/// and re-arms the deadline from there, so no request wakes the connection's task.
#[derive(Debug, Clone)]
pub(crate) struct Activity(Arc<ActivityState>);

#[derive(Debug)]
struct ActivityState {
    /// When the connection opened; times below are milliseconds since then.
    opened: Instant,
    in_flight: AtomicUsize,
    /// Whether a request has arrived (its headers were complete).
    seen: AtomicBool,
    /// When the last request ended (0 before any did: the connection's opening).
    last_end_ms: AtomicU64,
}

impl Activity {
    pub(super) fn new() -> Activity {
        Activity(Arc::new(ActivityState {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            seen: AtomicBool::new(false),
            last_end_ms: AtomicU64::new(0),
        }))
    }

    /// Counts a request as in flight until the returned guard (kept in its answer's body) drops.
    pub(crate) fn begin(&self) -> Busy {
        self.0.in_flight.fetch_add(1, Ordering::AcqRel);
        self.0.seen.store(true, Ordering::Release);
        Busy(self.0.clone())
    }

    /// Since when the connection has had no request in flight (`None`: one is in flight), and
    /// whether any request has arrived.
    pub(super) fn idle_since(&self) -> (Option<Instant>, bool) {
        let seen = self.0.seen.load(Ordering::Acquire);
        if self.0.in_flight.load(Ordering::Acquire) > 0 {
            return (None, seen);
        }
        let ms = self.0.last_end_ms.load(Ordering::Acquire);
        (Some(self.0.opened + Duration::from_millis(ms)), seen)
    }
}

/// One request in flight on a connection.
#[derive(Debug)]
pub(crate) struct Busy(Arc<ActivityState>);

impl Drop for Busy {
    fn drop(&mut self) {
        let state = &self.0;
        let ms = u64::try_from(state.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        state.last_end_ms.fetch_max(ms, Ordering::AcqRel);
        state.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An answer's body that keeps its request in flight until hyper has sent it (or dropped it).
#[derive(Debug)]
pub(crate) struct Tracked<B> {
    inner: B,
    _busy: Busy,
}

impl<B> Tracked<B> {
    pub(crate) fn new(inner: B, busy: Busy) -> Tracked<B> {
        Tracked { inner, _busy: busy }
    }
}

impl<B: Body + Unpin> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
