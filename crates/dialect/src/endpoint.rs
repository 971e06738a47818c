//! One side of a translation, the canonical form or a dialect, and the one interface both
//! present ([`Side`]), so the pipeline asks what a side does and never which side it has.

use std::collections::HashMap;
use std::sync::Arc;

use dialectgate_canonical::{ErrorKind, Problem, Violation};
use jsonschema::Validator;
use serde_json::{Map, Value};

use crate::canonical::Canonical;
use crate::dialect::Dialect;
use crate::engine::{AnswerView, CanonicalRequest, Decoded, Encoded};
use crate::matrix::{DerivedLeaf, Leaf};
use crate::message::{Answer, Outbound};
use crate::pointer::Pointer;
use crate::registry::Registry;
use crate::render::Rendered;
use crate::report::Fidelity;
use crate::validate::{self, MessageVars};

/// One side of a translation.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// The canonical form (merge patch in, Customer out, problem details for errors).
    Canonical,
    /// A vendor dialect.
    Dialect(Arc<Dialect>),
}

impl Endpoint {
    /// The endpoint id (`canonical` or the dialect id).
    pub fn id(&self) -> &str {
        match self {
            Endpoint::Canonical => "canonical",
            Endpoint::Dialect(d) => d.id(),
        }
    }

    /// Canonical pointers of the members this side's backends assign themselves (see
    /// `[response] volatile`).
    pub fn volatile(&self) -> Vec<String> {
        match self {
            Endpoint::Canonical => crate::canonical::CANONICAL_VOLATILE
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
            Endpoint::Dialect(d) => d.response.volatile.iter().map(ToString::to_string).collect(),
        }
    }

    /// Whether this side's success answers say which customer they are about: the canonical
    /// Customer has its `id`; a dialect, when a response rule maps the canonical `/id`. The
    /// gateway compares that id with the one it asked for; a side whose answers carry none
    /// cannot be checked.
    pub fn answer_carries_id(&self) -> bool {
        match self {
            Endpoint::Canonical => true,
            Endpoint::Dialect(d) => d.response.rules.iter().any(|r| r.canonical.segments() == ["id"]),
        }
    }

    /// The dialect, unless canonical.
    pub fn dialect(&self) -> Option<&Arc<Dialect>> {
        match self {
            Endpoint::Canonical => None,
            Endpoint::Dialect(d) => Some(d),
        }
    }

    /// What this endpoint does, with the canonical schemas of `registry`: the one dispatch.
    pub(crate) fn side<'a>(&'a self, registry: &'a Registry) -> &'a dyn Side {
        match self {
            Endpoint::Canonical => registry.canonical(),
            Endpoint::Dialect(d) => &**d,
        }
    }
}

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

    /// The body, taking `patch` when the body is the patch itself.
    pub(crate) fn into_body(self, patch: Map<String, Value>) -> Value {
        match self {
            Expressed::AsPatch => Value::Object(patch),
            Expressed::Encoded(e) => e.body,
        }
    }
}

/// Everything the translation pipeline asks of a side. Implemented by [`Canonical`] and
/// [`Dialect`].
pub(crate) trait Side {
    /// `canonical` or the dialect id.
    fn id(&self) -> &str;

    /// The schema of this side's request bodies.
    fn request_schema(&self) -> &Validator;

    /// The violation message templates, by code (the canonical form has none: the default
    /// messages).
    fn messages(&self) -> &HashMap<String, String>;

    /// A problem made of `errors`, its detail in this side's words.
    fn problem(&self, kind: ErrorKind, errors: Vec<Violation>) -> Problem;

    /// The longest customer id this side accepts, in bytes.
    fn id_max_length(&self) -> usize;

    /// Where this side's callers put the customer id in the body (the root when in the path).
    fn id_pointer(&self) -> Pointer;

    /// Decodes a request body (already validated) into the canonical request; `path_id` is the
    /// id from the path, when the route has one.
    fn decode_request(&self, path_id: Option<&str>, body: &Value) -> Result<Decoded, Problem>;

    /// Expresses a canonical request for this side (before the target check, [`Side::check_target`]);
    /// `complete` lists the objects and maps filled from the stored customer.
    fn encode_request(&self, request: &CanonicalRequest, complete: &[Pointer]) -> Result<Expressed, Problem>;

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

    /// Understands this side's upstream answer; what is passed on is checked against the
    /// canonical Customer schema of `canonical`.
    fn read_answer(&self, status: u16, body: &[u8], canonical: &Canonical) -> Answer;

    /// A canonical Customer as this side's success answer: (status, body), shaped by `view`.
    fn encode_answer(&self, customer: &Value, view: &AnswerView<'_>) -> Result<(u16, Value), Problem>;

    /// `problem` as this side's error answer.
    fn render_error(&self, problem: &Problem, id: Option<&str>) -> Rendered;

    /// The leaves of this side's request body (for the fidelity matrix).
    fn request_leaves(&self) -> Vec<Leaf>;

    /// The canonical members this side derives request members from (for the fidelity matrix).
    fn derived_sources(&self) -> Vec<DerivedLeaf>;

    /// What this side's requests need from the stored customer (for the fidelity matrix).
    fn fill_needs(&self) -> crate::matrix::FillNeeds {
        crate::matrix::FillNeeds::default()
    }

    /// A violation, its message from this side's templates.
    fn violation(&self, vars: MessageVars) -> Violation {
        validate::violation(self.messages(), &vars)
    }

    /// A refusal: one violation (see [`refusal`]) as a problem of `kind`.
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

/// The message variables refusing the member at `pointer` with `code`; add what the message
/// needs (`MessageVars { target: …, ..refusal(code, pointer) }`) and pass them to
/// [`Side::refuse`].
pub(crate) fn refusal(code: &str, pointer: Pointer) -> MessageVars {
    MessageVars {
        code: code.to_owned(),
        at: pointer.clone(),
        pointer,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::source::Source;

    /// The id rule every shipped definition has (vendor docs: each vendor's customer answer
    /// carries the customer's `id`).
    const ID_RULE: &str = "[[fields]]\ndialect = \"/id\"\ncanonical = \"/id\"\non = \"response\"\n";

    #[test]
    fn an_answer_carries_the_id_where_a_response_rule_maps_it() {
        let reg = Registry::embedded().unwrap();
        for id in [
            "canonical",
            "axim",
            "checkoutpage",
            "elasticpath",
            "medusa",
            "microbase",
        ] {
            assert!(reg.endpoint(id).unwrap().answer_carries_id(), "{id}");
        }
        let dir = std::env::temp_dir().join(format!("dialectgate-noid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/dialects/checkoutpage.toml");
        let text = std::fs::read_to_string(shipped).unwrap();
        assert!(text.contains(ID_RULE));
        // Its `volatile` list names the id's dialect member too.
        let edited = text
            .replacen(ID_RULE, "", 1)
            .replacen(r#"volatile = ["/id", "#, r#"volatile = ["#, 1);
        std::fs::write(dir.join("checkoutpage.toml"), edited).unwrap();
        let reg = Registry::from_sources(&Source::Dir(dir.clone()), &Source::Embedded).unwrap();
        assert!(!reg.endpoint("checkoutpage").unwrap().answer_carries_id());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
