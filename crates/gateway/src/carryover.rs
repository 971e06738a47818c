//! What a configuration reload hands from one gateway to the next: the admission limits
//! (requests in flight, requests being worked on) and the upstream's circuit breaker.
//!
//! Requests still running under the old configuration keep their slots, so they count against
//! the new limits; a resized limit takes effect as slots are given back. The breaker carries its
//! failures and open state over while the upstream URL stays the same.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use prometheus_client::metrics::gauge::Gauge;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::breaker::Breaker;

/// A resizable number of slots, shared by successive configurations.
#[derive(Debug, Clone)]
pub struct Capacity {
    inner: Arc<CapacityInner>,
}

#[derive(Debug)]
struct CapacityInner {
    slots: Arc<Semaphore>,
    /// The limit, and the slots to forget as they are given back (a shrink while they were held).
    state: Mutex<Size>,
    /// A gauge of the slots held, each counted as the given amount (`report_to`).
    report: OnceLock<(Gauge, i64)>,
}

#[derive(Debug, Default)]
struct Size {
    limit: usize,
    owed: usize,
}

/// One slot; given back (or forgotten, after a shrink) when dropped.
#[derive(Debug)]
pub struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    owner: Arc<CapacityInner>,
}

impl Capacity {
    /// A capacity of `limit` slots.
    pub fn new(limit: usize) -> Capacity {
        Capacity {
            inner: Arc::new(CapacityInner {
                slots: Arc::new(Semaphore::new(limit)),
                state: Mutex::new(Size { limit, owed: 0 }),
                report: OnceLock::new(),
            }),
        }
    }

    /// The limit in force.
    #[cfg(test)]
    pub fn limit(&self) -> usize {
        self.inner.lock().limit
    }

    /// Sets the limit. Slots held now keep counting: a shrink below them takes effect as they
    /// are given back.
    pub fn resize(&self, limit: usize) {
        let mut size = self.inner.lock();
        if limit >= size.limit {
            let grow = limit - size.limit;
            // Slots still owed from an earlier shrink are simply no longer owed.
            let cancelled = grow.min(size.owed);
            size.owed -= cancelled;
            self.inner.slots.add_permits(grow - cancelled);
        } else {
            let shrink = size.limit - limit;
            let forgotten = self.inner.slots.forget_permits(shrink);
            size.owed += shrink - forgotten;
        }
        size.limit = limit;
    }

    /// A slot now, or `None` when all are taken.
    pub fn try_acquire(&self) -> Option<Slot> {
        self.try_acquire_many(1)
    }

    /// A slot, waiting for one; `None` only if the capacity was closed (it never is).
    pub async fn acquire(&self) -> Option<Slot> {
        self.acquire_many(1).await
    }

    /// `n` slots held as one, now, or `None` when fewer are free.
    pub fn try_acquire_many(&self, n: u32) -> Option<Slot> {
        let permit = self.inner.slots.clone().try_acquire_many_owned(n).ok()?;
        Some(self.slot(permit))
    }

    /// `n` slots held as one, waiting for them (first come, first served); `None` only if the
    /// capacity was closed (it never is).
    pub async fn acquire_many(&self, n: u32) -> Option<Slot> {
        let permit = self.inner.slots.clone().acquire_many_owned(n).await.ok()?;
        Some(self.slot(permit))
    }

    /// Keeps `gauge` at the slots held, each counted as `each` (the first call wins: the
    /// capacity and its gauge outlive configurations).
    pub fn report_to(&self, gauge: Gauge, each: i64) {
        let _ = self.inner.report.set((gauge, each));
    }

    fn slot(&self, permit: OwnedSemaphorePermit) -> Slot {
        if let Some((gauge, each)) = self.inner.report.get() {
            gauge.inc_by(each.saturating_mul(i64::try_from(permit.num_permits()).unwrap_or(i64::MAX)));
        }
        Slot {
            permit: Some(permit),
            owner: self.inner.clone(),
        }
    }
}

impl Slot {
    /// Gives back `n` of the slots this one holds (all of them at most) now, as dropping a slot
    /// of `n` would.
    pub fn give_back(&mut self, n: usize) {
        let Some(permit) = self.permit.as_mut() else {
            return;
        };
        if let Some(part) = permit.split(n.min(permit.num_permits())) {
            drop(Slot {
                permit: Some(part),
                owner: self.owner.clone(),
            });
        }
    }

    /// How many slots this one holds.
    pub fn count(&self) -> usize {
        self.permit
            .as_ref()
            .map_or(0, tokio::sync::OwnedSemaphorePermit::num_permits)
    }
}

impl CapacityInner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Size> {
        // The state is two integers updated together; a panic elsewhere cannot leave it torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(mut permit) = self.permit.take() else {
            return;
        };
        if let Some((gauge, each)) = self.owner.report.get() {
            gauge.dec_by(each.saturating_mul(i64::try_from(permit.num_permits()).unwrap_or(i64::MAX)));
        }
        let mut size = self.owner.lock();
        // Slots owed from a shrink are forgotten first; the rest are given back while the lock
        // is held, so a concurrent resize sees a settled count.
        let forget = size.owed.min(permit.num_permits());
        if forget > 0 {
            size.owed -= forget;
            if let Some(owed) = permit.split(forget) {
                owed.forget();
            }
        }
        drop(permit);
    }
}

/// The upstream breaker in force and the URL it guards.
#[derive(Debug, Default)]
pub struct BreakerSlot {
    current: Mutex<Option<(String, Arc<Breaker>)>>,
}

impl BreakerSlot {
    /// The breaker for a gateway calling `url`: the one in force while the URL is the same
    /// (taken over with the new settings if they changed), else a fresh one. Nothing is kept
    /// until [`BreakerSlot::keep`].
    pub fn breaker_for(&self, url: &str, threshold: u32, cooldown: Duration) -> Arc<Breaker> {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        match current.as_ref() {
            Some((same, breaker)) if same == url => breaker.successor(threshold, cooldown),
            _ => Arc::new(Breaker::new(threshold, cooldown)),
        }
    }

    /// Records the breaker of the gateway now in force (`None`: no HTTP upstream).
    pub fn keep(&self, in_force: Option<(String, Arc<Breaker>)>) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = in_force;
    }
}

/// Everything [`crate::Shared`] carries across reloads for admission and the upstream.
#[derive(Debug, Default)]
pub struct Carried {
    /// Requests handled at once (`server.max_in_flight`).
    pub in_flight: Capacity,
    /// Requests parsed, translated and forwarded at once (`server.max_working`).
    pub working: Capacity,
    /// The memory budget of requests, in KiB (`server.max_buffered_bytes`): bodies being read,
    /// and requests being worked on (`pipeline::admit`).
    pub reading: Capacity,
    pub memory: Capacity,
    pub breaker: BreakerSlot,
}

impl Default for Capacity {
    /// No slots until the first configuration sizes it.
    fn default() -> Self {
        Capacity::new(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_of_a_slot_is_given_back_at_once_and_the_rest_when_dropped() {
        let c = Capacity::new(10);
        let mut held = c.try_acquire_many(8).unwrap();
        assert!(c.try_acquire_many(3).is_none());
        held.give_back(5);
        assert_eq!(held.count(), 3);
        let other = c.try_acquire_many(7).unwrap();
        assert!(c.try_acquire().is_none());
        // More than it holds: all of it.
        held.give_back(100);
        assert_eq!(held.count(), 0);
        drop(held);
        assert!(c.try_acquire_many(3).is_some());
        drop(other);
    }

    #[test]
    fn held_slots_count_against_a_new_limit() {
        let c = Capacity::new(2);
        let a = c.try_acquire().unwrap();
        let b = c.try_acquire().unwrap();
        assert!(c.try_acquire().is_none());
        // Same limit again (a reload that did not change it): still full.
        c.resize(2);
        assert!(c.try_acquire().is_none());
        // Grown by one: exactly one more.
        c.resize(3);
        let third = c.try_acquire().unwrap();
        assert!(c.try_acquire().is_none());
        drop((a, b, third));
        assert_eq!(c.limit(), 3);
        let all: Vec<Slot> = std::iter::from_fn(|| c.try_acquire()).collect();
        assert_eq!(all.len(), 3);
    }

    #[test]
    fn a_shrink_below_the_held_slots_takes_effect_as_they_are_given_back() {
        let c = Capacity::new(3);
        let held: Vec<Slot> = std::iter::from_fn(|| c.try_acquire()).collect();
        assert_eq!(held.len(), 3);
        c.resize(1);
        assert!(c.try_acquire().is_none());
        let mut held = held.into_iter();
        drop(held.next());
        assert!(c.try_acquire().is_none(), "two still held, limit 1");
        drop(held.next());
        assert!(c.try_acquire().is_none(), "one still held, limit 1");
        drop(held.next());
        let one = c.try_acquire().unwrap();
        assert!(c.try_acquire().is_none());
        drop(one);
        assert!(c.try_acquire().is_some());
    }

    #[test]
    fn slots_held_as_one_count_and_are_forgotten_in_part_after_a_shrink() {
        let c = Capacity::new(10);
        let big = c.try_acquire_many(7).unwrap();
        assert!(c.try_acquire_many(4).is_none());
        let small = c.try_acquire_many(3).unwrap();
        // Down to 5 while 10 are held: 5 owed, all from the first given back.
        c.resize(5);
        drop(big);
        assert!(c.try_acquire().is_some_and(|one| {
            drop(one);
            true
        }));
        assert!(c.try_acquire_many(3).is_none(), "3 held, 2 free of the limit 5");
        let two = c.try_acquire_many(2).unwrap();
        drop((small, two));
        let all = c.try_acquire_many(5).unwrap();
        assert!(c.try_acquire().is_none());
        drop(all);
        assert_eq!(c.limit(), 5);
    }

    #[test]
    fn a_shrink_then_a_grow_cancels_what_is_owed() {
        let c = Capacity::new(2);
        let a = c.try_acquire().unwrap();
        let b = c.try_acquire().unwrap();
        c.resize(0);
        c.resize(3);
        // Two held, limit 3: one free now.
        let third = c.try_acquire().unwrap();
        assert!(c.try_acquire().is_none());
        drop((a, b, third));
        let all: Vec<Slot> = std::iter::from_fn(|| c.try_acquire()).collect();
        assert_eq!(all.len(), 3);
    }

    #[tokio::test]
    async fn a_waiter_gets_a_slot_when_one_is_given_back() {
        let c = Capacity::new(0);
        let waiting = {
            let c = c.clone();
            tokio::spawn(async move { c.acquire().await.is_some() })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        c.resize(1);
        assert!(waiting.await.unwrap());
    }

    #[test]
    fn the_breaker_carries_over_while_the_url_is_the_same() {
        let slot = BreakerSlot::default();
        let cooldown = Duration::from_secs(60);
        let first = slot.breaker_for("http://a", 1, cooldown);
        slot.keep(Some(("http://a".into(), first.clone())));
        first.record(false);
        assert!(first.is_open());
        let same = slot.breaker_for("http://a", 1, cooldown);
        assert!(Arc::ptr_eq(&first, &same), "unchanged settings: the same breaker");
        let retuned = slot.breaker_for("http://a", 3, cooldown);
        assert!(retuned.is_open(), "new settings, same state");
        let other = slot.breaker_for("http://b", 1, cooldown);
        assert!(!other.is_open(), "another upstream starts closed");
        slot.keep(None);
        assert!(!slot.breaker_for("http://a", 1, cooldown).is_open());
    }
}
