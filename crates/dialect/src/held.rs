//! Members held as text: a large map or list that a translation carries whole from the caller's
//! body to the upstream's (a `metadata` bag) is not built as a tree at all. The strict parse
//! checks it as strictly as the rest of the body ([`crate::parse_holding_text`]) and leaves a
//! placeholder in its place; the upstream's body is written with the caller's own text of the
//! member where the placeholder ended up. A tree of many small objects takes up to 9× its text
//! (`BENCHMARKS.md`, "Memory near the body"); the text is already held.
//!
//! Nothing may read inside a member held so, and the loader knows where nothing does
//! (`compiled/held_places.rs`; `docs/dialect-format.md`, "Members held as text"):
//! - as the caller's: a top-level member of a request without an envelope, copied by one plain
//!   rule (no map of values, derivation or action; no transform but `empty_string_null`, which
//!   changes nothing in an object with no member `null` or `""`: such an object is not held)
//!   that no other rule, constant, required member or the body's id overlaps, and whose schema
//!   checks nothing but its type under a root that reaches it only through `properties`;
//! - as the target's: a top-level member of the target's request body that the target's schema
//!   checks the same way, written by one plain rule from a canonical member nothing else reads
//!   inside (the canonical form's own patch: every such member).
//!
//! The placeholder is an object or a list (the member's own type, so the schemas see the same
//! type) holding a NUL string, which no caller can send (the strict parser refuses it). A
//! translation is kept only when every placeholder came out whole, once, in one of the
//! target's places and nowhere else ([`placed`]); anything else (a refusal, a read of the stored
//! customer first, overflow moving it into a bag, a query parameter writing into it) is
//! translated again from the whole tree, so what is sent and refused never depends on this.

use std::ops::Range;

use bytes::Bytes;
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The smallest member held as text: below it a tree costs less to build than the second pass
/// that checks the text, and holds little.
pub const HELD_MIN_BYTES: usize = 16 * 1024;

/// The NUL string the placeholders hold.
const MARK: &str = "\0";

/// The caller's body, shared, and the byte ranges of the members held as its text, by index.
/// One pointer when nothing is held (every usual request): it travels in every `Outbound`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeldText(Option<Box<Held>>);

#[derive(Debug, Clone, PartialEq)]
struct Held {
    text: Bytes,
    spans: Vec<Range<usize>>,
}

impl HeldText {
    pub(crate) fn new(text: Bytes, spans: Vec<Range<usize>>) -> HeldText {
        HeldText((!spans.is_empty()).then(|| Box::new(Held { text, spans })))
    }

    /// How many members are held.
    pub(crate) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |h| h.spans.len())
    }

    /// Whether no member is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The caller's whole body (to parse it whole when a translation must be made again);
    /// empty when nothing is held.
    pub fn body(&self) -> &[u8] {
        self.0.as_ref().map_or(&[], |h| &h.text[..])
    }

    /// The text of each member held.
    pub fn members(&self) -> impl Iterator<Item = &[u8]> {
        self.0
            .iter()
            .flat_map(|h| h.spans.iter().filter_map(|span| h.text.get(span.clone())))
    }

    /// The text of member `i` (checked JSON, UTF-8 when it was parsed).
    fn member(&self, i: usize) -> Option<&str> {
        let h = self.0.as_ref()?;
        std::str::from_utf8(h.text.get(h.spans.get(i)?.clone())?).ok()
    }

    /// `tree` for writing, with every placeholder written as the member's text.
    pub fn writing<'a>(&'a self, tree: &'a Value) -> Writing<'a> {
        Writing { held: self, tree }
    }

    /// `tree` with every placeholder replaced by its member, parsed (for an upstream that takes
    /// the tree itself: the embedded backend).
    pub fn resolve(&self, tree: &Value) -> Value {
        match mark(tree) {
            Some(Mark::Held(i)) => self
                .member(i)
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or(Value::Null),
            _ => match tree {
                Value::Object(map) => {
                    Value::Object(map.iter().map(|(k, v)| (k.clone(), self.resolve(v))).collect())
                }
                Value::Array(items) => Value::Array(items.iter().map(|v| self.resolve(v)).collect()),
                other => other.clone(),
            },
        }
    }
}

/// A tree written with its placeholders replaced by the caller's text ([`HeldText::writing`]).
pub struct Writing<'a> {
    held: &'a HeldText,
    tree: &'a Value,
}

impl Serialize for Writing<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.held.is_empty() {
            return self.tree.serialize(s);
        }
        let node = |tree| Writing {
            held: self.held,
            tree,
        };
        match (mark(self.tree), self.tree) {
            (Some(Mark::Held(i)), _) => {
                let text = self
                    .held
                    .member(i)
                    .ok_or_else(|| S::Error::custom("a held member out of range"))?;
                let raw: &RawValue = serde_json::from_str(text).map_err(S::Error::custom)?;
                raw.serialize(s)
            }
            (_, Value::Object(map)) => {
                let mut out = s.serialize_map(Some(map.len()))?;
                for (k, v) in map {
                    out.serialize_entry(k, &node(v))?;
                }
                out.end()
            }
            (_, Value::Array(items)) => {
                let mut out = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    out.serialize_element(&node(v))?;
                }
                out.end()
            }
            (_, scalar) => scalar.serialize(s),
        }
    }
}

/// The placeholder of held member `index`, of the member's type (an object or a list).
pub(crate) fn placeholder(index: usize, list: bool) -> Value {
    if list {
        Value::Array(vec![Value::from(MARK), Value::from(index)])
    } else {
        let mut map = Map::new();
        map.insert(MARK.to_owned(), Value::from(index));
        Value::Object(map)
    }
}

enum Mark {
    Held(usize),
    /// A placeholder changed on the way.
    Broken,
}

/// What `v` is, if it is or was a placeholder.
fn mark(v: &Value) -> Option<Mark> {
    let (is_mark, index) = match v {
        // The mark sorts first among member names.
        Value::Object(map) => (
            map.keys().next().is_some_and(|k| k == MARK),
            map.get(MARK).filter(|_| map.len() == 1),
        ),
        Value::Array(items) => (
            items.first().is_some_and(|first| first == MARK),
            items.get(1).filter(|_| items.len() == 2),
        ),
        _ => return None,
    };
    if !is_mark {
        return None;
    }
    Some(
        index
            .and_then(Value::as_u64)
            .and_then(|i| usize::try_from(i).ok())
            .map_or(Mark::Broken, Mark::Held),
    )
}

/// Whether each of the `n` placeholders is in `body` exactly once, whole, as a top-level member
/// named in `places`, and nothing else in `body` is or was a placeholder.
pub(crate) fn placed(body: &Value, places: &[String], n: usize) -> bool {
    let Value::Object(root) = body else {
        return false;
    };
    let mut seen = vec![false; n];
    for (name, v) in root {
        match mark(v) {
            Some(Mark::Held(i)) if i < n && !seen[i] && places.iter().any(|p| p == name) => seen[i] = true,
            Some(_) => return false,
            None if holds_mark(v) => return false,
            None => {}
        }
    }
    seen.iter().all(|s| *s)
}

/// Whether a placeholder is anywhere inside `v`.
fn holds_mark(v: &Value) -> bool {
    match v {
        Value::Object(map) => map.values().any(|v| mark(v).is_some() || holds_mark(v)),
        Value::Array(items) => items.iter().any(|v| mark(v).is_some() || holds_mark(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
