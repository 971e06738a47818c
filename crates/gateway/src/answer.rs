//! The answer phase: the upstream's answer becomes the caller's, in the caller's dialect
//! (status, body, the fidelity header of a lenient translation), and a [`Failure`] becomes the
//! caller's dialect's error. Requests no dialect claims are answered in plain problem details.

use std::time::{Duration, Instant};

use bytes::Bytes;
use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{Answer, Dialect, Endpoint, Fidelity, Operation, Registry};
use http::{HeaderName, HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use serde_json::Value;

use crate::config::CredentialMode;
use crate::outcome::{Failure, Outcome};
use crate::route;

/// Lists what a lenient translation derived or dropped.
pub const X_FIDELITY: HeaderName = HeaderName::from_static("x-dialectgate-fidelity");

/// The updated customer in the upstream's answer, or why there is none. In static mode an
/// upstream that refuses the gateway's own credential is the gateway's configuration fault,
/// not something the caller can fix: 502, and an error in the log.
pub(crate) fn customer(
    answer: Answer,
    mode: CredentialMode,
    request_id: &str,
    id: &str,
) -> Result<Value, Failure> {
    match answer {
        Answer::Customer(doc) => Ok(doc),
        Answer::Problem(p)
            if mode == CredentialMode::Static
                && matches!(p.kind(), ErrorKind::Unauthorized | ErrorKind::Forbidden) =>
        {
            tracing::error!(
                request_id,
                status = p.status,
                "The upstream refused the gateway's credential."
            );
            let problem = Problem::new(
                ErrorKind::BadGateway,
                "the upstream refused the gateway's credential",
            );
            Err(Failure::new(Outcome::UpstreamAuth, problem).about(Some(id.to_owned())))
        }
        Answer::Problem(p) => Err(Failure::new(Outcome::UpstreamRefused, p).about(Some(id.to_owned()))),
    }
}

/// What shapes a success answer besides the customer: the caller's query string (a dialect's
/// `expand`), and the upstream with its body as it came (a same-dialect upstream's members pass
/// through).
pub(crate) struct Shaping<'a> {
    pub(crate) query: &'a str,
    pub(crate) upstream: &'a Endpoint,
    pub(crate) body: Option<&'a [u8]>,
}

/// The caller's answer to `operation` for `customer`, and the time spent encoding it.
pub(crate) fn success(
    registry: &Registry,
    (operation, caller): (Operation, &Endpoint),
    customer: &Value,
    fidelity: &Fidelity,
    id: &str,
    shaping: &Shaping<'_>,
) -> Result<(Response<Full<Bytes>>, Duration), Failure> {
    let started = Instant::now();
    let upstream = shaping.body.map(|body| (shaping.upstream, body));
    let (status, out) = registry
        .encode_answer_for(operation, caller, customer, shaping.query, upstream)
        .map_err(|p| Failure::new(Outcome::UntranslatableAnswer, p).about(Some(id.to_owned())))?;
    let mut rsp = json_response(
        status,
        "application/json",
        serde_json::to_vec(&out).unwrap_or_default(),
    );
    let encode_time = started.elapsed();
    if !fidelity.is_exact()
        && let Ok(v) = HeaderValue::from_str(&fidelity_header(fidelity))
    {
        rsp.headers_mut().insert(X_FIDELITY, v);
    }
    Ok((rsp, encode_time))
}

/// `failure` in the error shape of `dialect` (the caller's), naming the customer the request
/// was about (else the one in its path).
pub(crate) fn refusal(
    registry: &Registry,
    dialect: &Dialect,
    caller: &Endpoint,
    failure: &Failure,
    (path, path_id): (&str, Option<&str>),
) -> Response<Full<Bytes>> {
    let id = failure.id.as_deref().or(path_id);
    let rendered = registry.render_error(caller, &failure.problem, id);
    let mut rsp = json_response(rendered.status, &rendered.content_type, rendered.body);
    if failure.problem.kind() == ErrorKind::Overloaded {
        rsp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    if failure.outcome == Outcome::MethodNotAllowed
        && let Some(allow) = route::allow(dialect, path)
    {
        rsp.headers_mut().insert(header::ALLOW, allow);
    }
    rsp
}

fn fidelity_header(f: &Fidelity) -> String {
    let mut parts = Vec::new();
    if !f.derived.is_empty() {
        let derived: Vec<String> = f
            .derived
            .iter()
            .map(|d| format!("{}<-{}", d.target, d.from.join("+")))
            .collect();
        parts.push(format!("derived={}", derived.join(",")));
    }
    if !f.dropped.is_empty() {
        let dropped: Vec<String> = f
            .dropped
            .iter()
            .map(|d| format!("{}({})", d.pointer, d.reason.code()))
            .collect();
        parts.push(format!("dropped={}", dropped.join(",")));
    }
    if !f.filled.is_empty() {
        let filled: Vec<String> = f
            .filled
            .iter()
            .map(|d| format!("{}({})", d.pointer, d.reason.as_str()))
            .collect();
        parts.push(format!("filled={}", filled.join(",")));
    }
    if !f.overflow.is_empty() {
        let overflow: Vec<String> = f
            .overflow
            .iter()
            .map(|o| format!("{}->{}", o.pointer, o.key))
            .collect();
        parts.push(format!("overflow={}", overflow.join(",")));
    }
    parts.join("; ")
}

/// The answer to a request whose handler failed unexpectedly: no detail leaves the gateway.
pub(crate) fn internal_error() -> Response<Full<Bytes>> {
    plain_problem(&Problem::new(
        ErrorKind::Internal,
        "the gateway failed to handle the request",
    ))
}

/// `problem` as plain problem details (no dialect claimed the request).
pub(crate) fn plain_problem(problem: &Problem) -> Response<Full<Bytes>> {
    json_response(
        problem.status,
        "application/problem+json",
        dialectgate_dialect::problem_json(problem),
    )
}

pub(crate) fn json_response(status: u16, content_type: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut rsp = Response::new(Full::new(Bytes::from(body)));
    *rsp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        rsp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    rsp
}
