//! The translation pipeline between two sides, each the canonical form or a dialect:
//! validate → decode → check the id → encode → policy for requests; classify → decode → encode
//! for answers (each side's part in [`Side`]).

use dialectgate_canonical::{ErrorKind, Problem, Violation};
use serde_json::{Map, Value};

use crate::endpoint::{Expressed, Side, refusal};
use crate::engine::{CanonicalRequest, Decoded, Encoded};
use crate::pointer::Pointer;
use crate::render;
use crate::report::{DerivedField, Dropped, Fidelity, LossReason};
use crate::validate::MessageVars;

/// What to do when a translation would lose data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Refuse, naming the fields (default).
    #[default]
    Strict,
    /// Carry on and report what was derived or dropped.
    Lenient,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "strict" => Ok(Mode::Strict),
            "lenient" => Ok(Mode::Lenient),
            other => Err(format!("unknown mode `{other}` (strict or lenient)")),
        }
    }
}

/// A request as it goes to an upstream.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Outbound {
    pub method: String,
    pub path: String,
    pub content_type: &'static str,
    pub body: Value,
}

/// A translated request.
#[derive(Debug, Clone)]
pub struct Translation {
    /// The customer id.
    pub id: String,
    /// The request for the target. For a canonical target its body is the canonical merge
    /// patch itself (kept once, not copied).
    pub outbound: Outbound,
    pub fidelity: Fidelity,
}

/// An upstream's answer, understood.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The updated customer, as a canonical document.
    Customer(Value),
    /// An error, as a canonical problem.
    Problem(Problem),
}

/// Validates, decodes, checks the id, encodes and applies the policy: the whole request
/// translation (see [`crate::Registry::translate`]).
pub(crate) fn request(
    from: &dyn Side,
    to: &dyn Side,
    path_id: Option<&str>,
    body: &Value,
    mode: Mode,
) -> Result<Translation, Problem> {
    from.validate_request(body)?;
    let Decoded { request, unknown } = from.decode_request(path_id, body)?;
    check_id(from, to, &request.id)?;
    let expressed = to.encode_request(&request)?;
    let fidelity = restate(from, expressed.report(), &unknown, &request.patch);
    let CanonicalRequest { id, patch } = request;
    let body = expressed.into_body(patch);
    to.check_target(&body)?;
    if mode == Mode::Strict && !fidelity.dropped.is_empty() {
        return Err(lossy_problem(from, to, &fidelity));
    }
    Ok(Translation {
        outbound: to.outbound(&id, body),
        id,
        fidelity,
    })
}

/// Encodes a canonical request for `to`, checked against `to`'s own request schema (see
/// [`crate::Registry::encode_request`]).
pub(crate) fn encode(to: &dyn Side, request: &CanonicalRequest) -> Result<Encoded, Problem> {
    let encoded = match to.encode_request(request)? {
        Expressed::AsPatch => Encoded {
            body: Value::Object(request.patch.clone()),
            report: Fidelity::default(),
        },
        Expressed::Encoded(encoded) => encoded,
    };
    to.check_target(&encoded.body)?;
    Ok(encoded)
}

/// Ids are opaque: at most the shorter of the two sides' limits, no control characters, not a
/// dot segment. Refused as the caller's validation error, pointing where the caller put the id.
fn check_id(from: &dyn Side, to: &dyn Side, id: &str) -> Result<(), Problem> {
    let max_len = from.id_max_length().min(to.id_max_length());
    if crate::id::check(id, max_len).is_ok() {
        return Ok(());
    }
    Err(from.refuse(
        ErrorKind::Validation,
        MessageVars {
            limit: Some(max_len.to_string()),
            ..refusal("invalid_id", from.id_pointer())
        },
    ))
}

/// The encoder's `report` (canonical pointers) restated in the caller's terms, with the caller's
/// `unknown` members (no rule carries them) dropped first.
fn restate(from: &dyn Side, report: &Fidelity, unknown: &[String], patch: &Map<String, Value>) -> Fidelity {
    let mut dropped: Vec<Dropped> = unknown
        .iter()
        .map(|p| Dropped {
            pointer: p.clone(),
            reason: LossReason::NoTarget,
        })
        .collect();
    for lost in &report.dropped {
        // One lost canonical object may have been fed by several of the caller's members: name
        // every one of them, or the report would hide some of the loss.
        let pointers = from.source_pointers(&lost.pointer, patch);
        if pointers.is_empty() {
            dropped.push(lost.clone());
        }
        for pointer in pointers {
            if !dropped
                .iter()
                .any(|d| d.pointer == pointer && d.reason == lost.reason)
            {
                dropped.push(Dropped {
                    pointer,
                    reason: lost.reason,
                });
            }
        }
    }
    let derived = report
        .derived
        .iter()
        .map(|d| DerivedField {
            target: d.target.clone(),
            from: d.from.iter().map(|f| from.source_pointer(f)).collect(),
        })
        .collect();
    Fidelity { derived, dropped }
}

/// Strict mode: every dropped member refused, in the caller's words.
fn lossy_problem(from: &dyn Side, to: &dyn Side, fidelity: &Fidelity) -> Problem {
    let errors: Vec<Violation> = fidelity
        .dropped
        .iter()
        .map(|d| {
            from.violation(MessageVars {
                target: Some(to.id().to_owned()),
                ..refusal(d.reason.code(), Pointer::parse(&d.pointer).unwrap_or_default())
            })
        })
        .collect();
    from.problem(ErrorKind::Untranslatable, errors)
}

/// A fault of the upstream server (its 500) is a bad gateway for our caller, never our own 500.
pub(crate) fn upstream_fault(problem: Problem) -> Problem {
    if problem.kind() == ErrorKind::Internal {
        Problem::new(ErrorKind::BadGateway, problem.message().to_owned())
    } else {
        problem
    }
}

/// An upstream answer that does not say which customer it is.
pub(crate) fn missing_id() -> Problem {
    Problem::new(
        ErrorKind::BadGateway,
        "the upstream's answer does not identify the customer",
    )
}

/// Fills the token endpoint's body template for a token issued by the gateway: `$access_token`,
/// `$expires_in` (its lifetime in seconds, as the gateway enforces it) and `$expires` (the Unix
/// epoch second it stops working).
pub fn token_body(
    endpoint: &crate::dialect::TokenEndpoint,
    access_token: &str,
    expires_in: u64,
    expires_epoch: u64,
) -> Value {
    let mut vars = Map::new();
    vars.insert("access_token".into(), Value::String(access_token.to_owned()));
    vars.insert("expires".into(), Value::from(expires_epoch));
    vars.insert("expires_in".into(), Value::from(expires_in));
    render::fill_token(&endpoint.body, &vars)
}
