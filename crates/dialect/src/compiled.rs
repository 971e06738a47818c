//! A dialect definition compiled for the engine: pointers parsed, enum maps inverted, transforms
//! resolved, templates converted to JSON ([`CompiledMessage`], [`Rule`], [`CompiledErrors`]), and
//! the borrowed view the engine and the error renderer run on ([`Compiled`]). The compiling
//! itself, with every problem collected, is in `compiled/compiler.rs`.

mod actions;
mod compiler;
pub(crate) mod held_places;

use std::collections::HashMap;

use dialectgate_canonical::{ErrorKind, Problem, Violation};
use jsonschema::Validator;
use serde_json::Value;

pub(crate) use self::compiler::{Compiler, check_id, check_message_pointers};
#[cfg(doc)]
use crate::definition::RawExpand;
use crate::pointer::Pointer;
use crate::route::Route;
use crate::validate::{self, MessageVars};

/// A compiled field rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub dialect: Pointer,
    pub canonical: Pointer,
    /// The text of `canonical`, built once at load: an action list's trail names it for every
    /// action of every request.
    pub canonical_text: String,
    pub enum_map: Option<EnumMap>,
    pub transform: Option<Transform>,
    pub derive: Option<Derive>,
    pub shape: Shape,
    pub default: Option<Value>,
    /// The dialect replaces the value in full when it is sent, while the canonical patch merges
    /// it: an object (see [`Shape::Object`]) or a map sent as a list (`kv_list`).
    pub replace: bool,
    /// Requests with an action list: the action whose item carries this member.
    pub action: Option<String>,
    /// No other rule of its message reads at, inside or around its member (a message's
    /// top-level rules, decided at load; `false` for the others): a request's member it maps
    /// may be moved out of the caller's body (`decode::request_taking`).
    pub alone: bool,
}

/// A request whose members are set by a list of actions (see `RawActions`).
#[derive(Debug, Clone)]
pub(crate) struct Actions {
    /// The list, relative to the envelope.
    pub list: Pointer,
    /// The list in the body (the envelope followed by `list`), and its text: where refusals
    /// and reports point, built once at load.
    pub list_at: Pointer,
    pub list_text: String,
    /// The member naming each item's action.
    pub discriminator: String,
    /// The actions, in the order of their rules: the order an encoding writes them in.
    pub order: Vec<String>,
}
#[derive(Debug, Clone)]
pub(crate) enum Shape {
    /// A scalar, array of scalars, or opaque object: copied (through the transform).
    Leaf,
    /// An object mapped member by member. `replace`: the dialect replaces it in full, and
    /// `cleared` is the canonical object with every member it clears when the dialect omits
    /// them set to null (built once: a decode starts from a copy of it).
    Object {
        rules: Vec<Rule>,
        replace: bool,
        cleared: serde_json::Map<String, Value>,
    },
    /// An array of objects, each mapped member by member.
    Array { rules: Vec<Rule> },
}

/// A bijective enum map.
#[derive(Debug, Clone)]
pub(crate) struct EnumMap {
    pub to_canonical: HashMap<String, String>,
    pub to_dialect: HashMap<String, String>,
}

/// Named value transforms, applied in both directions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transform {
    /// dialect `[{key: k, value: v}, …]` ↔ canonical `{k: v, …}`.
    KvList { key: String, value: String },
    /// dialect number ↔ canonical string of digits.
    NumberString,
    /// inside an object: dialect `""` ↔ canonical `null` (a key deleted by an empty string).
    EmptyStringNull,
    /// dialect lower case ↔ canonical upper case.
    LowerUpper,
    /// The customer id in the dialect's form (`route.id_format`) ↔ the bare canonical id: not
    /// named in definitions, given to the rule mapping the canonical `/id`.
    IdForm(crate::id::IdFormat),
}

/// Encode-only derivations.
#[derive(Debug, Clone)]
pub(crate) struct Derive {
    pub from: Vec<Pointer>,
    /// The texts of `from`, and of the message's envelope followed by the rule's `dialect` (the
    /// derived member), built once at load: a request's report names both for every derived
    /// member.
    pub from_text: Vec<String>,
    pub target_text: String,
    pub with: Derivation,
}

/// How a derived value is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Derivation {
    /// Join the sources with one space (given + family → full name).
    JoinWords,
    /// The first word (full name → given name).
    FirstWord,
    /// Everything after the first word (full name → family name).
    RestWords,
}

/// A compiled request or response shape.
#[derive(Debug, Clone)]
pub(crate) struct CompiledMessage {
    /// The object holding the fields: with `envelope_array`, the array's first (only) item
    /// (`/data/0`).
    pub envelope: Pointer,
    /// With `envelope_array`: the array holding the item (`/data`; the root for `[{…}]`).
    pub array: Option<Pointer>,
    pub constants: Vec<(Pointer, Value)>,
    pub extra: Vec<(Pointer, Value)>,
    pub status: u16,
    pub ignore_empty: bool,
    pub required: Vec<Pointer>,
    pub rules: Vec<Rule>,
    /// Responses only: relations the caller picks (see [`RawExpand`]).
    pub expand: Option<Expand>,
    /// Requests only: the canonical pointer of the member whose dialect value is a bag of
    /// free-form keys (see `RawMessage::bag`).
    pub bag: Option<Pointer>,
    /// Responses only: members left out of a read's answer.
    pub read_omits: Vec<Pointer>,
    /// Responses only: canonical pointers of the members the vendor assigns itself.
    pub volatile: Vec<Pointer>,
    /// Requests only: the action list the rules with an `action` live in.
    pub actions: Option<Actions>,
    /// A read's answer only: `null` at the envelope means the customer does not exist.
    pub null_means_not_found: bool,
}

impl CompiledMessage {
    /// `p` (an absolute pointer) with the array item's index written `*`, as the schema walk of
    /// the fidelity matrix writes array items.
    pub(crate) fn starred(&self, p: &Pointer) -> Pointer {
        match &self.array {
            Some(list) => match p.strip_prefix(&list.child("0")) {
                Some(rest) => list.child("*").join(&rest),
                None => p.clone(),
            },
            None => p.clone(),
        }
    }

    /// How many items the array envelope holds in `body`; `None` without `envelope_array`, or
    /// when there is no array there.
    pub(crate) fn items(&self, body: &Value) -> Option<usize> {
        self.array.as_ref()?.get(body)?.as_array().map(Vec::len)
    }
}

/// Relations of a success answer that a caller picks with a query parameter.
#[derive(Debug, Clone)]
pub(crate) struct Expand {
    pub query: String,
    pub relations: Vec<String>,
    pub default: Vec<String>,
}

impl Expand {
    /// Calls `leave_out` with every relation the caller's `query` string does not pick: picked
    /// are those the last occurrence of the parameter lists (split on `,`), else the default
    /// list. Names that are not relations pick nothing.
    /// The caller's list is read where it lies (no name copied), and with no query at all the
    /// default list answers without a parse.
    pub(crate) fn unpicked(&self, query: &str, mut leave_out: impl FnMut(&str)) {
        let asked = if query.is_empty() {
            None
        } else {
            form_urlencoded::parse(query.as_bytes())
                .filter(|(key, _)| *key == self.query)
                .last()
                .map(|(_, list)| list)
        };
        for relation in &self.relations {
            let picked = match &asked {
                Some(list) => list.split(',').any(|name| name.trim() == relation),
                None => self.default.contains(relation),
            };
            if !picked {
                leave_out(relation);
            }
        }
    }
}

/// A compiled error rendering for one kind.
#[derive(Debug, Clone)]
pub(crate) struct ErrorShape {
    pub status: u16,
    pub also_status: Vec<u16>,
    pub title: Option<String>,
    pub detail: Option<String>,
    pub content_type: String,
    pub body: Value,
}

/// A dialect's compiled error answers: a shape per kind, its violation message templates (by
/// code) and how its error detail joins several messages.
#[derive(Debug, Clone)]
pub(crate) struct CompiledErrors {
    pub shapes: HashMap<ErrorKind, ErrorShape>,
    pub messages: HashMap<String, String>,
    pub join: String,
}

impl CompiledErrors {
    /// A problem made of `errors`, the detail joining their messages the way the vendor does.
    pub(crate) fn problem(&self, kind: ErrorKind, errors: Vec<Violation>) -> Problem {
        let detail = errors
            .iter()
            .map(|v| v.message.as_str())
            .collect::<Vec<_>>()
            .join(&self.join);
        Problem::new(kind, detail).with_errors(errors)
    }

    /// A violation, its message from the vendor's templates.
    pub(crate) fn violation(&self, vars: MessageVars) -> Violation {
        validate::violation(&self.messages, &vars)
    }

    /// A refusal: one violation (see [`validate::refusal`]) as a problem of `kind`.
    pub(crate) fn refuse(&self, kind: ErrorKind, vars: MessageVars) -> Problem {
        self.problem(kind, vec![self.violation(vars)])
    }
}

/// Compiled validators for the three message kinds.
pub(crate) struct Schemas {
    pub request: Validator,
    pub response: Validator,
    /// The response schema, for an upstream's answer read as a [`crate::doc::Doc`].
    pub response_doc: Validator<crate::doc::DocJson>,
    pub error: Validator,
    /// The request schema as JSON (for OpenAPI and documentation).
    pub request_json: Value,
    pub response_json: Value,
    pub error_json: Value,
}

impl std::fmt::Debug for Schemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Schemas { .. }")
    }
}

/// A compiled dialect as the engine runs it: borrowed from a `Dialect` (`Dialect::compiled`), so
/// the engine's rooms and the error renderer take what they need, never the dialect itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Compiled<'a> {
    /// The dialect id (named as a translation's target).
    pub id: &'a str,
    /// The update route (where the id travels).
    pub route: &'a Route,
    pub request: &'a CompiledMessage,
    pub response: &'a CompiledMessage,
    pub errors: &'a CompiledErrors,
    /// The success-response schema, as JSON (the members an answer may pass through).
    pub response_schema: &'a Value,
}

impl Compiled<'_> {
    /// A violation, its message from the vendor's templates.
    pub(crate) fn violation(&self, vars: MessageVars) -> Violation {
        self.errors.violation(vars)
    }

    /// The bare customer id of a request at the update route: from the path (`path_id`) or
    /// the body, in the route's id form.
    ///
    /// # Errors
    /// `required` when there is none, `invalid_id` when it is not in this dialect's form (a GID
    /// of another type, a string where the dialect writes an integer).
    pub(crate) fn route_id(&self, path_id: Option<&str>, body: &Value) -> Result<String, Problem> {
        route_id(self.errors, self.id, self.route, path_id, body)
    }

    /// A problem made of `errors`, in the vendor's words.
    pub(crate) fn problem(&self, kind: ErrorKind, errors: Vec<Violation>) -> Problem {
        self.errors.problem(kind, errors)
    }

    /// A refusal: one violation as a problem of `kind`.
    pub(crate) fn refuse(&self, kind: ErrorKind, vars: MessageVars) -> Problem {
        self.errors.refuse(kind, vars)
    }
}

/// The bare customer id a request at `route` carries (see [`Compiled::route_id`]); `dialect`
/// names the dialect in a refusal.
pub(crate) fn route_id(
    errors: &CompiledErrors,
    dialect: &str,
    route: &Route,
    path_id: Option<&str>,
    body: &Value,
) -> Result<String, Problem> {
    let (found, id) = match (&route.id_in_body, path_id) {
        (Some(p), _) => {
            let v = p.get(body).filter(|v| !v.is_null() && v.as_str() != Some(""));
            (v.is_some(), v.and_then(|v| route.id_format.decode_value(v)))
        }
        (None, id) => {
            let id = id.filter(|id| !id.is_empty());
            (id.is_some(), id.and_then(|id| route.id_format.decode_text(id)))
        }
    };
    // Where a refusal points: built only for one (every request passes here).
    let at = || route.id_in_body.clone().unwrap_or_default();
    match id {
        Some(id) if !id.is_empty() => Ok(id),
        _ if found => Err(errors.refuse(
            ErrorKind::Validation,
            MessageVars {
                format: route.id_format.describe(),
                target: Some(dialect.to_owned()),
                ..validate::refusal("invalid_id", at())
            },
        )),
        _ => Err(errors.refuse(ErrorKind::Validation, validate::refusal("required", at()))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::Expand;

    /// The pick as it was written before it read the caller's list in place: the list copied
    /// into owned names, the query always parsed.
    fn picked_by_copy(expand: &Expand, query: &str) -> Vec<String> {
        let asked: Option<Vec<String>> = form_urlencoded::parse(query.as_bytes())
            .filter(|(key, _)| *key == expand.query)
            .last()
            .map(|(_, list)| list.split(',').map(|name| name.trim().to_owned()).collect());
        let picked = asked.as_ref().unwrap_or(&expand.default);
        expand
            .relations
            .iter()
            .filter(|r| picked.contains(r))
            .cloned()
            .collect()
    }

    #[test]
    fn unpicked_leaves_out_exactly_the_relations_the_copying_pick_left_out() {
        let expand = Expand {
            query: "expand".to_owned(),
            relations: ["orders", "shipping_addresses", "billing_address", "groups"]
                .map(str::to_owned)
                .to_vec(),
            default: ["orders", "shipping_addresses"].map(str::to_owned).to_vec(),
        };
        let members: Map<String, Value> = json!({
            "id": "cus_1", "email": "a@example.com", "orders": [], "shipping_addresses": [],
            "billing_address": {"city": "x"}, "groups": [],
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        let queries = [
            "",
            "fields=id",
            "expand=",
            "expand",
            "expand=groups",
            "expand=groups&expand=billing_address",
            "expand=billing_address,%20groups",
            "expand=billing_address,+groups,,orders",
            "expand=%20orders%20,shipping_addresses",
            "expand=ORDERS,nope",
            "Expand=groups",
            "expand%3Dgroups",
            "expand=groups;orders",
            "expand=gr%6Fups&fields=x&expand=orders,billing_address",
            "&&expand=%ZZ,groups&",
            "expand=orders\u{a0},groups",
            "expand=%E2%80%83groups",
        ];
        for query in queries {
            let mut kept = members.clone();
            expand.unpicked(query, |relation| {
                kept.remove(relation);
            });
            let relations: Vec<String> = expand
                .relations
                .iter()
                .filter(|r| kept.contains_key(*r))
                .cloned()
                .collect();
            assert_eq!(relations, picked_by_copy(&expand, query), "query {query:?}");
            for other in ["id", "email"] {
                assert!(kept.contains_key(other), "query {query:?} kept {other}");
            }
        }
    }
}
