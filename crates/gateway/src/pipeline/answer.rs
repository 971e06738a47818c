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
mod tests {
    use dialectgate_dialect::{
        DerivedField, Dropped, FillReason, FilledField, LossReason, Overflowed, Registry,
    };
    use serde_json::json;

    use super::*;
    use crate::metrics::UpstreamErrorLabels;

    fn id_mismatches(metrics: &Metrics, upstream: &str) -> u64 {
        metrics
            .upstream_errors
            .get_or_create(&UpstreamErrorLabels {
                upstream: upstream.to_owned(),
                kind: "id_mismatch",
            })
            .get()
    }

    fn shipped() -> Registry {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        Registry::load(&root.join("config/dialects"), &root.join("schemas")).unwrap()
    }

    /// The customer of an answer about `id` (`None`: an answer naming no customer).
    fn answer(id: Option<Value>) -> Answer {
        let mut doc = json!({"email": "ada@example.com"});
        if let Some(id) = id {
            doc["id"] = id;
        }
        Answer::Customer(doc)
    }

    #[test]
    fn an_answer_about_the_customer_asked_for_passes() {
        let metrics = Metrics::default();
        for upstream in ["canonical", "medusa", "microbase"] {
            let upstream = shipped().endpoint(upstream).unwrap();
            for id in ["cus_2", "victim.person@example.com", "a/b%2F?#", "\u{e9}t\u{e9}"] {
                let doc = customer(
                    answer(Some(json!(id))),
                    CredentialMode::Static,
                    "req-1",
                    id,
                    &upstream,
                    &metrics,
                )
                .unwrap();
                assert_eq!(doc["id"], id);
            }
            assert_eq!(id_mismatches(&metrics, upstream.id()), 0);
        }
    }

    #[test]
    fn an_answer_about_another_customer_is_a_counted_bad_gateway_naming_the_asked_id_only() {
        let metrics = Metrics::default();
        let medusa = shipped().endpoint("medusa").unwrap();
        // Another customer; the same id in another case or with a space (ids are opaque: no
        // normalisation); a number or null where the id is a string; no id at all.
        let others = [
            Some(json!("cus_1")),
            Some(json!("CUS_2")),
            Some(json!("cus_2 ")),
            Some(json!(2)),
            Some(Value::Null),
            None,
        ];
        for (n, other) in others.into_iter().enumerate() {
            let failure = customer(
                answer(other.clone()),
                CredentialMode::Static,
                "req-1",
                "cus_2",
                &medusa,
                &metrics,
            )
            .unwrap_err();
            assert_eq!(failure.outcome, Outcome::UpstreamError, "{other:?}");
            assert_eq!(failure.problem.kind(), ErrorKind::BadGateway);
            assert_eq!(failure.problem.status, 502);
            assert_eq!(failure.id.as_deref(), Some("cus_2"));
            assert!(!format!("{:?}", failure.problem).contains("cus_1"));
            assert_eq!(id_mismatches(&metrics, "medusa"), n as u64 + 1);
        }
        // The upstream's own refusal is not an answer about a customer: passed on, not counted.
        let refused = customer(
            Answer::Problem(Problem::new(ErrorKind::NotFound, "no such customer")),
            CredentialMode::Static,
            "req-1",
            "cus_2",
            &medusa,
            &metrics,
        )
        .unwrap_err();
        assert_eq!(refused.outcome, Outcome::UpstreamRefused);
        assert_eq!(id_mismatches(&metrics, "medusa"), 6);
    }

    #[test]
    fn a_dialect_whose_answers_carry_no_id_is_not_checked() {
        let dir = std::env::temp_dir().join(format!("dialectgate-gw-noid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let text = std::fs::read_to_string(root.join("config/dialects/checkoutpage.toml")).unwrap();
        let rule = "[[fields]]\ndialect = \"/id\"\ncanonical = \"/id\"\non = \"response\"\n";
        assert!(text.contains(rule));
        let edited = text
            .replacen(rule, "", 1)
            .replacen(r#"volatile = ["/id", "#, r#"volatile = ["#, 1);
        std::fs::write(dir.join("checkoutpage.toml"), edited).unwrap();
        let reg = Registry::load(&dir, &root.join("schemas")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let upstream = reg.endpoint("checkoutpage").unwrap();
        let metrics = Metrics::default();
        for other in [None, Some(json!("cus_1"))] {
            assert!(
                customer(
                    answer(other),
                    CredentialMode::Static,
                    "req-1",
                    "cus_2",
                    &upstream,
                    &metrics
                )
                .is_ok()
            );
        }
        assert_eq!(id_mismatches(&metrics, "checkoutpage"), 0);
    }

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
            unchecked: Vec::new(),
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
