//! The strict parse of a body whose large members are held as their text ([`crate::held`]):
//! each is checked as strictly as the rest of the body, nothing of it is built, and a
//! placeholder stands in its place.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use bytes::Bytes;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{Limits, Seed, exact_numbers};
use crate::held::{HeldText, placeholder};

/// `body` parsed as [`super::parse_limited`] parses it, except that each top-level member named
/// in `names` whose value is a non-empty object or list of at least `min_len` bytes is checked
/// without being built and held as its text (a placeholder in the tree).
///
/// `None` when this parse does not apply or does not pass: the body is not a JSON object, an
/// object held would have a member name starting with `reserved` (the gateway's keys: the
/// refusal needs the tree), or the body is refused. Parse it with [`super::parse_limited`]
/// then: what it refuses and how is not changed by this parse.
pub fn parse_holding_text(
    body: &Bytes,
    limits: Limits,
    names: &[String],
    reserved: &str,
    min_len: usize,
) -> Option<(Value, HeldText)> {
    let text = std::str::from_utf8(body).ok()?;
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let (floats, values) = (Cell::new(false), Cell::new(0));
    let seed = Seed::root(text, limits, &floats, &values);
    let mut spans = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let top = Top {
        seed,
        names,
        reserved,
        min_len,
        text,
        spans: &mut spans,
    };
    let value = top.deserialize(&mut de).ok()?;
    de.end().ok()?;
    exact_numbers(text, floats.get()).ok()?;
    Some((value, HeldText::new(body.clone(), spans)))
}

/// The body's root object.
struct Top<'a, 's> {
    seed: Seed<'a>,
    names: &'a [String],
    reserved: &'a str,
    min_len: usize,
    text: &'a str,
    spans: &'s mut Vec<std::ops::Range<usize>>,
}

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        // The root is one value, counted as `Seed` counts it.
        self.seed.checks.values.set(self.seed.checks.values.get() + 1);
        if self.seed.checks.values.get() > self.seed.checks.limits.values {
            return Err(de::Error::custom("too many values"));
        }
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut access: A) -> Result<Value, A::Error> {
        let inner = self.seed.deeper()?;
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            self.seed.no_nul(&key)?;
            let value = if self.names.contains(&key) {
                let raw: &'de RawValue = access.next_value()?;
                self.member(inner, raw.get()).map_err(de::Error::custom)?
            } else {
                access.next_value_seed(inner)?
            };
            if map.insert(key, value).is_some() {
                return Err(de::Error::custom("duplicate key"));
            }
        }
        Ok(Value::Object(map))
    }
}

impl Top<'_, '_> {
    /// The value of a member that may be held, `text`: held when it is large enough and a
    /// non-empty object or list, else built as any other.
    fn member(&mut self, inner: Seed<'_>, text: &str) -> Result<Value, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        let list = text.starts_with('[');
        if text.len() < self.min_len || !non_empty(text) {
            let value = inner.deserialize(&mut de)?;
            de.end()?;
            return Ok(value);
        }
        let check = Seed {
            build: false,
            prefix: Some(self.reserved),
            ..inner
        };
        let counted = inner.checks.values.get();
        if check.deserialize(&mut de)? == Value::Bool(true) {
            // A member `null` or `""` (which a transform may change): built as a tree.
            inner.checks.values.set(counted);
            let mut de = serde_json::Deserializer::from_str(text);
            let value = inner.deserialize(&mut de)?;
            de.end()?;
            return Ok(value);
        }
        de.end()?;
        // The member's text is a slice of the body's (the deserializer borrows from it).
        let start = (text.as_ptr() as usize).wrapping_sub(self.text.as_ptr() as usize);
        let span = start..start + text.len();
        if !self.text.get(span.clone()).is_some_and(|s| std::ptr::eq(s, text)) {
            return Err(de::Error::custom("a member outside the body"));
        }
        self.spans.push(span);
        Ok(placeholder(self.spans.len() - 1, list))
    }
}

/// Whether `text` (one JSON value) is an object or a list with at least one member or item.
fn non_empty(text: &str) -> bool {
    let (open, close) = match text.as_bytes().first() {
        Some(b'{') => ('{', '}'),
        Some(b'[') => ('[', ']'),
        _ => return false,
    };
    text.trim_start_matches(open)
        .trim_start()
        .chars()
        .next()
        .is_some_and(|c| c != close)
}

/// [`Seed`]'s object when nothing is built: every member name checked (NUL, duplicates, the
/// reserved prefix at `seed`'s level) and every value checked. At that level it comes out
/// `true` when a member's value is `null` or `""` (which `empty_string_null` would change),
/// else `null`.
pub(super) fn check_map<'de, A: MapAccess<'de>>(
    seed: Seed<'_>,
    inner: Seed<'_>,
    mut access: A,
) -> Result<Value, A::Error> {
    let mut names: Vec<Cow<'de, str>> = Vec::new();
    let mut empty = false;
    while let Some(name) = access.next_key_seed(Name)? {
        seed.no_nul(&name)?;
        if seed.prefix.is_some_and(|p| name.starts_with(p)) {
            return Err(de::Error::custom("a reserved member name"));
        }
        empty |= access.next_value_seed(inner)? == Value::Bool(true);
        names.push(name);
    }
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err(de::Error::custom("duplicate key"));
    }
    Ok(if empty && seed.prefix.is_some() {
        Value::Bool(true)
    } else {
        Value::Null
    })
}

/// A member name, borrowed from the text when it has no escape.
struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

#[cfg(test)]
mod tests;
