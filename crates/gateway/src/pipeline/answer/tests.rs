//! The answer phase's tests: an answer about another customer, the content type, the fidelity
//! header.

use dialectgate_dialect::{DerivedField, Dropped, FillReason, FilledField, LossReason, Overflowed, Registry};
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
    let ask = |answer: Answer| {
        customer(
            answer,
            CredentialMode::Static,
            "req-1",
            "cus_2",
            &medusa,
            &metrics,
        )
    };
    for (n, other) in others.into_iter().enumerate() {
        let failure = ask(answer(other.clone())).unwrap_err();
        assert_eq!(failure.outcome, Outcome::UpstreamError, "{other:?}");
        assert_eq!(failure.problem.kind(), ErrorKind::BadGateway);
        assert_eq!(failure.problem.status, 502);
        assert_eq!(failure.id.as_deref(), Some("cus_2"));
        assert!(!format!("{:?}", failure.problem).contains("cus_1"));
        assert_eq!(id_mismatches(&metrics, "medusa"), n as u64 + 1);
    }
    // The upstream's own refusal is not an answer about a customer: passed on, not counted.
    let refused = ask(Answer::Problem(Problem::new(
        ErrorKind::NotFound,
        "no such customer",
    )))
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
    let mut part = |name: &str, items: Vec<String>| {
        if !items.is_empty() {
            parts.push(format!("{name}={}", items.join(",")));
        }
    };
    part(
        "derived",
        f.derived
            .iter()
            .map(|d| format!("{}<-{}", d.target, d.from.join("+")))
            .collect(),
    );
    part(
        "dropped",
        f.dropped
            .iter()
            .map(|d| format!("{}({})", d.pointer, d.reason.code()))
            .collect(),
    );
    part(
        "filled",
        f.filled
            .iter()
            .map(|d| format!("{}({})", d.pointer, d.reason.as_str()))
            .collect(),
    );
    part(
        "overflow",
        f.overflow
            .iter()
            .map(|o| format!("{}->{}", o.pointer, o.key))
            .collect(),
    );
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
