//! Dialect → canonical: a caller's request body into the canonical merge patch, and an upstream's
//! success body into a canonical Customer document. Faithful by construction: every rule copies
//! or transforms one member.

use dialectgate_canonical::{ErrorKind, Problem};
use serde_json::{Map, Value};

use super::node::Node;
use super::transform::{self, Direction, LeafError};
use super::{CanonicalRequest, Decoded, provenance};
use crate::compiled::Compiled;
use crate::compiled::{CompiledMessage, Rule, Shape, Transform};
use crate::pointer::Pointer;
use crate::route::Route;
use crate::validate::MessageVars;
use crate::validate::refusal;

/// See [`crate::Dialect::decode_request`].
pub(crate) fn request(d: Compiled<'_>, path_id: Option<&str>, body: &Value) -> Result<Decoded, Problem> {
    one_item(d, body)?;
    decode_request(d, path_id, body)
}

/// [`request`], with the members the patch carries whole moved out of `body` (left `null`), not
/// copied: see [`crate::Registry::plan_taking`]. Each member is looked up once, to be moved or
/// decoded.
pub(crate) fn request_taking(
    d: Compiled<'_>,
    path_id: Option<&str>,
    body: &mut Value,
) -> Result<Decoded, Problem> {
    one_item(d, body)?;
    // An action list is decoded from a copy (its layout): nothing is moved out of it.
    if d.request.actions.is_some() {
        return decode_request(d, path_id, body);
    }
    let id = d.route_id(path_id, body)?;
    let decoder = Decoder::request(d);
    let Some(root) = d.request.envelope.get_mut(body) else {
        return Err(decoder.no_envelope(d.request));
    };
    let patch = decoder.taking(d.request, root)?;
    let unknown = provenance::unknown_members(d, root);
    Ok(decoded(d, id, patch, unknown, None))
}

/// Decodes `body` (its array envelope checked), through its layout when it has an action list.
fn decode_request(d: Compiled<'_>, path_id: Option<&str>, body: &Value) -> Result<Decoded, Problem> {
    let id = d.route_id(path_id, body)?;
    let flat = super::actions::flatten(d, body)?;
    let body = flat.as_ref().map_or(body, |f| &f.body);
    let (root, patch) = Decoder::request(d).message(d.request, body)?;
    let unknown = provenance::unknown_members(d, root);
    Ok(decoded(d, id, patch, unknown, flat))
}

/// The decoded request: its `id`, its `patch`, the caller's members no rule carries (`unknown`,
/// with those of the action list's layout `flat`) and the maps it carries whole.
fn decoded(
    d: Compiled<'_>,
    id: String,
    patch: Map<String, Value>,
    mut unknown: Vec<String>,
    flat: Option<super::actions::Flat>,
) -> Decoded {
    // A map this dialect replaces in full is sent whole by its callers.
    let complete = d
        .request
        .rules
        .iter()
        .filter(|r| r.replace && matches!(r.shape, Shape::Leaf) && r.canonical.get_member(&patch).is_some())
        .map(|r| r.canonical.clone())
        .collect();
    let trail = flat.map(|f| {
        unknown.extend(f.unknown);
        f.trail
    });
    Decoded {
        request: CanonicalRequest { id, patch },
        unknown,
        complete,
        trail: trail.unwrap_or_default(),
    }
}

/// An array envelope (`envelope_array`) carries exactly one customer: an empty array is refused
/// as `minItems`, more than one item as the vendor's "payload too large" naming the limit
/// (`maxItems`, 1): never one taken and the others dropped.
fn one_item(d: Compiled<'_>, body: &Value) -> Result<(), Problem> {
    let Some(list) = &d.request.array else {
        return Ok(());
    };
    let (code, kind) = match d.request.items(body) {
        Some(1) => return Ok(()),
        Some(0) => ("minItems", ErrorKind::Validation),
        Some(_) => ("maxItems", ErrorKind::PayloadTooLarge),
        None => {
            let vars = MessageVars {
                expected: Some("array".into()),
                ..refusal("type", list.clone())
            };
            return Err(d.refuse(ErrorKind::Validation, vars));
        }
    };
    let vars = MessageVars {
        limit: Some("1".into()),
        ..refusal(code, list.clone())
    };
    Err(d.refuse(kind, vars))
}

/// Whether the top-level `rule` of a request without an action list carries its member whole,
/// so that it may be moved out of the caller's body: a leaf copied as it is (or with its empty
/// strings read as `null`) that nothing else reads (no other rule reads at, inside or around
/// the same member, and the body's id is not there).
fn carried_whole(d: Compiled<'_>, rule: &Rule) -> bool {
    may_carry_whole(rule)
        && rule.alone
        && !d.route.id_in_body.as_ref().is_some_and(|id| {
            // The id and the member (the envelope followed by the rule's pointer) overlap when
            // one's segments begin the other's.
            let member = d
                .request
                .envelope
                .segments()
                .iter()
                .chain(rule.dialect.segments());
            id.segments().iter().zip(member).all(|(a, b)| a == b)
        })
}

/// The part of [`carried_whole`] the rule's own shape and transforms decide.
fn may_carry_whole(rule: &Rule) -> bool {
    matches!(rule.shape, Shape::Leaf)
        && rule.enum_map.is_none()
        && rule.action.is_none()
        && matches!(rule.transform, None | Some(Transform::EmptyStringNull))
        && !rule.dialect.is_root()
}

/// See [`crate::Dialect::apply_query`].
pub(crate) fn apply_query(
    d: Compiled<'_>,
    route: &Route,
    query: &str,
    body: &mut Value,
) -> Result<(), Problem> {
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if route.query_into_body {
            if let Value::Object(map) = body {
                map.insert(key.into_owned(), Value::String(value.into_owned()));
            }
        } else if !route.query.iter().any(|q| *q == key) {
            let vars = MessageVars {
                property: Some(key.into_owned()),
                ..refusal("query", Pointer::root())
            };
            return Err(d.refuse(ErrorKind::Validation, vars));
        }
    }
    Ok(())
}

/// The first member of `value` (found at `at`) that none of the `allowed` pointers reaches: a
/// member is allowed when an allowed pointer is it or lies inside it, or when it is an object
/// on the way to one whose own members are all allowed. `None` when there is none.
pub(crate) fn member_outside(value: &Value, at: &Pointer, allowed: &[&Pointer]) -> Option<Pointer> {
    if allowed.iter().any(|p| **p == *at) {
        return None;
    }
    if !allowed.iter().any(|p| at.is_prefix_of(p)) {
        return Some(at.clone());
    }
    match value {
        Value::Object(members) => members
            .iter()
            .find_map(|(k, v)| member_outside(v, &at.child(k.clone()), allowed)),
        // On the way to an allowed member, anything but an object is the id's type problem.
        _ => None,
    }
}

pub(super) struct Decoder<'a> {
    pub(super) dialect: Compiled<'a>,
    /// The dialect ignores `null` and `""` (they mean "leave as is").
    pub(super) ignore_empty: bool,
    /// Requests: a patch (replaced objects prefilled with nulls, `null` means clear).
    /// Responses: a document, where `null` only means "not set" and is left out.
    pub(super) replace: bool,
}

impl<'a> Decoder<'a> {
    /// The decoder of `d`'s requests.
    fn request(d: Compiled<'a>) -> Self {
        Decoder {
            dialect: d,
            ignore_empty: d.request.ignore_empty,
            replace: true,
        }
    }

    /// Decodes the members inside `message`'s envelope of `body` (a body without it is refused):
    /// the envelope's value, and what its members decode to.
    pub(super) fn message<'b, N: Node<'b>>(
        &self,
        message: &CompiledMessage,
        body: N,
    ) -> Result<(N, Map<String, Value>), Problem> {
        let root = self.envelope(message, body)?;
        let mut out = Map::new();
        self.rules(&message.rules, root, &message.envelope, &mut out)?;
        Ok((root, out))
    }

    /// The envelope of `message` in `body`; a body without it is refused.
    fn envelope<'b, N: Node<'b>>(&self, message: &CompiledMessage, body: N) -> Result<N, Problem> {
        body.at(&message.envelope, 0)
            .ok_or_else(|| self.no_envelope(message))
    }

    /// The refusal of a body without `message`'s envelope.
    fn no_envelope(&self, message: &CompiledMessage) -> Problem {
        self.dialect.refuse(
            ErrorKind::Validation,
            refusal("required", message.envelope.clone()),
        )
    }

    /// [`Decoder::message`] of a request's envelope `root` (no action list), the value of each
    /// top-level member the patch carries whole ([`carried_whole`]) moved out of `root` (left
    /// `null`, under the same name: the unknown members found later are the same), not copied.
    /// Each member is looked up once, to be moved or decoded.
    fn taking(&self, message: &CompiledMessage, root: &mut Value) -> Result<Map<String, Value>, Problem> {
        let mut out = Map::new();
        for rule in &message.rules {
            if !may_carry_whole(rule) {
                self.rule(rule, &*root, &message.envelope, &mut out)?;
                continue;
            }
            match rule.dialect.get_mut(root) {
                // What `found` would copy as it is (not null, not an empty value ignored).
                Some(v)
                    if !(v.is_null() || self.ignore_empty && Node::is_blank(&*v))
                        && carried_whole(self.dialect, rule) =>
                {
                    let value = transform::leaf_owned(rule, std::mem::take(v));
                    rule.canonical.set(&mut out, value);
                }
                Some(v) => self.found(rule, &*v, &message.envelope, &mut out)?,
                None => {}
            }
        }
        Ok(out)
    }

    /// Decodes the members of `src` (at dialect pointer `at`) that `rules` map, into `dst`.
    fn rules<'b, N: Node<'b>>(
        &self,
        rules: &[Rule],
        src: N,
        at: &Pointer,
        dst: &mut Map<String, Value>,
    ) -> Result<(), Problem> {
        for rule in rules {
            self.rule(rule, src, at, dst)?;
        }
        Ok(())
    }

    fn rule<'b, N: Node<'b>>(
        &self,
        rule: &Rule,
        src: N,
        at: &Pointer,
        dst: &mut Map<String, Value>,
    ) -> Result<(), Problem> {
        match src.at(&rule.dialect, 0) {
            Some(v) => self.found(rule, v, at, dst),
            None => Ok(()),
        }
    }

    /// [`Decoder::rule`] for the value `v` found at the rule's member.
    pub(super) fn found<'b, N: Node<'b>>(
        &self,
        rule: &Rule,
        v: N,
        at: &Pointer,
        dst: &mut Map<String, Value>,
    ) -> Result<(), Problem> {
        if self.ignore_empty && v.is_blank() || !self.replace && v.is_null() {
            return Ok(());
        }
        // The member's own pointer is built only when needed (nested members, errors): this runs
        // for every member of every request and answer.
        let here = || at.join(&rule.dialect);
        let value = if v.is_null() {
            Value::Null
        } else {
            match &rule.shape {
                Shape::Object {
                    rules,
                    replace,
                    cleared,
                } if v.is_object() => {
                    let mut obj = if *replace && self.replace {
                        cleared.clone()
                    } else {
                        Map::new()
                    };
                    self.rules(rules, v, &here(), &mut obj)?;
                    Value::Object(obj)
                }
                Shape::Array { rules } if let Some(items) = v.items() => {
                    let here = here();
                    let mut out = Vec::with_capacity(items.size_hint().0);
                    for (i, item) in items.enumerate() {
                        let mut obj = Map::new();
                        self.rules(rules, item, &here.child(i.to_string()), &mut obj)?;
                        out.push(Value::Object(obj));
                    }
                    Value::Array(out)
                }
                Shape::Leaf => v
                    .leaf(rule, Direction::ToCanonical)
                    .map_err(|e| self.leaf_error(e, here()))?,
                Shape::Object { .. } | Shape::Array { .. } => {
                    let expected = if matches!(rule.shape, Shape::Object { .. }) {
                        "object"
                    } else {
                        "array"
                    };
                    let vars = MessageVars {
                        expected: Some(expected.into()),
                        ..refusal("type", here())
                    };
                    return Err(self.dialect.refuse(ErrorKind::Validation, vars));
                }
            }
        };
        rule.canonical.set(dst, value);
        Ok(())
    }

    /// The refusal of a leaf value at `here` that its rule cannot decode.
    fn leaf_error(&self, e: LeafError, here: Pointer) -> Problem {
        match e {
            LeafError::UnmappedEnum => self.dialect.refuse(
                ErrorKind::Untranslatable,
                MessageVars {
                    target: Some("canonical".into()),
                    ..refusal("unmapped_enum", here)
                },
            ),
            LeafError::DuplicateKey(p) => self
                .dialect
                .refuse(ErrorKind::Validation, refusal("duplicate_key", here.join(&p))),
            LeafError::InvalidId => self.dialect.refuse(
                ErrorKind::Validation,
                MessageVars {
                    format: self.dialect.route.id_format.describe(),
                    target: Some(self.dialect.id.to_owned()),
                    ..refusal("invalid_id", here)
                },
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::Registry;

    /// Taking decodes what copying decodes, and leaves `null` where it moved a member out: the
    /// scalars and maps of a top-level rule read by no other, never the body's id nor what a
    /// transform changes.
    #[test]
    fn taking_moves_what_copying_copies() {
        let reg = Registry::embedded().unwrap();
        let medusa = reg.dialects().iter().find(|d| d.id == "medusa").unwrap();
        let mut body = json!({
            "email": "ada@example.com",
            "first_name": "Ada",
            "phone": null,
            "metadata": {"a": "", "b": 1},
            "groups": [{"id": "g1"}],
            "nickname": "unknown",
        });
        let copied = request(medusa.compiled(), Some("cus_1"), &body).unwrap();
        let taken = request_taking(medusa.compiled(), Some("cus_1"), &mut body).unwrap();
        assert_eq!(format!("{copied:?}"), format!("{taken:?}"));
        assert_eq!(
            body,
            json!({
                "email": null,
                "first_name": null,
                "phone": null,
                "metadata": null,
                "groups": [{"id": "g1"}],
                "nickname": "unknown",
            })
        );
    }
}
