//! Where members come from and which go nowhere: the member of the caller's body a canonical
//! member was decoded from (to name it when it is dropped or derived from), and the members of a
//! caller's body that no rule carries (they would be lost).

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::compiled::Compiled;
use crate::compiled::{Rule, Shape};
use crate::pointer::Pointer;

/// [`source_pointer`] of every canonical member (object or leaf, outside arrays) that `d`'s
/// request rules map, by canonical pointer: built at load, looked up per request.
pub(crate) fn source_index(d: Compiled<'_>) -> HashMap<String, String> {
    fn walk(rules: &[Rule], base: &Pointer, out: &mut Vec<Pointer>) {
        for rule in rules {
            let at = base.join(&rule.canonical);
            if let Shape::Object { rules, .. } = &rule.shape {
                walk(rules, &at, out);
            }
            out.push(at);
        }
    }
    let mut mapped = Vec::new();
    walk(&d.request.rules, &Pointer::root(), &mut mapped);
    mapped
        .into_iter()
        .filter_map(|p| {
            let canonical = p.to_string();
            source_pointer(d, &canonical).map(|found| (canonical, found))
        })
        .collect()
}

/// See [`crate::Dialect::source_pointer`].
pub(crate) fn source_pointer(d: Compiled<'_>, canonical: &str) -> Option<String> {
    let target = Pointer::parse(canonical)?;
    let found = source_in(&d.request.rules, &target).or_else(|| {
        // A whole canonical object (`/addresses`) that only some rules map into: name the
        // first member of the caller's body that fed it.
        d.request
            .rules
            .iter()
            .find(|r| target.is_prefix_of(&r.canonical))
            .map(|r| r.dialect.clone())
    })?;
    Some(d.request.envelope.join_text(&found))
}

/// Every member of the caller's body a dropped canonical request pointer came from. Unlike
/// [`source_pointer`], a whole canonical object that several rules feed (`/addresses` from
/// Checkout Page's `address` and `shipping`) names each of those members that `patch` carries,
/// not only the first; a member no rule maps names the nearest enclosing member that fed it.
/// Empty when no rule relates to `canonical` at all.
pub(crate) fn source_pointers(d: Compiled<'_>, canonical: &str, patch: &Map<String, Value>) -> Vec<String> {
    let Some(target) = Pointer::parse(canonical) else {
        return Vec::new();
    };
    let envelope = &d.request.envelope;
    if let Some(found) = source_in(&d.request.rules, &target) {
        return vec![envelope.join(&found).to_string()];
    }
    let mut under = Vec::new();
    let mut nearest = None;
    sources_under(
        &d.request.rules,
        &target,
        (&Pointer::root(), &Pointer::root()),
        patch,
        &mut under,
        &mut nearest,
    );
    let mut out: Vec<String> = match nearest {
        Some(p) if under.is_empty() => vec![envelope.join(&p).to_string()],
        _ => under.iter().map(|p| envelope.join(p).to_string()).collect(),
    };
    out.dedup();
    out
}

/// Where the caller's `body` holds the key `key` of the canonical map at `bag` (see
/// [`crate::side::Side::bag_key_pointer`]): inside the member of the rule mapping that map,
/// where its transform puts the key (a kv_list item's key member: `/metaFields/2/code`).
pub(crate) fn bag_key_pointer(d: Compiled<'_>, body: &Value, bag: &Pointer, key: &str) -> Pointer {
    let Some(rule) = d.request.rules.iter().find(|r| r.canonical == *bag) else {
        return d.request.envelope.join(bag).child(key);
    };
    let at = d.request.envelope.join(&rule.dialect);
    let within = rule
        .transform
        .as_ref()
        .zip(at.get(body))
        .and_then(|(t, v)| t.key_member(v, key));
    at.join(&within.unwrap_or_else(|| Pointer::root().child(key)))
}

/// Pointers (into the caller's body) of the members inside the request envelope `root` that no
/// rule maps and no constant, extra member or body id claims. Runs on every request.
pub(crate) fn unknown_members(d: Compiled<'_>, root: &Value) -> Vec<String> {
    let message = &d.request;
    let envelope = message.envelope.segments();
    let claimed: Vec<&[String]> = message
        .constants
        .iter()
        .chain(&message.extra)
        .map(|(p, _)| p)
        .chain(&d.route.id_in_body)
        .filter_map(|p| p.segments().strip_prefix(envelope))
        .collect();
    let mut unknown = Vec::new();
    unknown_in(
        root,
        Rules::Whole(&message.rules),
        &claimed,
        &message.envelope,
        &mut unknown,
    );
    unknown
}

fn source_in(rules: &[Rule], target: &Pointer) -> Option<Pointer> {
    for rule in rules {
        let Some(rest) = target.strip_prefix(&rule.canonical) else {
            continue;
        };
        match &rule.shape {
            Shape::Leaf => return Some(rule.dialect.join(&rest)),
            Shape::Object { rules, .. } => {
                if rest.is_root() {
                    return Some(rule.dialect.clone());
                }
                if let Some(inner) = source_in(rules, &rest) {
                    return Some(rule.dialect.join(&inner));
                }
            }
            Shape::Array { rules } => {
                let Some((index, inner)) = rest.segments().split_first() else {
                    return Some(rule.dialect.clone());
                };
                let inner = Pointer::parse(&format!("/{}", inner.join("/"))).unwrap_or_default();
                let mapped = if inner.is_root() {
                    Some(Pointer::root())
                } else {
                    source_in(rules, &inner)
                };
                if let Some(mapped) = mapped {
                    return Some(rule.dialect.child(index.clone()).join(&mapped));
                }
            }
        }
    }
    None
}

/// The dialect pointers of the rules mapping a canonical member below `target` that `patch`
/// carries (`under`), and the deepest rule enclosing `target` (`nearest`).
fn sources_under(
    rules: &[Rule],
    target: &Pointer,
    (canonical_base, dialect_base): (&Pointer, &Pointer),
    patch: &Map<String, Value>,
    under: &mut Vec<Pointer>,
    nearest: &mut Option<Pointer>,
) {
    for rule in rules {
        let c = canonical_base.join(&rule.canonical);
        let d = dialect_base.join(&rule.dialect);
        if target.is_prefix_of(&c) {
            if c.get_member(patch).is_some() {
                under.push(d);
            }
        } else if c.is_prefix_of(target) {
            if let Shape::Object { rules, .. } = &rule.shape {
                sources_under(rules, target, (&c, &d), patch, under, nearest);
            }
            if nearest
                .as_ref()
                .is_none_or(|n| n.segments().len() < d.segments().len())
            {
                *nearest = Some(d);
            }
        }
    }
}

/// A rule seen from inside the members its dialect pointer descends through: what is left of
/// its pointer, and the rule.
type RuleView<'a> = (&'a [String], &'a Rule);

/// The rules [`unknown_in`] looks at: a list of rules as they are (no list of views is made
/// for them: this runs on every request), or views of rules from inside a member.
#[derive(Clone, Copy)]
enum Rules<'a> {
    Whole(&'a [Rule]),
    Views(&'a [RuleView<'a>]),
}

impl<'a> Rules<'a> {
    /// Calls `f` with the view of each rule.
    fn each(self, mut f: impl FnMut(&'a [String], &'a Rule)) {
        match self {
            Rules::Whole(rules) => rules.iter().for_each(|r| f(r.dialect.segments(), r)),
            Rules::Views(views) => views.iter().for_each(|&(p, r)| f(p, r)),
        }
    }
}

/// Collects members of `value` that no rule (nor a claimed pointer) covers. Runs on every
/// request, so it allocates only to descend into members rules map deeper and to report.
fn unknown_in(value: &Value, rules: Rules<'_>, claimed: &[&[String]], at: &Pointer, out: &mut Vec<String>) {
    let Value::Object(map) = value else { return };
    for (key, member) in map {
        if claimed.iter().any(|c| c.len() == 1 && c[0] == *key) {
            continue;
        }
        // Rules whose dialect pointer starts with this member (the last exact one wins).
        let mut exact = None;
        let mut deeper = false;
        rules.each(|path, rule| {
            if let Some((first, rest)) = path.split_first()
                && first == key
            {
                if rest.is_empty() {
                    exact = Some(rule);
                } else {
                    deeper = true;
                }
            }
        });
        match exact {
            Some(rule) => match (&rule.shape, member) {
                (Shape::Object { rules, .. }, Value::Object(_)) => {
                    unknown_in(member, Rules::Whole(rules), &[], &at.child(key.clone()), out)
                }
                (Shape::Array { rules }, Value::Array(items)) => {
                    let here = at.child(key.clone());
                    for (i, item) in items.iter().enumerate() {
                        unknown_in(item, Rules::Whole(rules), &[], &here.child(i.to_string()), out);
                    }
                }
                _ => {}
            },
            None if deeper => {
                fn below<'a>(p: &'a [String], key: &str) -> Option<&'a [String]> {
                    match p.split_first() {
                        Some((first, rest)) if first == key => Some(rest),
                        _ => None,
                    }
                }
                let mut nested: Vec<RuleView<'_>> = Vec::new();
                rules.each(|p, r| nested.extend(below(p, key).map(|rest| (rest, r))));
                let nested_claimed: Vec<&[String]> = claimed.iter().filter_map(|c| below(c, key)).collect();
                unknown_in(
                    member,
                    Rules::Views(&nested),
                    &nested_claimed,
                    &at.child(key.clone()),
                    out,
                );
            }
            None => out.push(at.child(key.clone()).to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;

    /// The index built at load answers as the walk over the rules does, for every shipped
    /// dialect and every canonical member its request rules map; what it lacks falls back to the
    /// walk.
    #[test]
    fn the_load_time_source_index_agrees_with_the_rules() {
        let reg = Registry::embedded().unwrap();
        for d in reg.dialects() {
            assert!(!d.sources.is_empty(), "{}", d.id);
            for (canonical, found) in &d.sources {
                assert_eq!(
                    source_pointer(d.compiled(), canonical).as_ref(),
                    Some(found),
                    "{} {canonical}",
                    d.id
                );
                assert!(found.starts_with('/'), "{} {canonical} -> {found}", d.id);
            }
            let mut leaves = Vec::new();
            fn walk(rules: &[Rule], base: &Pointer, out: &mut Vec<String>) {
                for rule in rules {
                    let at = base.join(&rule.canonical);
                    match &rule.shape {
                        Shape::Object { rules, .. } => walk(rules, &at, out),
                        Shape::Leaf => out.push(at.to_string()),
                        Shape::Array { .. } => {}
                    }
                }
            }
            walk(&d.request.rules, &Pointer::root(), &mut leaves);
            for leaf in leaves {
                assert_eq!(
                    d.sources.get(&leaf),
                    source_pointer(d.compiled(), &leaf).as_ref(),
                    "{} {leaf}",
                    d.id
                );
            }
        }
    }
}
