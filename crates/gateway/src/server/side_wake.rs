//! A waker for the futures a connection's guard waits on besides the connection (its deadline,
//! the server's phase), so that they are polled only when one of them woke the task.
//!
//! The connection's task wakes several times per request (the request's bytes, the upstream's
//! answer, the answer written); polling a timer and a watch at each of those wake-ups cost more
//! than the guard's whole job (about 800 instructions a request).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Wake, Waker};

use futures_util::task::AtomicWaker;

/// The guard's side of a connection's task: the waker its own futures are polled with, and
/// whether it fired since they were last polled.
pub(super) struct SideWake {
    flag: Arc<Flag>,
    waker: Waker,
}

#[derive(Default)]
struct Flag {
    /// One of the side's futures asked to be polled again.
    woken: AtomicBool,
    /// The task to wake when one does.
    task: AtomicWaker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl SideWake {
    pub(super) fn new() -> SideWake {
        let flag = Arc::new(Flag::default());
        SideWake {
            waker: Waker::from(flag.clone()),
            flag,
        }
    }

    /// The side's futures are new (or were reset): they are polled at the next chance, so
    /// that they register.
    pub(super) fn renew(&self) {
        self.flag.woken.store(true, Ordering::Release);
    }

    /// The context to poll the side's futures with, when one of them woke the task (or they
    /// are new) since they were last polled; `None` otherwise. The task in `cx` is the one
    /// their wake-ups wake.
    pub(super) fn due(&self, cx: &Context<'_>) -> Option<Context<'_>> {
        self.flag.task.register(cx.waker());
        self.flag
            .woken
            .swap(false, Ordering::AcqRel)
            .then(|| Context::from_waker(&self.waker))
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::Poll;

    use super::*;

    /// A waker counting its wake-ups.
    #[derive(Default)]
    struct Count(std::sync::atomic::AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn side_futures_are_polled_when_new_or_woken_and_their_wake_ups_wake_the_task() {
        let count = Arc::new(Count::default());
        let task = Waker::from(count.clone());
        let cx = Context::from_waker(&task);
        let side = SideWake::new();
        let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
        let mut rx = pin!(rx);
        side.renew();
        // New: due once, and then not until woken.
        let mut side_cx = side.due(&cx).expect("due when new");
        assert!(rx.as_mut().poll(&mut side_cx).is_pending());
        assert!(side.due(&cx).is_none());
        tx.send(7).unwrap();
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "the task is woken");
        let mut side_cx = side.due(&cx).expect("due when woken");
        assert_eq!(rx.as_mut().poll(&mut side_cx), Poll::Ready(Ok(7)));
        assert!(side.due(&cx).is_none());
    }
}
