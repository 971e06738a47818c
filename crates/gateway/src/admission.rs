//! The admit phase: how many requests the gateway takes on at once. Two limits, both carried
//! over reloads (`carryover`): requests in flight (checked on arrival, answered at once and
//! cheaply when full), and requests being worked on (parsed, translated and sent upstream: the
//! others wait with only their raw body read, and the upstream sees at most this many calls).

use std::time::Duration;

use dialectgate_canonical::{ErrorKind, Problem};

use crate::carryover::{Capacity, Carried, Slot};
use crate::outcome::{Failure, Outcome};

/// The admission limits of one configuration (shared with the previous and next ones).
#[derive(Debug)]
pub(crate) struct Admission {
    in_flight: Capacity,
    working: Capacity,
}

impl Admission {
    /// Takes over `carried`'s limits at the sizes given. Slots held under an earlier
    /// configuration keep counting.
    pub(crate) fn take_over(carried: &Carried, max_in_flight: usize, max_working: usize) -> Admission {
        carried.in_flight.resize(max_in_flight);
        carried.working.resize(max_working);
        Admission {
            in_flight: carried.in_flight.clone(),
            working: carried.working.clone(),
        }
    }

    /// A slot for a request that just arrived, or at once "overloaded".
    pub(crate) fn admit(&self) -> Result<Slot, Failure> {
        self.in_flight.try_acquire().ok_or_else(overloaded)
    }

    /// A working slot, waiting at most `wait`.
    pub(crate) async fn work(&self, wait: Duration) -> Result<Slot, Failure> {
        match tokio::time::timeout(wait, self.working.acquire()).await {
            Ok(Some(slot)) => Ok(slot),
            Ok(None) | Err(_) => Err(overloaded()),
        }
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
