//! The checks every strict parse makes as it goes (nesting, the value count, NUL characters,
//! doubles to rescan), and the frame around one: shared by the `Value` parse (`parse.rs`) and
//! the borrowed one (`crate::doc`).

use std::cell::Cell;

use serde::de;

use super::{Limits, exact_numbers, no_nul, nul_possible};

/// The checks a strict parse makes as it goes, shared by the `Value` parse ([`Seed`]) and the
/// borrowed one (`crate::doc`): nesting, the value count, NUL characters, and whether a double
/// was produced (for the rescan of [`exact_numbers`]).
#[derive(Clone, Copy)]
pub(crate) struct Checks<'a> {
    depth: usize,
    /// False when the text holds no `\u0000` escape: no string can hold a NUL.
    nul_possible: bool,
    pub(super) limits: Limits,
    /// Values met so far.
    pub(super) values: &'a Cell<usize>,
    /// Set when serde_json produced a double (a decimal, or an integer beyond 64 bits).
    floats: &'a Cell<bool>,
}

impl<'a> Checks<'a> {
    /// The checks of the document `text`, at its root.
    pub(crate) fn root(text: &str, limits: Limits, floats: &'a Cell<bool>, values: &'a Cell<usize>) -> Self {
        Checks {
            depth: 0,
            nul_possible: nul_possible(text),
            limits,
            values,
            floats,
        }
    }

    /// Counts one more value, refusing the first past the limit: counted before the value is
    /// built, so a refused document never grows past it.
    pub(crate) fn count<E: de::Error>(self) -> Result<(), E> {
        let n = self.values.get() + 1;
        if n > self.limits.values {
            return Err(E::custom(format_args!(
                "more than {} JSON values",
                self.limits.values
            )));
        }
        self.values.set(n);
        Ok(())
    }

    /// [`no_nul`], when the text may hold a NUL at all.
    pub(crate) fn no_nul<E: de::Error>(self, s: &str) -> Result<(), E> {
        if self.nul_possible { no_nul(s) } else { Ok(()) }
    }

    /// The checks one level deeper, refusing nesting past the limit.
    pub(crate) fn deeper<E: de::Error>(self) -> Result<Self, E> {
        if self.depth >= self.limits.depth {
            return Err(E::custom(format_args!(
                "nesting deeper than {} levels",
                self.limits.depth
            )));
        }
        Ok(Checks {
            depth: self.depth + 1,
            ..self
        })
    }

    /// Notes that serde_json produced a double.
    pub(crate) fn float(self) {
        self.floats.set(true);
    }
}

/// One document of `bytes` read by `parse` from the checks at its root: UTF-8 checked once for
/// the whole text (an ASCII body takes the word-at-a-time fast path, and the parser does not
/// re-check every string it meets), trailing data refused, the numbers rescanned when a double
/// was met.
pub(crate) fn strictly<'t, T>(
    bytes: &'t [u8],
    limits: Limits,
    parse: impl FnOnce(
        Checks<'_>,
        &mut serde_json::Deserializer<serde_json::de::StrRead<'t>>,
    ) -> Result<T, serde_json::Error>,
) -> Result<T, serde_json::Error> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        <serde_json::Error as de::Error>::custom(format_args!("invalid UTF-8 at byte {}", e.valid_up_to()))
    })?;
    let mut de = serde_json::Deserializer::from_str(text);
    let (floats, values) = (Cell::new(false), Cell::new(0));
    let value = parse(Checks::root(text, limits, &floats, &values), &mut de)?;
    de.end()?;
    exact_numbers(text, floats.get())?;
    Ok(value)
}
