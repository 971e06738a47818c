//! Upstream errors, as each vendor really sends them, rendered for every caller dialect.

use dialectgate_canonical::ErrorKind;
use serde_json::json;

use crate::harness::{self, DIALECTS, Reply, Upstream};

fn body(v: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap()
}

/// What `upstream` sends for `kind` (from DIALECTS.md), or `None` where the vendor has no such
/// answer.
fn vendor_error(upstream: &str, kind: ErrorKind) -> Option<Reply> {
    use ErrorKind::*;
    let json = "application/json";
    Some(match (upstream, kind) {
        ("canonical", k) => {
            let problem = dialectgate_canonical::Problem::new(k, "upstream says so");
            (
                problem.status,
                "application/problem+json",
                serde_json::to_vec(&problem).unwrap(),
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
        ("elasticpath", Duplicate) => (
            409,
            json,
            body(
                json!({"errors": [{"status": 409, "title": "Duplicate", "detail": "email already exists"}]}),
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
        _ => return None,
    })
}

/// What the caller must see for an upstream `kind` in static credential mode.
fn expected(kind: ErrorKind) -> ErrorKind {
    match kind {
        // The gateway's own upstream credential was refused: not the caller's fault.
        ErrorKind::Unauthorized | ErrorKind::Forbidden => ErrorKind::BadGateway,
        // A fault of the upstream server is a bad gateway for the caller.
        ErrorKind::Internal => ErrorKind::BadGateway,
        k => k,
    }
}

async fn upstream_errors(upstream_kind: &str) {
    let registry = harness::registry();
    for kind in [
        ErrorKind::NotFound,
        ErrorKind::Validation,
        ErrorKind::Duplicate,
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
        for &caller in DIALECTS.iter() {
            let answer = harness::send_simple(&gw, caller, "cus_ada").await;
            let dialect = registry.dialect(caller).unwrap();
            let want = expected(kind);
            let ctx = format!(
                "{upstream_kind} {kind:?} -> {caller}: {} {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            );
            assert_eq!(answer.status, dialect.error_status(want), "{ctx}");
            let classified = dialect.classify_error(answer.status, &answer.body).kind();
            // Some dialects have one answer for two kinds (documented in their definitions).
            let same_meaning = classified == want
                || matches!(
                    (caller, want, classified),
                    (
                        "axim" | "checkoutpage",
                        ErrorKind::Duplicate,
                        ErrorKind::Validation
                    )
                );
            assert!(same_meaning, "{ctx}: read back as {classified:?}");
            if answer.header("content-type") == Some("application/json") {
                assert!(dialect.is_valid_error_body(&answer.json()), "{ctx}: error schema");
            }
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
    let registry = harness::registry();
    for &caller in DIALECTS.iter() {
        let d = registry.dialect(caller).unwrap();
        let answer = harness::send_simple(&gw, caller, "cus_missing").await;
        assert_eq!(answer.status, d.error_status(ErrorKind::NotFound), "{caller}");
        assert_eq!(
            d.classify_error(answer.status, &answer.body).kind(),
            ErrorKind::NotFound,
            "{caller}"
        );
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
