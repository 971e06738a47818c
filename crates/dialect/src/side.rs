//! The one interface both sides of a translation present, the canonical form and a dialect
//! ([`Side`]), so the pipeline asks what a side does and never which side it has; and how a side
//! expresses a canonical request ([`Expressed`]).

use std::collections::HashMap;

use dialectgate_canonical::{ErrorKind, Problem, Violation};
use jsonschema::Validator;
use serde_json::{Map, Value};

use crate::doc::Doc;
use crate::engine::fill::FillNeeds;
use crate::engine::{AnswerView, CanonicalRequest, Decoded, Encoded};
use crate::message::{Answer, Outbound};
use crate::pointer::Pointer;
use crate::render::Rendered;
use crate::report::Fidelity;
use crate::route::Operation;
use crate::validate::{self, MessageVars};

/// How a side expresses a canonical request.
pub(crate) enum Expressed {
    /// As the canonical patch itself, nothing derived or dropped: the request's patch becomes the
    /// body (moved on the request path, never copied).
    AsPatch,
    /// As a body of its own, with the encoder's report (canonical pointers).
    Encoded(Encoded),
}

impl Expressed {
    /// The encoder's report (canonical pointers).
    pub(crate) fn report(&self) -> &Fidelity {
        static EXACT: Fidelity = Fidelity {
            derived: Vec::new(),
            dropped: Vec::new(),
            filled: Vec::new(),
            overflow: Vec::new(),
            unchecked: Vec::new(),
        };
        match self {
            Expressed::AsPatch => &EXACT,
            Expressed::Encoded(e) => &e.report,
        }
    }

    /// What the target needs from the stored customer (nothing for the patch itself).
    pub(crate) fn needs(&self) -> &[crate::engine::Need] {
        match self {
            Expressed::AsPatch => &[],
            Expressed::Encoded(e) => &e.needs,
        }
    }

    /// The refusal of a body lacking members the target requires on every write.
    pub(crate) fn missing(&self) -> Option<&Problem> {
        match self {
            Expressed::AsPatch => None,
            Expressed::Encoded(e) => e.missing.as_deref(),
        }
    }

    /// Takes the encoder's report out (left empty): the policy restates it, reusing its texts.
    pub(crate) fn take_report(&mut self) -> Fidelity {
        match self {
            Expressed::AsPatch => Fidelity::default(),
            Expressed::Encoded(e) => std::mem::take(&mut e.report),
        }
    }

    /// The body, taking `patch` when the body is the patch itself.
    pub(crate) fn into_body(self, patch: Map<String, Value>) -> Value {
        match self {
            Expressed::AsPatch => Value::Object(patch),
            Expressed::Encoded(e) => e.body,
        }
    }
}

/// Everything the translation pipeline asks of a side. Implemented by
/// [`crate::Canonical`] and [`crate::Dialect`].
pub(crate) trait Side {
    /// `canonical` or the dialect id.
    fn id(&self) -> &str;

    /// The schema of this side's request bodies.
    fn request_schema(&self) -> &Validator;

    /// The top-level members of its request bodies where a member held as the caller's text
    /// may be written (see [`crate::HeldText`]).
    fn held_places(&self) -> &[String];

    /// The violation message templates, by code (the canonical form has none: the default
    /// messages).
    fn messages(&self) -> &HashMap<String, String>;

    /// A problem made of `errors`, its detail in this side's words.
    fn problem(&self, kind: ErrorKind, errors: Vec<Violation>) -> Problem;

    /// The longest customer id this side accepts, in bytes.
    fn id_max_length(&self) -> usize;

    /// Where this side's callers put the customer id in the body (the root when in the path).
    fn id_pointer(&self) -> Pointer;

    /// When this side cannot write the bare `id` in its id form (a dialect's `id_format`: not
    /// an integer, for integer ids), the form, as a message names it. The canonical form
    /// writes every id.
    fn unwritable_id(&self, id: &str) -> Option<String> {
        let _ = id;
        None
    }

    /// Decodes a request body (already validated) into the canonical request; `path_id` is the
    /// id from the path, when the route has one.
    fn decode_request(&self, path_id: Option<&str>, body: &Value) -> Result<Decoded, Problem>;

    /// [`Side::decode_request`], moving the members the canonical request carries whole out of
    /// `body` where the side can (see [`crate::Registry::plan_taking`]); by default, copying.
    fn decode_request_taking(&self, path_id: Option<&str>, body: &mut Value) -> Result<Decoded, Problem> {
        self.decode_request(path_id, body)
    }

    /// Expresses a canonical request for this side (before the target check, [`Side::check_target`]);
    /// `complete` lists the objects and maps filled from the stored customer.
    fn encode_request(&self, request: &CanonicalRequest, complete: &[Pointer]) -> Result<Expressed, Problem>;

    /// True when this side's requests carry the canonical member `canonical` (top level): a
    /// rule maps it. The canonical form carries every member.
    fn carries(&self, canonical: &Pointer) -> bool {
        let _ = canonical;
        true
    }

    /// The canonical pointer of this side's extension bag, if it declares one.
    fn bag(&self) -> Option<&Pointer>;

    /// Where a caller's `body` holds the key `key` of the canonical map at `bag` (a decoded
    /// request's member there): the member to name in a refusal.
    fn bag_key_pointer(&self, body: &Value, bag: &Pointer, key: &str) -> Pointer {
        let _ = body;
        bag.child(key)
    }

    /// The request line and body that retrieve customer `id` from this side's upstream; `None`
    /// when the side declares no retrieve operation.
    fn retrieve(&self, id: &str) -> Option<Outbound>;

    /// The member of a caller's body that a canonical request pointer came from (the pointer
    /// itself when no rule says).
    fn source_pointer(&self, canonical: &str) -> String;

    /// Every member of a caller's body that the dropped canonical pointer came from, given the
    /// decoded `patch`; empty when this side cannot say (the pointer is then the caller's own).
    fn source_pointers(&self, canonical: &str, patch: &Map<String, Value>) -> Vec<String>;

    /// The request line and body this side's upstream receives for customer `id`.
    fn outbound(&self, id: &str, body: Value) -> Outbound;

    /// Understands this side's upstream answer to `op`; what is passed on is checked against
    /// the canonical Customer schema `customer`. With a customer and `keep`, a dialect's success
    /// body as parsed comes along (a caller of the same dialect takes members from it).
    fn read_answer(
        &self,
        op: Operation,
        status: u16,
        body: &[u8],
        customer: (&Validator, bool),
    ) -> (Answer, Option<Value>);

    /// A canonical Customer as this side's success answer: (status, body), shaped by `view`.
    /// The answer borrows from `customer`, the view and this side.
    fn success_answer<'a>(
        &'a self,
        customer: &'a Value,
        view: &AnswerView<'a>,
    ) -> Result<(u16, Doc<'a>), Problem>;

    /// `problem` as this side's error answer to a caller of `op`.
    fn render_error(&self, op: Operation, problem: &Problem, id: Option<&str>) -> Rendered;

    /// What this side's requests need from the stored customer (the objects and maps it
    /// replaces in full decide whether the gateway's bag keys are read first).
    fn fill_needs(&self) -> FillNeeds {
        FillNeeds::default()
    }

    /// A violation, its message from this side's templates.
    fn violation(&self, vars: MessageVars) -> Violation {
        validate::violation(self.messages(), &vars)
    }

    /// A refusal: one violation (see [`validate::refusal`]) as a problem of `kind`.
    fn refuse(&self, kind: ErrorKind, vars: MessageVars) -> Problem {
        self.problem(kind, vec![self.violation(vars)])
    }

    /// Validates a request body against this side's request schema.
    ///
    /// # Errors
    /// A validation problem listing every violation with a pointer into `body`.
    fn validate_request(&self, body: &Value) -> Result<(), Problem> {
        validate::violations(self.request_schema(), body, self.messages())
            .map_err(|errors| self.problem(ErrorKind::Validation, errors))
    }

    /// Checks a body translated for this side against its request schema: a translation the
    /// target itself would reject is not a translation.
    ///
    /// # Errors
    /// Untranslatable, each violation's code `target_invalid`.
    fn check_target(&self, body: &Value) -> Result<(), Problem> {
        validate::violations(self.request_schema(), body, self.messages()).map_err(|errors| {
            let errors = errors
                .into_iter()
                .map(|v| Violation {
                    message: format!("{}: {}", self.id(), v.message),
                    code: "target_invalid".into(),
                    ..v
                })
                .collect();
            self.problem(ErrorKind::Untranslatable, errors)
        })
    }
}
