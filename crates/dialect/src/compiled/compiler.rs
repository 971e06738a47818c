//! Compiling a [`RawDefinition`] into the [`super::CompiledMessage`]s and error shapes the
//! engine runs. Every problem is collected and reported with the key it concerns, so a bad
//! definition fails at load, never at request time.

use std::collections::HashMap;

use serde_json::Value;

use super::{CompiledMessage, Derivation, Derive, EnumMap, ErrorShape, Expand, Rule, Shape, Transform};
use crate::definition::{RawDefinition, RawDerive, RawErrors, RawField, RawMessage, RawOn};
use crate::pointer::Pointer;
mod templates;

use crate::template::{self, ERROR_VARS, MESSAGE_VARS, TOKEN_VARS};

/// Converts a TOML template into JSON; the string `"$null"` stands for JSON `null`, which TOML
/// cannot write.
pub(crate) fn toml_to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) if s == "$null" => Value::Null,
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(t.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect()),
    }
}

/// Collects problems while compiling one definition.
pub(crate) struct Compiler<'a> {
    pub problems: Vec<String>,
    /// The canonical update and Customer schemas, to check canonical pointers and list the
    /// members a replaced object clears.
    pub canonical_schemas: [&'a Value; 2],
    /// The update route's id form: the rule mapping the canonical `/id` writes it so.
    pub id_format: crate::id::IdFormat,
}

impl Compiler<'_> {
    /// Checks the placeholders of every string in a TOML template against `known`, and converts
    /// the template to JSON.
    pub fn template(&mut self, key: &str, value: &toml::Value, known: &[&str]) -> Value {
        self.check_placeholders(key, value, known);
        toml_to_json(value)
    }

    /// The token endpoint's body template, checked.
    pub fn token_body(&mut self, value: &toml::Value) -> Value {
        self.template("auth.token_endpoint.body", value, TOKEN_VARS)
    }

    /// Parses a pointer of the definition. Refused besides what is not a JSON Pointer: a
    /// bracket selector (`/actions[action=x]/email`), which JSON Pointer does not have (the engine
    /// would look for a member literally named so), and a numeric segment (`/0`): the engine
    /// writes objects along a pointer, so encoding would build `{"0": …}`, and reading would take
    /// that one array item alone. Arrays are mapped with `items`.
    pub fn pointer(&mut self, key: &str, s: &str) -> Pointer {
        let Some(p) = Pointer::parse(s) else {
            self.problems.push(format!(
                "{key}: `{s}` is not a JSON Pointer (it must start with `/`)"
            ));
            return Pointer::root();
        };
        for seg in p.segments() {
            if seg.contains(['[', ']']) {
                self.problems.push(format!(
                    "{key}: `{s}` has the bracket selector `{seg}`, which JSON Pointer does not have: \
                     the engine would look for a member literally named so (map array items with `items`)"
                ));
            } else if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
                self.problems.push(format!(
                    "{key}: `{s}` has the numeric segment `{seg}`: the engine writes objects along a pointer \
                     (it would build `{{\"{seg}\": …}}`, not an array) and would read that one array item \
                     alone; map array items with `items`"
                ));
            }
        }
        p
    }

    pub fn message(
        &mut self,
        key: &str,
        raw: &RawMessage,
        fields: &[RawField],
        on: RawOn,
    ) -> CompiledMessage {
        let written = self.pointer(&format!("{key}.envelope"), &raw.envelope);
        // An array envelope: the fields are in its one item.
        let (envelope, array) = if raw.envelope_array {
            (written.child("0"), Some(written))
        } else {
            (written, None)
        };
        let mut fixed = |what: &str, members: &std::collections::BTreeMap<String, toml::Value>| {
            members
                .iter()
                .map(|(p, v)| {
                    self.check_fixed(&format!("{key}.{what}.\"{p}\""), v);
                    (self.pointer(&format!("{key}.{what}"), p), toml_to_json(v))
                })
                .collect::<Vec<_>>()
        };
        let constants = fixed("constants", &raw.constants);
        let extra = fixed("extra", &raw.extra);
        let required = raw
            .required
            .iter()
            .map(|p| self.pointer(&format!("{key}.required"), p))
            .collect();
        let mut rules = self.rules("fields", fields, on, &Pointer::root());
        name_derived_targets(&mut rules, &envelope);
        mark_alone(&mut rules);
        let expand = raw.expand.as_ref().map(|e| {
            if on != RawOn::Response {
                self.problems
                    .push(format!("{key}.expand: only a response has relations to pick"));
            }
            for name in e.default.iter().filter(|n| !e.relations.contains(n)) {
                self.problems.push(format!(
                    "{key}.expand.default: `{name}` is not one of the relations"
                ));
            }
            Expand {
                query: e.query.clone(),
                relations: e.relations.clone(),
                default: e.default.clone(),
            }
        });
        let bag = raw.bag.as_ref().and_then(|b| {
            let at = self.pointer(&format!("{key}.bag"), b);
            let rule = rules.iter().find(|r| r.dialect == at);
            match rule {
                Some(r) if matches!(r.shape, Shape::Leaf) && r.enum_map.is_none() => Some(r.canonical.clone()),
                _ => {
                    self.problems.push(format!(
                        "{key}.bag: `{b}` is not the dialect member of a field rule mapping a free-form object"
                    ));
                    None
                }
            }
        });
        let volatile = raw
            .volatile
            .iter()
            .filter_map(|v| {
                let at = self.pointer(&format!("{key}.volatile"), v);
                let found = rules
                    .iter()
                    .find(|r| r.dialect == at)
                    .map(|r| r.canonical.clone());
                if found.is_none() {
                    self.problems.push(format!(
                        "{key}.volatile: `{v}` is not the dialect member of a {key} field rule"
                    ));
                }
                found
            })
            .collect();
        let read_omits: Vec<Pointer> = raw
            .read_omits
            .iter()
            .map(|p| self.pointer(&format!("{key}.read_omits"), p))
            .collect();
        if let Some(list) = &array {
            // Absolute pointers cannot reach into the array's item (no index is written in a
            // definition): the members they name would be written beside the array, or not at all.
            let inside = constants
                .iter()
                .chain(&extra)
                .map(|(p, _)| ("constants or extra", p))
                .chain(read_omits.iter().map(|p| ("read_omits", p)));
            for (what, p) in inside {
                if list.is_prefix_of(p) {
                    self.problems.push(format!(
                        "{key}.{what}: `{p}` is inside the array envelope `{list}`; with `envelope_array` only members beside the array can be fixed (the item's members are mapped with `fields`)"
                    ));
                }
            }
            if raw.expand.is_some() {
                self.problems.push(format!(
                    "{key}.expand: relations are not picked inside an array envelope"
                ));
            }
        }
        let actions = self.actions(key, raw, (fields, &rules), on, &envelope);
        CompiledMessage {
            actions,
            envelope,
            array,
            constants,
            extra,
            status: raw.status.unwrap_or(200),
            ignore_empty: raw.ignore_empty,
            required,
            rules,
            expand,
            bag,
            read_omits,
            volatile,
            null_means_not_found: raw.null_means_not_found,
        }
    }

    fn rules(&mut self, key: &str, fields: &[RawField], on: RawOn, canonical_base: &Pointer) -> Vec<Rule> {
        fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.on == RawOn::Both || f.on == on)
            .map(|(i, f)| self.rule(&format!("{key}[{i}]"), f, on, canonical_base))
            .collect()
    }

    fn rule(&mut self, key: &str, f: &RawField, on: RawOn, canonical_base: &Pointer) -> Rule {
        let dialect = self.pointer(&format!("{key}.dialect"), &f.dialect);
        let canonical = self.pointer(&format!("{key}.canonical"), &f.canonical);
        let absolute = canonical_base.join(&canonical);
        let canonical_node = self
            .canonical_schemas
            .iter()
            .find_map(|root| crate::schema::schema_node(root, root, absolute.segments()).map(|n| (*root, n)));
        if canonical_node.is_none() {
            self.problems.push(format!(
                "{key}.canonical: `{absolute}` is not a member of the canonical Customer"
            ));
        }
        let enum_map = f.enum_map.as_ref().map(|m| {
            let mut to_dialect = HashMap::new();
            for (d, c) in m {
                if to_dialect.insert(c.clone(), d.clone()).is_some() {
                    self.problems.push(format!(
                        "{key}.enum: canonical value `{c}` is mapped twice; enum maps must be one-to-one"
                    ));
                }
            }
            EnumMap {
                to_canonical: m.iter().map(|(d, c)| (d.clone(), c.clone())).collect(),
                to_dialect,
            }
        });
        let transform = f.transform.as_deref().and_then(|t| match t {
            "kv_list" => Some(Transform::KvList {
                key: f.key.clone().unwrap_or_else(|| "key".to_owned()),
                value: f.value.clone().unwrap_or_else(|| "value".to_owned()),
            }),
            "number_string" => Some(Transform::NumberString),
            "empty_string_null" => Some(Transform::EmptyStringNull),
            "lower_upper" => Some(Transform::LowerUpper),
            other => {
                self.problems.push(format!(
                    "{key}.transform: unknown transform `{other}` (known: kv_list, number_string, \
                     empty_string_null, lower_upper)"
                ));
                None
            }
        });
        let derive = f
            .derive
            .as_ref()
            .map(|d| self.derive(&format!("{key}.derive"), d, canonical_base));
        // The rule mapping the canonical customer's `/id` writes it in the route's id form.
        let transform = if absolute.segments() == ["id"] && !self.id_format.is_opaque() {
            if transform.is_some() || enum_map.is_some() {
                self.problems.push(format!(
                    "{key}: the customer id's form comes from `route.id_format`; the rule mapping `/id` takes no `transform` or `enum`"
                ));
            }
            Some(Transform::IdForm(self.id_format.clone()))
        } else {
            transform
        };
        if !f.fields.is_empty() && !f.items.is_empty() {
            self.problems
                .push(format!("{key}: a rule has either `fields` or `items`, not both"));
        }
        let shape = if !f.fields.is_empty() {
            let cleared = if f.replace {
                canonical_node
                    .map(|(root, node)| crate::schema::object_members(root, node))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|m| (m, Value::Null))
                    .collect()
            } else {
                serde_json::Map::new()
            };
            Shape::Object {
                rules: self.rules(&format!("{key}.fields"), &f.fields, on, &absolute),
                replace: f.replace,
                cleared,
            }
        } else if !f.items.is_empty() {
            let item_base = absolute.child("0");
            Shape::Array {
                rules: self.rules(&format!("{key}.items"), &f.items, on, &item_base),
            }
        } else {
            if f.replace && !matches!(transform, Some(Transform::KvList { .. })) {
                self.problems.push(format!(
                    "{key}.replace: only an object rule (with `fields`) or a `kv_list` can be replaced"
                ));
            }
            Shape::Leaf
        };
        Rule {
            dialect,
            canonical_text: canonical.text(),
            canonical,
            enum_map,
            transform,
            derive,
            shape,
            default: f.default.as_ref().map(|v| {
                self.check_fixed(&format!("{key}.default"), v);
                toml_to_json(v)
            }),
            replace: f.replace,
            action: f.action.clone(),
            alone: false,
        }
    }

    fn derive(&mut self, key: &str, d: &RawDerive, canonical_base: &Pointer) -> Derive {
        // `from` is relative to the rule's canonical scope (the item of an array rule, say).
        let from: Vec<Pointer> = d
            .from
            .iter()
            .map(|p| self.pointer(&format!("{key}.from"), p))
            .collect();
        for p in &from {
            let absolute = canonical_base.join(p);
            if !self
                .canonical_schemas
                .iter()
                .any(|root| crate::schema::schema_node(root, root, absolute.segments()).is_some())
            {
                self.problems.push(format!(
                    "{key}.from: `{absolute}` is not a member of the canonical Customer"
                ));
            }
        }
        let with = match d.with.as_str() {
            "join_words" => Derivation::JoinWords,
            "first_word" => Derivation::FirstWord,
            "rest_words" => Derivation::RestWords,
            other => {
                self.problems.push(format!(
                    "{key}.with: unknown derivation `{other}` (known: join_words, first_word, rest_words)"
                ));
                Derivation::JoinWords
            }
        };
        if with != Derivation::JoinWords && from.len() != 1 {
            self.problems
                .push(format!("{key}.from: `{}` reads exactly one member", d.with));
        }
        Derive {
            from_text: from.iter().map(Pointer::text).collect(),
            // Named by the message (`name_derived_targets`), once its envelope is known.
            target_text: String::new(),
            from,
            with,
        }
    }

    pub fn errors(
        &mut self,
        raw: &RawErrors,
    ) -> (
        HashMap<dialectgate_canonical::ErrorKind, ErrorShape>,
        HashMap<String, String>,
        String,
    ) {
        use dialectgate_canonical::ErrorKind;
        let content_type = raw
            .content_type
            .clone()
            .unwrap_or_else(|| "application/json".to_owned());
        for name in raw.kinds.keys() {
            if ErrorKind::from_name(name).is_none() {
                self.problems.push(format!(
                    "errors.kinds.{name}: unknown error kind (known: {})",
                    ErrorKind::ALL.map(ErrorKind::as_str).join(", ")
                ));
            }
        }
        let default_body = self.template("errors.body", &raw.body, ERROR_VARS);
        // `{title}` and `{detail}` cannot appear in a title or a detail: they would name
        // themselves.
        let text_vars: Vec<&str> = ERROR_VARS
            .iter()
            .copied()
            .filter(|v| !matches!(*v, "title" | "detail"))
            .collect();
        for (code, text) in &raw.messages {
            self.problems.extend(template::problems(
                &format!("errors.messages.{code}"),
                text,
                MESSAGE_VARS,
            ));
        }
        let shapes = ErrorKind::ALL
            .into_iter()
            .map(|kind| {
                let key = format!("errors.kinds.{}", kind.as_str());
                let k = raw.kinds.get(kind.as_str()).cloned().unwrap_or_default();
                for (name, text) in [("title", &k.title), ("detail", &k.detail)] {
                    if let Some(text) = text {
                        self.problems
                            .extend(template::problems(&format!("{key}.{name}"), text, &text_vars));
                    }
                }
                let body = match &k.body {
                    Some(body) => self.template(&format!("{key}.body"), body, ERROR_VARS),
                    None => default_body.clone(),
                };
                let shape = ErrorShape {
                    status: k.status.unwrap_or_else(|| kind.status()),
                    also_status: k.also_status,
                    title: k.title,
                    detail: k.detail,
                    content_type: k.content_type.unwrap_or_else(|| content_type.clone()),
                    body,
                };
                (kind, shape)
            })
            .collect();
        (
            shapes,
            raw.messages.clone().into_iter().collect(),
            raw.join.clone().unwrap_or_else(|| ", ".to_owned()),
        )
    }
}

pub(crate) fn check_message_pointers(c: &mut Compiler<'_>, key: &str, m: &RawMessage) {
    if !m.envelope.is_empty() && !m.envelope.starts_with('/') {
        c.problems
            .push(format!("{key}.envelope: `{}` is not a JSON Pointer", m.envelope));
    }
}

/// Checks that a definition's id matches its file stem.
pub(crate) fn check_id(c: &mut Compiler<'_>, raw: &RawDefinition, stem: &str) {
    if raw.id != stem {
        c.problems
            .push(format!("id: `{}` does not match the file name `{stem}`", raw.id));
    }
    if raw.id == "canonical" {
        c.problems
            .push("id: `canonical` is reserved for the canonical form".to_owned());
    }
    if !raw
        .id
        .chars()
        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_' || ch == '-')
    {
        c.problems.push(format!(
            "id: `{}` must be lower-case letters, digits, `-` or `_`",
            raw.id
        ));
    }
}

/// Marks each of `rules` that no other of them reads at, inside or around ([`Rule::alone`]).
fn mark_alone(rules: &mut [Rule]) {
    let overlaps = |a: &Pointer, b: &Pointer| a.is_prefix_of(b) || b.is_prefix_of(a);
    let alone: Vec<bool> = rules
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            !rules
                .iter()
                .enumerate()
                .any(|(j, other)| j != i && overlaps(&other.dialect, &rule.dialect))
        })
        .collect();
    for (rule, alone) in rules.iter_mut().zip(alone) {
        rule.alone = alone;
    }
}

/// Names the member each derivation of `rules` writes, as a request's report does: the message's
/// `envelope` followed by the rule's `dialect`, nested rules too.
fn name_derived_targets(rules: &mut [Rule], envelope: &Pointer) {
    for rule in rules {
        if let Some(derive) = &mut rule.derive {
            derive.target_text = envelope.join_text(&rule.dialect);
        }
        if let Shape::Object { rules, .. } | Shape::Array { rules } = &mut rule.shape {
            name_derived_targets(rules, envelope);
        }
    }
}
