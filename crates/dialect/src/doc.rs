//! A parsed JSON document that borrows its text: every string and member name without an
//! escape points into the received bytes, and objects are vectors of members in the order
//! they came. An upstream's answer is parsed into one ([`parse_doc`]), checked against the
//! dialect's response schema in place (`json.rs`: jsonschema's `Json` trait) and decoded from
//! it: no `serde_json::Value` tree is built for it, only the canonical customer decoded from it.
//!
//! The parse refuses exactly what [`crate::parse_limited`] refuses, with the same messages:
//! duplicate member names, nesting and value counts past the limits, NUL characters, numbers
//! that cannot be kept exactly.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

use crate::parse::{Checks, Limits, strictly};
use crate::pointer::Pointer;

pub(crate) mod json;
#[cfg(test)]
mod tests;

pub use self::json::DocJson;

/// A JSON document borrowing from its text.
#[derive(Debug, Clone, PartialEq)]
pub enum Doc<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Doc<'a>>),
    /// Members in the order of the text (names are unique: duplicates are refused).
    Object(Vec<(Cow<'a, str>, Doc<'a>)>),
}

impl<'a> Doc<'a> {
    /// The member `name` of an object.
    pub(crate) fn member(&self, name: &str) -> Option<&Doc<'a>> {
        match self {
            Doc::Object(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The object at `pointer` (through objects by name, arrays by index), to change.
    pub(crate) fn object_at_mut(&mut self, pointer: &Pointer) -> Option<&mut Vec<(Cow<'a, str>, Doc<'a>)>> {
        let mut at = self;
        for segment in pointer.segments() {
            at = match at {
                Doc::Array(items) => items.get_mut(segment.parse::<usize>().ok()?)?,
                Doc::Object(members) => &mut members.iter_mut().find(|(k, _)| k == segment)?.1,
                _ => return None,
            };
        }
        match at {
            Doc::Object(members) => Some(members),
            _ => None,
        }
    }

    /// Removes the member at `pointer`, through objects only.
    pub(crate) fn remove(&mut self, pointer: &Pointer) {
        let Some((last, parents)) = pointer.segments().split_last() else {
            return;
        };
        let mut at = self;
        for segment in parents {
            let Doc::Object(members) = at else { return };
            let Some((_, next)) = members.iter_mut().find(|(k, _)| k == segment) else {
                return;
            };
            at = next;
        }
        if let Doc::Object(members) = at {
            members.retain(|(k, _)| k != last);
        }
    }

    /// Whether the members of every object are sorted by name, as a `Value`'s map holds them
    /// (the order [`Sorted`] keeps).
    #[cfg(test)]
    pub(crate) fn is_sorted(&self) -> bool {
        match self {
            Doc::Array(items) => items.iter().all(Doc::is_sorted),
            Doc::Object(members) => {
                members.is_sorted_by(|(a, _), (b, _)| by_name(a, b).is_lt())
                    && members.iter().all(|(_, v)| v.is_sorted())
            }
            _ => true,
        }
    }

    /// The string, if this is one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Doc::String(s) => Some(s),
            _ => None,
        }
    }

    /// The same document as a `serde_json::Value` (every string copied).
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Doc::Null => Value::Null,
            Doc::Bool(b) => Value::Bool(*b),
            Doc::Number(n) => Value::Number(n.clone()),
            Doc::String(s) => Value::String(s.as_ref().to_owned()),
            Doc::Array(items) => Value::Array(items.iter().map(Doc::to_value).collect()),
            Doc::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.as_ref().to_owned(), v.to_value()))
                    .collect(),
            ),
        }
    }

    /// `v` as a document borrowing its strings and names.
    pub fn borrowing(v: &'a Value) -> Doc<'a> {
        match v {
            Value::Null => Doc::Null,
            Value::Bool(b) => Doc::Bool(*b),
            Value::Number(n) => Doc::Number(n.clone()),
            Value::String(s) => Doc::String(Cow::Borrowed(s)),
            Value::Array(items) => Doc::Array(items.iter().map(Doc::borrowing).collect()),
            Value::Object(map) => Doc::Object(
                map.iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Doc::borrowing(v)))
                    .collect(),
            ),
        }
    }

    /// Whether this document equals `v` (objects: the same members, in any order).
    pub(crate) fn equals(&self, v: &Value) -> bool {
        match (self, v) {
            (Doc::Null, Value::Null) => true,
            (Doc::Bool(a), Value::Bool(b)) => a == b,
            (Doc::Number(a), Value::Number(b)) => a == b,
            (Doc::String(a), Value::String(b)) => a == b,
            (Doc::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.equals(y))
            }
            (Doc::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, x)| b.get(k.as_ref()).is_some_and(|y| x.equals(y)))
            }
            _ => false,
        }
    }
}

/// The members of an object kept sorted by name as they are set, as a `Value`'s map keeps
/// them: a document built this way (the caller's answer) writes as the `Value` it equals,
/// with no sort after. Most names differ in their first byte: compared there first, without a
/// call to compare the rest. For the few members of an answer's object; a long object built
/// out of order costs what an insertion sort of it costs.
pub(crate) trait Sorted<'a> {
    /// The index of the member `name`, or where it would be inserted.
    fn find_sorted(&self, name: &str) -> Result<usize, usize>;
    /// The member `name`'s value, inserted in order as `made()` when there is none.
    fn slot_sorted(&mut self, name: &'a str, made: impl FnOnce() -> Doc<'a>) -> &mut Doc<'a>;
    /// Sets the member `name` to `v`, in order.
    fn set_sorted(&mut self, name: Cow<'a, str>, v: Doc<'a>);
}

impl<'a> Sorted<'a> for Vec<(Cow<'a, str>, Doc<'a>)> {
    /// From the end: a member set after the ones before it in name order is found with one
    /// look, and an object holds a few members (this is the scan that found a member set
    /// twice before, fused with the sort that came after).
    #[inline]
    fn find_sorted(&self, name: &str) -> Result<usize, usize> {
        for (i, (k, _)) in self.iter().enumerate().rev() {
            match by_name(k, name) {
                Ordering::Less => return Err(i + 1),
                Ordering::Equal => return Ok(i),
                Ordering::Greater => {}
            }
        }
        Err(0)
    }

    fn slot_sorted(&mut self, name: &'a str, made: impl FnOnce() -> Doc<'a>) -> &mut Doc<'a> {
        let i = match self.find_sorted(name) {
            Ok(i) => i,
            Err(i) => {
                self.insert(i, (Cow::Borrowed(name), made()));
                i
            }
        };
        &mut self[i].1
    }

    fn set_sorted(&mut self, name: Cow<'a, str>, v: Doc<'a>) {
        match self.find_sorted(&name) {
            Ok(i) => self[i].1 = v,
            Err(i) => self.insert(i, (name, v)),
        }
    }
}

/// Names in the order of `str` (byte-wise), the first bytes compared inline.
#[inline]
fn by_name(a: &str, b: &str) -> Ordering {
    match (a.as_bytes().first(), b.as_bytes().first()) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ => a.cmp(b),
    }
}

impl From<Value> for Doc<'_> {
    /// `v`, its strings and names moved in.
    fn from(v: Value) -> Self {
        match v {
            Value::Null => Doc::Null,
            Value::Bool(b) => Doc::Bool(b),
            Value::Number(n) => Doc::Number(n),
            Value::String(s) => Doc::String(Cow::Owned(s)),
            Value::Array(items) => Doc::Array(items.into_iter().map(Doc::from).collect()),
            Value::Object(map) => Doc::Object(
                map.into_iter()
                    .map(|(k, v)| (Cow::Owned(k), Doc::from(v)))
                    .collect(),
            ),
        }
    }
}

impl serde::Serialize for Doc<'_> {
    /// As the `Value` it equals serialises, members in the document's order.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Doc::Null => serializer.serialize_unit(),
            Doc::Bool(b) => serializer.serialize_bool(*b),
            Doc::Number(n) => n.serialize(serializer),
            Doc::String(s) => serializer.serialize_str(s),
            Doc::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Doc::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k.as_ref(), v)?;
                }
                map.end()
            }
        }
    }
}

/// Parses `bytes` as one JSON document within `limits`, refusing what [`crate::parse_limited`]
/// refuses.
///
/// # Errors
/// serde_json's error for invalid UTF-8, bad syntax, trailing data, numbers out of range or not
/// exactly representable, NUL in strings, duplicate keys, excess nesting and too many values.
pub fn parse_doc(bytes: &[u8], limits: Limits) -> Result<Doc<'_>, serde_json::Error> {
    strictly(bytes, limits, |checks, de| Seed(checks).deserialize(de))
}

/// The strict checks of `parse::Seed`, building a [`Doc`].
#[derive(Clone, Copy)]
struct Seed<'c>(Checks<'c>);

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Doc<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Doc<'de>, D::Error> {
        self.0.count()?;
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Doc<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Doc<'de>, E> {
        Ok(Doc::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Doc<'de>, E> {
        Ok(Doc::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Doc<'de>, E> {
        Ok(Doc::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Doc<'de>, E> {
        self.0.float();
        Number::from_f64(v)
            .map(Doc::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Doc<'de>, E> {
        self.0.no_nul(v)?;
        Ok(Doc::String(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Doc<'de>, E> {
        self.0.no_nul(v)?;
        Ok(Doc::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Doc<'de>, E> {
        self.0.no_nul(&v)?;
        Ok(Doc::String(Cow::Owned(v)))
    }

    fn visit_unit<E>(self) -> Result<Doc<'de>, E> {
        Ok(Doc::Null)
    }

    fn visit_none<E>(self) -> Result<Doc<'de>, E> {
        Ok(Doc::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Doc<'de>, A::Error> {
        let inner = Seed(self.0.deeper()?);
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element_seed(inner)? {
            items.push(v);
        }
        Ok(Doc::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Doc<'de>, A::Error> {
        let inner = Seed(self.0.deeper()?);
        let mut members: Vec<(Cow<'de, str>, Doc<'de>)> = Vec::new();
        while let Some(name) = access.next_key_seed(Name)? {
            self.0.no_nul(&name)?;
            // Most objects are small: a scan finds a duplicate where it is met. A larger one
            // is checked once, sorted, after its last member.
            if members.len() < SCANNED && members.iter().any(|(k, _)| *k == name) {
                return Err(duplicate(&name));
            }
            members.push((name, access.next_value_seed(inner)?));
        }
        if members.len() > SCANNED
            && let Some(name) = first_duplicate(&members[SCANNED..], &members)
        {
            return Err(duplicate(name));
        }
        Ok(Doc::Object(members))
    }
}

/// Members of an object checked for duplicates one by one as they are met; the rest at its end.
const SCANNED: usize = 16;

fn duplicate<E: de::Error>(name: &str) -> E {
    E::custom(format_args!("duplicate key `{name}`"))
}

/// The first member of `tail` (the end of `all`) whose name an earlier member of `all` has: the
/// duplicate a scan from the start would meet first.
fn first_duplicate<'m>(
    tail: &'m [(Cow<'_, str>, Doc<'_>)],
    all: &[(Cow<'_, str>, Doc<'_>)],
) -> Option<&'m str> {
    let mut names: Vec<&str> = all.iter().map(|(k, _)| k.as_ref()).collect();
    names.sort_unstable();
    if !names.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    // Rare (a refused answer): found in order of appearance.
    let mut seen = std::collections::HashSet::new();
    let head = all.len() - tail.len();
    for (i, (k, _)) in all.iter().enumerate() {
        if !seen.insert(k.as_ref()) && i >= head {
            return Some(tail[i - head].0.as_ref());
        }
    }
    None
}

/// A member name, borrowed when it holds no escape.
struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}
