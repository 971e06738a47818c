//! Customer ids are opaque. Wherever an id enters (a path segment, a body member, a query
//! parameter, the command line) it is checked once, and wherever it leaves (an upstream path) it
//! is written as exactly one percent-encoded segment: the id can never add, remove or climb path
//! segments of the upstream's URL.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, PercentEncode, utf8_percent_encode};

/// Every byte outside RFC 3986's `unreserved` set (`ALPHA / DIGIT / "-" / "." / "_" / "~"`) is
/// percent-encoded: `/`, `\`, `%`, `?`, `#`, `;` and every non-ASCII byte included.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The default longest id, in bytes of UTF-8 (a dialect may set its own: `route.id_max_length`).
/// Vendors' ids are far shorter: Elastic Path's are UUIDs (36), Medusa's `cus_` plus a ULID (30),
/// MicroBase's shortids about 10.
pub const DEFAULT_ID_MAX_LENGTH: usize = 128;

/// Why an id is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdProblem {
    /// Empty.
    Empty,
    /// Longer than the limit (bytes).
    TooLong,
    /// Carries a control character (C0, DEL or C1).
    Control,
    /// `.` or `..`: a dot segment, which URL parsers resolve even when percent-encoded.
    DotSegment,
}

/// Checks `id` against the rules every id obeys, with `max_len` bytes at most.
///
/// # Errors
/// The first rule `id` breaks.
pub fn check(id: &str, max_len: usize) -> Result<(), IdProblem> {
    if id.is_empty() {
        Err(IdProblem::Empty)
    } else if id.len() > max_len {
        Err(IdProblem::TooLong)
    } else if id.chars().any(char::is_control) {
        Err(IdProblem::Control)
    } else if id == "." || id == ".." {
        Err(IdProblem::DotSegment)
    } else {
        Ok(())
    }
}

/// `id` as one path segment: every byte outside the unreserved set percent-encoded.
pub fn segment(id: &str) -> PercentEncode<'_> {
    utf8_percent_encode(id, NOT_UNRESERVED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_ids_pass() {
        for id in [
            "cus_ada",
            "b57022cf-c80e-4b3e-9e0f-2f1b6a0c9d11",
            "HkhhuXESl",
            "...",
            "a.b",
            "ü",
        ] {
            assert_eq!(check(id, DEFAULT_ID_MAX_LENGTH), Ok(()), "{id}");
        }
    }

    #[test]
    fn hostile_ids_are_refused() {
        assert_eq!(check("", 128), Err(IdProblem::Empty));
        assert_eq!(check(".", 128), Err(IdProblem::DotSegment));
        assert_eq!(check("..", 128), Err(IdProblem::DotSegment));
        assert_eq!(check("a\0b", 128), Err(IdProblem::Control));
        assert_eq!(check("a\nb", 128), Err(IdProblem::Control));
        assert_eq!(check("a\u{7f}", 128), Err(IdProblem::Control));
        assert_eq!(check("a\u{85}", 128), Err(IdProblem::Control));
        assert_eq!(check(&"x".repeat(129), 128), Err(IdProblem::TooLong));
        assert_eq!(check(&"x".repeat(128), 128), Ok(()));
        // Bytes, not characters: 64 two-byte characters are 128 bytes.
        assert_eq!(check(&"é".repeat(65), 128), Err(IdProblem::TooLong));
    }

    #[test]
    fn a_segment_encodes_everything_but_unreserved() {
        let cases = [
            ("cus_ada-1.x~", "cus_ada-1.x~"),
            ("a/b", "a%2Fb"),
            ("..\\..\\admin", "..%5C..%5Cadmin"),
            ("%2e%2e", "%252e%252e"),
            ("a?b#c;d", "a%3Fb%23c%3Bd"),
            ("a b+c", "a%20b%2Bc"),
            ("é", "%C3%A9"),
            ("a@b:c", "a%40b%3Ac"),
        ];
        for (id, want) in cases {
            assert_eq!(segment(id).to_string(), want, "{id}");
        }
    }
}
