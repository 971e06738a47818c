//! Strict JSON parsing for untrusted bodies: serde_json's grammar plus a nesting limit and a
//! refusal of duplicate member names (serde_json alone keeps the last one silently, so what was
//! validated and what is forwarded could differ), of numbers that cannot be kept exactly (an
//! integer beyond 64 bits, a decimal beyond a double's precision: forwarding them would change
//! them silently) and of NUL characters in strings (which many backends truncate at).

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

pub use self::as_text::parse_holding_text;
pub(crate) use self::checks::{Checks, strictly};
pub use self::footprint::{Footprint, measure};

mod as_text;
mod checks;
mod footprint;
#[cfg(test)]
pub(crate) mod fragments;

/// Default maximum nesting depth of request bodies.
pub const DEFAULT_MAX_DEPTH: usize = 64;
/// Most JSON values (strings, numbers, booleans, nulls, arrays and objects; member names not
/// counted) in one document parsed with [`parse_strict`]: upstream answers and command-line
/// inputs. The gateway's own limit for request bodies (`server.max_json_values`) is at most this.
pub const DEFAULT_MAX_VALUES: usize = 65_536;

/// What an untrusted document may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of arrays and objects.
    pub depth: usize,
    /// Most values (see [`DEFAULT_MAX_VALUES`]).
    pub values: usize,
}

/// Parses `bytes` as one JSON value, refusing duplicate keys, nesting deeper than `max_depth`
/// and more than [`DEFAULT_MAX_VALUES`] values.
///
/// # Errors
/// See [`parse_limited`].
pub fn parse_strict(bytes: &[u8], max_depth: usize) -> Result<Value, serde_json::Error> {
    parse_limited(
        bytes,
        Limits {
            depth: max_depth,
            values: DEFAULT_MAX_VALUES,
        },
    )
}

/// Parses `bytes` as one JSON value within `limits`, refusing duplicate keys.
///
/// # Errors
/// serde_json's error (with line and column) for invalid UTF-8, bad syntax, trailing data,
/// numbers out of range or not exactly representable, NUL in strings, duplicate keys, excess
/// nesting and too many values.
pub fn parse_limited(bytes: &[u8], limits: Limits) -> Result<Value, serde_json::Error> {
    strictly(bytes, limits, |checks, de| {
        Seed {
            checks,
            build: true,
            prefix: None,
        }
        .deserialize(de)
    })
}

/// Whether `text` may hold a NUL in a string: a NUL can only be written as the escape `\u0000`
/// (serde_json refuses a raw control character in a string), so a text without a backslash has
/// none, and its strings are not searched one by one.
/// The backslash is looked for with `memchr` (a vector search; the slice's own `contains`
/// looks a word at a time): this runs on every body and answer parsed.
pub(crate) fn nul_possible(text: &str) -> bool {
    memchr::memchr(b'\\', text.as_bytes()).is_some() && text.contains("\\u0000")
}

/// Integers within 64 bits are kept exactly by serde_json; only a text that produced a double
/// (`floats`) is scanned again, for the number that would not come out as it went in.
pub(crate) fn exact_numbers(text: &str, floats: bool) -> Result<(), serde_json::Error> {
    if !floats {
        return Ok(());
    }
    match inexact_number(text) {
        Some(token) => Err(<serde_json::Error as de::Error>::custom(format_args!(
            "the number {} cannot be kept exactly (at most 64-bit integers and double precision)",
            Shown(token)
        ))),
        None => Ok(()),
    }
}

/// A number token for an error message, cut short.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Number tokens are ASCII: any byte index is a character boundary.
        if self.0.len() > 40 {
            write!(f, "{}…", &self.0[..40])
        } else {
            f.write_str(self.0)
        }
    }
}

/// The first number token of the (valid JSON) `text` whose value a double or a 64-bit integer
/// cannot hold exactly.
fn inexact_number(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // Skip the string; JSON escapes are a backslash and one more character (or
                // `uXXXX`, whose hex digits cannot be a quote).
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len() && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                    i += 1;
                }
                let token = &text[start..i];
                if !exact(token) {
                    return Some(token);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Whether the number `token` survives parsing and re-serialisation with its value unchanged.
fn exact(token: &str) -> bool {
    if !token.contains(['.', 'e', 'E']) {
        return token.parse::<i64>().is_ok() || token.parse::<u64>().is_ok();
    }
    let Ok(v) = token.parse::<f64>() else {
        return false;
    };
    // `Display` for f64 writes the shortest decimal that reads back as the same double.
    v.is_finite() && decimal(token) == decimal(&v.to_string())
}

/// A decimal's value as (negative, significant digits, exponent of the first digit): equal
/// values give equal triples, whatever the notation (`1.50`, `15e-1`, `0.15E1`).
fn decimal(s: &str) -> (bool, String, i64) {
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(at) => (&s[..at], s[at + 1..].parse::<i64>().unwrap_or(0)),
        None => (s, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = int.chars().chain(frac.chars()).collect();
    let leading = digits.len() - digits.trim_start_matches('0').len();
    let significant = digits.trim_matches('0');
    if significant.is_empty() {
        // Zero, whatever its sign or notation.
        return (false, String::new(), 0);
    }
    let int_len = i64::try_from(int.len()).unwrap_or(i64::MAX);
    let leading = i64::try_from(leading).unwrap_or(i64::MAX);
    (
        negative,
        significant.to_owned(),
        exp.saturating_add(int_len).saturating_sub(leading),
    )
}

/// Refuses the NUL character, in member names and string values alike.
pub(crate) fn no_nul<E: de::Error>(s: &str) -> Result<(), E> {
    if s.contains('\0') {
        Err(E::custom("a string contains the NUL character (\\u0000)"))
    } else {
        Ok(())
    }
}

#[derive(Clone, Copy)]
struct Seed<'a> {
    checks: Checks<'a>,
    /// False: the text is checked as strictly, but nothing is built, for a member held as its
    /// text (`parse::as_text`): a value comes out `true` when it is `null` or `""`, else `null`.
    build: bool,
    /// An object here whose member name starts with it is refused (the gateway's reserved
    /// prefix, looked for in the bag a member carried as text may be): at this level only.
    prefix: Option<&'a str>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.checks.count()?;
        deserializer.deserialize_any(self)
    }
}

impl<'a> Seed<'a> {
    /// The seed of the document `text`, building it.
    fn root(text: &str, limits: Limits, floats: &'a Cell<bool>, values: &'a Cell<usize>) -> Seed<'a> {
        Seed {
            checks: Checks::root(text, limits, floats, values),
            build: true,
            prefix: None,
        }
    }

    fn no_nul<E: de::Error>(self, s: &str) -> Result<(), E> {
        self.checks.no_nul(s)
    }

    fn deeper<E: de::Error>(self) -> Result<Seed<'a>, E> {
        Ok(Seed {
            checks: self.checks.deeper()?,
            prefix: None,
            ..self
        })
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.checks.float();
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.no_nul(v)?;
        Ok(if self.build {
            Value::String(v.to_owned())
        } else {
            Value::Bool(v.is_empty())
        })
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.no_nul(&v)?;
        Ok(if self.build {
            Value::String(v)
        } else {
            Value::Bool(v.is_empty())
        })
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(if self.build {
            Value::Null
        } else {
            Value::Bool(true)
        })
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(if self.build {
            Value::Null
        } else {
            Value::Bool(true)
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.deeper()?;
        if !self.build {
            while seq.next_element_seed(inner)?.is_some() {}
            return Ok(Value::Null);
        }
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element_seed(inner)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let inner = self.deeper()?;
        if !self.build {
            return as_text::check_map(self, inner, access);
        }
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            self.no_nul(&key)?;
            match map.entry(key) {
                serde_json::map::Entry::Occupied(e) => {
                    return Err(de::Error::custom(format_args!("duplicate key `{}`", e.key())));
                }
                serde_json::map::Entry::Vacant(e) => {
                    e.insert(access.next_value_seed(inner)?);
                }
            }
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_json() {
        let v = parse_strict(br#"{"a": [1, 2.5, "x", null, true, {"b": {}}]}"#, 64).unwrap();
        assert_eq!(v["a"][5]["b"], serde_json::json!({}));
    }

    #[test]
    fn refuses_duplicate_keys() {
        let e = parse_strict(br#"{"email":"a","email":"b"}"#, 64).unwrap_err();
        assert!(e.to_string().contains("duplicate key `email`"), "{e}");
    }

    #[test]
    fn refuses_deep_nesting_without_overflowing_the_stack() {
        let deep = "[".repeat(100_000);
        let e = parse_strict(deep.as_bytes(), 64).unwrap_err();
        assert!(e.to_string().contains("nesting deeper than 64"), "{e}");
        let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert!(parse_strict(ok.as_bytes(), 64).is_ok());
    }

    #[test]
    fn counts_every_value_and_refuses_the_first_past_the_limit() {
        let limits = |values| Limits { depth: 64, values };
        // Values: the object, the array, three numbers, the string, the nested object and its
        // null: eight (member names are not values).
        let doc = br#"{"a": [1, 2, 3], "b": "x", "c": {"d": null}}"#;
        assert!(parse_limited(doc, limits(8)).is_ok());
        let e = parse_limited(doc, limits(7)).unwrap_err();
        assert!(e.to_string().contains("more than 7 JSON values"), "{e}");
        // A scalar document is one value.
        assert!(parse_limited(b"0", limits(1)).is_ok());
        assert!(parse_limited(b"[0]", limits(1)).is_err());
    }

    #[test]
    fn a_document_of_many_tiny_values_stops_at_the_limit() {
        let doc = format!("[{}]", vec!["0"; 200_000].join(","));
        let e = parse_limited(
            doc.as_bytes(),
            Limits {
                depth: 64,
                values: 10_000,
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("more than 10000 JSON values"), "{e}");
        // parse_strict keeps the default limit, for answers and command-line inputs.
        let e = parse_strict(doc.as_bytes(), 64).unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("more than {DEFAULT_MAX_VALUES} JSON values")),
            "{e}"
        );
    }

    #[test]
    fn refuses_numbers_that_would_change_on_the_way() {
        for n in [
            "18446744073709551616",
            "-9223372036854775809",
            "123456789012345678901234567890",
            "1.00000000000000000001",
            "0.30000000000000000001",
            "1e-400",
            "9007199254740993.0",
        ] {
            let body = format!("{{\"metadata\":{{\"n\":{n}}},\"s\":\"1e-400 in a string is text\"}}");
            let e = parse_strict(body.as_bytes(), 64).unwrap_err();
            assert!(e.to_string().contains("cannot be kept exactly"), "{n}: {e}");
        }
        for n in [
            "18446744073709551615",
            "-9223372036854775808",
            "0.1",
            "1.50",
            "15e-1",
            "-0.0",
            "0",
            "1e300",
            "2.5E-3",
            "9007199254740992",
        ] {
            let body = format!("[{n}, \"-1.00000000000000000001\"]");
            assert!(parse_strict(body.as_bytes(), 64).is_ok(), "{n}");
        }
    }

    #[test]
    fn refuses_nul_in_strings_and_member_names() {
        for body in [r#"{"a":"x\u0000y"}"#, r#"{"a\u0000":1}"#, r#"["\u0000"]"#] {
            let e = parse_strict(body.as_bytes(), 64).unwrap_err();
            assert!(e.to_string().contains("NUL"), "{body}: {e}");
        }
        assert!(parse_strict(br#"{"a":"\\u0000 is text"}"#, 64).is_ok());
    }

    #[test]
    fn refuses_trailing_data_bad_utf8_and_huge_numbers() {
        assert!(parse_strict(b"{} {}", 64).is_err());
        assert!(parse_strict(b"{\"a\":\"\xff\"}", 64).is_err());
        assert!(parse_strict(b"{\"a\":1e400}", 64).is_err());
        assert!(parse_strict(b"", 64).is_err());
    }
}
