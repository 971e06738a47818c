//! What a copy keeps of a canonical Customer for the comparison: for each member the canonical
//! schema declares (the nodes of a [`Shape`]), a keyed hash of its JSON text, and the text itself
//! only when `candidate.log_values` asks for values. A copy of a customer with a megabyte of
//! metadata holds one hash for the metadata, not the megabyte; the parsed customer is dropped
//! once digested.
//!
//! Hashes are SipHash, keyed at random once per process, of the value's JSON text (objects in
//! key order), so equal values give equal hashes and the hash tells nothing of the value; a
//! log line shows one as `h:` and 12 hex digits.

use std::collections::BTreeMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

use serde::Serialize;
use serde_json::{Map, Value};

use super::shape::Shape;

/// The per-process key of the hashes.
fn key() -> &'static RandomState {
    static KEY: OnceLock<RandomState> = OnceLock::new();
    KEY.get_or_init(RandomState::new)
}

/// Feeds serialized JSON text straight into a hasher (no copy of the text).
struct HashWriter<H>(H);

impl<H: Hasher> std::io::Write for HashWriter<H> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One member's value as the comparison needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    /// The keyed hash of the value's JSON text.
    hash: u64,
    /// The JSON text, kept only when values are logged.
    text: Option<Box<str>>,
}

impl Member {
    /// `value`'s member: its hash, and its text when `keep`.
    pub(crate) fn of(value: &impl Serialize, keep: bool) -> Member {
        let mut hasher = HashWriter(key().build_hasher());
        // Serializing a `Value` (or a map of them) cannot fail, and the writer never does.
        let text = if keep {
            let text = serde_json::to_string(value).unwrap_or_default();
            hasher.0.write(text.as_bytes());
            Some(text.into_boxed_str())
        } else {
            let _ = serde_json::to_writer(&mut hasher, value);
            None
        };
        Member {
            hash: hasher.0.finish(),
            text,
        }
    }

    /// Whether two members (either absent) hold the same value.
    pub(crate) fn same(a: Option<&Member>, b: Option<&Member>) -> bool {
        a.map(|m| m.hash) == b.map(|m| m.hash)
    }

    /// A short keyed hash of `value`'s JSON text, as the logs show it: `h:` and 12 hex digits.
    pub(crate) fn hashed(value: &impl Serialize) -> String {
        Member::of(value, false).label()
    }

    /// The hash as the log shows it: `h:` and 12 hex digits.
    pub(crate) fn label(&self) -> String {
        format!("h:{:012x}", self.hash >> 16)
    }

    /// The value, when its text was kept.
    pub(crate) fn value(&self) -> Option<Value> {
        let text = self.text.as_deref()?;
        Some(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())))
    }

    fn heap_bytes(&self) -> usize {
        self.text.as_ref().map_or(0, |t| t.len())
    }
}

/// What a document holds at one node of the shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A value compared whole: a leaf of the shape, or not an object where the shape has one.
    Whole(Member),
    /// An object the shape compares member by member (its members have their own entries),
    /// with its members the schema does not declare, compared as one.
    Object { undeclared: Option<Member> },
}

/// A canonical Customer as the comparison needs it: the entries of the members it holds (null,
/// empty and volatile members hold none), by node, in node order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Digest {
    entries: Vec<(usize, Entry)>,
}

impl Digest {
    /// The digest of `doc` along `shape`, members at or under a `volatile` pointer left out,
    /// values kept when `keep`.
    pub(crate) fn of(shape: &Shape, doc: &Value, volatile: &[String], keep: bool) -> Digest {
        let mut entries = Vec::new();
        walk(shape, &mut String::new(), Some(doc), volatile, keep, &mut entries);
        entries.shrink_to_fit();
        Digest { entries }
    }

    /// The entry at `node`, if the document holds one.
    pub(crate) fn get(&self, node: usize) -> Option<&Entry> {
        let i = self.entries.binary_search_by_key(&node, |(n, _)| *n).ok()?;
        self.entries.get(i).map(|(_, e)| e)
    }

    /// The bytes the digest holds on the heap.
    pub(crate) fn heap_bytes(&self) -> usize {
        let members = self.entries.iter().map(|(_, e)| match e {
            Entry::Whole(m) | Entry::Object { undeclared: Some(m) } => m.heap_bytes(),
            Entry::Object { undeclared: None } => 0,
        });
        self.entries.capacity() * std::mem::size_of::<(usize, Entry)>() + members.sum::<usize>()
    }
}

fn is_volatile(pointer: &str, volatile: &[String]) -> bool {
    volatile.iter().any(|v| {
        pointer
            .strip_prefix(v.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

fn walk(
    shape: &Shape,
    pointer: &mut String,
    value: Option<&Value>,
    volatile: &[String],
    keep: bool,
    out: &mut Vec<(usize, Entry)>,
) {
    if !pointer.is_empty() && is_volatile(pointer, volatile) {
        return;
    }
    // Null, an empty list and an empty object all say "nothing": a vendor that always answers
    // `shipping_addresses: []` holds no more than one that leaves it out.
    let Some(value) = value.filter(|v| match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }) else {
        return;
    };
    let (Value::Object(members), false) = (value, shape.children().is_empty()) else {
        out.push((shape.node(), Entry::Whole(Member::of(value, keep))));
        return;
    };
    let undeclared: BTreeMap<&String, &Value> = members
        .iter()
        .filter(|(k, _)| !shape.children().contains_key(*k))
        .collect();
    out.push((
        shape.node(),
        Entry::Object {
            undeclared: (!undeclared.is_empty()).then(|| Member::of(&undeclared, keep)),
        },
    ));
    // The Customer's name in both of its forms (only the root has one).
    let name = pointer
        .is_empty()
        .then(|| {
            members
                .get("name")
                .and_then(Value::as_object)
                .and_then(whole_name)
        })
        .flatten()
        .map(Value::Object);
    for (child_name, child) in shape.children() {
        let len = pointer.len();
        pointer.push('/');
        pointer.push_str(&child_name.replace('~', "~0").replace('/', "~1"));
        let member = match &name {
            Some(name) if child_name == "name" => Some(name),
            _ => members.get(child_name),
        };
        walk(child, pointer, member, volatile, keep, out);
        pointer.truncate(len);
    }
}

/// `name` with both forms where one is missing: the full name from the given and family names
/// (joined by a space), or the given and family names from the full name (its first word, the
/// rest). The canonical model's two ways of holding one name. `None`: nothing to add.
fn whole_name(name: &Map<String, Value>) -> Option<Map<String, Value>> {
    let text = |k: &str| name.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut name = name.clone();
    match (text("full"), text("given"), text("family")) {
        (None, given, family) if given.is_some() || family.is_some() => {
            let full: Vec<String> = [given, family].into_iter().flatten().collect();
            name.insert("full".into(), Value::String(full.join(" ")));
        }
        (Some(full), None, None) => {
            let mut words = full.split_whitespace();
            let first = words.next()?;
            name.insert("given".into(), Value::String(first.to_owned()));
            let rest: Vec<&str> = words.collect();
            if !rest.is_empty() {
                name.insert("family".into(), Value::String(rest.join(" ")));
            }
        }
        _ => return None,
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn shape() -> Shape {
        Shape::shipped()
    }

    #[test]
    fn equal_values_hash_equal_whatever_the_order_of_their_keys() {
        // Fails if serde_json's `preserve_order` ever gets enabled: the text would follow the
        // order the keys came in.
        let a: Value = serde_json::from_str(r#"{"a": 1, "b": [true, null]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"b": [true, null], "a": 1}"#).unwrap();
        assert!(Member::same(
            Some(&Member::of(&a, false)),
            Some(&Member::of(&b, true))
        ));
        assert!(!Member::same(
            Some(&Member::of(&a, false)),
            Some(&Member::of(&json!({"a": 2, "b": [true, null]}), false))
        ));
        // A number and its text are different values.
        assert!(!Member::same(
            Some(&Member::of(&json!(1), false)),
            Some(&Member::of(&json!("1"), false))
        ));
        let label = Member::of(&a, false).label();
        assert!(label.starts_with("h:") && label.len() == 14, "{label}");
    }

    #[test]
    fn a_megabyte_of_metadata_is_one_hash_unless_values_are_kept() {
        let metadata: Map<String, Value> = (0..16_384)
            .map(|i| (format!("key_{i:05}"), Value::String("v".repeat(56))))
            .collect();
        let doc = json!({"email": "ada@example.com", "metadata": metadata, "name": {"given": "Ada"}});
        assert!(doc.to_string().len() > 1 << 20);
        let hashed = Digest::of(&shape(), &doc, &[], false);
        assert!(hashed.heap_bytes() < 1024, "{}", hashed.heap_bytes());
        let kept = Digest::of(&shape(), &doc, &[], true);
        assert!(kept.heap_bytes() > 1 << 20, "values kept: {}", kept.heap_bytes());
        assert!(
            !format!("{hashed:?}").contains("ada@"),
            "no value in a hashed digest"
        );
    }

    #[test]
    fn nothing_volatile_null_or_empty_is_held() {
        let doc = json!({
            "id": "c1", "created_at": "t", "email": null, "tags": [], "company": {},
            "notes": "n"
        });
        let volatile = vec!["/id".to_owned(), "/created_at".to_owned()];
        let d = Digest::of(&shape(), &doc, &volatile, true);
        // The root (an object) and its notes.
        assert_eq!(d.entries.len(), 2, "{d:?}");
        let Some(Entry::Object { undeclared: None }) = d.get(shape().node()) else {
            panic!("{d:?}")
        };
        let notes = shape().children()["notes"].node();
        let Some(Entry::Whole(m)) = d.get(notes) else {
            panic!("{d:?}")
        };
        assert_eq!(m.value(), Some(json!("n")));
    }

    #[test]
    fn the_name_is_held_in_both_forms() {
        let shape = shape();
        let name = &shape.children()["name"];
        let [full, given, family] = ["full", "given", "family"].map(|k| name.children()[k].node());
        let d = Digest::of(&shape, &json!({"name": {"full": "Ada King Lovelace"}}), &[], true);
        let value = |node| match d.get(node) {
            Some(Entry::Whole(m)) => m.value(),
            other => panic!("{other:?}"),
        };
        assert_eq!(value(full), Some(json!("Ada King Lovelace")));
        assert_eq!(value(given), Some(json!("Ada")));
        assert_eq!(value(family), Some(json!("King Lovelace")));
        let d = Digest::of(&shape, &json!({"name": {"family": "Lovelace"}}), &[], true);
        let Some(Entry::Whole(m)) = d.get(full) else {
            panic!("{d:?}")
        };
        assert_eq!(m.value(), Some(json!("Lovelace")));
    }
}
