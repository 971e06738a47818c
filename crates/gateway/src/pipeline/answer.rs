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

use crate::candidate::digest::Member;
use crate::config::CredentialMode;
use crate::json_text;
use crate::metrics::Metrics;
use crate::outcome::{Failure, Outcome};
use crate::pipeline::route;

/// Lists what a lenient translation derived or dropped.
pub const X_FIDELITY: HeaderName = HeaderName::from_static("x-dialectgate-fidelity");

/// The customer in `upstream`'s answer to a call about customer `id`, or why there is none.
/// In static mode an upstream that refuses the gateway's own credential is the gateway's
/// configuration fault, not something the caller can fix: 502, and an error in the log. An
/// answer about another customer is refused ([`check_id`]).
pub(crate) fn customer(
    answer: Answer,
    mode: CredentialMode,
    request_id: &str,
    id: &str,
    upstream: &Endpoint,
    metrics: &Metrics,
) -> Result<Value, Failure> {
    match answer {
        Answer::Customer(doc) => {
            check_id(&doc, id, upstream, metrics, request_id)?;
            Ok(doc)
        }
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

/// Refuses a customer decoded from `upstream`'s answer whose canonical `id` is not `asked`, the
/// id the call was about, when `upstream`'s answers carry the id at all
/// ([`Endpoint::answer_carries_id`]): a wrong retrieve call in a definition, an upstream bug or
/// a cache in between must not hand one customer's record to a caller who asked for another,
/// nor fill a write from it. 502 in the caller's dialect, counted as
/// `upstream_errors_total{kind="id_mismatch"}`, and logged with keyed hashes of both ids, never
/// the ids.
fn check_id(
    customer: &Value,
    asked: &str,
    upstream: &Endpoint,
    metrics: &Metrics,
    request_id: &str,
) -> Result<(), Failure> {
    let answered = customer.get("id");
    if !upstream.answer_carries_id() || answered.and_then(Value::as_str) == Some(asked) {
        return Ok(());
    }
    metrics.upstream_error(upstream.id(), "id_mismatch");
    let asked_hash = Member::hashed(&asked);
    let answered_hash = answered.map_or_else(|| "none".to_owned(), Member::hashed);
    tracing::error!(
        request_id,
        upstream = upstream.id(),
        asked = asked_hash.as_str(),
        answered = answered_hash.as_str(),
        "The upstream answered about another customer than the one asked for."
    );
    let problem = Problem::new(
        ErrorKind::BadGateway,
        "the upstream answered about another customer than the one asked for",
    );
    Err(Failure::new(Outcome::UpstreamError, problem).about(Some(asked.to_owned())))
}

/// What shapes a success answer besides the customer: the caller's query string (a dialect's
/// `expand`), and the body of an upstream speaking the caller's dialect as parsed
/// (`Understood::body`: its members pass through).
pub(crate) struct Shaping<'a> {
    pub(crate) query: &'a str,
    pub(crate) body: Option<&'a Value>,
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
    let (status, out) = registry
        .encode_answer_for(operation, caller, customer, shaping.query, shaping.body)
        .map_err(|p| Failure::new(Outcome::UntranslatableAnswer, p).about(Some(id.to_owned())))?;
    let mut rsp = json_response(status, "application/json", json_text::exact_value(&out));
    let encode_time = started.elapsed();
    if !fidelity.is_exact()
        && let Ok(v) = HeaderValue::from_str(&fidelity_header(fidelity))
    {
        rsp.headers_mut().insert(X_FIDELITY, v);
    }
    Ok((rsp, encode_time))
}

/// `failure` in the error shape of `dialect` (the caller's) for a caller of `operation`, naming
/// the customer the request was about (else the one in its path).
pub(crate) fn refusal(
    registry: &Registry,
    (dialect, operation): (&Dialect, Operation),
    caller: &Endpoint,
    failure: &Failure,
    (path, path_id): (&str, Option<&str>),
) -> Response<Full<Bytes>> {
    let id = failure.id.as_deref().or(path_id);
    let rendered = registry.render_error_to(operation, caller, &failure.problem, id);
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

/// `derived=…; dropped=…; filled=…; overflow=…` (the parts that have entries), written into one
/// string: a lenient or derived translation pays for it on every request.
fn fidelity_header(f: &Fidelity) -> String {
    let mut out = String::with_capacity(128);
    header_part(&mut out, "derived", &f.derived, |d, out| {
        out.push_str(&d.target);
        out.push_str("<-");
        for (j, from) in d.from.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            out.push_str(from);
        }
    });
    header_part(&mut out, "dropped", &f.dropped, |d, out| {
        out.push_str(&d.pointer);
        out.push('(');
        out.push_str(d.reason.code());
        out.push(')');
    });
    header_part(&mut out, "filled", &f.filled, |d, out| {
        out.push_str(&d.pointer);
        out.push('(');
        out.push_str(d.reason.as_str());
        out.push(')');
    });
    header_part(&mut out, "overflow", &f.overflow, |o, out| {
        out.push_str(&o.pointer);
        out.push_str("->");
        out.push_str(&o.key);
    });
    header_part(&mut out, "unchecked", &f.unchecked, |p, out| out.push_str(p));
    out
}

/// One part of the fidelity header, `name=a,b,…`, after a `; ` when a part came before it;
/// nothing when `items` is empty.
fn header_part<T>(out: &mut String, name: &str, items: &[T], write: impl Fn(&T, &mut String)) {
    for (i, item) in items.iter().enumerate() {
        if i == 0 {
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(name);
            out.push('=');
        } else {
            out.push(',');
        }
        write(item, out);
    }
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
    // Most answers are JSON: that value is a constant, neither copied nor checked per answer.
    let value = if content_type == "application/json" {
        Ok(HeaderValue::from_static("application/json"))
    } else {
        HeaderValue::from_str(content_type)
    };
    if let Ok(v) = value {
        rsp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    rsp
}

#[cfg(test)]
mod tests;
