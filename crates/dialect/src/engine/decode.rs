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
    decode_request(d, path_id, body, Vec::new())
}

/// [`request`], with the members the patch carries whole moved out of `body` (left `null`), not
/// copied: see [`crate::Registry::plan_taking`].
pub(crate) fn request_taking(
    d: Compiled<'_>,
    path_id: Option<&str>,
    body: &mut Value,
) -> Result<Decoded, Problem> {
    one_item(d, body)?;
    let taken = take_whole(d, body);
    decode_request(d, path_id, body, taken)
}

/// Decodes `body` (its array envelope checked), whose members `taken` (by index of the
/// request's rules) were moved out.
fn decode_request(
    d: Compiled<'_>,
    path_id: Option<&str>,
    body: &Value,
    taken: Vec<(usize, Value)>,
) -> Result<Decoded, Problem> {
    let id = d.route_id(path_id, body)?;
    let decoder = Decoder {
        dialect: d,
        ignore_empty: d.request.ignore_empty,
        replace: true,
    };
    let flat = super::actions::flatten(d, body)?;
    let body = flat.as_ref().map_or(body, |f| &f.body);
    let (root, patch) = decoder.request(d.request, body, taken)?;
    // A map this dialect replaces in full is sent whole by its callers.
    let complete = d
        .request
        .rules
        .iter()
        .filter(|r| r.replace && matches!(r.shape, Shape::Leaf) && r.canonical.get_member(&patch).is_some())
        .map(|r| r.canonical.clone())
        .collect();
    let mut unknown = provenance::unknown_members(d, root);
    let trail = flat.map(|f| {
        unknown.extend(f.unknown);
        f.trail
    });
    Ok(Decoded {
        request: CanonicalRequest { id, patch },
        unknown,
        complete,
        trail: trail.unwrap_or_default(),
    })
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

/// Moves out of `body` the values of the request's top-level rules that the patch carries whole
/// (a leaf copied as it is, or with its empty strings read as `null`), when nothing else reads
/// them: no other rule reads at, inside or around the same member, the body's id is not there,
/// and the request is not an action list (decoded from a copy). What is left in their place is
/// `null`, under the same names: the unknown members found later are the same.
fn take_whole(d: Compiled<'_>, body: &mut Value) -> Vec<(usize, Value)> {
    let m = d.request;
    let mut taken = Vec::new();
    if m.actions.is_some() {
        return taken;
    }
    let Some(root) = m.envelope.get_mut(body) else {
        return taken;
    };
    let overlaps = |a: &Pointer, b: &Pointer| a.is_prefix_of(b) || b.is_prefix_of(a);
    for (i, rule) in m.rules.iter().enumerate() {
        // Most members are scalars: looked at first, the rest only for a map or a list.
        let carried = matches!(rule.shape, Shape::Leaf)
            && rule.enum_map.is_none()
            && rule.action.is_none()
            && matches!(rule.transform, None | Some(Transform::EmptyStringNull))
            && !rule.dialect.is_root()
            && rule
                .dialect
                .get(root)
                .is_some_and(|v| v.is_object() || v.is_array());
        let alone = || {
            !m.rules
                .iter()
                .enumerate()
                .any(|(j, other)| j != i && overlaps(&other.dialect, &rule.dialect))
                && !d
                    .route
                    .id_in_body
                    .as_ref()
                    .is_some_and(|id| overlaps(id, &m.envelope.join(&rule.dialect)))
        };
        if carried
            && alone()
            && let Some(v) = rule.dialect.get_mut(root)
        {
            taken.push((i, std::mem::take(v)));
        }
    }
    taken
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

impl Decoder<'_> {
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
        body.at(&message.envelope, 0).ok_or_else(|| {
            self.dialect.refuse(
                ErrorKind::Validation,
                refusal("required", message.envelope.clone()),
            )
        })
    }

    /// [`Decoder::message`], where the values of the top-level rules in `taken` (by index) were
    /// moved out of `body` ([`take_whole`]): each is decoded from its moved value.
    fn request<'b>(
        &self,
        message: &CompiledMessage,
        body: &'b Value,
        mut taken: Vec<(usize, Value)>,
    ) -> Result<(&'b Value, Map<String, Value>), Problem> {
        if taken.is_empty() {
            return self.message(message, body);
        }
        let root = self.envelope(message, body)?;
        let mut out = Map::new();
        for (i, rule) in message.rules.iter().enumerate() {
            match taken.iter().position(|(at, _)| *at == i) {
                Some(t) => {
                    let (_, v) = taken.swap_remove(t);
                    let value = transform::leaf_owned(rule, v);
                    rule.canonical.set(&mut out, value);
                }
                None => self.rule(rule, root, &message.envelope, &mut out)?,
            }
        }
        Ok((root, out))
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
