//! Action lists (`[request] actions`, a rule's `action`) and the canonical `/version`, through
//! the shipped commercetools definition: expected values come from the vendor's documented bodies
//! in docs/vendors/commercetools.md, never from the definition. And the loader's refusals of
//! every misuse, on synthetic definitions.

#[path = "support/common.rs"]
mod common;

use common::{Workspace, endpoint, registry};
use dialectgate_dialect::{Answer, Mode, Translation};
use serde_json::{Value, json};

fn translate(
    from: &str,
    to: &str,
    body: &Value,
    mode: Mode,
) -> Result<Translation, dialectgate_canonical::Problem> {
    let path_id = (from != "microbase").then_some("cus_1");
    registry().translate(&endpoint(from), &endpoint(to), path_id, body, mode)
}

/// The update body quoted in docs/vendors/commercetools.md#request.
fn documented_update() -> Value {
    json!({"version": 3, "actions": [{"action": "setFirstName", "firstName": "John"}, {"action": "changeEmail", "email": "email@example.com"}]})
}

#[test]
fn the_documented_update_reads_as_a_canonical_patch_and_back() {
    let t = translate("commercetools", "canonical", &documented_update(), Mode::Strict).unwrap();
    assert_eq!(
        t.outbound.body,
        json!({"version": "3", "name": {"given": "John"}, "email": "email@example.com"})
    );
    assert!(t.fidelity.is_exact(), "{:?}", t.fidelity);
    // Canonical → commercetools: one action per member, in a stable order, the version as a number.
    let patch =
        json!({"email": "ada@example.com", "name": {"family": "King", "given": "Ada"}, "version": "7"});
    let t = translate("canonical", "commercetools", &patch, Mode::Strict).unwrap();
    assert_eq!(
        t.outbound.body,
        json!({"version": 7, "actions": [
            {"action": "setFirstName", "firstName": "Ada"},
            {"action": "setLastName", "lastName": "King"},
            {"action": "changeEmail", "email": "ada@example.com"}
        ]})
    );
    assert_eq!(t.outbound.method, "POST");
}

#[test]
fn an_action_without_its_member_clears_it_both_ways() {
    // "sent without the member: the value is removed" (docs/vendors/commercetools.md#request).
    let body = json!({"version": 1, "actions": [{"action": "setVatId"}, {"action": "setCompanyName"}]});
    let t = translate("commercetools", "canonical", &body, Mode::Strict).unwrap();
    assert_eq!(
        t.outbound.body,
        json!({"version": "1", "tax": {"id": null}, "company": {"name": null}})
    );
    let t = translate(
        "canonical",
        "commercetools",
        &json!({"version": "1", "external_ref": null}),
        Mode::Strict,
    )
    .unwrap();
    assert_eq!(
        t.outbound.body,
        json!({"version": 1, "actions": [{"action": "setExternalId"}]})
    );
}

#[test]
fn two_actions_setting_one_member_keep_the_last_as_the_vendor_applies_them_in_order() {
    let body = json!({"version": 1, "actions": [
        {"action": "setFirstName", "firstName": "Jon"},
        {"action": "setFirstName", "firstName": "John"}
    ]});
    let t = translate("commercetools", "canonical", &body, Mode::Strict).unwrap();
    assert_eq!(t.outbound.body["name"], json!({"given": "John"}));
}

#[test]
fn an_action_with_no_canonical_meaning_is_refused_by_name_or_reported_lost() {
    // The spec's CustomerUpdate example with its addAddress action (the vendor's update body).
    let body = json!({"version": 3, "actions": [
        {"action": "setFirstName", "firstName": "John"},
        {"action": "changeEmail", "email": "email@example.com"},
        {"action": "addAddress", "address": {"key": "home", "streetName": "Any Street", "streetNumber": "1337", "postalCode": "11111", "city": "Any City", "country": "US"}}
    ]});
    registry()
        .validate_request(&endpoint("commercetools"), &body)
        .unwrap();
    let p = translate("commercetools", "canonical", &body, Mode::Strict).unwrap_err();
    assert_eq!(p.errors.len(), 1, "{p:?}");
    assert_eq!(p.errors[0].pointer, "/actions/2");
    assert_eq!(p.errors[0].code, "lossy");
    assert_eq!(p.errors[0].property.as_deref(), Some("addAddress"));
    assert!(
        p.errors[0].message.contains("addAddress"),
        "{}",
        p.errors[0].message
    );
    let t = translate("commercetools", "canonical", &body, Mode::Lenient).unwrap();
    let dropped: Vec<&str> = t.fidelity.dropped.iter().map(|d| d.pointer.as_str()).collect();
    assert_eq!(dropped, ["/actions/2"]);
    assert_eq!(t.outbound.body["email"], "email@example.com");
}

#[test]
fn a_member_set_by_an_action_is_named_by_its_place_in_the_list() {
    // Checkout Page keeps one full name: a first name alone has no place there without a read.
    let body = json!({"version": 1, "actions": [{"action": "changeEmail", "email": "a@example.com"}, {"action": "setFirstName", "firstName": "Ada"}]});
    let p = translate("commercetools", "checkoutpage", &body, Mode::Strict).unwrap_err();
    let pointers: Vec<&str> = p.errors.iter().map(|v| v.pointer.as_str()).collect();
    assert_eq!(pointers, ["/actions/1/firstName"]);
}

#[test]
fn a_version_towards_a_dialect_without_versions_is_unchecked_never_lost_nor_stowed() {
    let options = dialectgate_dialect::Options {
        mode: Mode::Strict,
        fill: dialectgate_dialect::Fill::Never,
        overflow: true,
        overflow_prefix: "dialectgate:",
    };
    let Ok(dialectgate_dialect::Step::Ready(t)) = registry().plan(
        &endpoint("commercetools"),
        &endpoint("medusa"),
        Some("cus_1"),
        &documented_update(),
        options,
    ) else {
        panic!("commercetools -> medusa translates");
    };
    assert_eq!(
        t.outbound.body,
        json!({"first_name": "John", "email": "email@example.com"})
    );
    assert_eq!(t.fidelity.unchecked, ["/version"]);
    assert!(
        t.fidelity.dropped.is_empty() && t.fidelity.overflow.is_empty(),
        "{:?}",
        t.fidelity
    );
}

#[test]
fn a_caller_without_a_version_needs_the_stored_one() {
    let p = translate(
        "medusa",
        "commercetools",
        &json!({"first_name": "Ada"}),
        Mode::Strict,
    )
    .unwrap_err();
    assert_eq!(p.errors[0].code, "required_on_write");
    assert_eq!(p.errors[0].pointer, "/version");
    let Ok(dialectgate_dialect::Step::Read(pending)) = registry().plan(
        &endpoint("medusa"),
        &endpoint("commercetools"),
        Some("cus_1"),
        &json!({"first_name": "Ada"}),
        dialectgate_dialect::Options {
            mode: Mode::Strict,
            fill: dialectgate_dialect::Fill::Read,
            overflow: false,
            overflow_prefix: "dialectgate:",
        },
    ) else {
        panic!("a read is needed");
    };
    // The stored customer: the spec's example Customer (docs/vendors/commercetools.md#retrieve).
    let stored = match registry().read_answer(
        &endpoint("commercetools"),
        200,
        common::fixture("commercetools", "response")
            .to_string()
            .as_bytes(),
    ) {
        Answer::Customer(c) => c,
        Answer::Problem(p) => panic!("{p:?}"),
    };
    let t = registry()
        .complete(
            &endpoint("medusa"),
            &endpoint("commercetools"),
            pending,
            &stored,
            Mode::Strict,
        )
        .unwrap();
    assert_eq!(
        t.outbound.body,
        json!({"version": 1, "actions": [{"action": "setFirstName", "firstName": "Ada"}]})
    );
}

#[test]
fn the_documented_customer_reads_with_its_version() {
    let stored = match registry().read_answer(
        &endpoint("commercetools"),
        200,
        common::fixture("commercetools", "response")
            .to_string()
            .as_bytes(),
    ) {
        Answer::Customer(c) => c,
        Answer::Problem(p) => panic!("{p:?}"),
    };
    assert_eq!(
        stored,
        json!({
            "id": "3cdcdcc8-80c5-41bb-abb5-ac8772c9cc24",
            "version": "1",
            "email": "johndoe@example.com",
            "name": {"given": "John", "family": "Doe"},
            "created_at": "2022-09-19T14:34:35.843Z",
            "updated_at": "2022-09-19T14:34:35.843Z"
        })
    );
}

#[test]
fn the_409_of_the_spec_reads_as_a_conflict() {
    let body = br#"{"statusCode": 409, "message": "Object 62f05181-4789-47ce-84f8-d27c895ee23c has a different version than expected. Expected: 1 - Actual: 2.", "errors": [{"code": "ConcurrentModification", "message": "Object 62f05181-4789-47ce-84f8-d27c895ee23c has a different version than expected. Expected: 1 - Actual: 2.", "currentVersion": 2}]}"#;
    match registry().read_answer(&endpoint("commercetools"), 409, body) {
        Answer::Problem(p) => assert_eq!(p.kind(), dialectgate_canonical::ErrorKind::Conflict),
        Answer::Customer(c) => panic!("{c}"),
    }
}

/// A synthetic dialect `ledger` (a copy of Medusa's definition on its own path) with `edit`
/// applied, loaded: the error message when the load fails.
fn ledger_error(edit: impl Fn(String) -> String) -> String {
    let ws = Workspace::new("action-lists");
    let medusa = std::fs::read_to_string(ws.dialects().join("medusa.toml")).expect("test setup");
    let ledger = medusa
        .replacen("id = \"medusa\"", "id = \"ledger\"", 1)
        .replace("/admin/customers/{id}", "/ledger/customers/{id}");
    std::fs::write(ws.dialects().join("ledger.toml"), edit(ledger)).expect("test setup");
    common::copy_tree(&ws.schemas().join("medusa"), &ws.schemas().join("ledger"));
    match ws.load() {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

/// An edit of a definition's text.
type Edit = Box<dyn Fn(String) -> String>;

fn with_actions(toml: String) -> String {
    toml.replacen(
        "[request]\n",
        "[request]\nactions = { list = \"/actions\", discriminator = \"action\" }\n",
        1,
    )
}

fn first_name_action(toml: String, action: &str) -> String {
    toml.replacen(
        "dialect = \"/first_name\"\n",
        &format!("dialect = \"/first_name\"\naction = \"{action}\"\n"),
        1,
    )
}

#[test]
fn a_synthetic_action_list_loads() {
    assert_eq!(
        ledger_error(|t| first_name_action(with_actions(t), "setFirstName")),
        ""
    );
}

#[test]
fn every_misuse_of_action_lists_is_refused_at_load_naming_the_key() {
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "action without a list",
            Box::new(|t| first_name_action(t, "setFirstName")),
            "the request declares no action list",
        ),
        (
            "a list no rule names an action for",
            Box::new(with_actions),
            "no field rule names an `action`",
        ),
        (
            "actions on the response",
            Box::new(|t| {
                first_name_action(with_actions(t), "setFirstName").replacen(
                    "[response]\n",
                    "[response]\nactions = { list = \"/actions\", discriminator = \"action\" }\n",
                    1,
                )
            }),
            "response.actions: only a request is a list of actions",
        ),
        (
            "the list is the envelope",
            Box::new(|t| {
                first_name_action(
                    t.replacen(
                        "[request]\n",
                        "[request]\nactions = { list = \"\", discriminator = \"action\" }\n",
                        1,
                    ),
                    "setFirstName",
                )
            }),
            "request.actions.list",
        ),
        (
            "two rules, one action",
            Box::new(|t| {
                first_name_action(with_actions(t), "setName").replacen(
                    "dialect = \"/last_name\"\n",
                    "dialect = \"/last_name\"\naction = \"setName\"\n",
                    1,
                )
            }),
            "one action sets one member",
        ),
    ];
    for (what, edit, needle) in cases {
        let message = ledger_error(edit);
        assert!(message.contains("ledger.toml"), "{what}: {message}");
        assert!(message.contains(needle), "{what}: {needle:?} not in {message}");
    }
}

#[test]
fn an_unknown_client_authentication_is_refused_at_load() {
    let ws = Workspace::new("client-auth");
    ws.edit(
        "dialects/commercetools.toml",
        "client_auth = \"basic\"",
        "client_auth = \"digest\"",
    );
    let message = ws.load().err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("commercetools.toml") && message.contains("auth.token_endpoint.client_auth"),
        "{message}"
    );
}

/// The request schema picks each item's payload schema by its action (an `if`/`else` chain over
/// `$defs`): the refusals are those of one `if`/`then` per action, each tested on every item
/// (checked against that form, item by item, when the chain replaced it). An item without an
/// action meets every action's payload schema, as it did under the flat list.
#[test]
fn each_action_is_checked_against_its_own_payload_schema() {
    let refused = |actions: Value| -> Vec<(String, String)> {
        let body = json!({"version": 1, "actions": actions});
        let p = translate("commercetools", "canonical", &body, Mode::Strict).unwrap_err();
        p.errors
            .iter()
            .map(|e| (e.pointer.clone(), e.code.clone()))
            .collect()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(p, c)| ((*p).to_owned(), (*c).to_owned()))
            .collect()
    };
    assert_eq!(
        refused(json!([{"firstName": "Ada"}])),
        pairs(&[
            ("/actions/0/action", "required"),
            ("/actions/0/email", "required"),
            ("/actions/0/firstName", "additionalProperties"),
        ])
    );
    assert_eq!(
        refused(json!([{"action": "setFirstName", "firstName": "Ada"}, {"action": "changeEmail"}])),
        pairs(&[("/actions/1/email", "required")])
    );
    assert_eq!(
        refused(json!([{"action": "setLastName", "lastName": 7, "x": 1}])),
        pairs(&[
            ("/actions/0/lastName", "type"),
            ("/actions/0/x", "additionalProperties")
        ])
    );
    assert_eq!(
        refused(json!([{"action": "setKey", "key": "bad key!"}])),
        pairs(&[("/actions/0/key", "pattern")])
    );
    assert_eq!(
        refused(json!([{"action": "foo", "y": 1}, {"action": "addAddress", "address": {}}])),
        pairs(&[("/actions/0/action", "enum")])
    );
}
