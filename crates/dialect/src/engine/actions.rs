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
/// item member that set each canonical member, and the actions no rule knows. Every text is
/// kept in one buffer (a request's trail is written on every request and mostly never read):
/// the entries are spans of it.
#[derive(Debug, Clone, Default)]
pub struct Trail {
    /// The texts of the entries, one after another.
    text: String,
    /// Canonical pointer → the caller's pointer that set it (`/actions/0/firstName`, or the
    /// item itself for an action sent without its member).
    origins: Vec<(Span, Span)>,
    /// The caller's pointer of an item whose action no rule knows → the action's name.
    names: Vec<(Span, Span)>,
}

/// Where a text of a [`Trail`] is in its buffer: start and end.
type Span = (usize, usize);

impl Trail {
    fn at(&self, (start, end): Span) -> &str {
        self.text.get(start..end).unwrap_or_default()
    }

    /// True when the text at `span` is `text`.
    fn is(&self, span: Span, text: &str) -> bool {
        holds(&self.text, span, text)
    }

    /// Appends `s` to the buffer; its span.
    fn push(&mut self, s: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(s);
        (start, self.text.len())
    }

    /// The caller's pointer that set the canonical member `canonical`, when an action did.
    pub(crate) fn origin(&self, canonical: &str) -> Option<&str> {
        self.origins
            .iter()
            .find(|&&(c, _)| self.is(c, canonical))
            .map(|&(_, p)| self.at(p))
    }

    /// The caller's pointers that set `canonical` or members inside it (a lost `/name` fed by
    /// `setFirstName` and `setLastName`), in the caller's order; empty when no action did.
    pub(crate) fn origins_within(&self, canonical: &str) -> Vec<String> {
        let (Some(whole), mut out) = (Pointer::parse(canonical), Vec::new()) else {
            return Vec::new();
        };
        for &(c, p) in &self.origins {
            if Pointer::parse(self.at(c)).is_some_and(|c| whole.is_prefix_of(&c)) {
                out.push(self.at(p).to_owned());
            }
        }
        out.sort();
        out
    }

    /// The action's name when `pointer` is an item no rule knows.
    pub(crate) fn name(&self, pointer: &str) -> Option<&str> {
        self.names
            .iter()
            .find(|&&(p, _)| self.is(p, pointer))
            .map(|&(_, n)| self.at(n))
    }
}

/// True when `buffer` holds `text` at `span` (the lengths compared first, as `==` does).
fn holds(buffer: &str, (start, end): Span, text: &str) -> bool {
    end - start == text.len() && buffer.as_bytes().get(start..end) == Some(text.as_bytes())
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
/// straight away (reports name them on every request), into the trail's one buffer.
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
    let items = items_of(d, actions, sent)?;
    let list_text = &actions.list_text;
    let mut unknown = Vec::new();
    // Room for each item's pointer, the member its rule reads and the canonical member it sets.
    let mut trail = Trail {
        text: String::with_capacity(items.len() * (list_text.len() + 48)),
        origins: Vec::with_capacity(items.len()),
        names: Vec::new(),
    };
    for (i, item) in items.iter().enumerate() {
        let name = match item {
            Value::Object(members) => members.get(&actions.discriminator),
            _ => None,
        };
        let (Value::Object(members), Some(Value::String(name))) = (item, name) else {
            let at = list_path.child(i.to_string());
            return Err(d.refuse(
                ErrorKind::Validation,
                refusal("required", at.child(actions.discriminator.clone())),
            ));
        };
        // The item's pointer, then (when the item carries it) the member its rule reads: the
        // origin the trail keeps. The index's digits without the formatter: every action of
        // every request.
        let start = trail.text.len();
        trail.text.push_str(list_text);
        trail.text.push('/');
        trail.text.push_str(itoa::Buffer::new().format(i));
        let item_at = (start, trail.text.len());
        let Some(rule) = rule_of(d.request.rules.as_slice(), name) else {
            let name = trail.push(name);
            trail.names.push((item_at, name));
            unknown.push(trail.at(item_at).to_owned());
            continue;
        };
        // One look at the item's members: the one its rule reads, and the strays (what no
        // rule reads), in the item's order.
        let read = rule.dialect.segments().first();
        // (A rule reading the item itself, were there one, would read it whole.)
        let mut value = read.is_none().then_some(item);
        for (key, member) in members {
            if *key == actions.discriminator {
                continue;
            }
            if Some(key) == read {
                // The member itself, or (a rule reading deeper) what its pointer leads to.
                value = if rule.dialect.segments().len() == 1 {
                    Some(member)
                } else {
                    rule.dialect.get(item)
                };
                continue;
            }
            let mut stray = trail.at(item_at).to_owned();
            Pointer::root().child(key.clone()).push_text(&mut stray);
            unknown.push(stray);
        }
        if value.is_some() {
            rule.dialect.push_text(&mut trail.text);
        }
        let origin = (start, trail.text.len());
        // The last action setting a member is the one the vendor keeps.
        let text = &trail.text;
        trail
            .origins
            .retain(|&(c, _)| !holds(text, c, &rule.canonical_text));
        let canonical = trail.push(&rule.canonical_text);
        trail.origins.push((canonical, origin));
        rule.dialect.set(fields, value.cloned().unwrap_or(Value::Null));
    }
    Ok(Some(Flat {
        body: flat,
        unknown,
        trail,
    }))
}

/// The items of the action list in `sent` (the envelope's object): none when it has no list, a
/// refusal when the list is not an array.
fn items_of<'v>(
    d: Compiled<'_>,
    actions: &Actions,
    sent: &'v Map<String, Value>,
) -> Result<&'v [Value], Problem> {
    match actions.list.get_member(sent) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => {
            let vars = MessageVars {
                expected: Some("array".into()),
                ..refusal("type", actions.list_at.clone())
            };
            Err(d.refuse(ErrorKind::Validation, vars))
        }
    }
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
    use crate::registry::Registry;

    /// Pairs of texts: (canonical, origin) or (item, name).
    type Pairs = Vec<(String, String)>;

    impl Trail {
        /// The entries as texts: (canonical, origin) pairs and (item, name) pairs.
        fn entries(&self) -> (Pairs, Pairs) {
            let texts = |list: &[(Span, Span)]| {
                list.iter()
                    .map(|&(a, b)| (self.at(a).to_owned(), self.at(b).to_owned()))
                    .collect()
            };
            (texts(&self.origins), texts(&self.names))
        }
    }

    /// The layout as first written: a copy per text, the item's member looked up by pointer.
    type Reference = (Value, Vec<String>, Pairs, Pairs);
    fn reference(d: Compiled<'_>, body: &Value) -> Result<Option<Reference>, Problem> {
        let Some(actions) = &d.request.actions else {
            return Ok(None);
        };
        let envelope = &d.request.envelope;
        let list_path = &actions.list_at;
        let mut flat = without(body, list_path.segments());
        let (mut unknown, mut origins, mut names) = (Vec::new(), Pairs::new(), Vec::new());
        let (Some(Value::Object(fields)), Some(Value::Object(sent))) =
            (envelope_mut(&mut flat, envelope), envelope_of(body, envelope))
        else {
            return Ok(Some((flat, unknown, origins, names)));
        };
        let items = items_of(d, actions, sent)?;
        for (i, item) in items.iter().enumerate() {
            let mut origin = format!("{}/{i}", actions.list_text);
            let item_len = origin.len();
            let Some(Value::String(name)) = item.get(&actions.discriminator) else {
                let at = list_path.child(i.to_string());
                return Err(d.refuse(
                    ErrorKind::Validation,
                    refusal("required", at.child(actions.discriminator.clone())),
                ));
            };
            let Some(rule) = rule_of(d.request.rules.as_slice(), name) else {
                names.push((origin.clone(), name.clone()));
                unknown.push(origin);
                continue;
            };
            let value = rule.dialect.get(item).cloned();
            let canonical = rule.canonical_text.clone();
            origins.retain(|(c, _)| *c != canonical);
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
            origins.push((canonical, origin));
        }
        Ok(Some((flat, unknown, origins, names)))
    }

    /// Bodies plain and hostile: every profile action, repeats, unknown actions, stray and
    /// escaped member names, members missing, discriminators missing or not strings, lists
    /// that are not lists, items that are not objects.
    fn bodies() -> Vec<Value> {
        let mut out = vec![
            json!({"version": 1, "actions": [
                {"action": "setFirstName", "firstName": "Ada"},
                {"action": "setLastName", "lastName": "Lovelace"},
                {"action": "changeEmail", "email": "ada@example.com"}
            ]}),
            json!({"version": 2, "actions": [
                {"action": "setFirstName", "firstName": "Ada"},
                {"action": "setFirstName"},
                {"action": "setFirstName", "firstName": "Augusta", "x": 1, "a/b~c": 2},
                {"action": "setKey", "key": "k"},
                {"action": "setCompanyName", "companyName": null},
                {"action": "setVatId", "vatId": {"nested": true}},
                {"action": "setExternalId", "externalId": "e", "action2": "x"},
                {"action": "addAddress", "address": {}},
                {"action": "setFirstName", "firstName": ""}
            ]}),
            json!({"version": 1}),
            json!({"version": 1, "actions": []}),
            json!({"version": 1, "actions": {"action": "setFirstName"}}),
            json!({"version": 1, "actions": "setFirstName"}),
            json!({"version": 1, "actions": [{"firstName": "Ada"}]}),
            json!({"version": 1, "actions": [{"action": 7, "firstName": "Ada"}]}),
            json!({"version": 1, "actions": [["action", "setFirstName"]]}),
            json!({"version": 1, "actions": ["setFirstName"]}),
            json!({"version": 1, "actions": [{"action": "changeEmail", "email": "a@b.c"}, null]}),
            json!({"firstName": "plain", "actions": [{"action": "setFirstName", "firstName": "Ada"}]}),
            json!([1, 2]),
            json!("text"),
            json!(null),
        ];
        // Many items: the trail's buffer grows past its first room.
        let many: Vec<Value> = (0..40)
            .map(|i| json!({"action": if i % 3 == 0 { "setLastName" } else { "setTitle" }, "lastName": format!("L{i}"), "title": "Dr"}))
            .collect();
        out.push(json!({"version": 3, "actions": many}));
        out
    }

    #[test]
    fn the_layout_is_the_one_first_written() {
        let reg = Registry::embedded().unwrap();
        let d = reg.dialect("commercetools").unwrap().compiled();
        for body in bodies() {
            let got = flatten(d, &body).map(|f| {
                f.map(|f| {
                    let (origins, names) = f.trail.entries();
                    (f.body, f.unknown, origins, names)
                })
            });
            assert_eq!(got, reference(d, &body), "{body}");
        }
        // The trail answers as the texts say.
        let body = &bodies()[1];
        let trail = flatten(d, body).unwrap().unwrap().trail;
        assert_eq!(trail.origin("/name/given"), Some("/actions/8/firstName"));
        assert_eq!(trail.origin("/company/name"), Some("/actions/4/companyName"));
        assert_eq!(trail.origin("/email"), None);
        assert_eq!(
            trail.origins_within("/name"),
            vec!["/actions/8/firstName".to_owned()]
        );
        assert_eq!(trail.name("/actions/7"), Some("addAddress"));
        assert_eq!(trail.name("/actions/3"), Some("setKey"));
        assert_eq!(trail.name("/actions/0"), None);
        // A dialect without an action list lays nothing out.
        let plain = reg.dialect("medusa").unwrap().compiled();
        assert!(flatten(plain, &bodies()[0]).unwrap().is_none());
    }

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
