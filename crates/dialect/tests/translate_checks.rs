//! The checks of the translation pipeline itself (`src/translate.rs`), each pinned so that
//! deleting it fails a test: the mode's names, the customer id rule, an upstream's 500 becoming
//! a bad gateway, an answer without an id, and the token endpoint's body. (`tests/MUTANTS.md`
//! lists the mutants these close.)

#[path = "support/common.rs"]
mod common;

use common::{endpoint, registry};
use dialectgate_canonical::ErrorKind;
use dialectgate_dialect::{Answer, Mode, token_body};
use serde_json::{Value, json};

#[test]
fn the_mode_has_two_names_and_refuses_any_other() {
    assert_eq!("strict".parse::<Mode>(), Ok(Mode::Strict));
    assert_eq!("lenient".parse::<Mode>(), Ok(Mode::Lenient));
    let refused = "Lenient".parse::<Mode>().unwrap_err();
    assert!(refused.contains("`Lenient`"), "{refused}");
    assert!("".parse::<Mode>().is_err());
}

/// Translates a canonical patch setting the email, about customer `id`, to `to`.
fn update(to: &str, id: &str) -> Result<dialectgate_dialect::Translation, dialectgate_canonical::Problem> {
    registry().translate(
        &endpoint("canonical"),
        &endpoint(to),
        Some(id),
        &json!({"email": "ada.king@example.com"}),
        Mode::Strict,
    )
}

#[test]
fn an_id_is_one_to_128_bytes_without_control_characters_and_not_a_dot_segment() {
    let longest = "c".repeat(128);
    let translated = update("canonical", &longest).unwrap();
    assert_eq!(translated.id, longest);
    assert!(
        translated.outbound.path.ends_with(&longest),
        "{}",
        translated.outbound.path
    );
    for bad in ["c".repeat(129), "cus\u{7}1".to_owned(), "..".to_owned()] {
        for to in ["canonical", "medusa"] {
            let problem = update(to, &bad).expect_err("the id must be refused");
            assert_eq!(problem.kind(), ErrorKind::Validation, "{bad:?} -> {to}");
            assert_eq!(problem.errors.len(), 1, "{:?}", problem.errors);
            let violation = &problem.errors[0];
            assert_eq!(violation.code, "invalid_id");
            assert!(
                violation.message.contains("1 to 128 bytes"),
                "the limit is named: {}",
                violation.message
            );
        }
    }
}

#[test]
fn an_upstreams_own_500_is_a_bad_gateway_and_other_errors_keep_their_kind() {
    let reg = registry();
    for upstream in ["canonical", "microbase"] {
        let read = |status, body: &[u8]| match reg.read_answer(&endpoint(upstream), status, body) {
            Answer::Problem(p) => p.kind(),
            Answer::Customer(c) => panic!("{upstream} {status}: not an error: {c}"),
        };
        assert_eq!(read(500, b"oops"), ErrorKind::BadGateway, "{upstream}");
        assert_eq!(read(404, b""), ErrorKind::NotFound, "{upstream}");
        assert_eq!(read(401, b""), ErrorKind::Unauthorized, "{upstream}");
    }
}

#[test]
fn an_answer_that_does_not_name_the_customer_is_a_bad_gateway() {
    let problem = registry()
        .encode_answer(&endpoint("canonical"), &json!({"email": "ada.king@example.com"}))
        .expect_err("no id");
    assert_eq!(problem.kind(), ErrorKind::BadGateway);
    assert_eq!(
        problem.message(),
        "the upstream's answer does not identify the customer"
    );
}

#[test]
fn the_token_body_fills_the_token_and_both_lifetimes_as_numbers() {
    let ep = registry().dialect("elasticpath").unwrap();
    let endpoint = ep.auth().token_endpoint.as_ref().unwrap();
    let body = token_body(endpoint, "dgt_abc", 3600, 1_700_003_600);
    assert_eq!(
        body,
        json!({
            "access_token": "dgt_abc",
            "expires_in": 3600,
            "expires": 1_700_003_600,
            "identifier": "client_credentials",
            "token_type": "Bearer",
        })
    );
    assert!(matches!(body["expires"], Value::Number(_)));
}

#[test]
fn a_strict_refusal_names_the_target_in_each_violation() {
    let reg = registry();
    let body = common::fixture("microbase", "request");
    let problem = reg
        .translate(
            &endpoint("microbase"),
            &endpoint("elasticpath"),
            common::path_id(reg, "microbase"),
            &body,
            Mode::Strict,
        )
        .expect_err("status and tags have no place in Elastic Path");
    assert_eq!(problem.kind(), ErrorKind::Untranslatable);
    assert!(!problem.errors.is_empty());
    for violation in &problem.errors {
        assert_eq!(violation.code, "lossy");
        assert!(
            violation.message.contains("elasticpath"),
            "the target is named: {}",
            violation.message
        );
    }
}
