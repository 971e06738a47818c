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

/// `derived=…; dropped=…; filled=…; overflow=…` (the parts that have entries), written into one
/// string: a lenient or derived translation pays for it on every request.
fn fidelity_header(f: &Fidelity) -> String {
    let mut out = String::with_capacity(128);
    let part = |name: &str, out: &mut String| {
        if !out.is_empty() {
            out.push_str("; ");
        }
        out.push_str(name);
        out.push('=');
    };
    let sep = |i: usize, out: &mut String| {
        if i > 0 {
            out.push(',');
        }
    };
    if !f.derived.is_empty() {
        part("derived", &mut out);
        for (i, d) in f.derived.iter().enumerate() {
            sep(i, &mut out);
            out.push_str(&d.target);
            out.push_str("<-");
            for (j, from) in d.from.iter().enumerate() {
                if j > 0 {
                    out.push('+');
                }
                out.push_str(from);
            }
        }
    }
    if !f.dropped.is_empty() {
        part("dropped", &mut out);
        for (i, d) in f.dropped.iter().enumerate() {
            sep(i, &mut out);
            out.push_str(&d.pointer);
            out.push('(');
            out.push_str(d.reason.code());
            out.push(')');
        }
    }
    if !f.filled.is_empty() {
        part("filled", &mut out);
        for (i, d) in f.filled.iter().enumerate() {
            sep(i, &mut out);
            out.push_str(&d.pointer);
            out.push('(');
            out.push_str(d.reason.as_str());
            out.push(')');
        }
    }
    if !f.overflow.is_empty() {
        part("overflow", &mut out);
        for (i, o) in f.overflow.iter().enumerate() {
            sep(i, &mut out);
            out.push_str(&o.pointer);
            out.push_str("->");
            out.push_str(&o.key);
        }
    }
    out
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
mod tests {
    use dialectgate_dialect::{DerivedField, Dropped, FillReason, FilledField, LossReason, Overflowed};

    use super::*;

    #[test]
    fn the_content_type_is_the_one_asked_for() {
        for ct in [
            "application/json",
            "application/problem+json",
            "text/plain",
            "application/vnd.api+json",
        ] {
            let rsp = json_response(201, ct, b"{}".to_vec());
            assert_eq!(rsp.headers()[header::CONTENT_TYPE], ct);
            assert_eq!(rsp.status(), 201);
        }
        // A value no header may carry is left out, as before.
        let rsp = json_response(200, "bad\nvalue", Vec::new());
        assert!(rsp.headers().get(header::CONTENT_TYPE).is_none());
    }

    /// The header as it was first written (a `format!` per entry, joined): the one-string
    /// writer must say exactly the same.
    fn reference(f: &Fidelity) -> String {
        let mut parts = Vec::new();
        if !f.derived.is_empty() {
            let d: Vec<String> = f
                .derived
                .iter()
                .map(|d| format!("{}<-{}", d.target, d.from.join("+")))
                .collect();
            parts.push(format!("derived={}", d.join(",")));
        }
        if !f.dropped.is_empty() {
            let d: Vec<String> = f
                .dropped
                .iter()
                .map(|d| format!("{}({})", d.pointer, d.reason.code()))
                .collect();
            parts.push(format!("dropped={}", d.join(",")));
        }
        if !f.filled.is_empty() {
            let d: Vec<String> = f
                .filled
                .iter()
                .map(|d| format!("{}({})", d.pointer, d.reason.as_str()))
                .collect();
            parts.push(format!("filled={}", d.join(",")));
        }
        if !f.overflow.is_empty() {
            let d: Vec<String> = f
                .overflow
                .iter()
                .map(|o| format!("{}->{}", o.pointer, o.key))
                .collect();
            parts.push(format!("overflow={}", d.join(",")));
        }
        parts.join("; ")
    }

    #[test]
    fn the_fidelity_header_lists_every_part_as_before() {
        let derived = |t: &str, from: &[&str]| DerivedField {
            target: t.into(),
            from: from.iter().map(|s| (*s).to_owned()).collect(),
        };
        let full = Fidelity {
            derived: vec![
                derived("/data/name", &["/first_name", "/last_name"]),
                derived("/x", &[]),
                derived("/y", &["/z"]),
            ],
            dropped: vec![
                Dropped {
                    pointer: "/a".into(),
                    reason: LossReason::NoTarget,
                },
                Dropped {
                    pointer: "/b".into(),
                    reason: LossReason::Secret,
                },
            ],
            filled: vec![FilledField {
                pointer: "/c".into(),
                reason: FillReason::Derived,
            }],
            overflow: vec![
                Overflowed {
                    pointer: "/d".into(),
                    key: "dg_d".into(),
                },
                Overflowed {
                    pointer: "/e".into(),
                    key: "dg_e".into(),
                },
            ],
        };
        let mut cases = vec![Fidelity::default(), full.clone()];
        for keep in 0..4 {
            let mut one = Fidelity::default();
            match keep {
                0 => one.derived = full.derived.clone(),
                1 => one.dropped = full.dropped.clone(),
                2 => one.filled = full.filled.clone(),
                _ => one.overflow = full.overflow.clone(),
            }
            cases.push(one);
        }
        let mut no_derived = full.clone();
        no_derived.derived.clear();
        cases.push(no_derived);
        for f in &cases {
            assert_eq!(fidelity_header(f), reference(f));
        }
        assert_eq!(
            fidelity_header(&full),
            "derived=/data/name<-/first_name+/last_name,/x<-,/y<-/z; dropped=/a(lossy),/b(secret); \
             filled=/c(derived); overflow=/d->dg_d,/e->dg_e"
        );
    }
}
