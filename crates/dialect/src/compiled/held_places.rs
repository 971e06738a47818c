//! Where a dialect's request members may be held as text ([`crate::HeldText`]), found at load
//! from its compiled request message and its schema: see `held.rs` for the conditions.

use serde_json::{Map, Value};

use super::{CompiledMessage, Rule, Shape, Transform};
use crate::pointer::Pointer;
use crate::route::Route;

/// Where a dialect's members may be held as text, found at load.
#[derive(Debug, Clone, Default)]
pub(crate) struct Places {
    /// In its requests as the caller's ([`caller_places`]).
    pub(crate) as_caller: Vec<String>,
    /// In its requests as the target's ([`target_places`]).
    pub(crate) as_target: Vec<String>,
}

/// The top-level members of `request` bodies that may be held as text when they are the
/// caller's (see the module's documentation); `schema` is the request schema.
pub(crate) fn caller_places(request: &CompiledMessage, route: &Route, schema: &Value) -> Vec<String> {
    if request.actions.is_some() || request.array.is_some() || !request.envelope.is_root() {
        return Vec::new();
    }
    let Some(properties) = plain_root(schema) else {
        return Vec::new();
    };
    let fixed = request
        .constants
        .iter()
        .chain(&request.extra)
        .map(|(p, _)| p)
        .chain(route.id_in_body.as_ref());
    let fixed: Vec<&Pointer> = fixed.collect();
    request
        .rules
        .iter()
        .filter_map(|rule| {
            let name = top_level(rule)?;
            let alone = !request
                .rules
                .iter()
                .any(|other| !std::ptr::eq(other, rule) && overlaps(&other.dialect, &rule.dialect))
                && !fixed.iter().any(|p| overlaps(p, &rule.dialect))
                && !request
                    .required
                    .iter()
                    .any(|p| *p != rule.dialect && overlaps(p, &rule.dialect));
            (alone && type_only(properties.get(name)?)).then(|| name.clone())
        })
        .collect()
}

/// The top-level members of a target's request bodies where a member held as text may be
/// written (see the module's documentation); `request` is `None` for the canonical form, whose
/// body is the canonical patch itself.
pub(crate) fn target_places(request: Option<&CompiledMessage>, schema: &Value) -> Vec<String> {
    let Some(properties) = plain_root(schema) else {
        return Vec::new();
    };
    let typed = |name: &String| properties.get(name).is_some_and(type_only);
    let Some(request) = request else {
        return properties.keys().filter(|name| typed(name)).cloned().collect();
    };
    if request.actions.is_some() || request.array.is_some() || !request.envelope.is_root() {
        return Vec::new();
    }
    let fixed: Vec<&Pointer> = request
        .constants
        .iter()
        .chain(&request.extra)
        .map(|(p, _)| p)
        .collect();
    request
        .rules
        .iter()
        .filter_map(|rule| {
            let name = top_level(rule)?;
            let alone = !request.rules.iter().any(|other| {
                !std::ptr::eq(other, rule)
                    && (overlaps(&other.dialect, &rule.dialect)
                        || overlaps(&other.canonical, &rule.canonical))
            }) && !fixed.iter().any(|p| overlaps(p, &rule.dialect));
            (alone && typed(name)).then(|| name.clone())
        })
        .collect()
}

/// The member name of a plain rule copying one top-level member whole.
fn top_level(rule: &Rule) -> Option<&String> {
    let plain = matches!(rule.shape, Shape::Leaf)
        && rule.enum_map.is_none()
        && matches!(rule.transform, None | Some(Transform::EmptyStringNull))
        && rule.derive.is_none()
        && rule.action.is_none()
        && !rule.canonical.is_root();
    match rule.dialect.segments() {
        [name] if plain => Some(name),
        _ => None,
    }
}

fn overlaps(a: &Pointer, b: &Pointer) -> bool {
    a.is_prefix_of(b) || b.is_prefix_of(a)
}

/// The `properties` of a schema whose root reaches its members only through them: no keyword
/// at the root may look inside a member otherwise (`allOf`, `if`, `patternProperties`, `$ref`…).
fn plain_root(schema: &Value) -> Option<&Map<String, Value>> {
    const PLAIN: &[&str] = &[
        "$schema",
        "$id",
        "$comment",
        "$defs",
        "definitions",
        "title",
        "description",
        "examples",
        "type",
        "required",
        "properties",
        "additionalProperties",
        "minProperties",
        "maxProperties",
    ];
    let root = schema.as_object()?;
    if !root.keys().all(|k| PLAIN.contains(&k.as_str())) {
        return None;
    }
    root.get("properties")?.as_object()
}

/// Whether `schema` checks nothing of a value but its type, and allows an object or a list.
fn type_only(schema: &Value) -> bool {
    const ANNOTATIONS: &[&str] = &[
        "type",
        "title",
        "description",
        "$comment",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
    ];
    let Some(schema) = schema.as_object() else {
        return false;
    };
    let allows = |t: &str| match schema.get("type") {
        Some(Value::String(s)) => s == t,
        Some(Value::Array(types)) => types.iter().any(|x| x == t),
        _ => false,
    };
    schema.keys().all(|k| ANNOTATIONS.contains(&k.as_str())) && (allows("object") || allows("array"))
}

#[cfg(test)]
mod tests;
