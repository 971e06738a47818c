//! Upstream errors, as each vendor really sends them, rendered for every caller dialect.

use dialectgate_canonical::ErrorKind;
use serde_json::json;

use crate::harness::{self, Reply, Upstream};
use crate::vendor_errors::{Kind, callers, check};

fn body(v: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

/// What `upstream` sends for `kind` (from docs/vendors/<id>.md#errors), or `None` where the
/// vendor has no such answer.
fn vendor_error(upstream: &str, kind: ErrorKind) -> Option<Reply> {
    use ErrorKind::*;
    let json = "application/json";
    Some(match (upstream, kind) {
        // The canonical binding's RFC 9457 problem details (schemas/canonical/error.json),
        // written out literally.
        ("canonical", k) => {
            let (status, name, title) = match k {
                NotFound => (404, "not_found", "Not found"),
                Validation => (400, "validation", "Invalid request"),
                Duplicate => (409, "duplicate", "Duplicate"),
                Unauthorized => (401, "unauthorized", "Unauthorized"),
                Internal => (500, "internal", "Internal server error"),
                _ => return None,
            };
            (
                status,
                "application/problem+json",
                body(json!({
                    "type": format!("urn:dialectgate:problem:{name}"),
                    "title": title,
                    "status": status,
                    "detail": "upstream says so",
                })),
            )
        }
        ("elasticpath", NotFound) => (
            404,
            json,
            body(
                json!({"errors": [{"status": 404, "title": "Customer not found", "detail": "The requested customer could not be found"}]}),
            ),
        ),
        ("elasticpath", Validation) => (
            400,
            json,
            body(
                json!({"errors": [{"status": 400, "source": "email", "title": "format", "detail": "email is invalid"}]}),
            ),
        ),
        // EP documents no duplicate answer (its definition's 409 "Duplicate" is a GUESS, not a
        // fixture); its documented 409 is the write conflict.
        ("elasticpath", Conflict) => (
            409,
            json,
            body(
                json!({"errors": [{"status": 409, "detail": "Write conflict detected", "title": "Conflict"}]}),
            ),
        ),
        ("elasticpath", Unauthorized) => (
            401,
            json,
            body(json!({"errors": [{"status": 401, "title": "Unable to validate access token"}]})),
        ),
        ("elasticpath", Internal) => (
            500,
            json,
            body(json!({"errors": [{"status": 500, "title": "Internal Server Error"}]})),
        ),
        ("microbase", NotFound) => (
            200,
            json,
            body(json!({"ok": false, "error": "customer_not_found", "data": {"id": "cus_ada"}})),
        ),
        ("microbase", Validation) => (
            200,
            json,
            body(
                json!({"ok": false, "error": "validation_error", "data": ["payload.tags: should be array"]}),
            ),
        ),
        ("microbase", Duplicate) => (
            200,
            json,
            body(
                json!({"ok": false, "error": "duplicate_key", "data": "E11000 duplicate key error index: email_1"}),
            ),
        ),
        ("microbase", Unauthorized) => (401, json, body(json!({"ok": false, "error": "invalid_token"}))),
        ("microbase", Internal) => (
            500,
            json,
            body(json!({"ok": false, "error": {"message": "boom"}})),
        ),
        ("axim", NotFound) => (
            404,
            json,
            body(json!({"success": false, "message": "Customer not found"})),
        ),
        ("axim", Validation) => (
            400,
            json,
            body(json!({"success": false, "message": "email is invalid"})),
        ),
        ("axim", Unauthorized) => (
            401,
            json,
            body(json!({"success": false, "message": "The access token is invalid or missing."})),
        ),
        ("axim", Internal) => (
            500,
            json,
            body(json!({"success": false, "message": "An error occurred on the server."})),
        ),
        ("medusa", NotFound) => (
            404,
            json,
            body(json!({"type": "not_found", "message": "Customer with id: cus_ada was not found"})),
        ),
        ("medusa", Validation) => (
            400,
            json,
            body(json!({"type": "invalid_data", "message": "email must be an email"})),
        ),
        ("medusa", Duplicate) => (
            422,
            json,
            body(
                json!({"code": "invalid_request_error", "type": "duplicate_error", "message": "Customer with email, has_account x@y.com, f already exists."}),
            ),
        ),
        ("medusa", Conflict) => (
            409,
            json,
            body(
                json!({"code": "invalid_state_error", "type": "conflict", "message": "The request conflicted with another request. You may retry the request with the provided Idempotency-Key."}),
            ),
        ),
        ("medusa", Unauthorized) => (401, "text/plain; charset=utf-8", b"Unauthorized".to_vec()),
        ("medusa", Internal) => (
            500,
            json,
            body(
                json!({"code": "unknown_error", "type": "unknown_error", "message": "An unknown error occurred."}),
            ),
        ),
        ("checkoutpage", NotFound) => (
            404,
            json,
            body(json!({"status": "error", "type": "error", "message": "Not Found", "errors": []})),
        ),
        ("checkoutpage", Validation) => (
            400,
            json,
            body(
                json!({"status": "error", "type": "error", "message": "Bad Request", "errors": [{"param": "email", "message": "invalid", "value": null}]}),
            ),
        ),
        ("checkoutpage", Unauthorized) => (
            401,
            json,
            body(json!({"error": "Unauthorized", "message": "Missing or invalid API key"})),
        ),
        ("checkoutpage", Internal) => (
            500,
            json,
            body(
                json!({"status": "error", "type": "error", "message": "Internal Server Error", "errors": []}),
            ),
        ),
        // spree.md#errors: Spree's documented bodies (RecordNotFoundError.yaml,
        // AuthenticationFailedError.yaml, the update's 422 example) and Rails' own 500. A taken
        // email is a 422 of the validation shape, which reads back as a validation error: no
        // Duplicate row.
        ("spree", NotFound) => (
            404,
            "application/vnd.api+json",
            body(json!({"error": "The resource you were looking for could not be found."})),
        ),
        ("spree", Validation) => (
            422,
            "application/vnd.api+json",
            body(
                json!({"error": "Bill address belongs to other user", "errors": {"bill_address_id": ["belongs to other user"]}}),
            ),
        ),
        ("spree", Unauthorized) => (
            401,
            "application/vnd.api+json",
            body(json!({"error": "The access token is invalid"})),
        ),
        ("spree", Internal) => (
            500,
            "application/json; charset=utf-8",
            body(json!({"status": 500, "error": "Internal Server Error"})),
        ),
        _ => return None,
    })
}

/// The row of the literal vendor tables (`vendor_errors.rs`) the caller must get for an
/// upstream `kind` in static credential mode.
fn expected(kind: ErrorKind) -> Kind {
    match kind {
        ErrorKind::NotFound => Kind::NotFound,
        ErrorKind::Validation => Kind::Validation,
        ErrorKind::Duplicate => Kind::Duplicate,
        ErrorKind::Conflict => Kind::Conflict,
        // The gateway's own upstream credential was refused: not the caller's fault; and a
        // fault of the upstream server is a bad gateway for the caller.
        ErrorKind::Unauthorized | ErrorKind::Forbidden | ErrorKind::Internal => Kind::BadGateway,
        k => panic!("no upstream fixture drives {k:?}"),
    }
}

async fn upstream_errors(upstream_kind: &str) {
    for kind in [
        ErrorKind::NotFound,
        ErrorKind::Validation,
        ErrorKind::Duplicate,
        ErrorKind::Conflict,
        ErrorKind::Unauthorized,
        ErrorKind::Internal,
    ] {
        let Some(reply) = vendor_error(upstream_kind, kind) else {
            continue;
        };
        let upstream = Upstream::start(move |_| reply.clone()).await;
        // One request per caller dialect, all failing alike: without the breaker, however many
        // dialects there are, each caller sees the upstream's own error, not an open breaker.
        let gw = harness::start(harness::config(
            dialectgate_gateway::Overrides {
                upstream: Some(upstream.url()),
                upstream_dialect: Some(upstream_kind.into()),
                ..Default::default()
            },
            &[("DIALECTGATE__UPSTREAM__BREAKER_FAILURES", "0")],
        ))
        .await;
        for caller in callers() {
            let answer = harness::send_simple(&gw, caller, "cus_ada").await;
            let how = format!("{upstream_kind} upstream {kind:?}");
            check(caller, expected(kind), "cus_ada", &answer, &how);
            assert!(answer.header("x-request-id").is_some());
        }
        gw.stop().await;
    }
}

#[tokio::test]
async fn canonical_upstream_errors() {
    upstream_errors("canonical").await;
}

#[tokio::test]
async fn elasticpath_upstream_errors() {
    upstream_errors("elasticpath").await;
}

#[tokio::test]
async fn microbase_upstream_errors_including_200_ok_false() {
    upstream_errors("microbase").await;
}

#[tokio::test]
async fn axim_upstream_errors() {
    upstream_errors("axim").await;
}

#[tokio::test]
async fn medusa_upstream_errors_including_text_plain_401() {
    upstream_errors("medusa").await;
}

#[tokio::test]
async fn checkoutpage_upstream_errors_including_the_auth_guide_401_shape() {
    upstream_errors("checkoutpage").await;
}

#[tokio::test]
async fn spree_upstream_errors_including_the_422_keyed_by_attribute() {
    upstream_errors("spree").await;
}

#[tokio::test]
async fn passthrough_mode_hands_an_upstream_401_to_the_caller() {
    let reply = vendor_error("medusa", ErrorKind::Unauthorized).unwrap();
    let upstream = Upstream::start(move |_| reply.clone()).await;
    let gw = harness::start(harness::config(
        dialectgate_gateway::Overrides {
            upstream: Some(upstream.url()),
            upstream_dialect: Some("medusa".into()),
            credentials: Some(dialectgate_gateway::CredentialMode::Passthrough),
            ..Default::default()
        },
        &[],
    ))
    .await;
    let answer = harness::send_simple(&gw, "elasticpath", "cus_ada").await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.json(),
        json!({"errors": [{"status": 401, "title": "Unable to validate access token"}]})
    );
    // The caller's credential was re-expressed in Medusa's header.
    assert_eq!(
        upstream.seen()[0].header("x-medusa-access-token"),
        Some(harness::CALLER_KEY)
    );
}

#[tokio::test]
async fn the_embedded_backend_answers_not_found_and_duplicate_in_each_dialect() {
    let gw = harness::start(harness::config(Default::default(), &[])).await;
    for caller in callers() {
        let answer = harness::send_simple(&gw, caller, "cus_missing").await;
        check(caller, Kind::NotFound, "cus_missing", &answer, "embedded backend");
    }
    // ada.king@… is free; give it to Grace, then Alan may not take it.
    let first = harness::send(&gw, "medusa", "cus_grace", &json!({"email": "taken@example.com"})).await;
    assert_eq!(first.status, 200);
    let dup = harness::send(&gw, "medusa", "cus_alan", &json!({"email": "taken@example.com"})).await;
    assert_eq!(dup.status, 422);
    assert_eq!(dup.json()["type"], "duplicate_error");
    let dup = harness::send(
        &gw,
        "microbase",
        "cus_alan",
        &json!({"id": "cus_alan", "email": "taken@example.com"}),
    )
    .await;
    assert_eq!(dup.status, 200);
    assert_eq!(dup.json()["error"], "duplicate_key");
}
