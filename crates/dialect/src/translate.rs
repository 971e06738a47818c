//! The translation pipeline over two endpoints, each the canonical form or a dialect:
//! validate → decode → policy → encode for requests; classify → decode → encode for answers.

use std::sync::Arc;

use dialectgate_canonical::{ErrorKind, Problem, Violation};
use serde_json::{Map, Value};

use crate::dialect::Dialect;
use crate::engine::{CanonicalRequest, Encoded, LossReason, Report};
use crate::pointer::Pointer;
use crate::registry::Registry;
use crate::render::{self, Rendered};
use crate::validate::{self, MessageVars};

/// One side of a translation.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// The canonical form (merge patch in, Customer out, problem details for errors).
    Canonical,
    /// A vendor dialect.
    Dialect(Arc<Dialect>),
}

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

/// A member of the caller's body that did not make it, in the caller's terms.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Dropped {
    /// Pointer into the caller's body.
    pub pointer: String,
    pub reason: LossReason,
}

/// A member of the target computed from the caller's members.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DerivedField {
    /// Pointer into the target body.
    pub target: String,
    /// Pointers into the caller's body.
    pub from: Vec<String>,
}

/// What a translation did, in the caller's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Fidelity {
    pub derived: Vec<DerivedField>,
    pub dropped: Vec<Dropped>,
}

impl Fidelity {
    /// True when everything was carried as is.
    pub fn is_exact(&self) -> bool {
        self.derived.is_empty() && self.dropped.is_empty()
    }
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

impl Registry {
    /// The endpoint named `id` (`canonical` or a dialect id).
    pub fn endpoint(&self, id: &str) -> Option<Endpoint> {
        if id == "canonical" {
            return Some(Endpoint::Canonical);
        }
        self.dialect(id).cloned().map(Endpoint::Dialect)
    }

    /// Validates a request body against the endpoint's request schema.
    ///
    /// # Errors
    /// A validation problem listing every violation with a pointer into `body`.
    pub fn validate_request(&self, from: &Endpoint, body: &Value) -> Result<(), Problem> {
        let (validator, templates) = match from {
            Endpoint::Canonical => (&self.canonical.update, None),
            Endpoint::Dialect(d) => (&d.schemas.request, Some(&d.errors.messages)),
        };
        let empty = std::collections::HashMap::new();
        validate::violations(validator, body, templates.unwrap_or(&empty)).map_err(|errors| match from {
            Endpoint::Dialect(d) => d.problem(ErrorKind::Validation, errors),
            Endpoint::Canonical => canonical_problem(ErrorKind::Validation, errors),
        })
    }

    /// Validates, decodes, applies the policy and encodes: the whole request translation.
    ///
    /// # Errors
    /// A problem in canonical terms with pointers into the caller's body: validation,
    /// untranslatable (strict mode losses, unmapped enums, required-on-write), or a path/body id
    /// mismatch.
    pub fn translate(
        &self,
        from: &Endpoint,
        to: &Endpoint,
        path_id: Option<&str>,
        body: &Value,
        mode: Mode,
    ) -> Result<Translation, Problem> {
        self.validate_request(from, body)?;
        let (canonical, unknown) = match from {
            Endpoint::Canonical => {
                let Some(id) = path_id.filter(|id| !id.is_empty()) else {
                    return Err(canonical_problem(
                        ErrorKind::Validation,
                        vec![Violation::new(
                            "",
                            "required",
                            "the customer id is required (in the path, or --id)",
                        )],
                    ));
                };
                let patch = body.as_object().cloned().unwrap_or_default();
                (
                    CanonicalRequest {
                        id: id.to_owned(),
                        patch,
                    },
                    Vec::new(),
                )
            }
            Endpoint::Dialect(d) => {
                let decoded = d.decode_request(path_id, body)?;
                (decoded.request, decoded.unknown)
            }
        };
        check_id(from, to, &canonical.id)?;
        let (out, fidelity) = match to {
            // The hot path towards a canonical upstream: the patch moves, it is not copied.
            Endpoint::Canonical => {
                let body = self.canonical_body(canonical.patch)?;
                (body, fidelity(from, &Report::default(), &unknown, &Map::new()))
            }
            Endpoint::Dialect(_) => {
                let Encoded { body, report } = self.encode_request(to, &canonical)?;
                (body, fidelity(from, &report, &unknown, &canonical.patch))
            }
        };
        if mode == Mode::Strict && !fidelity.dropped.is_empty() {
            return Err(lossy_problem(from, to, &fidelity));
        }
        let outbound = outbound(to, &canonical.id, out);
        Ok(Translation {
            id: canonical.id,
            outbound,
            fidelity,
        })
    }

    /// A canonical patch as the body for a canonical upstream, checked against the canonical
    /// update schema: dialect schemas are looser (a lower-case country code, say), and a
    /// canonical upstream only ever receives a valid canonical update.
    fn canonical_body(&self, patch: Map<String, Value>) -> Result<Value, Problem> {
        let body = Value::Object(patch);
        if let Err(errors) =
            validate::violations(&self.canonical.update, &body, &std::collections::HashMap::new())
        {
            let errors = errors
                .into_iter()
                .map(|v| Violation {
                    message: format!("canonical: {}", v.message),
                    code: "target_invalid".into(),
                    ..v
                })
                .collect();
            return Err(canonical_problem(ErrorKind::Untranslatable, errors));
        }
        Ok(body)
    }

    /// Encodes a canonical request for `to`, checking the result against `to`'s own schema.
    ///
    /// # Errors
    /// Untranslatable when `to` cannot express the request.
    pub fn encode_request(&self, to: &Endpoint, canonical: &CanonicalRequest) -> Result<Encoded, Problem> {
        match to {
            Endpoint::Canonical => Ok(Encoded {
                body: self.canonical_body(canonical.patch.clone())?,
                report: Report::default(),
            }),
            Endpoint::Dialect(d) => {
                let encoded = d.encode_request(canonical)?;
                // A translation the target itself would reject is not a translation.
                if let Err(errors) =
                    validate::violations(&d.schemas.request, &encoded.body, &d.errors.messages)
                {
                    let errors = errors
                        .into_iter()
                        .map(|v| Violation {
                            message: format!("{}: {}", d.id(), v.message),
                            code: "target_invalid".into(),
                            ..v
                        })
                        .collect();
                    return Err(d.problem(ErrorKind::Untranslatable, errors));
                }
                Ok(encoded)
            }
        }
    }

    /// Understands an upstream answer from `upstream`.
    pub fn read_answer(&self, upstream: &Endpoint, status: u16, body: &[u8]) -> Answer {
        let json = crate::parse::parse_strict(body, crate::parse::DEFAULT_MAX_DEPTH).ok();
        match upstream {
            Endpoint::Canonical => {
                if (200..300).contains(&status) {
                    match json {
                        Some(doc) if self.canonical.customer.is_valid(&doc) => Answer::Customer(doc),
                        _ => Answer::Problem(Problem::new(
                            ErrorKind::BadGateway,
                            "the upstream answered with something that is not a canonical Customer",
                        )),
                    }
                } else {
                    // Only the upstream's kind and words are kept: its own `status` member (or
                    // anything else in its body) never decides what our caller is told.
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
                    Answer::Problem(upstream_fault(Problem::new(kind, detail)))
                }
            }
            Endpoint::Dialect(d) => {
                if (200..300).contains(&status)
                    && let Some(doc) = json.as_ref().filter(|j| d.is_success_body(j))
                {
                    if !d.schemas.response.is_valid(doc) {
                        return Answer::Problem(Problem::new(
                            ErrorKind::BadGateway,
                            format!(
                                "the upstream's answer does not match the {} response schema",
                                d.id()
                            ),
                        ));
                    }
                    return match d.decode_response(doc) {
                        // Vendor schemas are looser than the canonical one (free-form dates,
                        // country codes): what is passed on must be a canonical Customer.
                        Ok(customer) if self.canonical.customer.is_valid(&customer) => {
                            Answer::Customer(customer)
                        }
                        Ok(_) => Answer::Problem(Problem::new(
                            ErrorKind::BadGateway,
                            format!("the upstream's {} answer does not make a valid customer", d.id()),
                        )),
                        Err(_) => Answer::Problem(Problem::new(
                            ErrorKind::BadGateway,
                            "the upstream's answer could not be decoded",
                        )),
                    };
                }
                Answer::Problem(upstream_fault(d.classify_error(status, body)))
            }
        }
    }

    /// Encodes a canonical Customer as `to`'s success answer: (status, body).
    ///
    /// # Errors
    /// When a value has no equivalent in `to`.
    pub fn encode_answer(&self, to: &Endpoint, customer: &Value) -> Result<(u16, Value), Problem> {
        let missing_id = || {
            Problem::new(
                ErrorKind::BadGateway,
                "the upstream's answer does not identify the customer",
            )
        };
        match to {
            Endpoint::Canonical => {
                if customer.get("id").and_then(Value::as_str).is_none() {
                    return Err(missing_id());
                }
                Ok((200, strip_write_only(customer)))
            }
            Endpoint::Dialect(d) => {
                let body = d.encode_response(customer)?;
                // Never answer a caller with something its own vendor would not send.
                if !d.schemas.response.is_valid(&body) {
                    return Err(if customer.get("id").is_none() {
                        missing_id()
                    } else {
                        Problem::new(
                            ErrorKind::BadGateway,
                            format!("the upstream's answer cannot be expressed as a {} answer", d.id()),
                        )
                    });
                }
                Ok((d.success_status(), body))
            }
        }
    }

    /// Renders `problem` as `to`'s error answer.
    pub fn render_error(&self, to: &Endpoint, problem: &Problem, id: Option<&str>) -> Rendered {
        match to {
            Endpoint::Canonical => Rendered {
                status: problem.status,
                content_type: "application/problem+json".into(),
                body: render::problem_json(problem),
            },
            Endpoint::Dialect(d) => d.render_error(problem, id),
        }
    }
}

impl Endpoint {
    /// The endpoint id (`canonical` or the dialect id).
    pub fn id(&self) -> &str {
        match self {
            Endpoint::Canonical => "canonical",
            Endpoint::Dialect(d) => d.id(),
        }
    }

    /// The dialect, unless canonical.
    pub fn dialect(&self) -> Option<&Arc<Dialect>> {
        match self {
            Endpoint::Canonical => None,
            Endpoint::Dialect(d) => Some(d),
        }
    }
}

/// The request line and body for `to`.
pub fn outbound(to: &Endpoint, id: &str, body: Value) -> Outbound {
    match to {
        Endpoint::Canonical => Outbound {
            method: "PATCH".into(),
            path: format!("/customers/{}", crate::id::segment(id)),
            content_type: "application/merge-patch+json",
            body,
        },
        Endpoint::Dialect(d) => Outbound {
            method: d.route().method.clone(),
            path: d.path_for(id),
            content_type: "application/json",
            body,
        },
    }
}

/// Ids are opaque: at most the shorter of the two sides' limits, no control characters, not a
/// dot segment. Refused as the caller's validation error, pointing where the caller put the id.
fn check_id(from: &Endpoint, to: &Endpoint, id: &str) -> Result<(), Problem> {
    let limit = |e: &Endpoint| {
        e.dialect()
            .map_or(crate::id::DEFAULT_ID_MAX_LENGTH, |d| d.route().id_max_length)
    };
    let max_len = limit(from).min(limit(to));
    if crate::id::check(id, max_len).is_ok() {
        return Ok(());
    }
    let vars = |pointer: Pointer| MessageVars {
        code: "invalid_id".into(),
        at: pointer.clone(),
        pointer,
        limit: Some(max_len.to_string()),
        ..Default::default()
    };
    Err(match from {
        Endpoint::Dialect(d) => {
            let pointer = d.route().id_in_body.clone().unwrap_or_default();
            d.problem(ErrorKind::Validation, vec![d.violation(vars(pointer))])
        }
        Endpoint::Canonical => canonical_problem(
            ErrorKind::Validation,
            vec![validate::violation(
                &std::collections::HashMap::new(),
                &vars(Pointer::root()),
            )],
        ),
    })
}

fn canonical_problem(kind: ErrorKind, errors: Vec<Violation>) -> Problem {
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

fn to_source(from: &Endpoint, canonical: &str) -> String {
    match from {
        Endpoint::Canonical => canonical.to_owned(),
        Endpoint::Dialect(d) => d
            .source_pointer(canonical)
            .unwrap_or_else(|| canonical.to_owned()),
    }
}

fn fidelity(from: &Endpoint, report: &Report, unknown: &[String], patch: &Map<String, Value>) -> Fidelity {
    let mut dropped: Vec<Dropped> = unknown
        .iter()
        .map(|p| Dropped {
            pointer: p.clone(),
            reason: LossReason::NoTarget,
        })
        .collect();
    for l in &report.lost {
        // One lost canonical object may have been fed by several of the caller's members: name
        // every one of them, or the report would hide some of the loss.
        let pointers = match from {
            Endpoint::Canonical => Vec::new(),
            Endpoint::Dialect(d) => d.source_pointers(&l.canonical, patch),
        };
        if pointers.is_empty() {
            dropped.push(Dropped {
                pointer: l.canonical.clone(),
                reason: l.reason,
            });
        }
        for pointer in pointers {
            if !dropped
                .iter()
                .any(|d| d.pointer == pointer && d.reason == l.reason)
            {
                dropped.push(Dropped {
                    pointer,
                    reason: l.reason,
                });
            }
        }
    }
    let derived = report
        .derived
        .iter()
        .map(|d| DerivedField {
            target: d.target.clone(),
            from: d.from.iter().map(|f| to_source(from, f)).collect(),
        })
        .collect();
    Fidelity { derived, dropped }
}

fn lossy_problem(from: &Endpoint, to: &Endpoint, fidelity: &Fidelity) -> Problem {
    let errors: Vec<Violation> = fidelity
        .dropped
        .iter()
        .map(|d| {
            let pointer = crate::pointer::Pointer::parse(&d.pointer).unwrap_or_default();
            let vars = MessageVars {
                code: d.reason.code().to_owned(),
                at: pointer.clone(),
                pointer,
                target: Some(to.id().to_owned()),
                ..Default::default()
            };
            match from {
                Endpoint::Dialect(dialect) => dialect.violation(vars),
                Endpoint::Canonical => validate::violation(&std::collections::HashMap::new(), &vars),
            }
        })
        .collect();
    match from {
        Endpoint::Dialect(d) => d.problem(ErrorKind::Untranslatable, errors),
        Endpoint::Canonical => canonical_problem(ErrorKind::Untranslatable, errors),
    }
}

/// A fault of the upstream server (its 500) is a bad gateway for our caller, never our own 500.
fn upstream_fault(problem: Problem) -> Problem {
    if problem.kind() == ErrorKind::Internal {
        Problem::new(ErrorKind::BadGateway, problem.message().to_owned())
    } else {
        problem
    }
}

/// Write-only members never leave in an answer.
fn strip_write_only(customer: &Value) -> Value {
    let mut doc = customer.clone();
    if let Value::Object(map) = &mut doc {
        map.remove("password");
    }
    doc
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
