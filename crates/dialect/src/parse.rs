//! Strict JSON parsing for untrusted bodies: serde_json's grammar plus a nesting limit and a
//! refusal of duplicate member names (serde_json alone keeps the last one silently, so what was
//! validated and what is forwarded could differ).

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Default maximum nesting depth of request bodies.
pub const DEFAULT_MAX_DEPTH: usize = 64;

/// Parses `bytes` as one JSON value, refusing duplicate keys and nesting deeper than
/// `max_depth`.
///
/// # Errors
/// serde_json's error (with line and column) for invalid UTF-8, bad syntax, trailing data,
/// numbers out of range, duplicate keys and excess nesting.
pub fn parse_strict(bytes: &[u8], max_depth: usize) -> Result<Value, serde_json::Error> {
    // UTF-8 is checked once for the whole body (an ASCII body takes the word-at-a-time fast
    // path), so the parser reads a `str` and does not re-check every string it meets.
    let text = std::str::from_utf8(bytes).map_err(|e| {
        <serde_json::Error as de::Error>::custom(format_args!("invalid UTF-8 at byte {}", e.valid_up_to()))
    })?;
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Seed { depth: 0, max_depth }.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

#[derive(Clone, Copy)]
struct Seed {
    depth: usize,
    max_depth: usize,
}

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Seed {
    fn deeper<E: de::Error>(self) -> Result<Seed, E> {
        if self.depth >= self.max_depth {
            return Err(E::custom(format_args!(
                "nesting deeper than {} levels",
                self.max_depth
            )));
        }
        Ok(Seed {
            depth: self.depth + 1,
            ..self
        })
    }
}

impl<'de> Visitor<'de> for Seed {
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
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.deeper()?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element_seed(inner)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let inner = self.deeper()?;
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
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
    fn refuses_trailing_data_bad_utf8_and_huge_numbers() {
        assert!(parse_strict(b"{} {}", 64).is_err());
        assert!(parse_strict(b"{\"a\":\"\xff\"}", 64).is_err());
        assert!(parse_strict(b"{\"a\":1e400}", 64).is_err());
        assert!(parse_strict(b"", 64).is_err());
    }
}
