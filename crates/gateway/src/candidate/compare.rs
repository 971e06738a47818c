//! Comparison in canonical form: two canonical Customer documents, member by member.
//!
//! Members are named by JSON Pointers into the canonical Customer, and only by pointers the
//! canonical schema declares: the walk descends into an object only where the schema lists its
//! `properties` (`name`, `company`, `addresses/billing`, …); arrays (`tags`, `groups`,
//! `addresses/book`) and free-form objects (`metadata`, `extensions`) are one member each. So a
//! pointer never holds an id, an index or a caller's key, and metric labels stay bounded by the
//! schema. A member that is `null` counts as absent (both mean "no value").

use std::collections::{BTreeMap, BTreeSet};

use dialectgate_canonical::ErrorKind;
use serde_json::Value;

/// Deepest nesting of the schema followed (the canonical Customer has three levels).
const MAX_SHAPE_DEPTH: usize = 8;

/// How two answers differ at one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Both have the member, with different values.
    Differs,
    /// The primary has it, the candidate does not.
    MissingAtCandidate,
    /// The candidate has it, the primary does not.
    ExtraAtCandidate,
    /// The two answers have different statuses (one failed, or they failed differently).
    Status,
    /// A divergence at a member that also differs between two answers of the primary.
    Noise,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Differs => "differs",
            Kind::MissingAtCandidate => "missing_at_candidate",
            Kind::ExtraAtCandidate => "extra_at_candidate",
            Kind::Status => "status",
            Kind::Noise => "noise",
        }
    }
}

/// One member that differs, with both values (absent: `None`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Divergence {
    pub(crate) pointer: String,
    pub(crate) kind: Kind,
    pub(crate) primary: Option<Value>,
    pub(crate) candidate: Option<Value>,
}

/// Which members are compared one by one: the structure the canonical Customer schema
/// declares. A shape without children is one member.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Shape {
    children: BTreeMap<String, Shape>,
}

impl Shape {
    /// The shape of `schema` (the canonical Customer schema document; `$ref`s into its own
    /// `$defs` followed).
    pub(crate) fn from_schema(schema: &Value) -> Shape {
        shape_of(schema, schema, 0)
    }
}

fn shape_of(node: &Value, root: &Value, depth: usize) -> Shape {
    if depth > MAX_SHAPE_DEPTH {
        return Shape::default();
    }
    let node = match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => match reference.strip_prefix('#').and_then(|p| root.pointer(p)) {
            Some(target) => target,
            None => return Shape::default(),
        },
        None => node,
    };
    let children = node
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .map(|(name, schema)| (name.clone(), shape_of(schema, root, depth + 1)))
                .collect()
        })
        .unwrap_or_default();
    Shape { children }
}

/// The members where `candidate` differs from `primary`, in pointer order; members at or under
/// a pointer of `volatile` are ignored. Names are compared as one name: a side holding only the
/// full name (Elastic Path) and one holding first and last (Medusa) agree when the full name is
/// the two joined by a space.
pub(crate) fn compare(
    shape: &Shape,
    primary: &Value,
    candidate: &Value,
    volatile: &[String],
) -> Vec<Divergence> {
    let (primary, candidate) = (with_whole_name(primary), with_whole_name(candidate));
    let mut out = Vec::new();
    walk(
        shape,
        &mut String::new(),
        Some(&primary),
        Some(&candidate),
        volatile,
        &mut out,
    );
    out
}

/// `doc` with its name in both forms: the full name from the given and family names (joined by
/// a space), and the given and family names from the full name (its first word, the rest), where
/// one form is missing. The canonical model's two ways of holding one name.
fn with_whole_name(doc: &Value) -> Value {
    let mut doc = doc.clone();
    let Some(Value::Object(name)) = doc.get_mut("name") else {
        return doc;
    };
    let text = |k: &str| name.get(k).and_then(Value::as_str).map(str::to_owned);
    match (text("full"), text("given"), text("family")) {
        (None, given, family) if given.is_some() || family.is_some() => {
            let full: Vec<String> = [given, family].into_iter().flatten().collect();
            name.insert("full".into(), Value::String(full.join(" ")));
        }
        (Some(full), None, None) => {
            let mut words = full.split_whitespace();
            if let Some(first) = words.next() {
                name.insert("given".into(), Value::String(first.to_owned()));
            }
            let rest: Vec<&str> = words.collect();
            if !rest.is_empty() {
                name.insert("family".into(), Value::String(rest.join(" ")));
            }
        }
        _ => {}
    }
    doc
}

/// Noise, Diffy's way: the members that differ between two answers of the primary to the same
/// request. A divergence of the candidate at one of them says nothing about the candidate.
pub(crate) fn noise(shape: &Shape, first: &Value, second: &Value, volatile: &[String]) -> BTreeSet<String> {
    compare(shape, first, second, volatile)
        .into_iter()
        .map(|d| d.pointer)
        .collect()
}

/// Marks the divergences at a `noisy` pointer as [`Kind::Noise`].
pub(crate) fn mark_noise(divergences: &mut [Divergence], noisy: &BTreeSet<String>) {
    for d in divergences.iter_mut().filter(|d| noisy.contains(&d.pointer)) {
        d.kind = Kind::Noise;
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
    primary: Option<&Value>,
    candidate: Option<&Value>,
    volatile: &[String],
    out: &mut Vec<Divergence>,
) {
    if !pointer.is_empty() && is_volatile(pointer, volatile) {
        return;
    }
    // Null, an empty list and an empty object all say "nothing": a vendor that always answers
    // `shipping_addresses: []` holds no more than one that leaves it out.
    let something = |v: &&Value| match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    };
    let (primary, candidate) = (primary.filter(something), candidate.filter(something));
    let divergence = |kind| Divergence {
        pointer: pointer.clone(),
        kind,
        primary: primary.cloned(),
        candidate: candidate.cloned(),
    };
    let empty = serde_json::Map::new();
    match (primary, candidate) {
        (None, None) => {}
        // Objects the schema structures are compared member by member, also when one side lacks
        // them (a missing `name` is each of its members missing).
        (Some(_), _) | (_, Some(_))
            if !shape.children.is_empty()
                && let (Some(a), Some(b)) = (members(primary, &empty), members(candidate, &empty)) =>
        {
            // Members the schema does not declare (never in a valid Customer) are compared as
            // part of their parent, so that their names never become pointers.
            let undeclared = |m: &serde_json::Map<String, Value>| -> Vec<(String, Value)> {
                m.iter()
                    .filter(|(k, _)| !shape.children.contains_key(*k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            };
            if undeclared(a) != undeclared(b) {
                out.push(divergence(Kind::Differs));
            }
            for (name, child) in &shape.children {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&name.replace('~', "~0").replace('/', "~1"));
                walk(child, pointer, a.get(name), b.get(name), volatile, out);
                pointer.truncate(len);
            }
        }
        (Some(_), None) => out.push(divergence(Kind::MissingAtCandidate)),
        (None, Some(_)) => out.push(divergence(Kind::ExtraAtCandidate)),
        (Some(a), Some(b)) => {
            if a != b {
                out.push(divergence(Kind::Differs));
            }
        }
    }
}

/// The members of an object, or none for an absent one; `None` for any other value.
fn members<'a>(
    v: Option<&'a Value>,
    empty: &'a serde_json::Map<String, Value>,
) -> Option<&'a serde_json::Map<String, Value>> {
    match v {
        None => Some(empty),
        Some(v) => v.as_object(),
    }
}

/// What one side answered, as far as its status goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Status {
    pub(crate) status: u16,
    /// `None`: a success.
    pub(crate) kind: Option<ErrorKind>,
}

impl Status {
    /// `200`, or `404 not_found`.
    pub(crate) fn label(self) -> String {
        match self.kind {
            None => self.status.to_string(),
            Some(kind) => format!("{} {}", self.status, kind.as_str()),
        }
    }
}

#[cfg(test)]
mod name_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_full_name_and_its_two_parts_are_the_same_name() {
        let shape = Shape::from_schema(&json!({"type": "object", "properties": {
            "name": {"type": "object", "properties": {"full": {}, "given": {}, "family": {}}},
            "tags": {"type": "array"}
        }}));
        let medusa = json!({"name": {"given": "Ada", "family": "Lovelace"}, "tags": []});
        let ep = json!({"name": {"full": "Ada Lovelace"}});
        assert!(compare(&shape, &medusa, &ep, &[]).is_empty());
        let other = json!({"name": {"full": "Ada King"}});
        let diverged: Vec<String> = compare(&shape, &medusa, &other, &[])
            .into_iter()
            .map(|d| d.pointer)
            .collect();
        assert_eq!(diverged, ["/name/family", "/name/full"]);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn shape() -> Shape {
        let schema: Value =
            serde_json::from_str(include_str!("../../../../schemas/canonical/customer.json")).unwrap();
        Shape::from_schema(&schema)
    }

    fn volatile() -> Vec<String> {
        dialectgate_dialect::CANONICAL_VOLATILE
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    }

    fn pointers(d: &[Divergence]) -> Vec<(&str, Kind)> {
        d.iter().map(|d| (d.pointer.as_str(), d.kind)).collect()
    }

    #[test]
    fn equal_documents_do_not_diverge() {
        let doc = json!({"id": "c1", "email": "a@example.com", "name": {"given": "Ada"}, "tags": ["x"]});
        assert!(compare(&shape(), &doc, &doc.clone(), &volatile()).is_empty());
    }

    #[test]
    fn leaves_are_named_by_pointer_with_their_kind_and_values() {
        let primary =
            json!({"email": "a@example.com", "phone": "+44", "name": {"given": "Ada", "family": "L"}});
        let candidate = json!({"email": "b@example.com", "name": {"given": "Ada"}, "notes": "n"});
        let d = compare(&shape(), &primary, &candidate, &volatile());
        assert_eq!(
            pointers(&d),
            [
                ("/email", Kind::Differs),
                ("/name/family", Kind::MissingAtCandidate),
                // The one name differs too ("Ada L" against "Ada").
                ("/name/full", Kind::Differs),
                ("/notes", Kind::ExtraAtCandidate),
                ("/phone", Kind::MissingAtCandidate),
            ]
        );
        assert_eq!(d[0].primary, Some(json!("a@example.com")));
        assert_eq!(d[0].candidate, Some(json!("b@example.com")));
        assert_eq!(d[4].candidate, None);
    }

    #[test]
    fn nested_addresses_follow_the_schemas_ref() {
        let primary = json!({"addresses": {"billing": {"city": "Paris"}}});
        let candidate = json!({"addresses": {"billing": {"city": "Lyon"}}});
        let d = compare(&shape(), &primary, &candidate, &volatile());
        assert_eq!(pointers(&d), [("/addresses/billing/city", Kind::Differs)]);
    }

    #[test]
    fn arrays_metadata_and_extensions_are_one_member_each_so_no_index_or_key_becomes_a_pointer() {
        let primary = json!({
            "tags": ["a", "b"],
            "groups": [{"id": "g1"}],
            "metadata": {"secret_key_name": 1},
            "extensions": {"axim": {"x": 1}},
            "addresses": {"book": [{"city": "A"}]}
        });
        let candidate = json!({
            "tags": ["a"],
            "groups": [{"id": "g2"}],
            "metadata": {"other": 1},
            "extensions": {"axim": {"x": 2}},
            "addresses": {"book": [{"city": "B"}]}
        });
        let d = compare(&shape(), &primary, &candidate, &volatile());
        assert_eq!(
            pointers(&d),
            [
                ("/addresses/book", Kind::Differs),
                ("/extensions", Kind::Differs),
                ("/groups", Kind::Differs),
                ("/metadata", Kind::Differs),
                ("/tags", Kind::Differs),
            ]
        );
    }

    #[test]
    fn undeclared_members_diverge_at_their_parent_never_by_their_own_name() {
        let primary = json!({"name": {"given": "A"}});
        let candidate = json!({"name": {"given": "A", "caller~chosen/key": 1}, "odd": 2});
        let d = compare(&shape(), &primary, &candidate, &volatile());
        assert_eq!(pointers(&d), [("", Kind::Differs), ("/name", Kind::Differs)]);
    }

    #[test]
    fn volatile_members_and_their_children_are_ignored() {
        let primary =
            json!({"id": "1", "created_at": "t1", "updated_at": "t1", "has_password": true, "email": "e"});
        let candidate = json!({"id": "2", "created_at": "t2", "email": "e"});
        assert!(compare(&shape(), &primary, &candidate, &volatile()).is_empty());
        let d = compare(&shape(), &primary, &candidate, &["/email".to_owned()]);
        assert_eq!(
            pointers(&d),
            [
                ("/created_at", Kind::Differs),
                ("/has_password", Kind::MissingAtCandidate),
                ("/id", Kind::Differs),
                ("/updated_at", Kind::MissingAtCandidate),
            ]
        );
        let nested = compare(
            &shape(),
            &json!({"name": {"given": "A", "family": "B"}}),
            &json!({"name": {"given": "Z"}}),
            &["/name".to_owned()],
        );
        assert!(nested.is_empty());
        // A prefix that is not a whole segment does not hide a member.
        let d = compare(
            &shape(),
            &json!({"notes": "a"}),
            &json!({"notes": "b"}),
            &["/not".to_owned()],
        );
        assert_eq!(pointers(&d), [("/notes", Kind::Differs)]);
    }

    #[test]
    fn null_counts_as_absent_and_a_missing_object_is_each_of_its_members_missing() {
        let d = compare(
            &shape(),
            &json!({"name": {"given": null}}),
            &json!({}),
            &volatile(),
        );
        assert!(d.is_empty(), "{d:?}");
        let d = compare(
            &shape(),
            &json!({}),
            &json!({"company": {"name": "ACME", "id": null}}),
            &volatile(),
        );
        assert_eq!(pointers(&d), [("/company/name", Kind::ExtraAtCandidate)]);
        // A structured member that is not an object on one side differs as a whole.
        let d = compare(
            &shape(),
            &json!({"name": "Ada"}),
            &json!({"name": {"given": "Ada"}}),
            &volatile(),
        );
        assert_eq!(pointers(&d), [("/name", Kind::Differs)]);
    }

    #[test]
    fn noise_is_what_differs_between_two_primary_answers_and_is_marked_as_such() {
        let first = json!({"email": "e", "status": "active", "notes": "n1"});
        let second = json!({"email": "e", "status": "active", "notes": "n2"});
        let noisy = noise(&shape(), &first, &second, &volatile());
        assert_eq!(noisy.iter().collect::<Vec<_>>(), ["/notes"]);
        let candidate = json!({"email": "x", "status": "active", "notes": "n3"});
        let mut d = compare(&shape(), &first, &candidate, &volatile());
        mark_noise(&mut d, &noisy);
        assert_eq!(pointers(&d), [("/email", Kind::Differs), ("/notes", Kind::Noise)]);
    }

    #[test]
    fn status_labels_name_the_error_kind() {
        let ok = Status {
            status: 200,
            kind: None,
        };
        let missing = Status {
            status: 404,
            kind: Some(ErrorKind::NotFound),
        };
        assert_eq!(ok.label(), "200");
        assert_eq!(missing.label(), "404 not_found");
    }
}
