//! The admit phase: how much work the gateway takes on at once. Four limits, all carried over
//! reloads (`carryover`):
//! - requests in flight, checked on arrival, answered at once and cheaply when full;
//! - requests being worked on (parsed, translated and sent upstream): the others wait with
//!   only their raw body read, and the upstream sees at most this many calls;
//! - memory (`server.max_buffered_bytes`), in two shares that never wait on each other:
//!   - a quarter for bodies being read: a request reserves its body's declared length (or
//!     `server.max_body_bytes` when chunked) before reading it, without waiting (none free:
//!     503 at once);
//!   - the rest for requests being worked on: with its body read, a request reserves what
//!     parsing, translating and answering it may take (the model below) together with its
//!     working slot, waiting for both at most the upstream timeout; then it gives its reading
//!     share back. An upstream answer larger than [`ANSWER_ALLOWANCE`] reserves the rest before
//!     it is parsed, without waiting (none free: 503).
//!
//!   Nothing that holds working memory ever waits for memory, so no set of requests can hold
//!   what each other waits for: a request either has all it needs or waits holding only its
//!   reading share, which the working share never waits for.

use std::time::Duration;

use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{DEFAULT_MAX_VALUES, Footprint};

use crate::carryover::{Capacity, Carried, Slot};
use crate::metrics::{MemoryLabels, Metrics};
use crate::outcome::{Failure, Outcome};

/// Parsed trees of a request body alive at once at the worst point of its way: the caller's
/// body, the canonical request and the upstream's body. The maps and lists a translation
/// carries whole are moved from one to the next (`Registry::plan_taking`), but nested objects,
/// key-value lists and a dialect upstream's encoding are still copies: 3 stays the bound.
const REQUEST_TREES: usize = 3;
/// Copies of a request body's bytes alive at once: the caller's (dropped once parsed) and the
/// upstream's, whose buffer grows by doubling as it is serialised.
const REQUEST_TEXTS: usize = 2;
/// Parsed trees of an upstream answer alive at once: the answer and the caller's answer.
const ANSWER_TREES: usize = 2;
/// Copies of an answer's bytes alive at once: the upstream's and the caller's.
const ANSWER_TEXTS: usize = 2;
/// What every request reserves for its upstream answers with its working memory: a customer
/// of a few hundred members parses within it.
pub(crate) const ANSWER_ALLOWANCE: usize = 64 * 1024;

/// What a request body measured as `f` reserves (with [`ANSWER_ALLOWANCE`]) before it is
/// parsed. The model's figures are checked against peak RSS by `bench/memory.sh`.
pub(crate) fn request_reservation(f: &Footprint, max_values: usize) -> usize {
    REQUEST_TREES
        .saturating_mul(f.tree_bytes(max_values))
        .saturating_add(REQUEST_TEXTS.saturating_mul(f.bytes))
        .saturating_add(ANSWER_ALLOWANCE)
}

/// What a request body measured as `f` still needs once translated with the members measured
/// as `held` held as its text (`dialectgate_dialect::HeldText`): [`request_reservation`] with
/// the trees of the rest only (the held members' are never built; their text is counted with
/// the body's).
pub(crate) fn held_reservation(
    f: &Footprint,
    held: impl Iterator<Item = Footprint>,
    max_values: usize,
) -> usize {
    let mut rest = *f;
    for h in held {
        rest.bytes = rest.bytes.saturating_sub(h.bytes);
        rest.tokens = rest.tokens.saturating_sub(h.tokens);
        rest.objects = rest.objects.saturating_sub(h.objects);
    }
    REQUEST_TREES
        .saturating_mul(rest.tree_bytes(max_values))
        .saturating_add(REQUEST_TEXTS.saturating_mul(f.bytes))
        .saturating_add(ANSWER_ALLOWANCE)
}

/// What an upstream answer measured as `f` takes beyond [`ANSWER_ALLOWANCE`].
pub(crate) fn answer_reservation(f: &Footprint) -> usize {
    ANSWER_TREES
        .saturating_mul(f.tree_bytes(DEFAULT_MAX_VALUES))
        .saturating_add(ANSWER_TEXTS.saturating_mul(f.bytes))
        .saturating_sub(ANSWER_ALLOWANCE)
}

/// The most a request body of `max_body` bytes can reserve, in its costliest shape (as many
/// values as two bytes each allow, as many objects with a member as seven bytes each allow,
/// both at once: more than any one body can have).
pub(crate) fn largest_reservation(max_body: usize, max_values: usize) -> usize {
    let costliest = Footprint {
        bytes: max_body,
        tokens: max_body / 2 + 1,
        objects: max_body / 7 + 1,
    };
    request_reservation(&costliest, max_values)
}

/// The shares of `max_buffered_bytes`: (reading, working), in bytes.
pub(crate) fn shares(max_buffered_bytes: usize) -> (usize, usize) {
    let reading = max_buffered_bytes / 4;
    (reading, max_buffered_bytes - reading)
}

/// The admission limits of one configuration (shared with the previous and next ones).
#[derive(Debug)]
pub(crate) struct Admission {
    in_flight: Capacity,
    working: Capacity,
    reading: Memory,
    memory: Memory,
}

/// A share of memory (`server.max_buffered_bytes`), counted in KiB.
#[derive(Debug, Clone)]
pub(crate) struct Memory {
    kib: Capacity,
}

/// Memory reserved by one request, given back when dropped.
#[derive(Debug, Default)]
pub(crate) struct Reserved {
    slots: Vec<Slot>,
}

impl Admission {
    /// Takes over `carried`'s limits at the sizes given. Slots held under an earlier
    /// configuration keep counting.
    pub(crate) fn take_over(
        carried: &Carried,
        (max_in_flight, max_working, max_buffered_bytes): (usize, usize, usize),
        metrics: &Metrics,
    ) -> Admission {
        let (reading, working) = shares(max_buffered_bytes);
        for (capacity, share) in [(&carried.reading, "reading"), (&carried.memory, "working")] {
            let gauge = metrics
                .memory_reserved
                .get_or_create(&MemoryLabels { share })
                .clone();
            capacity.report_to(gauge, 1024);
        }
        carried.in_flight.resize(max_in_flight);
        carried.working.resize(max_working);
        carried.reading.resize(reading / 1024);
        carried.memory.resize(working / 1024);
        Admission {
            in_flight: carried.in_flight.clone(),
            working: carried.working.clone(),
            reading: Memory {
                kib: carried.reading.clone(),
            },
            memory: Memory {
                kib: carried.memory.clone(),
            },
        }
    }

    /// A slot for a request that just arrived, or at once "overloaded".
    pub(crate) fn admit(&self) -> Result<Slot, Failure> {
        self.in_flight.try_acquire().ok_or_else(overloaded)
    }

    /// `bytes` of the reading share (a body about to be read), or at once "overloaded".
    pub(crate) fn read(&self, bytes: usize) -> Result<Reserved, Failure> {
        self.reading.reserve_now(bytes)
    }

    /// A working slot and `bytes` of working memory, waiting at most `wait` for both; then
    /// `reading` is given back.
    pub(crate) async fn work(
        &self,
        reading: Reserved,
        bytes: usize,
        wait: Duration,
    ) -> Result<(Slot, Reserved), Failure> {
        let kib = kib(bytes)?;
        let acquired = tokio::time::timeout(wait, async {
            let slot = self.working.acquire().await?;
            let mut memory = Reserved::default();
            if let Some(kib) = kib {
                memory.slots.push(self.memory.kib.acquire_many(kib).await?);
            }
            Some((slot, memory))
        })
        .await;
        drop(reading);
        match acquired {
            Ok(Some(held)) => Ok(held),
            Ok(None) | Err(_) => Err(overloaded()),
        }
    }

    /// The working share of memory, for the upstream's answers.
    pub(crate) fn memory(&self) -> &Memory {
        &self.memory
    }
}

impl Memory {
    /// `bytes` now, or at once "overloaded": a body about to be read (reading share), or an
    /// upstream answer about to be parsed (working share; its request already holds working
    /// memory, so it never waits).
    pub(crate) fn reserve_now(&self, bytes: usize) -> Result<Reserved, Failure> {
        let mut reserved = Reserved::default();
        if let Some(kib) = kib(bytes)? {
            reserved
                .slots
                .push(self.kib.try_acquire_many(kib).ok_or_else(overloaded)?);
        }
        Ok(reserved)
    }
}

impl Reserved {
    /// Bytes held, in whole KiB.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.slots.iter().map(|s| s.count() * 1024).sum()
    }

    /// Gives back now what it holds beyond `bytes` (rounded up to whole KiB).
    pub(crate) fn shrink_to(&mut self, bytes: usize) {
        let keep = bytes.div_ceil(1024);
        let mut held: usize = self.slots.iter().map(Slot::count).sum();
        for slot in self.slots.iter_mut().rev() {
            let excess = held.saturating_sub(keep).min(slot.count());
            slot.give_back(excess);
            held -= excess;
        }
    }

    /// Holds `other`'s memory too, until this one is dropped.
    pub(crate) fn add(&mut self, other: Reserved) {
        self.slots.extend(other.slots);
    }
}

/// `bytes` in KiB, rounded up; `None` for nothing; a reservation larger than any budget can
/// be (4 TiB) is "overloaded".
fn kib(bytes: usize) -> Result<Option<u32>, Failure> {
    match bytes.div_ceil(1024) {
        0 => Ok(None),
        n => u32::try_from(n).map(Some).map_err(|_| overloaded()),
    }
}

fn overloaded() -> Failure {
    Failure::new(
        Outcome::Overloaded,
        Problem::new(
            ErrorKind::Overloaded,
            "too many requests in flight; retry shortly",
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigError, Overrides, load_default};
    use dialectgate_dialect::measure;

    fn with_env(pairs: &[(&str, &str)]) -> Result<crate::Config, ConfigError> {
        let env = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        load_default(Some(env), &Overrides::default())
    }

    #[test]
    fn the_defaults_hold_the_largest_body_and_count_values() {
        let cfg = with_env(&[]).unwrap();
        assert_eq!(cfg.server.max_json_values.get(), 10_000);
        assert_eq!(cfg.server.max_buffered_bytes.get(), 64 << 20);
        let largest = largest_reservation(cfg.server.max_body_bytes.get(), 10_000);
        assert!(largest <= 64 << 20, "{largest}");
    }

    #[test]
    fn a_budget_that_cannot_hold_one_largest_body_is_refused_with_the_figure() {
        let Err(ConfigError::Invalid(problems)) = with_env(&[
            ("DIALECTGATE__SERVER__MAX_BUFFERED_BYTES", "1048576"),
            ("DIALECTGATE__SERVER__MAX_JSON_VALUES", "70000"),
        ]) else {
            panic!("accepted");
        };
        let budget = problems
            .iter()
            .find(|p| p.starts_with("server.max_buffered_bytes"))
            .unwrap_or_else(|| panic!("{problems:?}"));
        let largest = largest_reservation(1 << 20, 70_000);
        assert!(
            budget.contains(&format!("(786432, at least {largest})")),
            "{budget}"
        );
        assert!(budget.contains("(262144, at least the body limit)"), "{budget}");
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("server.max_json_values: at most 65536")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_reservation_grows_with_values_and_objects_and_stops_at_the_value_limit() {
        let measure = dialectgate_dialect::measure;
        let plain = measure(br#"{"first_name":"Ada","last_name":"Lovelace"}"#);
        let objects = measure(br#"{"metadata":[{"a":0},{"a":0},{"a":0},{"a":0},{"a":0}]}"#);
        assert!(request_reservation(&objects, 10_000) > request_reservation(&plain, 10_000));
        let many = format!("[{}]", vec![r#"{"a":0}"#; 50_000].join(","));
        let f = measure(many.as_bytes());
        assert_eq!(
            request_reservation(&f, 100),
            request_reservation(
                &Footprint {
                    tokens: 200,
                    objects: 100,
                    ..f
                },
                usize::MAX
            )
        );
    }

    #[tokio::test]
    async fn memory_is_given_back_and_the_reading_share_is_returned_once_working() {
        let carried = Carried::default();
        // 16 KiB: 4 KiB to read bodies, 12 KiB to work on them.
        let metrics = Metrics::default();
        let admission = Admission::take_over(&carried, (4, 4, 16 * 1024), &metrics);
        let reserved = |share| {
            metrics
                .memory_reserved
                .get_or_create(&MemoryLabels { share })
                .get()
        };
        let reading = admission.read(3 * 1024).unwrap();
        assert!(
            admission.read(2 * 1024).is_err(),
            "1 KiB of the reading share left"
        );
        let other = admission.read(1).unwrap();
        assert_eq!(other.bytes(), 1024, "whole KiB");
        let (slot, mut working) = admission
            .work(reading, 10 * 1024, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(working.bytes(), 10 * 1024);
        assert_eq!((reserved("reading"), reserved("working")), (1024, 10 * 1024));
        assert!(admission.read(3 * 1024).is_ok(), "the reading share came back");
        let memory = admission.memory().clone();
        working.add(memory.reserve_now(2 * 1024).unwrap());
        assert!(memory.reserve_now(1).is_err(), "the working share is spent");
        // A request that cannot have its working memory within the wait is overloaded, and
        // gives its reading share back all the same.
        let refused = admission.work(other, 1, Duration::from_millis(1)).await;
        assert!(refused.is_err());
        assert!(admission.read(4 * 1024).is_ok());
        drop((slot, working));
        assert_eq!((reserved("reading"), reserved("working")), (0, 0));
        assert!(memory.reserve_now(12 * 1024).is_ok());
    }

    #[test]
    fn a_body_held_as_text_needs_the_trees_of_its_rest_only() {
        let bag = format!(r#"{{"a":[{}]}}"#, vec![r#"{"a":0}"#; 1000].join(","));
        let body = format!(r#"{{"first_name":"Ada","metadata":{bag}}}"#);
        let (f, member) = (measure(body.as_bytes()), measure(bag.as_bytes()));
        let whole = request_reservation(&f, 10_000);
        let held = held_reservation(&f, [member].into_iter(), 10_000);
        // The texts (the caller's and the upstream's) and the answers' allowance still count;
        // the bag's trees do not.
        assert!(held >= 2 * body.len() + ANSWER_ALLOWANCE, "{held}");
        assert!(held < whole / 3, "{held} of {whole}");
        assert_eq!(held_reservation(&f, std::iter::empty(), 10_000), whole);
    }

    #[test]
    fn memory_beyond_what_a_request_still_needs_is_given_back_at_once() {
        let memory = Memory {
            kib: Capacity::new(100),
        };
        let mut held = memory.reserve_now(60 * 1024).unwrap();
        held.add(memory.reserve_now(20 * 1024).unwrap());
        assert!(memory.reserve_now(21 * 1024).is_err());
        held.shrink_to(30 * 1024 + 1);
        assert_eq!(held.bytes(), 31 * 1024, "rounded up to whole KiB");
        let other = memory.reserve_now(69 * 1024).unwrap();
        held.shrink_to(0);
        assert_eq!(held.bytes(), 0);
        drop((held, other));
        assert!(memory.reserve_now(100 * 1024).is_ok());
    }
}
