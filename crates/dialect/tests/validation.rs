//! Validation reports every violation at once, each with a JSON Pointer into the caller's own
//! body (never into the canonical form or a schema), and never echoes the offending value.

#[path = "support/common.rs"]
mod common;

use common::{endpoint, registry};
use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{MAX_VIOLATIONS, Pointer};
use serde_json::{Value, json};

fn violations(dialect: &str, body: &Value) -> Problem {
    let problem = registry()
        .validate_request(&endpoint(dialect), body)
        .expect_err("the body must be refused");
    assert_eq!(problem.kind(), ErrorKind::Validation);
    problem
}

/// (pointer, code) pairs, sorted.
fn summary(problem: &Problem) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = problem
        .errors
        .iter()
        .map(|v| (v.pointer.clone(), v.code.clone()))
        .collect();
    out.sort();
    out
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = expected
        .iter()
        .map(|(p, c)| ((*p).to_owned(), (*c).to_owned()))
        .collect();
    out.sort();
    out
}

/// Every pointer names a member of `body` or, for `required`, a member missing from an object
/// that is in `body`.
fn assert_points_into(body: &Value, problem: &Problem) {
    for v in &problem.errors {
        let ptr = Pointer::parse(&v.pointer).unwrap_or_else(|| panic!("not a pointer: {:?}", v.pointer));
        if v.code == "required" {
            let parent = Pointer::parse(&format!(
                "/{}",
                ptr.segments()[..ptr.segments().len() - 1].join("/")
            ))
            .filter(|_| ptr.segments().len() > 1)
            .unwrap_or_default();
            assert!(parent.get(body).is_some_and(Value::is_object), "{}", v.pointer);
        } else {
            assert!(ptr.get(body).is_some(), "{} is not in the body", v.pointer);
        }
    }
}

#[test]
fn elasticpath_reports_three_violations_with_pointers_into_its_envelope() {
    let body = json!({"data": {"type": "client", "email": 5, "nickname": "Ron"}});
    let problem = violations("elasticpath", &body);
    assert_eq!(
        summary(&problem),
        pairs(&[
            ("/data/type", "const"),
            ("/data/email", "type"),
            ("/data/nickname", "additionalProperties"),
        ])
    );
    assert_points_into(&body, &problem);
    let messages: Vec<&str> = problem.errors.iter().map(|v| v.message.as_str()).collect();
    assert!(
        messages.contains(&"nickname is not an attribute of a customer"),
        "{messages:?}"
    );
    assert!(messages.contains(&"email must be a string"), "{messages:?}");
    // The detail lists all three.
    assert_eq!(problem.detail.as_deref().unwrap().matches(", ").count(), 2);
}

#[test]
fn medusa_reports_three_violations_in_class_validator_words() {
    let body = json!({"email": "not-an-email", "first_name": 7, "billing_address": {"city": "X"}});
    let problem = violations("medusa", &body);
    assert_eq!(
        summary(&problem),
        pairs(&[
            ("/billing_address", "additionalProperties"),
            ("/email", "format"),
            ("/first_name", "type"),
        ])
    );
    assert_points_into(&body, &problem);
    let rendered = registry()
        .dialect("medusa")
        .unwrap()
        .render_error(&problem, Some("cus_1"));
    let body: Value = serde_json::from_slice(&rendered.body).unwrap();
    assert_eq!(
        body,
        json!({"type": "invalid_data", "message":
            "property billing_address should not exist, email must be an email, first_name must be a string"})
    );
}

#[test]
fn microbase_reports_three_violations_including_a_missing_id() {
    let body = json!({"email": "nope", "tags": "VIP", "status": "active"});
    let problem = violations("microbase", &body);
    assert_eq!(
        summary(&problem),
        pairs(&[
            ("/id", "required"),
            ("/email", "format"),
            ("/tags", "type"),
            ("/status", "enum")
        ])
    );
    assert_points_into(&body, &problem);
    let messages: Vec<&str> = problem.errors.iter().map(|v| v.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "payload.email: should match format \"email\"",
            "payload: should have required property 'id'",
            "status: is not a valid enum value for path `status`.",
            "payload.tags: should be array",
        ]
    );
}

#[test]
fn axim_reports_nested_violations_inside_the_address_list() {
    let body = json!({"firstName": "A", "lastName": "B", "email": "a@b.co",
        "address": [{"city": "X"}, {"zipcode": 7102, "isDefaultAddress": "yes", "floor": 3}]});
    let problem = violations("axim", &body);
    assert_eq!(
        summary(&problem),
        pairs(&[
            ("/address/1/zipcode", "type"),
            ("/address/1/isDefaultAddress", "type"),
            ("/address/1/floor", "additionalProperties"),
        ])
    );
    assert_points_into(&body, &problem);
}

#[test]
fn checkoutpage_reports_violations_inside_a_nested_address() {
    let body = json!({"email": null, "shipping": {"address": {"zip": "1015", "city": 1}}});
    let problem = violations("checkoutpage", &body);
    assert_eq!(
        summary(&problem),
        pairs(&[
            ("/email", "type"),
            ("/shipping/address/zip", "additionalProperties"),
            ("/shipping/address/city", "type"),
        ])
    );
    assert_points_into(&body, &problem);
}

#[test]
fn canonical_violations_point_into_the_canonical_body() {
    let body = json!({"status": "gone", "name": {"first": "A"}, "addresses": {"billing": {"country": "nl"}}});
    let problem = violations("canonical", &body);
    assert_eq!(
        summary(&problem),
        pairs(&[
            ("/status", "enum"),
            ("/name/first", "additionalProperties"),
            ("/addresses/billing/country", "pattern"),
        ])
    );
    assert_points_into(&body, &problem);
}

#[test]
fn messages_never_echo_the_offending_value() {
    let secret = "hunter2-SECRET";
    let body = json!({"data": {"type": secret, "password": 1, "external_ref": secret.repeat(200)}});
    let problem = violations("elasticpath", &body);
    for v in &problem.errors {
        assert!(!v.message.contains("SECRET"), "{v:?}");
    }
    assert!(!problem.detail.unwrap_or_default().contains("SECRET"));
}

#[test]
fn violations_are_capped() {
    let mut data = serde_json::Map::new();
    data.insert("type".into(), json!("customer"));
    for i in 0..100 {
        data.insert(format!("extra{i:03}"), json!(i));
    }
    let problem = violations("elasticpath", &json!({ "data": data }));
    assert!(problem.errors.len() <= MAX_VIOLATIONS, "{}", problem.errors.len());
    assert!(!problem.errors.is_empty());
}
