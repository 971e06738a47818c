//! A loaded, compiled dialect: its route, credentials, compiled messages, error shapes and
//! validators. Built once at load; cheap to share (`Arc<Dialect>`). Its route is in `route.rs`,
//! its credentials in `auth.rs`.

mod answers;
mod load;
mod retrieve;

use std::collections::HashMap;

use dialectgate_canonical::{ErrorKind, Problem, Violation};
use jsonschema::Validator;
use serde_json::{Map, Value};

pub(crate) use self::load::load;
use crate::auth::Auth;
use crate::compiled::{Compiled, CompiledErrors, CompiledMessage, Schemas};
use crate::definition::RawDefinition;
use crate::doc::Doc;
use crate::engine::fill::FillNeeds;
use crate::engine::read::{self, MemberIndex};
use crate::engine::{AnswerView, CanonicalRequest, Decoded, Encoded, answer, decode, encode, provenance};
use crate::message::{Answer, Outbound};
use crate::pointer::Pointer;
use crate::render::{self, Rendered};
use crate::route::{Operation, Route};
use crate::side::{Expressed, Side};
use crate::source::Origin;

/// One vendor dialect, ready to run.
#[derive(Debug, Clone)]
pub struct Dialect {
    pub(crate) id: String,
    pub(crate) vendor: String,
    pub(crate) docs: Option<String>,
    pub(crate) decisions: Vec<String>,
    pub(crate) route: Route,
    /// The retrieve operation, when the definition declares one.
    pub(crate) retrieve: Option<Route>,
    /// The retrieve call's own fixed members (`[retrieve.request]`), when declared.
    pub(crate) retrieve_request: Option<CompiledMessage>,
    /// The read's own answer shape (`[retrieve.response]`), when declared; else `response`.
    pub(crate) retrieve_response: Option<CompiledMessage>,
    /// The members the rules of `response` and of `retrieve_response` read, indexed at load.
    pub(crate) answer_members: (MemberIndex, Option<MemberIndex>),
    pub(crate) auth: Auth,
    pub(crate) request: CompiledMessage,
    pub(crate) response: CompiledMessage,
    pub(crate) errors: CompiledErrors,
    pub(crate) schemas: std::sync::Arc<Schemas>,
    /// Where the definition was read from.
    pub(crate) origin: Origin,
    pub(crate) raw: RawDefinition,
    /// [`Dialect::source_pointer`] of every canonical member the request rules map, computed
    /// at load (`provenance::source_index`): a derived member's report names its sources on
    /// every such request.
    pub(crate) sources: Sources,
    /// Where its requests' members may be held as text (see [`crate::HeldText`]).
    pub(crate) held: crate::compiled::held_places::Places,
}

// === impl Dialect ===

impl Dialect {
    /// What the engine and the error renderer run on: the compiled messages, errors and route.
    pub(crate) fn compiled(&self) -> Compiled<'_> {
        Compiled {
            id: &self.id,
            route: &self.route,
            request: &self.request,
            response: &self.response,
            errors: &self.errors,
            response_schema: &self.schemas.response_json,
        }
    }

    /// [`Dialect::compiled`] for `op`: a read's answer has the retrieve operation's own shape
    /// when it declares one.
    pub(crate) fn compiled_for(&self, op: Operation) -> Compiled<'_> {
        match (op, &self.retrieve_response) {
            (Operation::Retrieve, Some(response)) => Compiled {
                response,
                ..self.compiled()
            },
            _ => self.compiled(),
        }
    }

    /// The dialect id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The vendor's name.
    pub fn vendor(&self) -> &str {
        &self.vendor
    }

    /// Where the definition was read from: built into the binary, or a file.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Where the vendor documents the operation.
    pub fn docs(&self) -> Option<&str> {
        self.docs.as_deref()
    }

    /// The decisions this definition records.
    pub fn decisions(&self) -> &[String] {
        &self.decisions
    }

    /// This dialect with `values` for the path variables of its routes (a configured
    /// upstream's or candidate's `path_params`), each winning over the definition's own.
    ///
    /// # Errors
    /// Each name that is not a variable of any route, and each variable left without a value.
    pub fn bind_path_params(
        &self,
        values: &std::collections::BTreeMap<String, String>,
    ) -> Result<Dialect, Vec<String>> {
        let mut problems: Vec<String> = values
            .keys()
            .filter(|name| {
                !self
                    .routes()
                    .any(|(_, r)| r.variables().any(|v| v == name.as_str()))
            })
            .map(|name| format!("`{name}` is not a path variable of the {} dialect", self.id))
            .collect();
        let mut bind = |route: &Route| {
            route.bind(values).unwrap_or_else(|missing| {
                problems.push(format!(
                    "the {} dialect's path `{}` needs a value for `{missing}`",
                    self.id, route.path
                ));
                route.clone()
            })
        };
        let route = bind(&self.route);
        let retrieve = self.retrieve.as_ref().map(&mut bind);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Dialect {
            route,
            retrieve,
            ..self.clone()
        })
    }

    /// The route.
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// The credential forms.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The definition as read from disk.
    pub fn definition(&self) -> &RawDefinition {
        &self.raw
    }

    /// The request, success-response and error schemas, as JSON.
    pub fn schema_documents(&self) -> [&Value; 3] {
        [
            &self.schemas.request_json,
            &self.schemas.response_json,
            &self.schemas.error_json,
        ]
    }

    /// True when `body` matches the vendor's error schema.
    pub fn is_valid_error_body(&self, body: &Value) -> bool {
        self.schemas.error.is_valid(body)
    }

    /// True when `body` matches the vendor's success-response schema.
    pub fn is_valid_response_body(&self, body: &Value) -> bool {
        self.schemas.response.is_valid(body)
    }

    /// The HTTP status of a success answer.
    pub fn success_status(&self) -> u16 {
        self.response.status
    }

    /// The media type of this dialect's `kind` errors.
    pub fn error_content_type(&self, kind: ErrorKind) -> &str {
        self.errors
            .shapes
            .get(&kind)
            .map_or("application/json", |s| s.content_type.as_str())
    }

    /// The status this dialect answers `kind` with.
    pub fn error_status(&self, kind: ErrorKind) -> u16 {
        self.errors
            .shapes
            .get(&kind)
            .map_or_else(|| kind.status(), |s| s.status)
    }

    /// Matches a request path against the update route; `Some(id)` on a match (`None` inside
    /// when the id travels in the body). The id is percent-decoded.
    pub fn match_path(&self, path: &str) -> Option<Option<String>> {
        self.route.match_path(path)
    }

    /// The update path for customer `id` (percent-encoded).
    pub fn path_for(&self, id: &str) -> String {
        self.route.path_for(id)
    }

    /// True when `method` is accepted inbound by the update route.
    pub fn accepts_method(&self, method: &str) -> bool {
        self.route.accepts_method(method)
    }

    /// The retrieve route, when the definition declares one.
    pub fn retrieve_route(&self) -> Option<&Route> {
        self.retrieve.as_ref()
    }

    /// The routes a caller can reach: the update, then the retrieve operation.
    pub fn routes(&self) -> impl Iterator<Item = (Operation, &Route)> {
        std::iter::once((Operation::Update, &self.route))
            .chain(self.retrieve.iter().map(|r| (Operation::Retrieve, r)))
    }

    /// Decodes a request body (already validated against the request schema) into the canonical
    /// request. `path_id` is the id taken from the path, when the route has one.
    ///
    /// # Errors
    /// A [`Problem`] in canonical terms (validation or untranslatable) with pointers into `body`.
    pub fn decode_request(&self, path_id: Option<&str>, body: &Value) -> Result<Decoded, Problem> {
        decode::request(self.compiled(), path_id, body)
    }

    /// Encodes a canonical request as this dialect's request body.
    ///
    /// # Errors
    /// Untranslatable when a value has no equivalent (unmapped enum) or a member the dialect
    /// requires on every write is missing. Pointers are canonical.
    pub fn encode_request(&self, request: &CanonicalRequest) -> Result<Encoded, Problem> {
        encode::request(self.compiled(), request, &[])
    }

    /// Applies a request's query string as the route declares: merged into the body where the
    /// vendor reads query parameters as members (query wins), accepted where listed, refused
    /// otherwise (never silently dropped).
    ///
    /// # Errors
    /// A validation problem naming the first parameter the route does not accept.
    pub fn apply_query(&self, query: &str, body: &mut Value) -> Result<(), Problem> {
        decode::apply_query(self.compiled(), &self.route, query, body)
    }

    /// Decodes this dialect's success body into a canonical Customer document.
    ///
    /// # Errors
    /// When the body does not have the dialect's success shape.
    pub fn decode_response(&self, body: &Value) -> Result<Value, Problem> {
        read::response(self.compiled(), &self.answer_members.0, body)
    }

    /// Encodes a canonical Customer document as this dialect's success body. Members the dialect
    /// has no place for are left out (only allow-listed members ever reach a caller).
    ///
    /// # Errors
    /// When a value has no equivalent in this dialect (an unmapped enum value).
    pub fn encode_response(&self, customer: &Value) -> Result<Value, Problem> {
        answer::response(self.compiled(), customer, &AnswerView::default()).map(|doc| doc.to_value())
    }

    /// Renders `problem` as this dialect's error answer. `id` is the customer id, when known.
    pub fn render_error(&self, problem: &Problem, id: Option<&str>) -> Rendered {
        render::render_error(&self.errors, problem, id)
    }

    /// Reads an error answer of this dialect (status + body) back into a canonical problem. The
    /// kind is the one whose status and literal members match best; a body that matches no
    /// kind falls back to what the status means.
    pub fn classify_error(&self, status: u16, body: &[u8]) -> Problem {
        render::classify_error(&self.errors, status, body)
    }

    /// True when `body` carries this dialect's success constants (MicroBase's `ok: true`, …).
    pub fn is_success_body(&self, body: &Value) -> bool {
        read::is_success_body(self.compiled(), body)
    }

    /// The dialect pointer a canonical request pointer came from, following this dialect's
    /// request rules (array indexes carried over). `None` when no rule maps it.
    pub fn source_pointer(&self, canonical: &str) -> Option<String> {
        provenance::source_pointer(self.compiled(), canonical)
    }
}

/// [`Dialect::sources`]: hashed with [`Fnv`].
pub(crate) type Sources = std::collections::HashMap<String, String, std::hash::BuildHasherDefault<Fnv>>;

/// FNV-1a, for the dozen short keys of [`Sources`]: they are fixed at load (no caller chooses
/// them, so SipHash's guard against chosen keys buys nothing), and SipHash cost most of a
/// lookup made on every request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

// === impl Side for Dialect ===

impl Side for Dialect {
    fn id(&self) -> &str {
        &self.id
    }

    fn request_schema(&self) -> &Validator {
        &self.schemas.request
    }

    fn held_places(&self) -> &[String] {
        &self.held.as_target
    }

    fn messages(&self) -> &HashMap<String, String> {
        &self.errors.messages
    }

    /// The detail joins the messages the way the vendor does.
    fn problem(&self, kind: ErrorKind, errors: Vec<Violation>) -> Problem {
        self.errors.problem(kind, errors)
    }

    fn id_max_length(&self) -> usize {
        self.route.id_max_length
    }

    fn id_pointer(&self) -> Pointer {
        self.route.id_in_body.clone().unwrap_or_default()
    }

    fn unwritable_id(&self, id: &str) -> Option<String> {
        self.routes()
            .map(|(_, r)| &r.id_format)
            .find(|f| !f.can_write(id))
            .and_then(crate::id::IdFormat::describe)
    }

    fn decode_request(&self, path_id: Option<&str>, body: &Value) -> Result<Decoded, Problem> {
        decode::request(self.compiled(), path_id, body)
    }

    fn decode_request_taking(&self, path_id: Option<&str>, body: &mut Value) -> Result<Decoded, Problem> {
        decode::request_taking(self.compiled(), path_id, body)
    }

    fn encode_request(&self, request: &CanonicalRequest, complete: &[Pointer]) -> Result<Expressed, Problem> {
        encode::request(self.compiled(), request, complete).map(Expressed::Encoded)
    }

    fn bag(&self) -> Option<&Pointer> {
        self.request.bag.as_ref()
    }

    fn carries(&self, canonical: &Pointer) -> bool {
        self.request.rules.iter().any(|r| r.canonical == *canonical)
    }

    fn bag_key_pointer(&self, body: &Value, bag: &Pointer, key: &str) -> Pointer {
        provenance::bag_key_pointer(self.compiled(), body, bag, key)
    }

    fn retrieve(&self, id: &str) -> Option<Outbound> {
        let route = self.retrieve.as_ref()?;
        let body = match &route.id_in_body {
            Some(p) => {
                let mut body = Map::new();
                if let Some(fixed) = &self.retrieve_request {
                    for (at, v) in fixed.constants.iter().chain(&fixed.extra) {
                        at.set(&mut body, v.clone());
                    }
                }
                let written = route.id_format.encode_value(id);
                p.set(&mut body, written.unwrap_or_else(|| Value::String(id.to_owned())));
                Value::Object(body)
            }
            None => Value::Null,
        };
        Some(Outbound {
            method: route.method.clone(),
            path: route.path_for(id),
            query: route.query_for(id).unwrap_or_default(),
            content_type: "application/json",
            body,
            held: crate::HeldText::default(),
        })
    }

    fn source_pointer(&self, canonical: &str) -> String {
        if let Some(found) = self.sources.get(canonical) {
            return found.clone();
        }
        provenance::source_pointer(self.compiled(), canonical).unwrap_or_else(|| canonical.to_owned())
    }

    fn source_pointers(&self, canonical: &str, patch: &Map<String, Value>) -> Vec<String> {
        provenance::source_pointers(self.compiled(), canonical, patch)
    }

    fn outbound(&self, id: &str, body: Value) -> Outbound {
        Outbound {
            method: self.route.method.clone(),
            path: self.path_for(id),
            query: String::new(),
            content_type: "application/json",
            body,
            held: crate::HeldText::default(),
        }
    }

    /// A success body is checked against the vendor's schema, decoded and checked against the
    /// canonical Customer schema; anything else is classified as the vendor's error.
    fn read_answer(
        &self,
        op: Operation,
        status: u16,
        body: &[u8],
        (customer, keep): (&Validator, bool),
    ) -> (Answer, Option<Value>) {
        self.read_upstream_answer(op, status, body, customer, keep)
    }

    /// Never answers a caller with something its own vendor would not send.
    fn success_answer<'a>(
        &'a self,
        customer: &'a Value,
        view: &AnswerView<'a>,
    ) -> Result<(u16, Doc<'a>), Problem> {
        self.write_answer(customer, view)
    }

    fn render_error(&self, op: Operation, problem: &Problem, id: Option<&str>) -> Rendered {
        match answer::null_answer(self.compiled_for(op), problem) {
            Some(rendered) => rendered,
            None => Dialect::render_error(self, problem, id),
        }
    }

    fn fill_needs(&self) -> FillNeeds {
        crate::engine::fill::fill_needs(&self.request)
    }
}
