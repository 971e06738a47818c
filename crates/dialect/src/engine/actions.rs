//! Action lists (`[request] actions`): a request whose changes are a discriminated list of
//! actions (`{"action": "setFirstName", "firstName": "Ada"}`) rather than a document. Decoding
//! lays the list out as the plain members the rules read ([`flatten`]); encoding gathers the
//! plain members the rules wrote into one action each ([`gather`]). Answers are plain documents
//! and never pass here.
//!
//! - An action sent without its member clears it (the member is read as `null`); an encoding
//!   writes a `null` member as its action without the member.
//! - Actions run in order, so when two actions set one member the last one is what the vendor
//!   keeps: decoding keeps the last one's value too.
//! - An action no rule names (one with no canonical meaning), and any member of an item its rule
//!   does not read, is the caller's loss: refused in strict mode naming the action, reported in
//!   lenient mode.
//! - An encoding writes one action per member present, in the order of the rules.

use dialectgate_canonical::{ErrorKind, Problem};
use serde_json::{Map, Value};

use crate::compiled::{Actions, Compiled, Rule};
use crate::pointer::Pointer;
use crate::validate::{MessageVars, refusal};

/// Where the members of a caller's action list came from, for naming them in reports: the
/// item member that set each canonical member, and the actions no rule knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trail {
    /// Canonical pointer → the caller's pointer that set it (`/actions/0/firstName`, or the
    /// item itself for an action sent without its member).
    pub origins: Vec<(String, String)>,
    /// The caller's pointer of an item whose action no rule knows → the action's name.
    pub names: Vec<(String, String)>,
}

impl Trail {
    /// The caller's pointer that set the canonical member `canonical`, when an action did.
    pub(crate) fn origin(&self, canonical: &str) -> Option<&str> {
        self.origins
            .iter()
            .find(|(c, _)| c == canonical)
            .map(|(_, p)| p.as_str())
    }

    /// The caller's pointers that set `canonical` or members inside it (a lost `/name` fed by
    /// `setFirstName` and `setLastName`), in the caller's order; empty when no action did.
    pub(crate) fn origins_within(&self, canonical: &str) -> Vec<String> {
        let (Some(whole), mut out) = (Pointer::parse(canonical), Vec::new()) else {
            return Vec::new();
        };
        for (c, p) in &self.origins {
            if Pointer::parse(c).is_some_and(|c| whole.is_prefix_of(&c)) {
                out.push(p.clone());
            }
        }
        out.sort();
        out
    }

    /// The action's name when `pointer` is an item no rule knows.
    pub(crate) fn name(&self, pointer: &str) -> Option<&str> {
        self.names
            .iter()
            .find(|(p, _)| p == pointer)
            .map(|(_, n)| n.as_str())
    }
}

/// A request body whose action list is laid out as plain members.
pub(crate) struct Flat {
    pub body: Value,
    /// The caller's pointers of what no rule reads (unknown actions, stray item members).
    pub unknown: Vec<String>,
    pub trail: Trail,
}

/// Lays out `body`'s action list as the plain members the request rules read: `None` when the
/// dialect's requests have no action list. The layout is a copy of `body` without the list (the
/// list is read from `body`, never copied whole); the caller's pointers are written as text
/// straight away (reports name them on every request).
pub(crate) fn flatten(d: Compiled<'_>, body: &Value) -> Result<Option<Flat>, Problem> {
    let Some(actions) = &d.request.actions else {
        return Ok(None);
    };
    let envelope = &d.request.envelope;
    let list_path = &actions.list_at;
    let mut flat = without(body, list_path.segments());
    let (Some(Value::Object(fields)), Some(Value::Object(sent))) =
        (envelope_mut(&mut flat, envelope), envelope_of(body, envelope))
    else {
        // No envelope object: the decoder refuses it.
        return Ok(Some(Flat {
            body: flat,
            unknown: Vec::new(),
            trail: Trail::default(),
        }));
    };
    let items: &[Value] = match actions.list.get_member(sent) {
        None => &[],
        Some(Value::Array(items)) => items,
        Some(_) => {
            let vars = MessageVars {
                expected: Some("array".into()),
                ..refusal("type", list_path.clone())
            };
            return Err(d.refuse(ErrorKind::Validation, vars));
        }
    };
    let list_text = &actions.list_text;
    let mut unknown = Vec::new();
    let mut trail = Trail::default();
    for (i, item) in items.iter().enumerate() {
        // The item's pointer, then (when the item carries it) the member its rule reads: one
        // buffer, the origin the trail keeps.
        let mut origin = String::with_capacity(list_text.len() + 24);
        origin.push_str(list_text);
        origin.push('/');
        // The index's digits without the formatter: every action of every request.
        origin.push_str(itoa::Buffer::new().format(i));
        let item_len = origin.len();
        let name = match item.get(&actions.discriminator) {
            Some(Value::String(name)) => name,
            _ => {
                let at = list_path.child(i.to_string());
                return Err(d.refuse(
                    ErrorKind::Validation,
                    refusal("required", at.child(actions.discriminator.clone())),
                ));
            }
        };
        let Some(rule) = rule_of(d.request.rules.as_slice(), name) else {
            trail.names.push((origin.clone(), name.clone()));
            unknown.push(origin);
            continue;
        };
        let value = rule.dialect.get(item).cloned();
        let canonical = rule.canonical_text.clone();
        trail.origins.retain(|(c, _)| *c != canonical);
        if value.is_some() {
            rule.dialect.push_text(&mut origin);
        }
        rule.dialect.set(fields, value.unwrap_or(Value::Null));
        if let Value::Object(members) = item {
            let read = rule.dialect.segments().first();
            for key in members.keys() {
                if *key != actions.discriminator && Some(key) != read {
                    let mut stray = origin[..item_len].to_owned();
                    Pointer::root().child(key.clone()).push_text(&mut stray);
                    unknown.push(stray);
                }
            }
        }
        trail.origins.push((canonical, origin));
    }
    Ok(Some(Flat {
        body: flat,
        unknown,
        trail,
    }))
}

/// A copy of `value` without the member at `path` (objects only; `value` whole when the path
/// leads elsewhere).
fn without(value: &Value, path: &[String]) -> Value {
    match (value, path.split_first()) {
        (Value::Object(members), Some((first, rest))) => {
            // Inserted one by one in the map's own order, not collected: a collected map is
            // first gathered in a vector and sorted, for the few members a body has.
            let mut out = Map::new();
            for (k, v) in members {
                if k != first {
                    out.insert(k.clone(), v.clone());
                } else if !rest.is_empty() {
                    out.insert(k.clone(), without(v, rest));
                }
            }
            Value::Object(out)
        }
        _ => value.clone(),
    }
}

/// Gathers the plain members the request rules wrote into `body` (the envelope's object) into
/// one action each, in the order of the rules; the list is written even when empty.
pub(crate) fn gather(actions: &Actions, rules: &[Rule], envelope: &Pointer, body: &mut Value) {
    let Some(Value::Object(fields)) = envelope_mut(body, envelope) else {
        return;
    };
    let mut list = Vec::new();
    for name in &actions.order {
        let Some(rule) = rule_of(rules, name) else {
            continue;
        };
        let Some(value) = rule.dialect.remove(fields) else {
            continue;
        };
        let mut item = Map::new();
        item.insert(actions.discriminator.clone(), Value::String(name.clone()));
        if !value.is_null() {
            rule.dialect.set(&mut item, value);
        }
        list.push(Value::Object(item));
    }
    actions.list.set(fields, Value::Array(list));
}

fn rule_of<'r>(rules: &'r [Rule], name: &str) -> Option<&'r Rule> {
    rules.iter().find(|r| r.action.as_deref() == Some(name))
}

/// The object at `envelope` in `body` (through objects only, as [`envelope_mut`]).
fn envelope_of<'v>(body: &'v Value, envelope: &Pointer) -> Option<&'v Value> {
    let mut cur = body;
    for seg in envelope.segments() {
        cur = cur.as_object()?.get(seg)?;
    }
    Some(cur)
}

/// The object at `envelope` in `body`, mutably.
fn envelope_mut<'v>(body: &'v mut Value, envelope: &Pointer) -> Option<&'v mut Value> {
    let mut cur = body;
    for seg in envelope.segments() {
        cur = cur.as_object_mut()?.get_mut(seg)?;
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn without_copies_everything_but_the_member_at_the_path() {
        let body = json!({"v": 1, "data": {"actions": [1, 2], "x": {"y": 2}}, "l": [3]});
        let path = |p: &str| Pointer::parse(p).unwrap().segments().to_vec();
        assert_eq!(
            without(&body, &path("/data/actions")),
            json!({"v": 1, "data": {"x": {"y": 2}}, "l": [3]})
        );
        assert_eq!(
            without(&body, &path("/v")),
            json!({"data": {"actions": [1, 2], "x": {"y": 2}}, "l": [3]})
        );
        // A path that leads nowhere or through a non-object: the body whole.
        for p in ["/missing", "/v/w", "/l/0", "/data/missing/x"] {
            assert_eq!(without(&body, &path(p)), body, "{p}");
        }
        assert_eq!(without(&json!([1]), &path("/0")), json!([1]));
    }
}
