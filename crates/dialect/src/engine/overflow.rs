//! Overflow (`translation.overflow`): canonical members the target has no place for travel in
//! its extension bag (a free-form map its definition declares: Medusa's `metadata`,
//! AximCommerce's `metaFields`) under namespaced keys — the prefix, then the canonical pointer
//! (`dialectgate:/company/name`) — and come back out of it on the way back.

use serde_json::{Map, Value};

use crate::pointer::Pointer;

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

/// Takes the keys starting with `prefix` out of the map at `bag` in `customer` and puts each
/// value back at its canonical pointer, unless the customer already has a member there. The
/// upstream wrote these keys: a key that is not a pointer, points into the bag, or is deeper
/// than the canonical model is left in the bag. `valid` checks the result (the canonical
/// Customer schema); when it fails, nothing is restored.
pub(crate) fn restore(customer: &mut Value, bag: &Pointer, prefix: &str, valid: impl Fn(&Value) -> bool) {
    let Some(Value::Object(map)) = bag.get(customer) else {
        return;
    };
    let stowed: Vec<(String, Pointer)> = map
        .keys()
        .filter_map(|k| {
            let p = Pointer::parse(k.strip_prefix(prefix)?)?;
            let ok = !p.is_root() && p.segments().len() <= MAX_DEPTH && !bag.is_prefix_of(&p);
            ok.then(|| (k.clone(), p))
        })
        .collect();
    if stowed.is_empty() {
        return;
    }
    let mut restored = customer.clone();
    let Value::Object(doc) = &mut restored else {
        return;
    };
    for (key, p) in stowed {
        let value = bag
            .get_member(doc)
            .and_then(Value::as_object)
            .and_then(|m| m.get(&key))
            .cloned();
        if let Some(Value::Object(m)) = bag_mut(doc, bag) {
            m.remove(&key);
        }
        if let Some(value) = value.filter(|v| !v.is_null())
            && p.get_member(doc).is_none()
        {
            p.set(doc, value);
        }
    }
    if valid(&restored) {
        *customer = restored;
    }
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
    fn the_way_back_restores_members_and_keeps_the_other_keys() {
        let mut customer = json!({"id": "c1", "metadata": {"k": 1, "dg:/company/name": "Acme", "dg:/phone": "+1", "dg:nonsense": 2}, "phone": "+44"});
        restore(&mut customer, &p("/metadata"), "dg:", |_| true);
        assert_eq!(
            customer,
            json!({"id": "c1", "metadata": {"k": 1, "dg:nonsense": 2}, "phone": "+44", "company": {"name": "Acme"}}),
            "a member already there wins; a key that is not a pointer stays"
        );
    }

    #[test]
    fn hostile_keys_stay_in_the_bag() {
        let original = json!({"id": "c1", "metadata": {"dg:/metadata/x": 1, "dg:/a/b/c/d/e": 2, "dg:": 3}});
        let mut customer = original.clone();
        restore(&mut customer, &p("/metadata"), "dg:", |_| true);
        assert_eq!(customer, original);
        // A restoration the canonical schema refuses restores nothing.
        let mut customer = json!({"id": "c1", "metadata": {"dg:/email": 5}});
        restore(&mut customer, &p("/metadata"), "dg:", |c| c["email"].is_string());
        assert_eq!(customer, json!({"id": "c1", "metadata": {"dg:/email": 5}}));
    }
}
