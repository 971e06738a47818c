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

/// A query parameter's name: as [`NOT_UNRESERVED`], keeping `:` (BigCommerce's `id:in`, legal
/// in a query as RFC 3986 `pchar`).
pub(crate) const QUERY_NAME: &AsciiSet = &NOT_UNRESERVED.remove(b':');

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

/// The form a dialect writes its customer ids in (`[route] id_format`), wherever the id travels
/// in that dialect: the path's `{id}`, `id_in_body`, a read's `id_in_query`, and the response
/// rule mapping the canonical `/id`. The canonical id, which every other dialect sees, is the
/// bare id: `12`, never `"gid://shopify/Customer/12"`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum IdFormat {
    /// Any string (the default): the id as it is.
    #[default]
    Opaque,
    /// A JSON integer in bodies and answers, its decimal digits in paths and queries. The bare
    /// id is those digits (no sign, no leading zero, at most `u64::MAX`).
    Integer,
    /// A string around the bare id (`gid://shopify/Customer/{id}`): text, `{id}`, text.
    Template {
        /// What comes before the id.
        prefix: String,
        /// What comes after it.
        suffix: String,
    },
}

impl IdFormat {
    /// Reads `id_format` as written in a definition: `"integer"`, or a template with exactly one
    /// `{id}` and no other placeholder.
    ///
    /// # Errors
    /// Why the text is neither.
    pub fn parse(text: &str) -> Result<IdFormat, String> {
        if text == "integer" {
            return Ok(IdFormat::Integer);
        }
        let names: Vec<&str> = crate::template::names(text).collect();
        if let Some(other) = names.iter().find(|n| **n != "id") {
            return Err(format!(
                "`{text}`: `{{{other}}}` is not `{{id}}`; a template holds the id and nothing else is filled"
            ));
        }
        match (names.len(), text.split_once("{id}")) {
            (1, Some((prefix, suffix))) => Ok(IdFormat::Template {
                prefix: prefix.to_owned(),
                suffix: suffix.to_owned(),
            }),
            (0, _) => Err(format!(
                "`{text}` is neither `integer` nor a template holding `{{id}}` once"
            )),
            _ => Err(format!("`{text}` holds `{{id}}` more than once")),
        }
    }

    /// True for the default form (the id as it is).
    pub fn is_opaque(&self) -> bool {
        *self == IdFormat::Opaque
    }

    /// The bare id of `text`, this dialect's id as written in a path or a query; `None` when it
    /// is not in this form.
    pub fn decode_text(&self, text: &str) -> Option<String> {
        match self {
            IdFormat::Opaque => Some(text.to_owned()),
            IdFormat::Integer => is_integer(text).then(|| text.to_owned()),
            IdFormat::Template { prefix, suffix } => text
                .strip_prefix(prefix.as_str())
                .and_then(|rest| rest.strip_suffix(suffix.as_str()))
                .filter(|bare| !bare.is_empty())
                .map(str::to_owned),
        }
    }

    /// The bare id of `value`, this dialect's id as written in a body or an answer (a JSON
    /// integer for [`IdFormat::Integer`], a string otherwise); `None` when it is not in this form.
    pub fn decode_value(&self, value: &serde_json::Value) -> Option<String> {
        match (self, value) {
            (IdFormat::Integer, serde_json::Value::Number(n)) => n.as_u64().map(|n| n.to_string()),
            (IdFormat::Integer, _) => None,
            (_, serde_json::Value::String(s)) => self.decode_text(s),
            _ => None,
        }
    }

    /// The bare `id` as this dialect writes it in a path or a query; `None` when it cannot be
    /// written so (not an integer, for [`IdFormat::Integer`]).
    pub fn encode_text(&self, id: &str) -> Option<String> {
        match self {
            IdFormat::Opaque => Some(id.to_owned()),
            IdFormat::Integer => is_integer(id).then(|| id.to_owned()),
            IdFormat::Template { prefix, suffix } => Some(format!("{prefix}{id}{suffix}")),
        }
    }

    /// The bare `id` as this dialect writes it in a body or an answer (a JSON number for
    /// [`IdFormat::Integer`]); `None` when it cannot be written so.
    pub fn encode_value(&self, id: &str) -> Option<serde_json::Value> {
        match self {
            IdFormat::Integer => {
                let n: u64 = id.parse().ok().filter(|_| is_integer(id))?;
                Some(serde_json::Value::from(n))
            }
            other => other.encode_text(id).map(serde_json::Value::String),
        }
    }

    /// How the form reads in a message: `an integer`, `of the form gid://…/{id}`.
    pub fn describe(&self) -> Option<String> {
        match self {
            IdFormat::Opaque => None,
            IdFormat::Integer => Some("an integer".to_owned()),
            IdFormat::Template { prefix, suffix } => Some(format!("of the form {prefix}{{id}}{suffix}")),
        }
    }

    /// True when the bare `id` can be written in this form: `encode_text(id).is_some()`, without
    /// writing it (every request asks, of every route).
    pub fn can_write(&self, id: &str) -> bool {
        match self {
            IdFormat::Integer => is_integer(id),
            IdFormat::Opaque | IdFormat::Template { .. } => true,
        }
    }
}

/// Decimal digits without a sign or a leading zero, at most `u64::MAX`: the text of exactly one
/// JSON integer, so the id reads back as it was written.
fn is_integer(text: &str) -> bool {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    digits && (text == "0" || !text.starts_with('0')) && text.parse::<u64>().is_ok()
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
    fn id_formats_parse_and_malformed_templates_are_refused() {
        assert_eq!(IdFormat::parse("integer"), Ok(IdFormat::Integer));
        assert_eq!(
            IdFormat::parse("gid://shopify/Customer/{id}"),
            Ok(IdFormat::Template {
                prefix: "gid://shopify/Customer/".into(),
                suffix: String::new()
            })
        );
        assert_eq!(
            IdFormat::parse("cust-{id}-x"),
            Ok(IdFormat::Template {
                prefix: "cust-".into(),
                suffix: "-x".into()
            })
        );
        for (text, says) in [
            ("gid://shopify/Customer/", "neither `integer` nor a template"),
            ("Integer", "neither `integer` nor a template"),
            ("{id}/{id}", "more than once"),
            ("gid://{shop}/Customer/{id}", "`{shop}` is not `{id}`"),
        ] {
            let err = IdFormat::parse(text).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn an_integer_id_is_a_json_integer_in_bodies_and_its_digits_elsewhere() {
        let f = IdFormat::Integer;
        assert_eq!(f.decode_value(&serde_json::json!(12)), Some("12".into()));
        assert_eq!(f.encode_value("12"), Some(serde_json::json!(12)));
        assert_eq!(f.encode_text("12"), Some("12".into()));
        assert_eq!(f.decode_text("12"), Some("12".into()));
        // Not integers: refused both ways, never guessed.
        for id in [
            "cus_ada",
            "",
            "-1",
            "+1",
            "012",
            "1.0",
            "1e3",
            "18446744073709551616",
            " 1",
        ] {
            assert_eq!(f.encode_value(id), None, "{id}");
            assert_eq!(f.decode_text(id), None, "{id}");
            assert!(!f.can_write(id), "{id}");
        }
        assert_eq!(
            f.decode_value(&serde_json::json!("12")),
            None,
            "a string is not a JSON integer"
        );
        assert_eq!(f.decode_value(&serde_json::json!(12.5)), None);
        assert_eq!(f.decode_value(&serde_json::json!(-3)), None);
        assert_eq!(f.encode_value("0"), Some(serde_json::json!(0)));
    }

    #[test]
    fn an_id_can_be_written_exactly_when_it_has_a_written_form() {
        let formats = [
            IdFormat::Opaque,
            IdFormat::Integer,
            IdFormat::parse("gid://shopify/Customer/{id}").unwrap(),
            IdFormat::parse("c-{id}.v1").unwrap(),
        ];
        for f in &formats {
            for id in [
                "cus_ada",
                "",
                "12",
                "0",
                "012",
                "-1",
                "1e3",
                "18446744073709551616",
                " 1",
                "gid://x/1",
            ] {
                assert_eq!(f.can_write(id), f.encode_text(id).is_some(), "{f:?} {id}");
            }
        }
    }

    #[test]
    fn a_template_id_wraps_the_bare_id() {
        let f = IdFormat::parse("gid://shopify/Customer/{id}").unwrap();
        assert_eq!(
            f.decode_value(&serde_json::json!("gid://shopify/Customer/123")),
            Some("123".into())
        );
        assert_eq!(
            f.encode_value("123"),
            Some(serde_json::json!("gid://shopify/Customer/123"))
        );
        assert_eq!(
            f.encode_text("123").as_deref(),
            Some("gid://shopify/Customer/123")
        );
        // A GID of another type, or none, is not this dialect's id.
        assert_eq!(f.decode_text("gid://shopify/Order/123"), None);
        assert_eq!(f.decode_text("123"), None);
        assert_eq!(f.decode_text("gid://shopify/Customer/"), None, "no bare id");
        assert_eq!(f.decode_value(&serde_json::json!(123)), None);
        let suffixed = IdFormat::parse("c-{id}.v1").unwrap();
        assert_eq!(suffixed.decode_text("c-7.v1"), Some("7".into()));
        assert_eq!(suffixed.decode_text("c-7.v2"), None);
        assert_eq!(
            IdFormat::Opaque.decode_value(&serde_json::json!("x")),
            Some("x".into())
        );
        assert_eq!(IdFormat::Opaque.decode_value(&serde_json::json!(1)), None);
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
