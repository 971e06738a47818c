//! Operations told apart by the body (`body_match`) and a retrieve with its own request and
//! answer (`[retrieve.request]`, `[retrieve.response]`, `null_means_not_found`): each concept
//! pinned, and each misuse refused at load naming the file and the key. The shipped Shopify
//! definition is the worked case; expected bodies come from docs/vendors/shopify.md.

#[path = "support/common.rs"]
mod common;

use common::Workspace;
use dialectgate_canonical::ErrorKind;
use dialectgate_dialect::{Answer, Endpoint, Operation, Registry};
use serde_json::{Value, json};

fn load_error(ws: &Workspace) -> String {
    match ws.load() {
        Ok(_) => panic!("the broken definitions loaded"),
        Err(e) => e.to_string(),
    }
}

fn assert_mentions(message: &str, needles: &[&str]) {
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in:\n{message}");
    }
}

fn registry() -> Registry {
    Registry::embedded().expect("the shipped definitions load")
}

fn shopify(reg: &Registry) -> Endpoint {
    reg.endpoint("shopify").expect("shopify is shipped")
}

/// The documented mutation (docs/vendors/shopify.md#request).
const MUTATION: &str = "mutation customerUpdate($input: CustomerInput!) {\n  customerUpdate(input: $input) {\n    customer { id firstName lastName email phone tags updatedAt }\n    userErrors { field message }\n  }\n}";

/// A `customer(id:)` read with the id in a variable (docs/vendors/shopify.md#retrieve).
const QUERY: &str =
    "query ($id: ID!) { customer(id: $id) { id legacyResourceId firstName lastName tags note updatedAt } }";

#[test]
fn the_document_tells_the_update_from_the_read() {
    let reg = registry();
    let d = reg.dialect("shopify").unwrap();
    let [(op_a, update), (op_b, read)] = d.routes().collect::<Vec<_>>()[..] else {
        panic!("shopify has an update and a read");
    };
    assert_eq!((op_a, op_b), (Operation::Update, Operation::Retrieve));
    assert_eq!(
        (update.path.as_str(), update.method.as_str()),
        (read.path.as_str(), "POST")
    );
    let body = |q: &str| json!({"query": q, "variables": {}});
    for (q, is_update, is_read) in [
        (MUTATION, true, false),
        (
            "mutation { customerUpdate(input: {id: \"x\"}) { userErrors { message } } }",
            true,
            false,
        ),
        (
            "#graphql\n  mutation Rename($input: CustomerInput!) { c: customerUpdate(input: $input) { userErrors { field } } }",
            true,
            false,
        ),
        (QUERY, false, true),
        (
            "{ customer(id: \"gid://shopify/Customer/1\") { id } }",
            false,
            true,
        ),
        (
            "query GetCustomer($id: ID!) {\n  customer(id: $id) { id }\n}",
            false,
            true,
        ),
        // Other operations are neither.
        (
            "mutation customerCreate($input: CustomerInput!) { customerCreate(input: $input) { userErrors { field } } }",
            false,
            false,
        ),
        (
            "query { customers(first: 10) { edges { node { id } } } }",
            false,
            false,
        ),
        (
            "query { customerByIdentifier(identifier: {id: \"x\"}) { id } }",
            false,
            false,
        ),
        ("subscription { customer(id: \"x\") { id } }", false, false),
    ] {
        assert_eq!(update.matches_body(&body(q)), is_update, "update? {q}");
        assert_eq!(read.matches_body(&body(q)), is_read, "read? {q}");
    }
    // The member must be a string.
    assert!(!update.matches_body(&json!({"query": 1})));
    assert!(!read.matches_body(&json!({})));
}

#[test]
fn sharing_a_method_and_path_without_body_match_fails() {
    let ws = Workspace::new("shared-without-match");
    let toml = std::fs::read_to_string(ws.dialects().join("shopify.toml")).unwrap();
    let line = toml
        .lines()
        .filter(|l| l.starts_with("body_match"))
        .nth(1)
        .unwrap()
        .to_owned();
    ws.edit("dialects/shopify.toml", &format!("{line}\n"), "");
    assert_mentions(
        &load_error(&ws),
        &[
            "shopify.toml",
            "retrieve: shares a method and path with `route`",
            "body_match",
        ],
    );
}

#[test]
fn body_matches_that_plainly_accept_the_same_bodies_fail() {
    let ws = Workspace::new("same-match");
    let toml = std::fs::read_to_string(ws.dialects().join("shopify.toml")).unwrap();
    let lines: Vec<&str> = toml.lines().filter(|l| l.starts_with("body_match")).collect();
    ws.edit("dialects/shopify.toml", lines[1], lines[0]);
    assert_mentions(
        &load_error(&ws),
        &[
            "shopify.toml",
            "retrieve.body_match",
            "the same bodies would match",
        ],
    );
    // No member in common: a body can meet both.
    let ws = Workspace::new("disjoint-match");
    ws.edit(
        "dialects/shopify.toml",
        lines[1],
        "body_match = { \"/operationName\" = \"^customer$\" }",
    );
    assert_mentions(
        &load_error(&ws),
        &["retrieve.body_match", "the same bodies would match"],
    );
}

#[test]
fn a_body_match_that_does_not_compile_fails_naming_the_key() {
    let ws = Workspace::new("bad-regex");
    ws.edit(
        "dialects/shopify.toml",
        "body_match = { \"/query\" = '^(?:",
        "body_match = { \"/query\" = '^((?:",
    );
    assert_mentions(
        &load_error(&ws),
        &[
            "shopify.toml",
            "route.body_match.\"/query\"",
            "not a regular expression",
        ],
    );
    let ws = Workspace::new("bad-match-pointer");
    ws.edit(
        "dialects/shopify.toml",
        "body_match = { \"/query\" = '^(?:",
        "body_match = { \"query\" = '^(?:",
    );
    assert_mentions(&load_error(&ws), &["route.body_match", "is not a JSON Pointer"]);
}

#[test]
fn a_read_told_apart_by_its_body_needs_one() {
    let ws = Workspace::new("match-without-body");
    ws.edit(
        "dialects/shopify.toml",
        "method = \"POST\"\npath = \"/admin/api/{version}/graphql.json\"\npath_params = { version = \"2026-10\" }\nid_in_body = \"/variables/id\"",
        "method = \"POST\"\nalso_methods = [\"GET\"]\npath = \"/admin/api/{version}/graphql.json\"\npath_params = { version = \"2026-10\" }\nid_in_body = \"/variables/id\"",
    );
    assert_mentions(
        &load_error(&ws),
        &["retrieve.body_match", "must carry the id in the body", "no `GET`"],
    );
}

#[test]
fn retrieve_messages_refuse_keys_that_speak_of_an_update() {
    let ws = Workspace::new("retrieve-keys");
    ws.edit(
        "dialects/shopify.toml",
        "[retrieve.request]\n",
        "[retrieve.request]\nenvelope = \"/variables\"\nrequired = [\"/id\"]\n",
    );
    ws.edit(
        "dialects/shopify.toml",
        "null_means_not_found = true\n",
        "null_means_not_found = true\nvolatile = [\"/id\"]\n",
    );
    assert_mentions(
        &load_error(&ws),
        &[
            "retrieve.request.envelope",
            "retrieve.request.required",
            "a retrieve call carries the id (`id_in_body`) and fixed members (`constants`, `extra`) only",
            "retrieve.response.volatile",
            "stay in `[response]`",
        ],
    );
    // On the update route, and null_means_not_found outside [retrieve.response].
    let ws = Workspace::new("route-request");
    ws.edit(
        "dialects/elasticpath.toml",
        "[retrieve]\n",
        "[route.response]\nenvelope = \"/x\"\n\n[retrieve]\n",
    );
    ws.edit(
        "dialects/elasticpath.toml",
        "[response]\nenvelope = \"/data\"\n",
        "[response]\nenvelope = \"/data\"\nnull_means_not_found = true\n",
    );
    assert_mentions(
        &load_error(&ws),
        &[
            "elasticpath.toml",
            "`request` and `response` belong to `[retrieve]` only",
            "only `[retrieve.response]` may say that a null answer means not found",
        ],
    );
    // Fixed members of a call that has no body; a null answer without an envelope.
    let ws = Workspace::new("retrieve-request-no-body");
    ws.edit(
        "dialects/elasticpath.toml",
        "[auth]\n",
        "[retrieve.request]\nextra = { \"/x\" = 1 }\n\n[retrieve.response]\nnull_means_not_found = true\n\n[auth]\n",
    );
    assert_mentions(
        &load_error(&ws),
        &[
            "retrieve.request: the retrieve call has no body",
            "retrieve.response.null_means_not_found: needs an `envelope`",
        ],
    );
}

#[test]
fn the_gateways_read_is_the_query_with_the_id_in_its_variables() {
    let reg = registry();
    let outbound = reg.retrieve(&shopify(&reg), "1018520244").unwrap();
    assert_eq!(outbound.method, "POST");
    assert_eq!(outbound.path, "/admin/api/2026-10/graphql.json");
    assert_eq!(
        outbound.body["variables"],
        json!({"id": "gid://shopify/Customer/1018520244"})
    );
    let query = outbound.body["query"].as_str().unwrap();
    // The read's own document, which is the read by its own body_match.
    let d = reg.dialect("shopify").unwrap();
    let read = d.retrieve_route().unwrap();
    assert!(read.matches_body(&outbound.body), "{query}");
    assert!(!d.route().matches_body(&outbound.body), "{query}");
    for member in [
        "id",
        "firstName",
        "lastName",
        "email",
        "phone",
        "note",
        "tags",
        "updatedAt",
    ] {
        assert!(query.contains(member), "{member} not selected: {query}");
    }
    assert_eq!(outbound.body["operationName"], "customer");
    assert_eq!(outbound.body.as_object().unwrap().len(), 3, "{}", outbound.body);
}

#[test]
fn the_gateways_update_is_the_mutation_selecting_every_mapped_member_and_user_errors() {
    let reg = registry();
    let t = reg
        .translate(
            &reg.endpoint("canonical").unwrap(),
            &shopify(&reg),
            Some("1018520244"),
            &json!({"name": {"given": "Tobi", "family": "Lutke"}}),
            dialectgate_dialect::Mode::Strict,
        )
        .unwrap();
    let body = &t.outbound.body;
    assert_eq!(
        body["variables"],
        json!({"input": {"id": "gid://shopify/Customer/1018520244", "firstName": "Tobi", "lastName": "Lutke"}})
    );
    let d = reg.dialect("shopify").unwrap();
    assert!(d.route().matches_body(body));
    let query = body["query"].as_str().unwrap();
    assert!(query.contains("userErrors { field message }"), "{query}");
    for member in [
        "firstName",
        "lastName",
        "email",
        "phone",
        "note",
        "tags",
        "createdAt",
        "updatedAt",
    ] {
        assert!(query.contains(member), "{member} not selected: {query}");
    }
}

/// The documented read answer (docs/vendors/shopify.md#retrieve), with the members this
/// definition reads (`email` rather than 2025-07's `defaultEmailAddress`).
fn read_answer() -> Value {
    json!({"data": {"customer": {"id": "gid://shopify/Customer/544365967", "legacyResourceId": "544365967",
        "firstName": "Bob", "lastName": "Bobsen", "email": "bob@example.com",
        "phone": null, "tags": [], "note": null, "updatedAt": "2025-05-12T20:21:18Z"}},
      "extensions": {"cost": {"requestedQueryCost": 1, "actualQueryCost": 1,
        "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1999, "restoreRate": 100.0}}}})
}

#[test]
fn a_read_answer_is_read_in_data_customer() {
    let reg = registry();
    let bytes = serde_json::to_vec(&read_answer()).unwrap();
    let Answer::Customer(c) = reg.read_answer_to(Operation::Retrieve, &shopify(&reg), 200, &bytes) else {
        panic!("not a customer");
    };
    assert_eq!(c["id"], "544365967");
    assert_eq!(c["name"], json!({"given": "Bob", "family": "Bobsen"}));
    assert_eq!(c["email"], "bob@example.com");
    assert_eq!(c["updated_at"], "2025-05-12T20:21:18Z");
    // The same body is not an update's answer (no data.customerUpdate).
    let Answer::Problem(p) = reg.read_answer(&shopify(&reg), 200, &bytes) else {
        panic!("a read's answer taken for an update's");
    };
    assert_eq!(p.kind(), ErrorKind::BadGateway, "{p:?}");
}

#[test]
fn a_null_customer_is_not_found_and_is_written_so_to_a_reader() {
    let reg = registry();
    let ep = shopify(&reg);
    let null = serde_json::to_vec(&json!({"data": {"customer": null}})).unwrap();
    let Answer::Problem(p) = reg.read_answer_to(Operation::Retrieve, &ep, 200, &null) else {
        panic!("a null customer read as one");
    };
    assert_eq!(p.kind(), ErrorKind::NotFound);
    // Access denied beside the null is access denied (docs/vendors/shopify.md#errors).
    let denied = json!({"errors": [{"message": "Access denied for customer field.",
        "extensions": {"code": "ACCESS_DENIED", "documentation": "https://shopify.dev/api/usage/access-scopes"}}],
        "data": {"customer": null}});
    let Answer::Problem(p) = reg.read_answer_to(
        Operation::Retrieve,
        &ep,
        200,
        &serde_json::to_vec(&denied).unwrap(),
    ) else {
        panic!()
    };
    assert_eq!(p.kind(), ErrorKind::Forbidden);
    // Rendered to a Shopify reader: 200 {"data": {"customer": null}}; to an updater: the
    // documented user error.
    let problem = dialectgate_canonical::Problem::new(ErrorKind::NotFound, "no such customer");
    let read = reg.render_error_to(
        Operation::Retrieve,
        &ep,
        &problem,
        Some("gid://shopify/Customer/1"),
    );
    assert_eq!(read.status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&read.body).unwrap(),
        json!({"data": {"customer": null}})
    );
    let update = reg.render_error_to(Operation::Update, &ep, &problem, Some("gid://shopify/Customer/1"));
    assert_eq!(update.status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&update.body).unwrap(),
        json!({"data": {"customerUpdate": {"userErrors": [{"field": ["id"], "message": "Customer does not exist"}], "customer": null}}})
    );
    // Other dialects' reads are unchanged.
    let medusa = reg.render_error_to(
        Operation::Retrieve,
        &reg.endpoint("medusa").unwrap(),
        &problem,
        None,
    );
    assert_eq!(medusa.status, 404);
}

#[test]
fn a_callers_read_carries_the_id_and_the_fixed_members_only() {
    let reg = registry();
    let d = reg.dialect("shopify").unwrap();
    let id = d
        .retrieve_id(
            None,
            "",
            Some(json!({"query": QUERY, "variables": {"id": "gid://shopify/Customer/7"}})),
        )
        .unwrap();
    // The bare id (the GID's number) is what every other dialect sees.
    assert_eq!(id, "7");
    for (body, pointer) in [
        (
            json!({"query": QUERY, "variables": {"id": "gid://shopify/Customer/7", "first": 5}}),
            "/variables/first",
        ),
        (
            json!({"query": QUERY, "variables": {"id": "gid://shopify/Customer/7"}, "extensions": {}}),
            "/extensions",
        ),
        (
            json!({"query": "{ customer(id: \"gid://shopify/Customer/7\") { id } }"}),
            "/variables/id",
        ),
    ] {
        let p = d.retrieve_id(None, "", Some(body.clone())).unwrap_err();
        assert_eq!(p.kind(), ErrorKind::Validation, "{body}");
        assert_eq!(p.errors[0].pointer, pointer, "{body}: {p:?}");
    }
}

/// The documented `customerUpdate` example (docs/vendors/shopify.md#request) reads as the
/// canonical patch it means, and the documented answer (#answer) as the customer.
#[test]
fn the_documented_update_and_answer_read_as_canonical() {
    let reg = registry();
    let body = json!({"query": MUTATION, "variables": {"input": {
        "id": "gid://shopify/Customer/1018520244", "firstName": "Tobi", "lastName": "Lutke"}}});
    let t = reg
        .translate(
            &shopify(&reg),
            &reg.endpoint("canonical").unwrap(),
            None,
            &body,
            dialectgate_dialect::Mode::Strict,
        )
        .unwrap();
    assert_eq!(
        t.outbound.body,
        json!({"name": {"given": "Tobi", "family": "Lutke"}})
    );
    assert!(t.fidelity.is_exact(), "{:?}", t.fidelity);
    let answer = json!({"data": {"customerUpdate": {"userErrors": [],
        "customer": {"id": "gid://shopify/Customer/1018520244", "firstName": "Tobi", "lastName": "Lutke"}}}});
    let Answer::Customer(c) = reg.read_answer(&shopify(&reg), 200, &serde_json::to_vec(&answer).unwrap())
    else {
        panic!("the documented answer is a success");
    };
    assert_eq!(c["name"], json!({"given": "Tobi", "family": "Lutke"}));
}

/// Shopify's documented error answers (docs/vendors/shopify.md#answer and #errors), read back
/// from an upstream, are the kinds the definition's decisions say.
#[test]
fn shopifys_documented_error_answers_read_back_as_their_kinds() {
    let reg = registry();
    let ep = shopify(&reg);
    // Not a success, and the kind its status and literal members say (an upstream's internal
    // error then reaches callers as a bad gateway).
    let kind = |status: u16, body: Value| {
        let bytes = serde_json::to_vec(&body).unwrap();
        assert!(
            matches!(reg.read_answer(&ep, status, &bytes), Answer::Problem(_)),
            "{body}"
        );
        reg.dialect("shopify")
            .unwrap()
            .classify_error(status, &bytes)
            .kind()
    };
    let not_found = json!({"data": {"customerUpdate": {"userErrors": [{"field": ["id"], "message": "Customer does not exist"}], "customer": null}}});
    assert_eq!(kind(200, not_found), ErrorKind::NotFound);
    let invalid = json!({"data": {"customerUpdate": {"userErrors": [{"field": null, "message": "Customer must have a name, phone number or email address"}], "customer": null}}});
    assert_eq!(kind(200, invalid), ErrorKind::Validation);
    let throttled = json!({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
        "extensions": {"cost": {"requestedQueryCost": 752, "actualQueryCost": null,
            "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 666, "restoreRate": 50.0}}}});
    assert_eq!(kind(200, throttled.clone()), ErrorKind::RateLimited);
    assert_eq!(kind(429, throttled), ErrorKind::RateLimited);
    let internal = json!({"errors": [{"message": "Internal error. Looks like something went wrong on our end. Request ID: 1b355a21-7117-44c5-8d8b-8948082f40a8 (include this in support requests).",
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "1b355a21-7117-44c5-8d8b-8948082f40a8"}}]});
    assert_eq!(kind(200, internal), ErrorKind::Internal);
    let denied = json!({"errors": [{"message": "Access denied for customerUpdate field. Required access: `write_customers` access scope.",
        "locations": [{"line": 2, "column": 3}], "path": ["customerUpdate"],
        "extensions": {"code": "ACCESS_DENIED", "documentation": "https://shopify.dev/api/usage/access-scopes",
            "requiredAccess": "`write_customers` access scope."}}], "data": {"customerUpdate": null}});
    assert_eq!(kind(200, denied), ErrorKind::Forbidden);
    // A code no kind names: the caller cannot mend it (decision).
    let costly = json!({"errors": [{"message": "Query cost is 2003, which exceeds the single query max cost limit (1000).",
        "extensions": {"code": "MAX_COST_EXCEEDED", "cost": 2003, "maxCost": 1000, "documentation": "https://shopify.dev/api/usage/rate-limits"}}]});
    assert_eq!(kind(200, costly), ErrorKind::BadGateway);
    let unauthorized =
        json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"});
    assert_eq!(kind(401, unauthorized), ErrorKind::Unauthorized);
    // The upstream's own words come along.
    let Answer::Problem(p) = reg.read_answer(
        &ep,
        200,
        br#"{"data": {"customerUpdate": {"userErrors": [{"field": ["email"], "message": "Email is invalid"}], "customer": null}}}"#,
    ) else {
        panic!()
    };
    assert_eq!(
        (p.kind(), p.message()),
        (ErrorKind::Validation, "Email is invalid")
    );
}
