//! Overflow (`translation.overflow`): canonical members the target has no place for travel in
//! its extension bag (a free-form map its definition declares: Medusa's `metadata`,
//! AximCommerce's `metaFields`) under namespaced keys — the prefix, then the canonical pointer
//! (`dialectgate:/company/name`) — and come back out of it on the way back.

use dialectgate_canonical::{ErrorKind, Problem};
use serde_json::{Map, Value};

use crate::canonical::Canonical;
use crate::compiled::{Rule, Shape};
use crate::pointer::Pointer;
use crate::report::{Fidelity, LossReason, Overflowed};
use crate::side::Side;
use crate::validate::refusal;
use crate::validate::{MAX_VIOLATIONS, MessageVars};

/// The deepest canonical pointer a bag key may restore (the canonical Customer is shallower).
const MAX_DEPTH: usize = 4;

/// The bag key of the member at canonical `pointer`.
pub(crate) fn key(prefix: &str, pointer: &Pointer) -> String {
    format!("{prefix}{pointer}")
}

/// Moves the members at `lost` (canonical pointers present in `patch`) into the map at `bag`,
/// each leaf under its own key (an object `{name: …}` at `/company` goes in as
/// `/company/name`, so it comes back beside members the other side holds); an object left
/// empty by a move is removed. Returns, for each of `lost`, its keys.
pub(crate) fn stow(
    patch: &mut Map<String, Value>,
    bag: &Pointer,
    prefix: &str,
    lost: &[Pointer],
) -> Vec<Vec<String>> {
    let mut all = Vec::with_capacity(lost.len());
    for p in lost {
        let Some(value) = p.remove(patch) else {
            all.push(Vec::new());
            continue;
        };
        prune(patch, p);
        let mut leaves = Vec::new();
        flatten(p, value, &mut leaves);
        let mut map = match bag.get_member(patch) {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        let mut keys = Vec::with_capacity(leaves.len());
        for (at, value) in leaves {
            let key = key(prefix, &at);
            map.insert(key.clone(), value);
            keys.push(key);
        }
        bag.set(patch, Value::Object(map));
        all.push(keys);
    }
    all
}

/// Moves the members of the request `patch` that the encoder's `report` dropped for want of a
/// place in the target (secrets excepted) into the map at `bag` (see [`stow`]). `None` when
/// nothing moved; else, for each key, the caller's members it holds.
pub(crate) fn stow_lost(
    (from, canonical): (&dyn Side, &Canonical),
    patch: &mut Map<String, Value>,
    report: &Fidelity,
    bag: &Pointer,
    prefix: &str,
) -> Option<Vec<Overflowed>> {
    let lost: Vec<Pointer> = report
        .dropped
        .iter()
        .filter(|d| d.reason == LossReason::NoTarget)
        .filter_map(|d| Pointer::parse(&d.pointer))
        .filter(|p| !canonical.is_secret(p) && p.get_member(patch).is_some())
        .collect();
    if lost.is_empty() {
        return None;
    }
    let callers: Vec<Vec<String>> = lost
        .iter()
        .map(|p| from.source_pointers(&p.to_string(), patch))
        .collect();
    let mut overflow = Vec::new();
    for (keys, pointers) in stow(patch, bag, prefix, &lost).into_iter().zip(callers) {
        for key in keys {
            for pointer in &pointers {
                overflow.push(Overflowed {
                    pointer: pointer.clone(),
                    key: key.clone(),
                });
            }
        }
    }
    Some(overflow)
}

/// The target's bag, when the target replaces it in full and the caller sent it whole
/// (`complete`): the stored one must still give it the gateway's keys.
pub(crate) fn replaced_whole<'t>(to: &'t dyn Side, complete: &[Pointer]) -> Option<&'t Pointer> {
    to.bag()
        .filter(|bag| complete.contains(bag) && to.fill_needs().replaced.contains(bag))
}

/// `stored` with the map at `bag` holding only the keys starting with `prefix`: what completes
/// a bag the caller sent whole.
pub(crate) fn reserved_only(stored: &Value, bag: &Pointer, prefix: &str) -> Value {
    let mut held = stored.clone();
    if let Value::Object(doc) = &mut held
        && let Some(Value::Object(map)) = bag_mut(doc, bag)
    {
        map.retain(|k, _| is_reserved(prefix, k));
    }
    held
}

/// Only the gateway writes overflow keys: a key starting with `prefix` in the caller's bag, or
/// in the target's bag (where the gateway keeps them), is refused as a validation error naming
/// where the caller put it, overflow on or off.
pub(crate) fn refuse_reserved(
    (from, to): (&dyn Side, &dyn Side),
    body: &Value,
    patch: &Map<String, Value>,
    prefix: &str,
) -> Result<(), Problem> {
    let mut errors = Vec::new();
    let bags = from
        .bag()
        .into_iter()
        .chain(to.bag().filter(|b| from.bag() != Some(*b)));
    for bag in bags {
        for key in reserved_keys(patch, bag, prefix) {
            errors.push(from.violation(MessageVars {
                property: Some(key.to_owned()),
                allowed: Some(prefix.to_owned()),
                ..refusal("reserved_key", from.bag_key_pointer(body, bag, key))
            }));
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    // The order of the validation errors: by pointer.
    errors.sort_by(|a, b| a.pointer.cmp(&b.pointer));
    errors.truncate(MAX_VIOLATIONS);
    Err(from.problem(ErrorKind::Validation, errors))
}

/// The leaves of `value` at `at`: an object's members, down to [`MAX_DEPTH`]; anything else
/// (an array, a scalar, `null`, an empty object) is one leaf.
fn flatten(at: &Pointer, value: Value, out: &mut Vec<(Pointer, Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() && at.segments().len() < MAX_DEPTH => {
            for (k, v) in map {
                flatten(&at.child(k), v, out);
            }
        }
        other => out.push((at.clone(), other)),
    }
}

/// Removes the ancestors of `removed` that the removal left empty.
fn prune(patch: &mut Map<String, Value>, removed: &Pointer) {
    let segments = removed.segments();
    for depth in (1..segments.len()).rev() {
        let parent = Pointer::root().join_segments(&segments[..depth]);
        if parent
            .get_member(patch)
            .is_some_and(|v| v.as_object().is_some_and(Map::is_empty))
        {
            parent.remove(patch);
        } else {
            break;
        }
    }
}

/// True when `key` is in the gateway's namespace: it starts with `prefix`.
fn is_reserved(prefix: &str, key: &str) -> bool {
    !prefix.is_empty() && key.starts_with(prefix)
}

/// The keys of the map at `bag` in a request's `patch` that start with `prefix`: only the
/// gateway writes them.
pub(crate) fn reserved_keys<'p>(patch: &'p Map<String, Value>, bag: &Pointer, prefix: &str) -> Vec<&'p str> {
    let Some(Value::Object(map)) = bag.get_member(patch) else {
        return Vec::new();
    };
    map.keys()
        .filter(|k| is_reserved(prefix, k))
        .map(String::as_str)
        .collect()
}

/// The canonical pointer a bag key names, when it names one a bag may hold: not the root, no
/// empty name, not inside the bag, no deeper than the canonical model.
fn named(prefix: &str, key: &str, bag: &Pointer) -> Option<Pointer> {
    let p = Pointer::parse(key.strip_prefix(prefix)?)?;
    let ok = !p.is_root()
        && p.segments().len() <= MAX_DEPTH
        && p.segments().iter().all(|s| !s.is_empty())
        && !bag.is_prefix_of(&p);
    ok.then_some(p)
}

/// Takes every key starting with `prefix` (the gateway's namespace) out of the map at `bag` in
/// `customer`, and puts the value of each key that names a member `restorable` allows back at
/// its canonical pointer, unless it is null or the customer already has a member there. The
/// upstream holds these keys and anyone may have written them there: a key that is not a
/// pointer, points into the bag, is deeper than the canonical model or names a member
/// `restorable` refuses gives nothing back. `valid` checks the result (the canonical Customer
/// schema); when it fails, nothing is restored (the keys are still taken out).
pub(crate) fn restore(
    customer: &mut Value,
    bag: &Pointer,
    prefix: &str,
    restorable: impl Fn(&Pointer) -> bool,
    valid: impl Fn(&Value) -> bool,
) {
    let Value::Object(doc) = customer else {
        return;
    };
    let Some(Value::Object(map)) = bag_mut(doc, bag) else {
        return;
    };
    let reserved: Vec<String> = map.keys().filter(|k| is_reserved(prefix, k)).cloned().collect();
    let mut back = Vec::new();
    for key in reserved {
        if let Some(value) = map.remove(&key).filter(|v| !v.is_null())
            && let Some(p) = named(prefix, &key, bag).filter(|p| restorable(p))
        {
            back.push((p, value));
        }
    }
    if back.is_empty() {
        return;
    }
    let mut restored = doc.clone();
    for (p, value) in back {
        if p.get_member(&restored).is_none() {
            p.set(&mut restored, value);
        }
    }
    let restored = Value::Object(restored);
    if valid(&restored) {
        *customer = restored;
    }
}

/// True when one of `rules` (at canonical `base`), or a rule nested in them, maps or derives
/// from a canonical member `overlaps` accepts.
pub(crate) fn stored_by(rules: &[Rule], base: &Pointer, overlaps: &impl Fn(&Pointer) -> bool) -> bool {
    rules.iter().any(|rule| {
        let at = base.join(&rule.canonical);
        overlaps(&at)
            || rule
                .derive
                .as_ref()
                .is_some_and(|d| d.from.iter().any(|f| overlaps(&base.join(f))))
            || matches!(&rule.shape, Shape::Object { rules, .. } if stored_by(rules, &at, overlaps))
    })
}

fn bag_mut<'m>(doc: &'m mut Map<String, Value>, bag: &Pointer) -> Option<&'m mut Value> {
    let (first, rest) = bag.segments().split_first()?;
    let mut cur = doc.get_mut(first)?;
    for seg in rest {
        cur = cur.as_object_mut()?.get_mut(seg)?;
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn p(s: &str) -> Pointer {
        Pointer::parse(s).unwrap()
    }

    #[test]
    fn lost_members_move_into_the_bag_and_empty_parents_go() {
        let mut patch =
            json!({"company": {"name": "Acme"}, "tags": ["a"], "metadata": {"k": 1}, "email": "a@b.co"})
                .as_object()
                .cloned()
                .unwrap();
        let keys = stow(&mut patch, &p("/metadata"), "dg:", &[p("/company"), p("/tags")]);
        assert_eq!(keys, [vec!["dg:/company/name"], vec!["dg:/tags"]]);
        assert_eq!(
            Value::Object(patch),
            json!({"email": "a@b.co", "metadata": {"k": 1, "dg:/company/name": "Acme", "dg:/tags": ["a"]}})
        );
    }

    #[test]
    fn the_way_back_restores_members_keeps_the_other_keys_and_takes_the_namespace_out() {
        let mut customer = json!({"id": "c1", "metadata": {"k": 1, "dg:/company/name": "Acme", "dg:/phone": "+1", "dg:nonsense": 2, "dg:/tags": null}, "phone": "+44"});
        restore(&mut customer, &p("/metadata"), "dg:", |_| true, |_| true);
        assert_eq!(
            customer,
            json!({"id": "c1", "metadata": {"k": 1}, "phone": "+44", "company": {"name": "Acme"}}),
            "a member already there wins; a key that names nothing, or null, restores nothing"
        );
    }

    #[test]
    fn hostile_keys_restore_nothing() {
        let mut customer = json!({"id": "c1", "metadata": {"k": 1, "dg:/metadata/x": 1, "dg:/a/b/c/d/e": 2, "dg:": 3, "dg:/": 4}});
        restore(&mut customer, &p("/metadata"), "dg:", |_| true, |_| true);
        assert_eq!(customer, json!({"id": "c1", "metadata": {"k": 1}}));
        // A restoration the canonical schema refuses restores nothing.
        let mut customer = json!({"id": "c1", "metadata": {"dg:/email": 5}});
        restore(
            &mut customer,
            &p("/metadata"),
            "dg:",
            |_| true,
            |c| c["email"].is_string(),
        );
        assert_eq!(customer, json!({"id": "c1", "metadata": {}}));
    }

    #[test]
    fn only_what_restorable_allows_comes_back() {
        let mut customer = json!({"id": "c1", "metadata": {"dg:/has_account": true, "dg:/company/name": "Acme", "dg:/id": "c2"}});
        let allowed = p("/company/name");
        restore(
            &mut customer,
            &p("/metadata"),
            "dg:",
            |at| *at == allowed,
            |_| true,
        );
        assert_eq!(
            customer,
            json!({"id": "c1", "metadata": {}, "company": {"name": "Acme"}})
        );
    }

    #[test]
    fn reserved_keys_are_those_starting_with_the_prefix() {
        let patch = json!({"metadata": {"dg:/x": 1, "xdg:/y": 2, "dg": 3, "dg:": null}, "dg:/z": 4})
            .as_object()
            .cloned()
            .unwrap();
        let mut keys = reserved_keys(&patch, &p("/metadata"), "dg:");
        keys.sort_unstable();
        assert_eq!(keys, ["dg:", "dg:/x"]);
        assert!(
            reserved_keys(&patch, &p("/metadata"), "").is_empty(),
            "no prefix reserves nothing"
        );
        assert!(reserved_keys(&patch, &p("/tags"), "dg:").is_empty());
    }
}
