//! Comparison in canonical form: two canonical Customer documents, member by member, each as
//! its [`Digest`] (`digest.rs`: a keyed hash per member, the value itself only when values are
//! logged).
//!
//! Members are named by JSON Pointers into the canonical Customer, and only by pointers the
//! canonical schema declares: the walk descends into an object only where the schema lists its
//! `properties` (`name`, `company`, `addresses/billing`, …); arrays (`tags`, `groups`,
//! `addresses/book`) and free-form objects (`metadata`, `extensions`) are one member each. So a
//! pointer never holds an id, an index or a caller's key, and metric labels stay bounded by the
//! schema. A member that is `null` counts as absent (both mean "no value").

use dialectgate_canonical::ErrorKind;

use super::digest::{Digest, Entry, Member};
use super::shape::Shape;

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

/// One member that differs, with both values as kept (absent: `None`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Divergence {
    pub(crate) pointer: String,
    /// The member's node in the [`Shape`].
    pub(crate) node: usize,
    pub(crate) kind: Kind,
    pub(crate) primary: Option<Member>,
    pub(crate) candidate: Option<Member>,
}

/// The members where `candidate` differs from `primary`, in pointer order (both digested with
/// the same shape and volatile members, which are not in a digest). Names are compared as one
/// name (`digest.rs`): a side holding only the full name (Elastic Path) and one holding first and
/// last (Medusa) agree when the full name is the two joined by a space.
pub(crate) fn compare(shape: &Shape, primary: &Digest, candidate: &Digest) -> Vec<Divergence> {
    let mut out = Vec::new();
    walk(shape, &mut String::new(), primary, candidate, &mut out);
    out
}

/// Noise, Diffy's way: the members (their nodes) that differ between two answers of the primary
/// to the same request. A divergence of the candidate at one of them says nothing about the
/// candidate.
pub(crate) fn noise(shape: &Shape, first: &Digest, second: &Digest) -> Vec<usize> {
    compare(shape, first, second)
        .into_iter()
        .map(|d| d.node)
        .collect()
}

/// The members of an object the shape compares member by member (an absent one has none): its
/// undeclared members, if any. `None`: a value compared whole.
fn members(e: Option<&Entry>) -> Option<Option<&Member>> {
    match e {
        None => Some(None),
        Some(Entry::Object { undeclared }) => Some(undeclared.as_ref()),
        Some(Entry::Whole(_)) => None,
    }
}

/// A value compared whole.
fn whole(e: Option<&Entry>) -> Option<&Member> {
    match e {
        Some(Entry::Whole(m)) => Some(m),
        _ => None,
    }
}

/// Marks the divergences at a `noisy` node as [`Kind::Noise`].
pub(crate) fn mark_noise(divergences: &mut [Divergence], noisy: &[usize]) {
    for d in divergences.iter_mut().filter(|d| noisy.contains(&d.node)) {
        d.kind = Kind::Noise;
    }
}

fn walk(
    shape: &Shape,
    pointer: &mut String,
    primary: &Digest,
    candidate: &Digest,
    out: &mut Vec<Divergence>,
) {
    let (a, b) = (primary.get(shape.node()), candidate.get(shape.node()));
    let divergence = |kind, primary: Option<&Member>, candidate: Option<&Member>| Divergence {
        pointer: pointer.clone(),
        node: shape.node(),
        kind,
        primary: primary.cloned(),
        candidate: candidate.cloned(),
    };
    // An object compared member by member on both sides (an absent one has no members); its
    // members the schema does not declare (never in a valid Customer) are compared as one, at
    // the object, so that their names never become pointers.
    match (a, b, members(a), members(b)) {
        (None, None, ..) => {}
        (.., Some(ua), Some(ub)) => {
            if !Member::same(ua, ub) {
                out.push(divergence(Kind::Differs, ua, ub));
            }
            for (name, child) in shape.children() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&name.replace('~', "~0").replace('/', "~1"));
                walk(child, pointer, primary, candidate, out);
                pointer.truncate(len);
            }
        }
        (Some(_), None, ..) => out.push(divergence(Kind::MissingAtCandidate, whole(a), None)),
        (None, Some(_), ..) => out.push(divergence(Kind::ExtraAtCandidate, None, whole(b))),
        // A value against a value, or a structured object against a value where the schema
        // expects an object (the object's side is shown as absent).
        (Some(_), Some(_), ..) => {
            if !Member::same(whole(a), whole(b)) {
                out.push(divergence(Kind::Differs, whole(a), whole(b)));
            }
        }
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

/// The divergences of two documents, digested with their values.
#[cfg(test)]
fn diff(
    shape: &Shape,
    primary: &serde_json::Value,
    candidate: &serde_json::Value,
    volatile: &[String],
) -> Vec<Divergence> {
    let digest = |doc| Digest::of(shape, doc, volatile, true);
    compare(shape, &digest(primary), &digest(candidate))
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
        assert!(diff(&shape, &medusa, &ep, &[]).is_empty());
        let other = json!({"name": {"full": "Ada King"}});
        let diverged: Vec<String> = diff(&shape, &medusa, &other, &[])
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
        Shape::shipped()
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
        assert!(diff(&shape(), &doc, &doc.clone(), &volatile()).is_empty());
    }

    #[test]
    fn leaves_are_named_by_pointer_with_their_kind_and_values() {
        let primary =
            json!({"email": "a@example.com", "phone": "+44", "name": {"given": "Ada", "family": "L"}});
        let candidate = json!({"email": "b@example.com", "name": {"given": "Ada"}, "notes": "n"});
        let d = diff(&shape(), &primary, &candidate, &volatile());
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
        let value = |m: &Option<Member>| m.as_ref().and_then(Member::value);
        assert_eq!(value(&d[0].primary), Some(json!("a@example.com")));
        assert_eq!(value(&d[0].candidate), Some(json!("b@example.com")));
        assert_eq!(d[4].candidate, None);
    }

    #[test]
    fn nested_addresses_follow_the_schemas_ref() {
        let primary = json!({"addresses": {"billing": {"city": "Paris"}}});
        let candidate = json!({"addresses": {"billing": {"city": "Lyon"}}});
        let d = diff(&shape(), &primary, &candidate, &volatile());
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
        let d = diff(&shape(), &primary, &candidate, &volatile());
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
        let d = diff(&shape(), &primary, &candidate, &volatile());
        assert_eq!(pointers(&d), [("", Kind::Differs), ("/name", Kind::Differs)]);
    }

    #[test]
    fn volatile_members_and_their_children_are_ignored() {
        let primary =
            json!({"id": "1", "created_at": "t1", "updated_at": "t1", "has_password": true, "email": "e"});
        let candidate = json!({"id": "2", "created_at": "t2", "email": "e"});
        assert!(diff(&shape(), &primary, &candidate, &volatile()).is_empty());
        let d = diff(&shape(), &primary, &candidate, &["/email".to_owned()]);
        assert_eq!(
            pointers(&d),
            [
                ("/created_at", Kind::Differs),
                ("/has_password", Kind::MissingAtCandidate),
                ("/id", Kind::Differs),
                ("/updated_at", Kind::MissingAtCandidate),
            ]
        );
        let nested = diff(
            &shape(),
            &json!({"name": {"given": "A", "family": "B"}}),
            &json!({"name": {"given": "Z"}}),
            &["/name".to_owned()],
        );
        assert!(nested.is_empty());
        // A prefix that is not a whole segment does not hide a member.
        let d = diff(
            &shape(),
            &json!({"notes": "a"}),
            &json!({"notes": "b"}),
            &["/not".to_owned()],
        );
        assert_eq!(pointers(&d), [("/notes", Kind::Differs)]);
    }

    #[test]
    fn null_counts_as_absent_and_a_missing_object_is_each_of_its_members_missing() {
        let d = diff(
            &shape(),
            &json!({"name": {"given": null}}),
            &json!({}),
            &volatile(),
        );
        assert!(d.is_empty(), "{d:?}");
        let d = diff(
            &shape(),
            &json!({}),
            &json!({"company": {"name": "ACME", "id": null}}),
            &volatile(),
        );
        assert_eq!(pointers(&d), [("/company/name", Kind::ExtraAtCandidate)]);
        // A structured member that is not an object on one side differs as a whole.
        let d = diff(
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
        let digest = |doc| Digest::of(&shape(), doc, &volatile(), false);
        let noisy = noise(&shape(), &digest(&first), &digest(&second));
        assert_eq!(noisy, [shape().children()["notes"].node()]);
        let candidate = json!({"email": "x", "status": "active", "notes": "n3"});
        let mut d = compare(&shape(), &digest(&first), &digest(&candidate));
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
