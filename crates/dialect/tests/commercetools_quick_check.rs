//! The commercetools request schema's quick check of an update action (`items.if`): a branch per
//! profile action, each a copy of the action's `$defs` entry with the object type and a required
//! `action` of its own, and a branch for the actions without a payload schema. The quick check
//! must pass no item the full check (`items.else`) refuses, and must pass the valid profile
//! actions (else it saves nothing): then the schema accepts and refuses exactly what the full
//! check alone would, with its violations. The action names and members come from
//! docs/vendors/commercetools.md#request, not from the schema under test.

#[path = "support/common.rs"]
mod common;

use jsonschema::{Draft, Validator};
use serde_json::{Map, Value, json};

/// The profile actions of the vendor's Request table with their payload member and a valid value.
fn profile() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("setFirstName", "firstName", json!("Ada")),
        ("setLastName", "lastName", json!("Lovelace")),
        ("setMiddleName", "middleName", json!("Augusta")),
        ("setTitle", "title", json!("Countess")),
        ("setSalutation", "salutation", json!("Dear Ada")),
        ("changeEmail", "email", json!("ada@example.com")),
        ("setCompanyName", "companyName", json!("Analytical Engines")),
        ("setVatId", "vatId", json!("GB123456789")),
        ("setDateOfBirth", "dateOfBirth", json!("2015-10-21")),
        ("setExternalId", "externalId", json!("ext-1")),
        ("setCustomerNumber", "customerNumber", json!("C-1")),
        ("setLocale", "locale", json!("de-DE")),
        ("setKey", "key", json!("ada-lovelace")),
    ]
}

/// Actions the vendor documents for customers that have no canonical place (accepted by the
/// schema, refused by the gateway), and names that are no action.
const OTHER_ACTIONS: &[&str] = &["addAddress", "setCustomerGroup", "setCustomField", "addStore"];
const NOT_ACTIONS: &[&str] = &["setPhone", "setfirstname", "", "SETFIRSTNAME"];

fn schema() -> Value {
    let text = std::fs::read_to_string(common::repo().join("schemas/commercetools/request.json"))
        .expect("the commercetools request schema");
    serde_json::from_str(&text).expect("the schema is JSON")
}

/// The item schema's member `key` (`if` or `else`) as a schema of its own, with the `$defs`.
fn part(schema: &Value, key: &str) -> Validator {
    let mut part = schema["properties"]["actions"]["items"][key].clone();
    part["$defs"] = schema["$defs"].clone();
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .build(&part)
        .expect("the part compiles")
}

/// Items a caller may send: every profile action with its member, without it, with a value of
/// the wrong type, with another action's member, with a stray member; the other actions with a
/// payload; names that are no action; a non-string or missing action; non-objects.
fn items() -> Vec<Value> {
    let profile = profile();
    let mut out = Vec::new();
    for (action, member, value) in &profile {
        out.push(json!({"action": action, *member: value}));
        out.push(json!({ "action": action }));
        out.push(json!({"action": action, *member: 5}));
        out.push(json!({"action": action, *member: null}));
        out.push(json!({"action": action, *member: "2015-13-45"}));
        out.push(json!({"action": action, *member: value, "phone": "+44 20 7946 0000"}));
        for (_, other, other_value) in &profile {
            out.push(json!({"action": action, *other: other_value}));
        }
    }
    for action in OTHER_ACTIONS.iter().chain(NOT_ACTIONS) {
        out.push(json!({ "action": action }));
        out.push(json!({"action": action, "address": {"country": "DE"}}));
    }
    for action in [json!(5), json!(null), json!(["setFirstName"]), json!({})] {
        out.push(json!({"action": action, "firstName": "Ada"}));
    }
    out.extend([
        json!({"firstName": "Ada"}),
        json!({}),
        json!("setFirstName"),
        json!(null),
        json!([]),
    ]);
    out.push(json!({"action": "setKey", "key": "a"}));
    out.push(json!({"action": "setKey", "key": "no spaces"}));
    out
}

#[test]
fn the_quick_check_passes_no_item_the_full_check_refuses_and_every_valid_profile_action() {
    let schema = schema();
    let (quick, full) = (part(&schema, "if"), part(&schema, "else"));
    for item in items() {
        if quick.is_valid(&item) {
            assert!(
                full.is_valid(&item),
                "the quick check passes {item}, the full check does not"
            );
        }
    }
    for (action, member, value) in profile() {
        let item = json!({"action": action, member: value});
        assert!(full.is_valid(&item), "{item}");
        assert!(quick.is_valid(&item), "the quick check must pass {item}");
    }
}

#[test]
fn each_quick_branch_is_its_actions_definition_with_the_object_type_and_a_required_action() {
    let schema = schema();
    let defs = schema["$defs"].as_object().expect("$defs");
    let branches = schema["properties"]["actions"]["items"]["if"]["anyOf"]
        .as_array()
        .expect("the quick check is an anyOf");
    let mut copied = Vec::new();
    let mut without_payload = Vec::new();
    for branch in branches {
        let mut branch = branch.as_object().expect("a branch is an object").clone();
        assert_eq!(branch.remove("type"), Some(json!("object")), "{branch:?}");
        let required = branch.remove("required").expect("a branch requires `action`");
        let required: Vec<&str> = required
            .as_array()
            .expect("required is a list")
            .iter()
            .map(|r| r.as_str().expect("a name"))
            .collect();
        assert_eq!(required.first(), Some(&"action"), "{branch:?}");
        let action = &branch["properties"]["action"];
        match action.get("const").and_then(Value::as_str) {
            Some(name) => {
                let mut def: Map<String, Value> = defs[name].as_object().expect("a $defs entry").clone();
                let def_required = def.remove("required").unwrap_or_else(|| json!([]));
                assert_eq!(json!(required[1..]), def_required, "{name}");
                assert_eq!(
                    branch, def,
                    "the quick branch of {name} differs from its $defs entry"
                );
                copied.push(name.to_owned());
            }
            None => {
                assert_eq!(required, ["action"]);
                assert_eq!(branch.len(), 1, "{branch:?}");
                for name in action["enum"].as_array().expect("the other actions' names") {
                    without_payload.push(name.as_str().expect("a name").to_owned());
                }
            }
        }
    }
    // Every profile action of the vendor's table has its branch, once.
    let mut expected: Vec<&str> = profile().iter().map(|(a, _, _)| *a).collect();
    expected.sort_unstable();
    copied.sort();
    assert_eq!(copied, expected);
    // Every name the full check accepts is in the quick check, once.
    let mut all: Vec<String> = copied.into_iter().chain(without_payload).collect();
    let mut named: Vec<String> =
        schema["properties"]["actions"]["items"]["else"]["properties"]["action"]["enum"]
            .as_array()
            .expect("the full check's names")
            .iter()
            .map(|n| n.as_str().expect("a name").to_owned())
            .collect();
    all.sort();
    named.sort();
    assert_eq!(all, named);
    for name in OTHER_ACTIONS {
        assert!(named.iter().any(|n| n == name), "{name}");
    }
}
