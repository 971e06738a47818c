//! Every caller dialect × every upstream kind (canonical + five dialects): the upstream receives
//! exactly the request its vendor documents, and the caller gets exactly its vendor's answer.

use serde_json::Value;

use crate::harness::{self, CALLER_KEY, DIALECTS, UPSTREAM_TOKEN, Upstream};

/// What a vendor backend answers on success.
fn success_reply(upstream: &str) -> Value {
    if upstream == "canonical" {
        let mut doc = dialectgate_gateway::fixtures().remove(0);
        doc["email"] = "ada.king@example.com".into();
        doc["name"] = serde_json::json!({"given": "Ada", "family": "King", "full": "Ada King"});
        return doc;
    }
    let path = format!("tests/fixtures/{upstream}/response.vendor-example.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

async fn pair(caller: &str, upstream_kind: &str) {
    let reply = serde_json::to_vec(&success_reply(upstream_kind)).unwrap();
    let upstream = Upstream::start(move |_| (200, "application/json", reply.clone())).await;
    let gw = harness::gateway_to(&upstream, upstream_kind).await;
    let body = harness::simple_update(caller, "cus_ada");
    let answer = harness::send(&gw, caller, "cus_ada", &body).await;
    let registry = harness::registry();

    // The upstream saw exactly one request, shaped as its vendor documents.
    let seen = upstream.seen();
    assert_eq!(seen.len(), 1, "{caller} -> {upstream_kind}: upstream calls");
    let got = &seen[0];
    match upstream_kind {
        "canonical" => {
            assert_eq!(
                (got.method.as_str(), got.path.as_str()),
                ("PATCH", "/customers/cus_ada")
            );
            assert_eq!(got.header("content-type"), Some("application/merge-patch+json"));
            assert_eq!(
                got.header("authorization"),
                Some(format!("Bearer {UPSTREAM_TOKEN}").as_str())
            );
        }
        dialect => {
            let expected = harness::call(dialect, "cus_ada", UPSTREAM_TOKEN);
            assert_eq!(
                (got.method.as_str(), got.path.as_str()),
                (expected.method, expected.path.as_str()),
                "{caller} -> {dialect}"
            );
            assert_eq!(got.header("content-type"), Some("application/json"));
            assert_eq!(
                got.header(expected.auth.0),
                Some(expected.auth.1.as_str()),
                "{caller} -> {dialect}: credential"
            );
            let up = registry.dialect(dialect).unwrap();
            assert!(
                registry
                    .validate_request(&dialectgate_dialect::Endpoint::Dialect(up.clone()), &got.json())
                    .is_ok(),
                "{caller} -> {dialect}: the upstream request must satisfy its vendor's schema: {}",
                got.json()
            );
        }
    }
    assert!(got.header("x-request-id").is_some());
    assert_eq!(got.query, None, "no query string is invented");
    // The caller's own credential never travels in static mode.
    assert!(
        got.headers.values().all(|v| !v.contains(CALLER_KEY)),
        "{caller} -> {upstream_kind}: caller key forwarded"
    );
    insta::assert_json_snapshot!(format!("{caller}_to_{upstream_kind}_upstream"), got.json());

    // The caller got its own vendor's success answer.
    assert_eq!(
        answer.status,
        200,
        "{caller} -> {upstream_kind}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let json = answer.json();
    assert!(
        registry.dialect(caller).unwrap().is_valid_response_body(&json),
        "{caller} <- {upstream_kind}: answer must satisfy the caller's response schema: {json}"
    );
    insta::assert_json_snapshot!(format!("{caller}_from_{upstream_kind}_answer"), json);
    gw.stop().await;
}

/// Every caller dialect of the registry × every upstream kind (canonical + every dialect).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_caller_against_every_upstream_kind() {
    for &caller in DIALECTS.iter() {
        for upstream in std::iter::once("canonical").chain(DIALECTS.iter().copied()) {
            pair(caller, upstream).await;
        }
    }
}

#[tokio::test]
async fn every_dialect_works_against_the_embedded_backend() {
    let gw = harness::start(harness::config(Default::default(), &[])).await;
    for &dialect in DIALECTS.iter() {
        let answer = harness::send_simple(&gw, dialect, "cus_grace").await;
        assert_eq!(
            answer.status,
            200,
            "{dialect}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        assert!(
            harness::registry()
                .dialect(dialect)
                .unwrap()
                .is_valid_response_body(&answer.json())
        );
    }
    let stored = gw.backend.get("cus_grace").unwrap();
    assert_eq!(stored["email"], "ada.king@example.com");
    assert_eq!(stored["name"]["full"], "Ada King");
}
