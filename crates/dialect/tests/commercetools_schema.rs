//! The commercetools request schema's check of update actions, item by item: what a caller sends
//! wrong is refused with one violation per fault, each pointing at the faulty member of its own
//! item. Expected values come from docs/vendors/commercetools.md#request (the actions, their
//! payload members and rules, and `key`'s limits) and #decisions-ours (400 `InvalidInput`, one
//! error per violation), never from the schema under test.

#[path = "support/common.rs"]
mod common;

use common::{endpoint, registry};
use dialectgate_canonical::{ErrorKind, Problem};
use serde_json::{Value, json};

/// The profile actions of the Request table with their payload member and a valid value.
const PROFILE: &[(&str, &str, &str)] = &[
    ("setFirstName", "firstName", "Ada"),
    ("setLastName", "lastName", "Lovelace"),
    ("setMiddleName", "middleName", "Augusta"),
    ("setTitle", "title", "Countess"),
    ("setSalutation", "salutation", "Dear Ada"),
    ("changeEmail", "email", "ada@example.com"),
    ("setCompanyName", "companyName", "Analytical Engines"),
    ("setVatId", "vatId", "GB123456789"),
    ("setDateOfBirth", "dateOfBirth", "2015-10-21"),
    ("setExternalId", "externalId", "ext-1"),
    ("setCustomerNumber", "customerNumber", "C-1"),
    ("setLocale", "locale", "de-DE"),
    ("setKey", "key", "ada-lovelace"),
];

/// The update body quoted in docs/vendors/commercetools.md#request, with `actions` replaced.
fn update(actions: Value) -> Value {
    json!({"version": 3, "actions": actions})
}

fn check(body: &Value) -> Result<(), Problem> {
    registry().validate_request(&endpoint("commercetools"), body)
}

/// The refusal's violations as `"<pointer> <code>"`, sorted.
fn refused(body: &Value) -> Vec<String> {
    let problem = check(body).expect_err("the body must be refused");
    assert_eq!(problem.kind(), ErrorKind::Validation, "{problem:?}");
    let mut out: Vec<String> = problem
        .errors
        .iter()
        .map(|v| format!("{} {}", v.pointer, v.code))
        .collect();
    out.sort();
    out
}

#[test]
fn every_profile_action_with_its_member_or_without_one_is_accepted() {
    for (action, member, value) in PROFILE {
        let body = update(json!([{"action": action, member.to_string(): value}]));
        check(&body).unwrap_or_else(|p| panic!("{body}: {p:?}"));
        // "sent without the member: the value is removed"; only changeEmail requires its member.
        let bare = update(json!([{ "action": action }]));
        if *action == "changeEmail" {
            assert_eq!(refused(&bare), ["/actions/0/email required"]);
        } else {
            check(&bare).unwrap_or_else(|p| panic!("{bare}: {p:?}"));
        }
    }
    // `key`: absent or null removes the key.
    check(&update(json!([{"action": "setKey", "key": null}]))).unwrap();
    // All of them in one body, in order.
    let all: Vec<Value> = PROFILE
        .iter()
        .map(|(action, member, value)| json!({"action": action, member.to_string(): value}))
        .collect();
    check(&update(Value::Array(all))).unwrap();
}

#[test]
fn a_member_of_another_action_is_refused_in_its_own_item() {
    for (action, own, _) in PROFILE {
        for (_, member, value) in PROFILE.iter().filter(|(_, m, _)| m != own) {
            let body = update(json!([{"action": action, member.to_string(): value}]));
            let mut expected = vec![format!("/actions/0/{member} additionalProperties")];
            if *action == "changeEmail" {
                expected.push("/actions/0/email required".to_owned());
            }
            expected.sort();
            assert_eq!(refused(&body), expected, "{body}");
        }
    }
    // A member no action has, next to a valid one; the other items are not blamed.
    let body = update(json!([
        {"action": "setFirstName", "firstName": "Ada"},
        {"action": "changeEmail", "email": "ada@example.com", "phone": "+44 20 7946 0000", "firstName": "Ada"},
        {"action": "setLastName", "lastName": "Lovelace"}
    ]));
    assert_eq!(
        refused(&body),
        [
            "/actions/1/firstName additionalProperties",
            "/actions/1/phone additionalProperties"
        ]
    );
}

#[test]
fn an_unknown_or_misspelt_action_is_refused_at_its_name() {
    // There is no customer-level phone, so no action sets one.
    for action in [json!("setPhone"), json!("setfirstname"), json!("")] {
        let body = update(json!([{"action": action, "phone": "+44 20 7946 0000"}]));
        assert_eq!(refused(&body), ["/actions/0/action enum"], "{body}");
    }
    for action in [json!(5), json!(null), json!(["setFirstName"])] {
        let body = update(json!([{"action": action, "firstName": "Ada"}]));
        assert_eq!(
            refused(&body),
            ["/actions/0/action enum", "/actions/0/action type"],
            "{body}"
        );
    }
}

#[test]
fn a_wrong_value_is_refused_at_the_member() {
    let cases = [
        (
            json!({"action": "setFirstName", "firstName": 5}),
            "/actions/0/firstName",
            "type",
        ),
        (
            json!({"action": "changeEmail", "email": {"address": "ada@example.com"}}),
            "/actions/0/email",
            "type",
        ),
        (
            json!({"action": "setDateOfBirth", "dateOfBirth": "21.10.2015"}),
            "/actions/0/dateOfBirth",
            "format",
        ),
        // `key` matches ^[A-Za-z0-9_-]+$, 2 to 256 characters.
        (
            json!({"action": "setKey", "key": "a"}),
            "/actions/0/key",
            "minLength",
        ),
        (
            json!({"action": "setKey", "key": "k".repeat(257)}),
            "/actions/0/key",
            "maxLength",
        ),
        (
            json!({"action": "setKey", "key": "ada lovelace"}),
            "/actions/0/key",
            "pattern",
        ),
        (json!({"action": "setKey", "key": 7}), "/actions/0/key", "type"),
    ];
    for (item, pointer, code) in cases {
        let body = update(json!([item]));
        assert_eq!(refused(&body), [format!("{pointer} {code}")], "{body}");
    }
    check(&update(json!([{"action": "setKey", "key": "k".repeat(256)}]))).unwrap();
}

#[test]
fn an_item_that_is_not_an_action_is_refused() {
    assert_eq!(refused(&update(json!(["setFirstName"]))), ["/actions/0 type"]);
    let without_name = refused(&update(json!([{}])));
    assert!(
        without_name.iter().any(|v| v == "/actions/0/action required"),
        "{without_name:?}"
    );
    let without_name = refused(&update(json!([{"firstName": "Ada"}])));
    assert!(
        without_name.iter().any(|v| v == "/actions/0/action required"),
        "{without_name:?}"
    );
}

#[test]
fn the_actions_without_a_canonical_place_keep_their_documented_payloads() {
    // Accepted by the check (the gateway refuses them by name later, in strict mode).
    let body = update(json!([
        {"action": "setCustomField", "name": "loyalty", "value": 3},
        {"action": "setAuthenticationMode", "authMode": "ExternalAuth"},
        {"action": "removeAddress", "addressKey": "home"}
    ]));
    check(&body).unwrap();
}

#[test]
fn the_envelope_holds_only_the_version_and_the_actions() {
    // The id travels in the path; the body holds only `version` and `actions`.
    let body = json!({"version": 3, "actions": [], "id": "3cdcdcc8", "email": "ada@example.com"});
    assert_eq!(
        refused(&body),
        ["/email additionalProperties", "/id additionalProperties"]
    );
    assert_eq!(
        refused(&json!({"actions": [{"action": "setFirstName", "firstName": "Ada"}]})),
        ["/version required"]
    );
    // An empty list is a body the check takes (no minimum is documented).
    check(&update(json!([]))).unwrap();
}

#[test]
fn the_caller_reads_one_invalid_input_error_per_violation() {
    let body = update(json!([
        {"action": "setLastName", "firstName": "Ada"},
        {"action": "changeEmail"},
        {"action": "setFirstName", "firstName": 5},
        {"action": "setPhone"}
    ]));
    let problem = check(&body).expect_err("refused");
    assert_eq!(problem.errors.len(), 4, "{problem:?}");
    let rendered = registry()
        .dialect("commercetools")
        .unwrap()
        .render_error(&problem, Some("cus_1"));
    assert_eq!(rendered.status, 400);
    let answer: Value = serde_json::from_slice(&rendered.body).unwrap();
    assert_eq!(answer["statusCode"], 400);
    let errors = answer["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 4, "{answer}");
    assert!(errors.iter().all(|e| e["code"] == "InvalidInput"), "{answer}");
}
