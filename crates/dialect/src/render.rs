//! Error bodies: rendering a canonical [`Problem`] in a dialect's own shape, and reading a
//! dialect's error answer back into a [`Problem`]. One template per error kind serves both
//! directions: its literal members (MicroBase's `"error": "customer_not_found"`, Medusa's
//! `"type": "duplicate_error"`) are what identifies the kind when reading.

use dialectgate_canonical::{ErrorKind, Problem, Violation};
use serde_json::{Map, Value};

use crate::compiled::{CompiledErrors, ErrorShape};
use crate::pointer::Pointer;
use crate::template;

/// An error answer ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

struct Scope<'a> {
    problem: &'a Problem,
    shape: &'a ErrorShape,
    id: Option<&'a str>,
    join: &'a str,
    item: Option<&'a Violation>,
    kind: ErrorKind,
}

impl Scope<'_> {
    fn title(&self) -> String {
        match &self.shape.title {
            Some(t) => self.interpolate(t),
            None => self.problem.title.clone(),
        }
    }

    fn detail(&self) -> String {
        match &self.shape.detail {
            Some(t) => self.interpolate(t),
            None => self.problem.message().to_owned(),
        }
    }

    fn messages(&self) -> Vec<String> {
        if self.problem.errors.is_empty() {
            vec![self.detail()]
        } else {
            self.problem.errors.iter().map(|v| v.message.clone()).collect()
        }
    }

    fn var(&self, name: &str) -> Option<Value> {
        let item = self.item;
        Some(match name {
            "status" => Value::from(self.shape.status),
            "title" => Value::String(self.title()),
            "detail" => Value::String(self.detail()),
            "kind" => Value::String(self.kind.as_str().to_owned()),
            "id" => Value::String(self.id?.to_owned()),
            "request_id" => Value::String(self.problem.request_id.clone()?),
            "messages" => Value::Array(self.messages().into_iter().map(Value::String).collect()),
            "joined" => Value::String(self.messages().join(self.join)),
            "pointer" => Value::String(item?.pointer.clone()),
            "code" => Value::String(item.map_or_else(|| self.kind.as_str().to_owned(), |v| v.code.clone())),
            "message" => Value::String(item.map_or_else(|| self.detail(), |v| v.message.clone())),
            "property" => Value::String(item?.property.clone()?),
            "field" => {
                let p = Pointer::parse(&item?.pointer)?;
                if p.is_root() {
                    return None;
                }
                Value::String(p.dotted())
            }
            _ => return None,
        })
    }

    fn interpolate(&self, s: &str) -> String {
        template::fill(s, |name| match name {
            // `title` and `detail` would recurse into themselves.
            "title" | "detail" => None,
            _ => self.var(name).map(|v| text(&v)),
        })
    }

    fn fill(&self, template: &Value) -> Option<Value> {
        match template {
            Value::String(s) => match template::whole(s) {
                Some(name) => self.var(name),
                None => Some(Value::String(self.interpolate(s))),
            },
            Value::Array(items) => {
                if let [single] = items.as_slice()
                    && mentions_item(single)
                    && self.item.is_none()
                {
                    let filled: Vec<Value> = if self.problem.errors.is_empty() {
                        self.fill(single).into_iter().collect()
                    } else {
                        self.problem
                            .errors
                            .iter()
                            .filter_map(|v| {
                                Scope {
                                    item: Some(v),
                                    ..*self
                                }
                                .fill(single)
                            })
                            .collect()
                    };
                    return Some(Value::Array(filled));
                }
                Some(Value::Array(items.iter().filter_map(|i| self.fill(i)).collect()))
            }
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    if template::names(k).next().is_some() {
                        self.keyed(k, v, &mut out);
                    } else if let Some(filled) = self.fill(v) {
                        out.insert(k.clone(), filled);
                    }
                }
                Some(Value::Object(out))
            }
            other => Some(other.clone()),
        }
    }

    /// A member whose name is a template (`"{field}" = "{message}"`, BigCommerce's errors keyed
    /// by the violating member): one member per violation (none when the problem has none), or
    /// the one of the violation in scope. A name that comes out empty (a violation at the root
    /// has no `field`) is the violation's property, else its code. Two violations of one name
    /// share the member, their string values joined with `errors.join`: none is lost.
    fn keyed(&self, name: &str, value: &Value, out: &mut Map<String, Value>) {
        let items: Vec<&Violation> = match self.item {
            Some(item) => vec![item],
            None => self.problem.errors.iter().collect(),
        };
        for item in items {
            let scope = Scope {
                item: Some(item),
                ..*self
            };
            let mut key = scope.interpolate(name);
            if key.is_empty() {
                key = item.property.clone().unwrap_or_else(|| item.code.clone());
            }
            let Some(filled) = scope.fill(value) else {
                continue;
            };
            match (out.get_mut(&key), filled) {
                (Some(Value::String(before)), Value::String(more)) => {
                    before.push_str(self.join);
                    before.push_str(&more);
                }
                (Some(_), _) => {}
                (None, filled) => {
                    out.insert(key, filled);
                }
            }
        }
    }
}

impl Copy for Scope<'_> {}
impl Clone for Scope<'_> {
    fn clone(&self) -> Self {
        *self
    }
}

fn mentions_item(v: &Value) -> bool {
    match v {
        Value::String(s) => template::names(s).any(|name| template::ITEM_VARS.contains(&name)),
        Value::Array(items) => items.iter().any(mentions_item),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| template::names(k).next().is_some() || mentions_item(v)),
        _ => false,
    }
}

/// Renders `problem` as the error answer of a dialect whose errors are `errors`. `id` is the
/// customer id, when known.
pub(crate) fn render_error(errors: &CompiledErrors, problem: &Problem, id: Option<&str>) -> Rendered {
    let kind = problem.kind();
    let Some(shape) = errors.shapes.get(&kind) else {
        // Every kind has a shape (compiled from the default body); this is unreachable but
        // answering plainly is better than panicking on a gateway.
        return Rendered {
            status: kind.status(),
            content_type: "text/plain".into(),
            body: problem.message().as_bytes().to_vec(),
        };
    };
    let scope = Scope {
        problem,
        shape,
        id,
        join: &errors.join,
        item: None,
        kind,
    };
    let body = match scope.fill(&shape.body) {
        Some(Value::String(text)) => text.into_bytes(),
        Some(json) => serde_json::to_vec(&json).unwrap_or_default(),
        None => Vec::new(),
    };
    Rendered {
        status: shape.status,
        content_type: shape.content_type.clone(),
        body,
    }
}

/// Reads an error answer (status + body) of a dialect whose errors are `errors` back into a
/// canonical problem: the body parsed as every upstream answer is ([`classify_parsed`]).
pub(crate) fn classify_error(errors: &CompiledErrors, status: u16, body: &[u8]) -> Problem {
    let json = crate::parse::parse_strict(body, crate::parse::DEFAULT_MAX_DEPTH).ok();
    classify_parsed(errors, status, json.as_ref())
}

/// Reads an error answer of a dialect whose errors are `errors` back into a canonical problem,
/// from its status and its body as already parsed (`None`: not JSON). The kind is the one whose
/// status and literal members match best; a body that matches no kind falls back to what the
/// status means.
pub(crate) fn classify_parsed(errors: &CompiledErrors, status: u16, json: Option<&Value>) -> Problem {
    // On an equal score, the kind the status itself means wins (a plain 400 is a validation
    // error, not `malformed`, which merely comes first in `ErrorKind::ALL`).
    let by_status = ErrorKind::from_status(status);
    let mut best: Option<(ErrorKind, (usize, bool, bool, bool))> = None;
    for kind in ErrorKind::ALL {
        let Some(shape) = errors.shapes.get(&kind) else {
            continue;
        };
        if shape.status != status && !shape.also_status.contains(&status) {
            continue;
        }
        let mut literals = Vec::new();
        collect_literals(&shape.body, &Pointer::root(), &mut literals);
        // A fixed title (EP's "Conflict", CP's "Not Found") identifies a kind too, but
        // softly: a vendor may word it differently without changing its meaning.
        let mut soft = Vec::new();
        if let Some(title) = shape
            .title
            .as_ref()
            .filter(|t| template::names(t).next().is_none())
        {
            title_places(&shape.body, &Pointer::root(), &mut soft);
            soft.retain(|p| json.and_then(|j| p.get(j)).and_then(Value::as_str) == Some(title.as_str()));
        }
        let matched = match (json, shape.body.is_string()) {
            (Some(json), false) => {
                // At a success status the answer is told from a success by its shape: it must
                // have the objects and arrays the template has (GraphQL's `errors`, a
                // mutation's `userErrors`).
                if (200..300).contains(&status) && !has_containers(&shape.body, json) {
                    continue;
                }
                if literals
                    .iter()
                    .any(|(p, v)| p.get(json).is_some_and(|got| got != v))
                {
                    continue;
                }
                literals.iter().filter(|(p, v)| p.get(json) == Some(v)).count()
            }
            (None, true) => 0,
            // A JSON body where the vendor sends text (Medusa's 401): the status decides.
            (Some(_), true) => 0,
            // Not JSON where the vendor always sends JSON: not this vendor's answer (an HTML
            // page from a proxy, a truncated body); the status alone decides below.
            (None, false) => continue,
        };
        // Prefer more matched literals; on a tie, a kind that claims this status explicitly
        // for the vendor's answers (`also_status`: EP's 422 is a validation error), then the
        // kind whose own status this is, then the kind the status itself means.
        let score = (
            matched + soft.len(),
            shape.also_status.contains(&status),
            shape.status == status,
            kind == by_status,
        );
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((kind, score));
        }
    }
    let kind = match best {
        Some((kind, _)) => kind,
        None if (200..300).contains(&status) => ErrorKind::BadGateway,
        None => ErrorKind::from_status(status),
    };
    let message = json
        .as_ref()
        .and_then(|j| {
            errors
                .shapes
                .get(&kind)
                .and_then(|s| find_message(&s.body, j))
        })
        // An upstream's own words are passed on only from its JSON error shape, and
        // bounded; text that is not JSON (a proxy's HTML page, a stack trace) never is.
        .map(|m| bounded(&m, MAX_UPSTREAM_MESSAGE).to_owned())
        // An empty message says nothing: the kind's title does.
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| kind.title().to_owned());
    Problem::new(kind, message)
}

/// Whether `body`, answered with `status`, is one of the dialect's error answers by its literal
/// members: a kind of that status whose template has a literal the body carries, and none it
/// contradicts.
pub(crate) fn is_error_by_literals(errors: &CompiledErrors, status: u16, body: &Value) -> bool {
    errors.shapes.values().any(|shape| {
        if shape.body.is_string() || (shape.status != status && !shape.also_status.contains(&status)) {
            return false;
        }
        let mut literals = Vec::new();
        collect_literals(&shape.body, &Pointer::root(), &mut literals);
        let conflicts = literals
            .iter()
            .any(|(p, v)| p.get(body).is_some_and(|got| got != v));
        !conflicts && literals.iter().any(|(p, v)| p.get(body) == Some(v))
    })
}

/// The longest upstream message passed on to a caller, in bytes.
pub(crate) const MAX_UPSTREAM_MESSAGE: usize = 512;

/// `s` cut to at most `max` bytes, on a character boundary.
pub(crate) fn bounded(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Literal (non-placeholder) leaves of a template, by pointer; arrays are read at index 0.
fn collect_literals(t: &Value, at: &Pointer, out: &mut Vec<(Pointer, Value)>) {
    match t {
        Value::String(s) if template::names(s).next().is_some() => {}
        Value::Object(map) => {
            // A member named by a template has no fixed name to look for.
            for (k, v) in map.iter().filter(|(k, _)| !is_keyed(k)) {
                collect_literals(v, &at.child(k.clone()), out);
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                collect_literals(first, &at.child("0"), out);
            }
        }
        Value::Null => {}
        other => out.push((at.clone(), other.clone())),
    }
}

/// Whether `answer` has every object and array `template` has along the way to its members
/// (arrays are not looked into: an error list may be empty in a template's place).
fn has_containers(template: &Value, answer: &Value) -> bool {
    match (template, answer) {
        (Value::Object(t), Value::Object(a)) => t.iter().all(|(k, tv)| match tv {
            Value::Object(_) | Value::Array(_) => a.get(k).is_some_and(|av| has_containers(tv, av)),
            _ => true,
        }),
        (Value::Array(_), Value::Array(_)) => true,
        (Value::Object(_) | Value::Array(_), _) => false,
        _ => true,
    }
}

/// Where a template puts `{title}`.
fn title_places(t: &Value, at: &Pointer, out: &mut Vec<Pointer>) {
    match t {
        Value::String(s) if template::whole(s) == Some("title") => out.push(at.clone()),
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| !is_keyed(k))
            .for_each(|(k, v)| title_places(v, &at.child(k.clone()), out)),
        Value::Array(items) => {
            if let Some(first) = items.first() {
                title_places(first, &at.child("0"), out);
            }
        }
        _ => {}
    }
}

/// True when a template's member name holds a placeholder (a member per violation).
fn is_keyed(name: &str) -> bool {
    template::names(name).next().is_some()
}

/// The upstream's own message: the string at the place the template puts its message (for a
/// member named by a template, the first member of that object in the answer).
fn find_message(t: &Value, body: &Value) -> Option<String> {
    fn walk(t: &Value, at: &Pointer, body: &Value, out: &mut Vec<Pointer>) {
        match t {
            Value::String(s)
                if template::whole(s)
                    .is_some_and(|n| ["detail", "joined", "message", "title"].contains(&n)) =>
            {
                out.push(at.clone())
            }
            Value::Object(map) => map.iter().for_each(|(k, v)| {
                if !is_keyed(k) {
                    walk(v, &at.child(k.clone()), body, out);
                } else if let Some(first) = at
                    .get(body)
                    .and_then(Value::as_object)
                    .and_then(|m| m.keys().next())
                {
                    walk(v, &at.child(first.clone()), body, out);
                }
            }),
            Value::Array(items) => {
                if let Some(first) = items.first() {
                    walk(first, &at.child("0"), body, out);
                }
            }
            _ => {}
        }
    }
    let mut places = Vec::new();
    walk(t, &Pointer::root(), body, &mut places);
    places
        .iter()
        .find_map(|p| p.get(body).and_then(Value::as_str).map(str::to_owned))
}

/// Builds a canonical problem+json body.
pub fn problem_json(problem: &Problem) -> Vec<u8> {
    serde_json::to_vec(problem).unwrap_or_default()
}

/// A value as text inside a string: a string as it is, anything else as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Fills a token endpoint template (its placeholders are checked at load).
pub(crate) fn fill_token(body: &Value, vars: &Map<String, Value>) -> Value {
    match body {
        Value::String(s) => match template::whole(s).and_then(|n| vars.get(n)) {
            Some(v) => v.clone(),
            None => Value::String(template::fill(s, |n| vars.get(n).map(text))),
        },
        Value::Array(items) => Value::Array(items.iter().map(|i| fill_token(i, vars)).collect()),
        // A member that is one placeholder without a value (no `{scope}` asked for) is left out.
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| {
                    v.as_str()
                        .and_then(template::whole)
                        .is_none_or(|n| vars.contains_key(n))
                })
                .map(|(k, v)| (k.clone(), fill_token(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_cuts_on_a_character_boundary_at_most_max_bytes() {
        assert_eq!(bounded("abc", 3), "abc", "at the limit: kept whole");
        assert_eq!(bounded("abcdef", 3), "abc");
        assert_eq!(bounded("aé", 2), "a", "not inside the two bytes of é");
        assert_eq!(bounded("aéé", 4), "aé");
        assert_eq!(bounded("é", 0), "");
    }

    #[test]
    fn problem_json_is_the_problem_as_rfc_9457_json() {
        let problem = Problem::new(ErrorKind::NotFound, "no customer cus_1");
        let body: Value = serde_json::from_slice(&problem_json(&problem)).unwrap();
        assert_eq!(body["status"], 404);
        assert_eq!(body["detail"], "no customer cus_1");
        assert_eq!(body["type"], ErrorKind::NotFound.type_uri());
        assert_eq!(body["title"], problem.title);
    }
}
