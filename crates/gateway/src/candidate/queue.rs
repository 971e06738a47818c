//! The candidate's queue and its byte budget. A copy ([`Job`]) enters only with a
//! [`Reservation`] of the bytes it holds, taken from the budget (`candidate.queue_bytes`) and
//! given back when the job is dropped: after the worker compared and reported it, or when it
//! could not be queued. So the budget bounds what the copies hold while they wait for their
//! turn, wait for the primary's second answer (`noise_probe`), and are being compared — all of
//! it outside `server.max_in_flight`, none of it ever waited for by a caller. What does not fit,
//! in bytes or in count (`candidate.queue`), is dropped and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::mpsc;

use super::Job;

/// The bytes copies may hold at once, and how many they hold.
#[derive(Debug)]
struct Budget {
    limit: usize,
    used: AtomicUsize,
    /// `dialectgate_candidate_queue_bytes`, shared by the configurations of a process.
    gauge: Gauge,
}

/// A share of the budget; given back on drop.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
        self.budget.gauge.dec_by(gauge_value(self.bytes));
    }
}

fn gauge_value(bytes: usize) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

/// The sending side of the queue, with its budget.
#[derive(Debug, Clone)]
pub(crate) struct Queue {
    jobs: mpsc::Sender<Job>,
    budget: Arc<Budget>,
    /// `candidate_requests{mode, outcome="dropped"}`, resolved once.
    dropped: Counter,
}

impl Queue {
    /// A queue of at most `count` jobs holding at most `limit` bytes, and its receiving side.
    pub(crate) fn new(
        count: usize,
        limit: usize,
        gauge: Gauge,
        dropped: Counter,
    ) -> (Queue, mpsc::Receiver<Job>) {
        let (jobs, rx) = mpsc::channel(count);
        let budget = Arc::new(Budget {
            limit,
            used: AtomicUsize::new(0),
            gauge,
        });
        (
            Queue {
                jobs,
                budget,
                dropped,
            },
            rx,
        )
    }

    /// Whether a job may still fit (checked before a copy is made, so that a full queue costs
    /// callers nothing).
    pub(crate) fn has_room(&self) -> bool {
        self.jobs.capacity() > 0 && self.budget.used.load(Ordering::Acquire) < self.budget.limit
    }

    /// `job` with its reservation of [`Job::bytes`], or `None` (dropped and counted) when the
    /// budget cannot hold it.
    pub(crate) fn admit(&self, mut job: Job) -> Option<Job> {
        let bytes = job.bytes();
        let budget = &self.budget;
        let taken = budget
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= budget.limit)
            })
            .is_ok();
        if !taken {
            self.drop_one();
            return None;
        }
        budget.gauge.inc_by(gauge_value(bytes));
        job.held = Some(Reservation {
            budget: budget.clone(),
            bytes,
        });
        Some(job)
    }

    /// Queues `job`; when the queue is full it is dropped (its bytes given back) and counted.
    /// Never waits.
    pub(crate) fn submit(&self, job: Job) {
        if self.jobs.try_send(job).is_err() {
            self.drop_one();
        }
    }

    /// Counts a copy that was not made.
    pub(crate) fn drop_one(&self) {
        self.dropped.inc();
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CandidateRequest, CopyKind, Primary};
    use super::*;
    use dialectgate_canonical::ErrorKind;

    fn job(request_id: &str) -> Job {
        Job {
            request_id: request_id.into(),
            caller: "medusa".into(),
            operation: CopyKind::Read,
            primary: Primary::Error {
                kind: ErrorKind::NotFound,
                status: 404,
            },
            noisy: Vec::new(),
            request: CandidateRequest::Untranslatable("unused".into()),
            held: None,
        }
    }

    #[tokio::test]
    async fn the_budget_holds_what_fits_gives_it_back_on_drop_and_counts_what_does_not() {
        let (gauge, dropped) = (Gauge::default(), Counter::default());
        let one = job("r0").bytes();
        let (queue, mut rx) = Queue::new(16, 2 * one + one / 2, gauge.clone(), dropped.clone());
        assert!(queue.has_room());
        let first = queue.admit(job("r0")).unwrap();
        let second = queue.admit(job("r1")).unwrap();
        assert_eq!(gauge.get(), gauge_value(2 * one));
        assert!(queue.has_room(), "half a job of room left");
        assert!(queue.admit(job("r2")).is_none(), "over the byte budget");
        assert_eq!(dropped.get(), 1);
        // Queued jobs keep their bytes until the worker is done with them.
        queue.submit(first);
        queue.submit(second);
        assert_eq!(gauge.get(), gauge_value(2 * one));
        let taken = rx.recv().await.unwrap();
        assert_eq!(taken.request_id, "r0");
        assert_eq!(gauge.get(), gauge_value(2 * one));
        drop(taken);
        assert_eq!(gauge.get(), gauge_value(one));
        assert!(queue.admit(job("r3")).is_some(), "room again (dropped at once)");
        drop(rx);
        assert_eq!(gauge.get(), 0, "a dropped queue gives back every byte");
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_and_gives_the_bytes_back() {
        let (gauge, dropped) = (Gauge::default(), Counter::default());
        let (queue, _rx) = Queue::new(1, usize::MAX, gauge.clone(), dropped.clone());
        queue.submit(queue.admit(job("r0")).unwrap());
        assert!(!queue.has_room(), "one job at most");
        let held = gauge.get();
        queue.submit(queue.admit(job("r1")).unwrap());
        assert_eq!(dropped.get(), 1);
        assert_eq!(gauge.get(), held);
    }
}
