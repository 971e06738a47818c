//! The canonical form as a side of a translation: merge patch in, Customer out, problem details
//! for errors, spoken over `PATCH /customers/{id}`.

use std::collections::HashMap;

use dialectgate_canonical::{ErrorKind, Problem, Violation};
use jsonschema::Validator;
use serde_json::{Map, Value};

use crate::doc::Doc;
use crate::engine::{AnswerView, CanonicalRequest, Decoded};
use crate::error::DialectError;
use crate::message::{self, Answer, Outbound};
use crate::pointer::Pointer;
use crate::render::{self, Rendered};
use crate::route::Operation;
use crate::schema;
use crate::side::{Expressed, Side};
use crate::source::Tree;

/// The members a canonical backend assigns itself (server id, timestamps, the password flag):
/// two backends holding the same customer differ there. Migration mode ignores them.
pub const CANONICAL_VOLATILE: [&str; 5] = ["/id", "/version", "/created_at", "/updated_at", "/has_password"];

/// The canonical concurrency token (`schemas/canonical/customer.json`): an opaque version of the
/// stored customer. In an update it is a precondition, not a change: the write happens only if
/// the stored customer still has it. A side whose requests have no place for it cannot check it
/// (see [`crate::Fidelity::unchecked`]).
pub const VERSION: &str = "/version";

/// The canonical form's compiled schemas.
pub struct Canonical {
    pub(crate) update: Validator,
    pub(crate) customer: Validator,
    pub(crate) problem: Validator,
    pub(crate) update_json: Value,
    pub(crate) customer_json: Value,
    pub(crate) problem_json: Value,
    /// Where a member held as text may be written in a patch (see [`crate::HeldText`]).
    pub(crate) held_places: Vec<String>,
    /// Violation message templates: none, the canonical form uses the default messages.
    messages: HashMap<String, String>,
}

impl std::fmt::Debug for Canonical {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Canonical { .. }")
    }
}

impl Canonical {
    /// Compiles `update.json`, `customer.json` and `error.json` in the schemas' `canonical/`.
    ///
    /// # Errors
    /// Every schema that does not load, at once.
    pub(crate) fn load(schemas: Tree<'_>) -> Result<Canonical, DialectError> {
        let [
            (update, update_json),
            (customer, customer_json),
            (problem, problem_json),
        ] = schema::compile_files(
            schemas,
            "canonical",
            ["update.json", "customer.json", "error.json"],
        )
        .map_err(DialectError::Many)?;
        Ok(Canonical {
            update,
            customer,
            problem,
            held_places: crate::compiled::held_places::target_places(None, &update_json),
            update_json,
            customer_json,
            problem_json,
            messages: HashMap::new(),
        })
    }

    /// The update, Customer and problem schemas, as JSON.
    pub fn schema_documents(&self) -> [&Value; 3] {
        [&self.update_json, &self.customer_json, &self.problem_json]
    }

    /// True when `doc` is a valid canonical Customer document.
    pub fn is_valid_customer(&self, doc: &Value) -> bool {
        self.customer.is_valid(doc)
    }

    /// True when the canonical member at `p` is a secret: write-only in the update schema (the
    /// password). Secrets never overflow into a bag and are never written to a log.
    pub fn is_secret(&self, p: &Pointer) -> bool {
        crate::schema::schema_node(&self.update_json, &self.update_json, p.segments())
            .is_some_and(|node| node.get("writeOnly") == Some(&Value::Bool(true)))
    }

    /// True when the canonical member at `p`, or an object holding it, is `readOnly` in the
    /// Customer schema: the backend sets it, no update does.
    pub fn is_read_only(&self, p: &Pointer) -> bool {
        let segments = p.segments();
        (1..=segments.len()).any(|depth| {
            crate::schema::schema_node(&self.customer_json, &self.customer_json, &segments[..depth])
                .is_some_and(|node| node.get("readOnly") == Some(&Value::Bool(true)))
        })
    }

    /// True when `problem` is valid canonical problem details.
    pub fn is_valid_problem(&self, problem: &Value) -> bool {
        self.problem.is_valid(problem)
    }
}

impl Side for Canonical {
    fn id(&self) -> &str {
        "canonical"
    }

    fn request_schema(&self) -> &Validator {
        &self.update
    }

    fn held_places(&self) -> &[String] {
        &self.held_places
    }

    fn messages(&self) -> &HashMap<String, String> {
        &self.messages
    }

    /// The detail lists each violation as `pointer: message`.
    fn problem(&self, kind: ErrorKind, errors: Vec<Violation>) -> Problem {
        let detail = errors
            .iter()
            .map(|v| {
                format!(
                    "{}: {}",
                    if v.pointer.is_empty() { "/" } else { &v.pointer },
                    v.message
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        Problem::new(kind, detail).with_errors(errors)
    }

    fn id_max_length(&self) -> usize {
        crate::id::DEFAULT_ID_MAX_LENGTH
    }

    fn id_pointer(&self) -> Pointer {
        Pointer::root()
    }

    /// The body is the patch; the id comes from the path.
    fn decode_request(&self, path_id: Option<&str>, body: &Value) -> Result<Decoded, Problem> {
        let Some(id) = path_id.filter(|id| !id.is_empty()) else {
            return Err(self.problem(
                ErrorKind::Validation,
                vec![Violation::new(
                    "",
                    "required",
                    "the customer id is required (in the path, or --id)",
                )],
            ));
        };
        Ok(Decoded {
            request: CanonicalRequest {
                id: id.to_owned(),
                patch: body.as_object().cloned().unwrap_or_default(),
            },
            unknown: Vec::new(),
            complete: Vec::new(),
            trail: Default::default(),
        })
    }

    fn encode_request(&self, _: &CanonicalRequest, _: &[Pointer]) -> Result<Expressed, Problem> {
        Ok(Expressed::AsPatch)
    }

    /// The canonical form has a place for every member.
    fn bag(&self) -> Option<&Pointer> {
        None
    }

    fn retrieve(&self, id: &str) -> Option<Outbound> {
        Some(Outbound {
            method: "GET".into(),
            path: format!("/customers/{}", crate::id::segment(id)),
            query: String::new(),
            content_type: "application/json",
            body: Value::Null,
            held: crate::HeldText::default(),
        })
    }

    fn source_pointer(&self, canonical: &str) -> String {
        canonical.to_owned()
    }

    fn source_pointers(&self, _: &str, _: &Map<String, Value>) -> Vec<String> {
        Vec::new()
    }

    fn outbound(&self, id: &str, body: Value) -> Outbound {
        Outbound {
            method: "PATCH".into(),
            path: format!("/customers/{}", crate::id::segment(id)),
            query: String::new(),
            content_type: "application/merge-patch+json",
            body,
            held: crate::HeldText::default(),
        }
    }

    /// The success body is the customer itself: nothing else of it comes along.
    fn read_answer(
        &self,
        _: Operation,
        status: u16,
        body: &[u8],
        _: (&Validator, bool),
    ) -> (Answer, Option<Value>) {
        let json = crate::parse::parse_strict(body, crate::parse::DEFAULT_MAX_DEPTH).ok();
        if (200..300).contains(&status) {
            let answer = match json {
                Some(doc) if self.customer.is_valid(&doc) => Answer::Customer(doc),
                _ => Answer::Problem(Problem::new(
                    ErrorKind::BadGateway,
                    "the upstream answered with something that is not a canonical Customer",
                )),
            };
            return (answer, None);
        }
        // Only the upstream's kind and words are kept: its own `status` member (or anything else
        // in its body) never decides what our caller is told.
        let parsed = json.and_then(|j| serde_json::from_value::<Problem>(j).ok());
        let kind = parsed
            .as_ref()
            .and_then(|p| {
                p.type_uri
                    .strip_prefix(Problem::TYPE_PREFIX)
                    .and_then(ErrorKind::from_name)
            })
            .unwrap_or_else(|| ErrorKind::from_status(status));
        let detail = parsed
            .map(|p| render::bounded(p.message(), render::MAX_UPSTREAM_MESSAGE).to_owned())
            .unwrap_or_else(|| format!("the upstream answered {status}"));
        (
            Answer::Problem(message::upstream_fault(Problem::new(kind, detail))),
            None,
        )
    }

    /// The Customer itself, without its write-only members.
    fn success_answer<'a>(
        &'a self,
        customer: &'a Value,
        _: &AnswerView<'a>,
    ) -> Result<(u16, Doc<'a>), Problem> {
        if customer.get("id").and_then(Value::as_str).is_none() {
            return Err(message::missing_id());
        }
        let mut doc = Doc::borrowing(customer);
        if let Doc::Object(members) = &mut doc {
            members.retain(|(k, _)| k != "password");
        }
        Ok((200, doc))
    }

    fn render_error(&self, _: Operation, problem: &Problem, _: Option<&str>) -> Rendered {
        Rendered {
            status: problem.status,
            content_type: "application/problem+json".into(),
            body: render::problem_json(problem),
        }
    }
}
