//! A JSON tree (a `serde_json::Value`, or a `dialectgate_dialect::Doc` borrowing its strings)
//! written as JSON text straight into a byte vector, byte for byte as `serde_json::to_writer`
//! writes it (compact, members in the tree's order, the same escapes, numbers by serde_json
//! itself). serde_json's serializer goes through serde's calls and an `io::Write` for every token
//! (a quote, a name, a colon: half a dozen writes per member); this appends to the vector
//! directly, and scans strings eight bytes at a time ([`super::escape::escape_with`]).

use std::borrow::Cow;

use dialectgate_dialect::Doc;
use serde_json::{Number, Value};

use super::escape::escape_with;

/// The text grew past the caller's bound; what was written is to be thrown away.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TooLong;

/// A JSON tree, as the writer walks it.
pub(crate) trait Tree: Sized {
    /// The members of an object, in order.
    type Members<'t>: Iterator<Item = (&'t str, &'t Self)>
    where
        Self: 't;

    fn node(&self) -> Node<'_, Self>;
}

/// One node of a [`Tree`].
pub(crate) enum Node<'t, T: Tree + 't> {
    Null,
    Bool(bool),
    Number(&'t Number),
    String(&'t str),
    Array(&'t [T]),
    Object(T::Members<'t>),
}

/// The members of a `Value`'s object.
pub(crate) struct ValueMembers<'t>(serde_json::map::Iter<'t>);

impl<'t> Iterator for ValueMembers<'t> {
    type Item = (&'t str, &'t Value);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k.as_str(), v))
    }
}

impl Tree for Value {
    type Members<'t> = ValueMembers<'t>;

    fn node(&self) -> Node<'_, Self> {
        match self {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => Node::Number(n),
            Value::String(s) => Node::String(s),
            Value::Array(items) => Node::Array(items),
            Value::Object(map) => Node::Object(ValueMembers(map.iter())),
        }
    }
}

/// The members of a `Doc`'s object.
pub(crate) struct DocMembers<'t, 'a>(std::slice::Iter<'t, (Cow<'a, str>, Doc<'a>)>);

impl<'t, 'a> Iterator for DocMembers<'t, 'a> {
    type Item = (&'t str, &'t Doc<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k.as_ref(), v))
    }
}

impl<'a> Tree for Doc<'a> {
    type Members<'t>
        = DocMembers<'t, 'a>
    where
        Self: 't;

    fn node(&self) -> Node<'_, Self> {
        match self {
            Doc::Null => Node::Null,
            Doc::Bool(b) => Node::Bool(*b),
            Doc::Number(n) => Node::Number(n),
            Doc::String(s) => Node::String(s),
            Doc::Array(items) => Node::Array(items),
            Doc::Object(members) => Node::Object(DocMembers(members.iter())),
        }
    }
}

/// Appends `value`'s JSON text to `out`, stopping with [`TooLong`] as soon as `out` would hold
/// more than `limit` bytes: a long string is refused before it is copied, so `out` never grows
/// far past the bound.
pub(super) fn write<T: Tree>(out: &mut Vec<u8>, value: &T, limit: usize) -> Result<(), TooLong> {
    match value.node() {
        Node::Null => out.extend_from_slice(b"null"),
        Node::Bool(true) => out.extend_from_slice(b"true"),
        Node::Bool(false) => out.extend_from_slice(b"false"),
        // serde_json's own digits (integers and shortest round-trip doubles); writing into a
        // vector cannot fail.
        Node::Number(n) => serde_json::to_writer(&mut *out, n).map_err(|_| TooLong)?,
        Node::String(s) => string(out, s, limit)?,
        Node::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(out, item, limit)?;
            }
            out.push(b']');
        }
        Node::Object(members) => {
            out.push(b'{');
            for (i, (name, member)) in members.enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(out, name, limit)?;
                out.push(b':');
                write(out, member, limit)?;
            }
            out.push(b'}');
        }
    }
    if out.len() > limit { Err(TooLong) } else { Ok(()) }
}

/// `s` as a JSON string. Escapes only lengthen a string: one longer than what is left of the
/// bound as it is is refused unwritten.
fn string(out: &mut Vec<u8>, s: &str, limit: usize) -> Result<(), TooLong> {
    if out.len() + s.len() + 2 > limit {
        return Err(TooLong);
    }
    out.push(b'"');
    escape_with(s, |part| out.extend_from_slice(part.as_bytes()));
    out.push(b'"');
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::{TooLong, write};

    fn text(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        assert_eq!(write(&mut out, value, usize::MAX), Ok(()));
        out
    }

    #[test]
    fn writes_as_serde_json_writes() {
        for value in [
            json!({"customer": {"id": "cus_ada", "email": "ada@example.com", "metadata": null,
                "addresses": [], "tags": ["a", "b"], "isEmailVerified": false, "version": 7}}),
            json!({"s": "quote \" backslash \\ control \u{1} and \u{e9}", "n": [1, -2.5, 0.1, 1e300, -0.0, u64::MAX, i64::MIN]}),
            json!({"": {"": [[], {}, [{}]]}, "\u{0}key\n": "\u{1f}"}),
            json!([]),
            json!({}),
            json!("just a string"),
            json!(12.0),
            Value::Null,
        ] {
            assert_eq!(
                text(&value),
                serde_json::to_vec(&value).unwrap_or_default(),
                "{value}"
            );
        }
    }

    #[test]
    fn stops_at_the_bound_before_copying_a_long_string() {
        let value = json!({"a": "x".repeat(1000)});
        let mut out = Vec::new();
        assert_eq!(write(&mut out, &value, 100), Err(TooLong));
        assert!(out.len() <= 100, "{}", out.len());
        // Exactly at the bound is within it: `{"a":"` + 1000 + `"}`.
        let mut out = Vec::new();
        assert_eq!(write(&mut out, &value, 1008), Ok(()));
        assert_eq!(out.len(), 1008);
        let mut out = Vec::new();
        assert_eq!(write(&mut out, &value, 1007), Err(TooLong));
        // Many short members past the bound.
        let many = Value::Array((0..1000).map(|i| json!(i)).collect());
        let mut out = Vec::new();
        assert_eq!(write(&mut out, &many, 50), Err(TooLong));
        assert!(out.len() <= 60, "{}", out.len());
    }

    fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_value_is_written_as_serde_json_writes_it(value in any_value()) {
            prop_assert_eq!(text(&value), serde_json::to_vec(&value).unwrap_or_default());
        }
    }
}
