//! The value vocabulary of the dialect format, each word defined once: the enum maps and named
//! transforms (`kv_list`, `number_string`, `empty_string_null`, `lower_upper`) with both
//! directions side by side, and the derivations (`join_words`, `first_word`, `rest_words`) that
//! compute a target member from canonical ones.

use serde_json::{Map, Value};

use crate::compiled::{Derivation, Derive, EnumMap, Rule, Transform};
use crate::pointer::Pointer;

/// Which way a value travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Dialect → canonical (decoding).
    ToCanonical,
    /// Canonical → dialect (encoding).
    ToDialect,
}

/// Why a value could not be converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LeafError {
    /// The rule's enum map has no entry for the value.
    UnmappedEnum,
    /// A `kv_list` item repeats a key or has none; the pointer is relative to the value.
    DuplicateKey(Pointer),
    /// A customer id not in the dialect's id form (or not writable in it).
    InvalidId,
}

/// Converts the leaf value `v` of `rule`: through its enum map, else its transform, else as is.
#[inline]
pub(crate) fn leaf(rule: &Rule, v: &Value, direction: Direction) -> Result<Value, LeafError> {
    if let Some(map) = &rule.enum_map {
        return map_enum(map, v, direction);
    }
    match &rule.transform {
        Some(t) => t.apply(v, direction),
        None => Ok(v.clone()),
    }
}

/// [`leaf`] towards the canonical form, for a rule without an enum map whose transform is none
/// or `empty_string_null`, of a value it owns: moved, not copied (`decode::request_taking`).
pub(crate) fn leaf_owned(rule: &Rule, mut v: Value) -> Value {
    if let (Some(Transform::EmptyStringNull), Value::Object(map)) = (&rule.transform, &mut v) {
        for member in map.values_mut() {
            if member.as_str() == Some("") {
                *member = Value::Null;
            }
        }
    }
    v
}

/// An enum value through the rule's one-to-one map; a value it does not list is an error, never a
/// guess.
fn map_enum(map: &EnumMap, v: &Value, direction: Direction) -> Result<Value, LeafError> {
    let table = match direction {
        Direction::ToCanonical => &map.to_canonical,
        Direction::ToDialect => &map.to_dialect,
    };
    v.as_str()
        .and_then(|s| table.get(s))
        .map(|mapped| Value::String(mapped.clone()))
        .ok_or(LeafError::UnmappedEnum)
}

impl Transform {
    /// The transform applied to `v`. A value of another type than the transform reads passes as
    /// it is: the schemas decide what is allowed.
    pub(crate) fn apply(&self, v: &Value, direction: Direction) -> Result<Value, LeafError> {
        use Direction::{ToCanonical, ToDialect};
        Ok(match (self, direction, v) {
            // id: the dialect's form (a JSON integer, a GID) ↔ the bare canonical id.
            (Transform::IdForm(f), ToCanonical, v) => {
                Value::String(f.decode_value(v).ok_or(LeafError::InvalidId)?)
            }
            (Transform::IdForm(f), ToDialect, Value::String(id)) => {
                f.encode_value(id).ok_or(LeafError::InvalidId)?
            }
            (Transform::IdForm(_), ToDialect, _) => return Err(LeafError::InvalidId),
            // kv_list: dialect `[{key: k, value: v}, …]` ↔ canonical `{k: v, …}`.
            (Transform::KvList { key, value }, ToCanonical, Value::Array(items)) => {
                kv_list_to_object(items, key, value)?
            }
            (Transform::KvList { key, value }, ToDialect, Value::Object(map)) => Value::Array(
                map.iter()
                    .map(|(k, v)| {
                        let mut item = Map::new();
                        item.insert(key.clone(), Value::String(k.clone()));
                        item.insert(value.clone(), v.clone());
                        Value::Object(item)
                    })
                    .collect(),
            ),
            // number_string: dialect number ↔ canonical string of digits.
            (Transform::NumberString, ToCanonical, Value::Number(n)) => Value::String(n.to_string()),
            (Transform::NumberString, ToDialect, Value::String(s)) => s
                .parse::<serde_json::Number>()
                .map_or_else(|_| v.clone(), Value::Number),
            // empty_string_null: inside an object, dialect `""` ↔ canonical `null` (a key deleted by
            // an empty string).
            (Transform::EmptyStringNull, ToCanonical, Value::Object(map)) => {
                replace_members(map, |m| m.as_str() == Some(""), &Value::Null)
            }
            (Transform::EmptyStringNull, ToDialect, Value::Object(map)) => {
                replace_members(map, Value::is_null, &Value::String(String::new()))
            }
            // lower_upper: dialect lower case ↔ canonical upper case.
            (Transform::LowerUpper, ToCanonical, Value::String(s)) => Value::String(s.to_uppercase()),
            (Transform::LowerUpper, ToDialect, Value::String(s)) => Value::String(s.to_lowercase()),
            (_, _, other) => other.clone(),
        })
    }
}

impl Transform {
    /// Where the key `k` of the canonical map is in the dialect's value `v` of it: a kv_list's
    /// item's key member (`/2/code`); `None` when the key sits as it is (`/k`).
    pub(crate) fn key_member(&self, v: &Value, k: &str) -> Option<Pointer> {
        let (Transform::KvList { key, .. }, Value::Array(items)) = (self, v) else {
            return None;
        };
        let i = items
            .iter()
            .position(|item| item.get(key).and_then(Value::as_str) == Some(k))?;
        Some(Pointer::root().child(i.to_string()).child(key.as_str()))
    }
}

/// `[{key: k, value: v}, …]` → `{k: v, …}`; each key once.
fn kv_list_to_object(items: &[Value], key: &str, value: &str) -> Result<Value, LeafError> {
    let mut obj = Map::new();
    for (i, item) in items.iter().enumerate() {
        let k = item.get(key).and_then(Value::as_str);
        let Some(k) = k.filter(|k| !obj.contains_key(*k)) else {
            return Err(LeafError::DuplicateKey(
                Pointer::root().child(i.to_string()).child(key),
            ));
        };
        obj.insert(k.to_owned(), item.get(value).cloned().unwrap_or(Value::Null));
    }
    Ok(Value::Object(obj))
}

/// `map` with every member for which `matches` holds replaced by `with`.
fn replace_members(map: &Map<String, Value>, matches: impl Fn(&Value) -> bool, with: &Value) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), if matches(v) { with.clone() } else { v.clone() }))
            .collect(),
    )
}

impl Derive {
    /// [`Derive::value_by`] in the canonical object `src`.
    #[cfg(test)]
    pub(crate) fn value(&self, src: &Map<String, Value>) -> Option<Value> {
        self.value_by(|p| p.get_member(src))
    }

    /// The derived value, its sources found by `get` (a member of a canonical object). `None`
    /// when a source is missing or not a string; `null` when every source is null (clearing
    /// them clears the target).
    pub(crate) fn value_by<'v>(&self, get: impl Fn(&Pointer) -> Option<&'v Value>) -> Option<Value> {
        // One source (a word of a full name): looked up once.
        if let [from] = self.from.as_slice() {
            return match get(from)? {
                Value::Null => Some(Value::Null),
                Value::String(s) => self
                    .with
                    .apply(std::iter::once(s.as_str()), s.len())
                    .map(Value::String),
                _ => None,
            };
        }
        // Two looks at the sources rather than a list of them: this runs for every derived
        // member of every request and answer. The first also sizes the result.
        let (mut all_null, mut all_strings, mut len) = (true, true, 0);
        for f in &self.from {
            let v = get(f)?;
            all_null &= v.is_null();
            all_strings &= v.is_string();
            len += v.as_str().map_or(0, |s| s.len() + 1);
        }
        if all_null {
            return Some(Value::Null);
        }
        if !all_strings {
            return None;
        }
        self.with
            .apply(self.from.iter().filter_map(|f| get(f)?.as_str()), len)
            .map(Value::String)
    }
}

impl Derivation {
    /// The derivation over its source strings, `len` bytes at most in all (the result's
    /// capacity). `join_words` is the inverse of the other two: given + family → full name, and
    /// full name → given (`first_word`) or family (`rest_words`). The result is the only
    /// allocation: this runs for every derived member of every request and answer.
    fn apply<'s>(self, mut strings: impl Iterator<Item = &'s str>, len: usize) -> Option<String> {
        Some(match self {
            Derivation::JoinWords => {
                let mut out = String::with_capacity(len);
                for word in strings.map(str::trim).filter(|s| !s.is_empty()) {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.push_str(word);
                }
                out
            }
            Derivation::FirstWord => strings
                .next()?
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned(),
            Derivation::RestWords => strings
                .next()?
                .trim()
                .split_once(char::is_whitespace)
                .map(|(_, rest)| rest.trim().to_owned())
                .unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;
    use crate::compiled::Shape;

    fn rule(enum_map: Option<EnumMap>, transform: Option<Transform>) -> Rule {
        Rule {
            dialect: Pointer::root(),
            canonical: Pointer::root(),
            canonical_text: String::new(),
            enum_map,
            transform,
            derive: None,
            shape: Shape::Leaf,
            default: None,
            replace: false,
            action: None,
            alone: false,
        }
    }

    fn round_trip(t: Transform, dialect: Value, canonical: Value) {
        let r = rule(None, Some(t));
        assert_eq!(leaf(&r, &dialect, Direction::ToCanonical), Ok(canonical.clone()));
        assert_eq!(leaf(&r, &canonical, Direction::ToDialect), Ok(dialect));
    }

    #[test]
    fn each_transform_round_trips() {
        round_trip(
            Transform::KvList {
                key: "k".into(),
                value: "v".into(),
            },
            json!([{"k": "a", "v": 1}, {"k": "b", "v": null}]),
            json!({"a": 1, "b": null}),
        );
        round_trip(Transform::NumberString, json!(42), json!("42"));
        round_trip(
            Transform::EmptyStringNull,
            json!({"a": "", "b": "x"}),
            json!({"a": null, "b": "x"}),
        );
        round_trip(Transform::LowerUpper, json!("us"), json!("US"));
    }

    #[test]
    fn a_value_of_another_type_passes_as_is() {
        let r = rule(None, Some(Transform::NumberString));
        assert_eq!(leaf(&r, &json!(true), Direction::ToCanonical), Ok(json!(true)));
        assert_eq!(leaf(&r, &json!("4x"), Direction::ToDialect), Ok(json!("4x")));
    }

    #[test]
    fn a_kv_list_key_is_named_by_its_items_key_member() {
        let t = Transform::KvList {
            key: "code".into(),
            value: "value".into(),
        };
        let list = json!([{"code": "a", "value": 1}, {"code": "b", "value": 2}]);
        assert_eq!(t.key_member(&list, "b"), Pointer::parse("/1/code"));
        assert_eq!(t.key_member(&list, "c"), None);
        assert_eq!(Transform::EmptyStringNull.key_member(&json!({"b": 1}), "b"), None);
    }

    #[test]
    fn kv_list_refuses_a_repeated_or_missing_key() {
        let t = Transform::KvList {
            key: "k".into(),
            value: "v".into(),
        };
        let twice = json!([{"k": "a", "v": 1}, {"k": "a", "v": 2}]);
        assert_eq!(
            t.apply(&twice, Direction::ToCanonical),
            Err(LeafError::DuplicateKey(Pointer::parse("/1/k").unwrap()))
        );
        let missing = json!([{"v": 1}]);
        assert_eq!(
            t.apply(&missing, Direction::ToCanonical),
            Err(LeafError::DuplicateKey(Pointer::parse("/0/k").unwrap()))
        );
    }

    #[test]
    fn enum_maps_both_ways_and_refuses_an_unlisted_value() {
        let map = EnumMap {
            to_canonical: HashMap::from([("on".to_owned(), "ACTIVE".to_owned())]),
            to_dialect: HashMap::from([("ACTIVE".to_owned(), "on".to_owned())]),
        };
        let r = rule(Some(map), Some(Transform::LowerUpper));
        assert_eq!(
            leaf(&r, &json!("on"), Direction::ToCanonical),
            Ok(json!("ACTIVE"))
        );
        assert_eq!(leaf(&r, &json!("ACTIVE"), Direction::ToDialect), Ok(json!("on")));
        assert_eq!(
            leaf(&r, &json!("ON"), Direction::ToCanonical),
            Err(LeafError::UnmappedEnum)
        );
        assert_eq!(
            leaf(&r, &json!(1), Direction::ToDialect),
            Err(LeafError::UnmappedEnum)
        );
    }

    fn derive(with: Derivation, from: &[&str], src: Value) -> Option<Value> {
        let pointers: Vec<Pointer> = from.iter().map(|p| Pointer::parse(p).unwrap()).collect();
        let d = Derive {
            from_text: pointers.iter().map(Pointer::text).collect(),
            target_text: String::new(),
            from: pointers,
            with,
        };
        let value = d.value(src.as_object().unwrap());
        assert_eq!(
            value,
            reference(&d, src.as_object().unwrap()),
            "{with:?} {from:?} {src}"
        );
        value
    }

    /// The derivation as first written (a vector of the source strings, then `join`).
    fn reference(d: &Derive, src: &Map<String, Value>) -> Option<Value> {
        let values: Vec<&Value> = d.from.iter().map(|f| f.get_member(src)).collect::<Option<_>>()?;
        if values.iter().all(|v| v.is_null()) {
            return Some(Value::Null);
        }
        let strings: Vec<&str> = values.iter().map(|v| v.as_str()).collect::<Option<_>>()?;
        Some(Value::String(match d.with {
            Derivation::JoinWords => strings
                .iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
            Derivation::FirstWord => strings
                .first()?
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned(),
            Derivation::RestWords => strings
                .first()?
                .trim()
                .split_once(char::is_whitespace)
                .map(|(_, rest)| rest.trim().to_owned())
                .unwrap_or_default(),
        }))
    }

    #[test]
    fn derivations_equal_the_reference_on_awkward_sources() {
        let sources = [
            json!(null),
            json!(""),
            json!("   "),
            json!(" Ada "),
            json!("Ada\u{2003}King\tLovelace "),
            json!("\u{a0}Ada\u{a0}"),
            json!(1),
        ];
        for a in &sources {
            for b in &sources {
                let src = json!({"a": a, "b": b});
                for with in [
                    Derivation::JoinWords,
                    Derivation::FirstWord,
                    Derivation::RestWords,
                ] {
                    derive(with, &["/a", "/b"], src.clone());
                    derive(with, &["/a"], src.clone());
                    derive(with, &["/b", "/missing"], src.clone());
                }
            }
        }
    }

    #[test]
    fn derivations_split_and_join_names() {
        let names = json!({"given": " Ada ", "family": "King Lovelace", "full": " Ada  King Lovelace "});
        assert_eq!(
            derive(Derivation::JoinWords, &["/given", "/family"], names.clone()),
            Some(json!("Ada King Lovelace"))
        );
        assert_eq!(
            derive(Derivation::FirstWord, &["/full"], names.clone()),
            Some(json!("Ada"))
        );
        assert_eq!(
            derive(Derivation::RestWords, &["/full"], names.clone()),
            Some(json!("King Lovelace"))
        );
        assert_eq!(
            derive(Derivation::RestWords, &["/given"], json!({"given": "Ada"})),
            Some(json!(""))
        );
    }

    #[test]
    fn a_derivation_needs_every_source_and_clears_with_them() {
        assert_eq!(
            derive(Derivation::JoinWords, &["/a", "/b"], json!({"a": "x"})),
            None
        );
        assert_eq!(
            derive(Derivation::JoinWords, &["/a", "/b"], json!({"a": "x", "b": 1})),
            None
        );
        assert_eq!(
            derive(
                Derivation::JoinWords,
                &["/a", "/b"],
                json!({"a": null, "b": null})
            ),
            Some(Value::Null)
        );
    }
}
