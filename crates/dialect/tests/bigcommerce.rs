//! BigCommerce's v3 Customers API as a dialect (issue #22), with the vendor's own bodies: the
//! array body and answer, integer ids, the read by `id:in`, errors keyed by the violating
//! member. Expected values come from docs/vendors/bigcommerce.md, never from the definition; the
//! id formats of other vendors (Shopify's GIDs) are pinned on a synthetic definition.

#[path = "support/common.rs"]
mod common;

use common::{Workspace, endpoint, registry};
use dialectgate_canonical::{ErrorKind, Problem, Violation};
use dialectgate_dialect::{Answer, Mode};
use serde_json::{Value, json};

fn bc() -> &'static dialectgate_dialect::Dialect {
    registry().dialect("bigcommerce").expect("bigcommerce is shipped")
}

fn answer(body: &Value) -> Answer {
    let bytes = serde_json::to_vec(body).expect("a JSON body");
    registry().read_answer(&endpoint("bigcommerce"), 200, &bytes)
}

#[test]
fn the_overviews_example_is_an_update_of_customer_12() {
    // docs/vendors/bigcommerce.md#request: the overview's literal example.
    let body = json!([{"id": 12, "email": "janedoe@example.com", "first_name": "Jane", "last_name": "Doe"}]);
    let t = registry()
        .translate(
            &endpoint("bigcommerce"),
            &endpoint("canonical"),
            None,
            &body,
            Mode::Strict,
        )
        .unwrap();
    assert_eq!(t.id, "12", "the integer id is the bare canonical id");
    assert_eq!(
        t.outbound.body,
        json!({"email": "janedoe@example.com", "name": {"given": "Jane", "family": "Doe"}})
    );
    assert_eq!(t.outbound.path, "/customers/12");
    assert!(t.fidelity.is_exact());

    // Back into BigCommerce: PUT …/v3/customers, an array of one item whose id is a number.
    let back = registry()
        .translate(
            &endpoint("canonical"),
            &endpoint("bigcommerce"),
            Some("12"),
            &t.outbound.body,
            Mode::Strict,
        )
        .unwrap();
    assert_eq!(back.outbound.method, "PUT");
    assert_eq!(back.outbound.path, "/stores/{store_hash}/v3/customers");
    assert_eq!(back.outbound.body, body);
}

#[test]
fn a_password_travels_as_authentication_new_password_and_never_comes_back() {
    // docs/vendors/bigcommerce.md#request: `authentication.new_password` is write-only.
    let t = registry()
        .translate(
            &endpoint("medusa"),
            &endpoint("bigcommerce"),
            Some("12"),
            &json!({"password": "s3cret-pass"}),
            Mode::Strict,
        )
        .unwrap();
    assert_eq!(
        t.outbound.body,
        json!([{"id": 12, "authentication": {"new_password": "s3cret-pass"}}])
    );
}

#[test]
fn more_than_one_customer_is_refused_with_the_vendors_413_naming_the_limit() {
    let body = json!([
        {"id": 12, "email": "janedoe@example.com"},
        {"id": 13, "email": "johndoe@example.com"}
    ]);
    let p = registry()
        .translate(
            &endpoint("bigcommerce"),
            &endpoint("canonical"),
            None,
            &body,
            Mode::Lenient,
        )
        .unwrap_err();
    assert_eq!(p.kind(), ErrorKind::PayloadTooLarge);
    let rendered = bc().render_error(&p, None);
    assert_eq!(rendered.status, 413);
    // The catalog spec's literal for the same rule, with the gateway's limit (one customer).
    let got: Value = serde_json::from_slice(&rendered.body).unwrap();
    assert_eq!(
        got,
        json!({"errors": {}, "status": 413,
               "title": "The request payload is too large. The maximum items allowed in the array is 1.",
               "type": "/api-docs/getting-started/api-status-codes"})
    );
    // An empty array says nothing: refused, not an update of nobody.
    let p = registry()
        .translate(
            &endpoint("bigcommerce"),
            &endpoint("canonical"),
            None,
            &json!([]),
            Mode::Lenient,
        )
        .unwrap_err();
    assert_eq!(p.kind(), ErrorKind::Validation);
}

#[test]
fn an_id_that_is_not_an_integer_is_refused_in_the_callers_dialect() {
    // Medusa's ids are opaque strings; BigCommerce's are integers: `cus_1` cannot be written.
    let p = registry()
        .translate(
            &endpoint("medusa"),
            &endpoint("bigcommerce"),
            Some("cus_1"),
            &json!({"email": "a@example.com"}),
            Mode::Lenient,
        )
        .unwrap_err();
    assert_eq!(p.kind(), ErrorKind::Untranslatable);
    assert_eq!(p.errors[0].code, "invalid_id");
    assert_eq!(
        p.errors[0].message,
        "the customer id must be an integer in bigcommerce"
    );
    // Rendered in Medusa's own shape.
    let rendered = registry()
        .dialect("medusa")
        .unwrap()
        .render_error(&p, Some("cus_1"));
    let got: Value = serde_json::from_slice(&rendered.body).unwrap();
    assert_eq!(got["type"], "invalid_data", "{got}");
    // A leading zero would not read back as itself.
    assert!(
        registry()
            .check_retrieve_id(&endpoint("medusa"), &endpoint("bigcommerce"), "012")
            .is_err()
    );
    assert!(
        registry()
            .check_retrieve_id(&endpoint("medusa"), &endpoint("bigcommerce"), "12")
            .is_ok()
    );
}

#[test]
fn the_answers_data_0_is_the_customer_and_its_integer_id_the_bare_id() {
    // docs/vendors/bigcommerce.md#answer: `{"data": [customer_Full], "meta": {}}`.
    let Answer::Customer(c) = answer(&json!({"data": [{
        "id": 12, "email": "janedoe@example.com", "first_name": "Jane", "last_name": "Doe",
        "company": "Acme Corp", "date_created": "2024-05-14T09:34:00Z"
    }], "meta": {}})) else {
        panic!("a customer")
    };
    assert_eq!(c["id"], "12");
    assert_eq!(c["company"]["name"], "Acme Corp");
    assert_eq!(c["created_at"], "2024-05-14T09:34:00Z");

    // And a customer as BigCommerce's answer: the id a number, the array of one, meta.
    let (status, body) = registry()
        .encode_answer(
            &endpoint("bigcommerce"),
            &json!({"id": "12", "email": "janedoe@example.com"}),
        )
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"data": [{"id": 12, "email": "janedoe@example.com"}], "meta": {}})
    );
    // A customer whose id is not an integer cannot be a BigCommerce answer.
    assert!(
        registry()
            .encode_answer(&endpoint("bigcommerce"), &json!({"id": "cus_1"}))
            .is_err()
    );
}

#[test]
fn an_empty_data_is_not_found_and_several_customers_are_no_answer() {
    // Decision (ours), docs/vendors/bigcommerce.md#retrieve: `id:in` matching nothing.
    let Answer::Problem(p) = answer(&json!({"data": [], "meta": {"pagination": {"total": 0}}})) else {
        panic!("no customer")
    };
    assert_eq!(p.kind(), ErrorKind::NotFound);
    let Answer::Problem(p) = answer(&json!({"data": [{"id": 12}, {"id": 13}], "meta": {}})) else {
        panic!("two customers are not one")
    };
    assert_eq!(p.kind(), ErrorKind::BadGateway);
}

#[test]
fn the_gateways_read_sends_the_id_in_the_query_without_a_body() {
    let out = registry().retrieve(&endpoint("bigcommerce"), "12").unwrap();
    assert_eq!(out.method, "GET");
    assert_eq!(out.path, "/stores/{store_hash}/v3/customers");
    assert_eq!(out.query, "id:in=12");
    assert!(out.body.is_null());
}

#[test]
fn a_callers_read_takes_one_id_from_id_in() {
    let d = bc();
    assert_eq!(d.retrieve_id(None, "id:in=12", None).unwrap(), "12");
    // Percent-encoded as a client library may write it.
    assert_eq!(d.retrieve_id(None, "id%3Ain=12", None).unwrap(), "12");
    // Several ids: refused naming the limit, never read in part.
    let p = d.retrieve_id(None, "id:in=4,5,6", None).unwrap_err();
    assert_eq!(p.errors[0].code, "too_many_ids");
    assert!(p.errors[0].message.contains("id:in"), "{p:?}");
    let p = d.retrieve_id(None, "id:in=4&id:in=5", None).unwrap_err();
    assert_eq!(p.errors[0].code, "too_many_ids");
    // None, not an integer, or another filter.
    assert_eq!(
        d.retrieve_id(None, "", None).unwrap_err().errors[0].code,
        "required"
    );
    assert_eq!(
        d.retrieve_id(None, "id:in=abc", None).unwrap_err().errors[0].code,
        "invalid_id"
    );
    assert_eq!(
        d.retrieve_id(None, "id:in=12&email:in=a@b.c", None)
            .unwrap_err()
            .errors[0]
            .code,
        "query"
    );
    // A body on the read: refused, not ignored.
    let p = d
        .retrieve_id(None, "id:in=12", Some(json!({"id": 12})))
        .unwrap_err();
    assert_eq!(p.errors[0].code, "additionalProperties");
}

#[test]
fn validation_errors_are_keyed_by_the_violating_member_and_read_back() {
    // docs/vendors/bigcommerce.md#errors: ErrorResponse, `errors` keyed `"0.email"`.
    let p = registry()
        .validate_request(&endpoint("bigcommerce"), &json!([{"id": 12, "email": "x"}]))
        .unwrap_err();
    let rendered = bc().render_error(&p, None);
    assert_eq!(rendered.status, 422);
    let got: Value = serde_json::from_slice(&rendered.body).unwrap();
    assert_eq!(got["status"], 422);
    assert_eq!(got["type"], "/api-docs/getting-started/api-status-codes");
    let errors = got["errors"].as_object().unwrap();
    assert_eq!(errors.keys().collect::<Vec<_>>(), ["0.email"], "{got}");
    assert!(bc().is_valid_error_body(&got));

    // Two violations of one member share its key, both messages kept.
    let two = Problem::new(ErrorKind::Validation, "two").with_errors(vec![
        Violation {
            pointer: "/0/email".into(),
            code: "format".into(),
            message: "bad email".into(),
            property: None,
        },
        Violation {
            pointer: "/0/email".into(),
            code: "maxLength".into(),
            message: "too long".into(),
            property: None,
        },
        Violation {
            pointer: "/0/phone".into(),
            code: "type".into(),
            message: "not a string".into(),
            property: None,
        },
    ]);
    let got: Value = serde_json::from_slice(&bc().render_error(&two, None).body).unwrap();
    assert_eq!(
        got["errors"],
        json!({"0.email": "bad email, too long", "0.phone": "not a string"})
    );

    // A BigCommerce upstream's 422 with keyed errors is a validation error with its message.
    let upstream = br#"{"status": 422, "title": "Update customers failed.", "type": "/api-docs/getting-started/api-status-codes", "errors": {"0.email": "Email address is already in use"}}"#;
    let back = bc().classify_error(422, upstream);
    assert_eq!(back.kind(), ErrorKind::Validation);
    assert_eq!(back.message(), "Email address is already in use");
    // The documented 404, 413 and 429 literals.
    let not_found = br#"{"status": 404, "title": "The resource at that URL is not found.", "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"}"#;
    assert_eq!(bc().classify_error(404, not_found).kind(), ErrorKind::NotFound);
    let too_many = br#"{"errors": {}, "status": 413, "title": "The request payload is too large. The maximum items allowed in the array is 10.", "type": "/api-docs/getting-started/api-status-codes"}"#;
    assert_eq!(
        bc().classify_error(413, too_many).kind(),
        ErrorKind::PayloadTooLarge
    );
    let limited = br#"{"status": 429, "title": "Too many requests", "type": "/api-docs/getting-started/api-status-codes", "errors": {}}"#;
    assert_eq!(bc().classify_error(429, limited).kind(), ErrorKind::RateLimited);
}

/// Medusa's definition with Shopify-style ids (`gid://shopify/Customer/{id}`): a synthetic
/// dialect for the template form of `id_format`.
fn with_gids() -> (Workspace, dialectgate_dialect::Registry) {
    let ws = Workspace::new("gid-ids");
    ws.edit(
        "dialects/medusa.toml",
        "path = \"/admin/customers/{id}\"\nquery",
        "path = \"/admin/customers/{id}\"\nid_format = \"gid://shopify/Customer/{id}\"\nquery",
    );
    let reg = ws.load().unwrap_or_else(|e| panic!("{e}"));
    (ws, reg)
}

#[test]
fn a_template_id_is_the_bare_id_for_everyone_else() {
    let (_ws, reg) = with_gids();
    let (gid, canonical) = (
        reg.endpoint("medusa").unwrap(),
        reg.endpoint("canonical").unwrap(),
    );
    let body = json!({"email": "a@example.com"});
    let t = reg
        .translate(
            &gid,
            &canonical,
            Some("gid://shopify/Customer/123"),
            &body,
            Mode::Strict,
        )
        .unwrap();
    assert_eq!(t.id, "123");
    assert_eq!(t.outbound.path, "/customers/123");
    // A GID of another type is not this dialect's customer id: the caller's own error.
    let p = reg
        .translate(
            &gid,
            &canonical,
            Some("gid://shopify/Order/123"),
            &body,
            Mode::Strict,
        )
        .unwrap_err();
    assert_eq!(p.kind(), ErrorKind::Validation);
    assert_eq!(p.errors[0].code, "invalid_id");
    // Towards it, the bare id is written in the template, as one path segment.
    let t = reg
        .translate(&canonical, &gid, Some("123"), &body, Mode::Strict)
        .unwrap();
    assert_eq!(
        t.outbound.path,
        "/admin/customers/gid%3A%2F%2Fshopify%2FCustomer%2F123"
    );
    let read = reg.retrieve(&gid, "123").unwrap();
    assert_eq!(read.path, "/admin/customers/gid%3A%2F%2Fshopify%2FCustomer%2F123");
    // Its answers carry the GID; the canonical customer the bare id, and back.
    let upstream = json!({"customer": {"id": "gid://shopify/Customer/123", "email": "a@example.com"}});
    let Answer::Customer(c) = reg.read_answer(&gid, 200, &serde_json::to_vec(&upstream).unwrap()) else {
        panic!("a customer")
    };
    assert_eq!(c["id"], "123");
    let (_, body) = reg.encode_answer(&gid, &c).unwrap();
    assert_eq!(body["customer"]["id"], "gid://shopify/Customer/123");
    // An answer about a GID of another type is not an answer about a customer.
    let other = json!({"customer": {"id": "gid://shopify/Order/123", "email": "a@example.com"}});
    assert!(matches!(
        reg.read_answer(&gid, 200, &serde_json::to_vec(&other).unwrap()),
        Answer::Problem(_)
    ));
}
