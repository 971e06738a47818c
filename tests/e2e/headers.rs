//! Headers across the gateway: request ids, trace context, Forwarded, hop-by-hop stripping,
//! credentials, and the lenient-mode fidelity report.

use dialectgate_gateway::Overrides;
use serde_json::json;

use crate::harness::{self, Upstream};

#[tokio::test]
async fn request_id_trace_context_and_forwarded_reach_the_upstream() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let gw = harness::gateway_to(&upstream, "canonical").await;
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let answer = harness::send_with(
        &gw,
        "checkoutpage",
        "cus_ada",
        &json!({"name": "Ada"}),
        &[
            ("x-request-id", "req-123"),
            ("traceparent", parent),
            ("connection", "keep-alive, x-secret-hop"),
            ("x-secret-hop", "hop"),
            ("te", "trailers"),
            ("idempotency-key", "idem-1"),
        ],
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("x-request-id"), Some("req-123"));
    let seen = &upstream.seen()[0];
    assert_eq!(seen.header("x-request-id"), Some("req-123"));
    let tp = seen.header("traceparent").unwrap();
    assert!(
        tp.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && tp.ends_with("-01") && tp != parent,
        "{tp}"
    );
    let fwd = seen.header("forwarded").unwrap();
    assert!(fwd.starts_with("for=127.0.0.1;proto=http;host="), "{fwd}");
    assert_eq!(seen.header("idempotency-key"), Some("idem-1"));
    assert!(seen.header("x-secret-hop").is_none());
    assert!(seen.header("te").is_none());
    assert_ne!(seen.header("connection"), Some("keep-alive, x-secret-hop"));
}

#[tokio::test]
async fn a_request_id_is_generated_and_returned_on_errors_too() {
    let gw = harness::start(harness::config(Overrides::default(), &[])).await;
    let answer = harness::send(
        &gw,
        "elasticpath",
        "cus_ada",
        &json!({"data": {"type": "product"}}),
    )
    .await;
    assert_eq!(answer.status, 400);
    let id = answer.header("x-request-id").unwrap();
    assert_eq!(id.len(), 36, "{id}");
}

#[tokio::test]
async fn lenient_mode_reports_what_was_derived_and_dropped() {
    let upstream = Upstream::start(|_| {
        (
            200,
            "application/json",
            serde_json::to_vec(
                &json!({"data": {"type": "customer", "id": "cus_ada", "name": "Ada King", "email": "a@b.c"}}),
            )
            .unwrap(),
        )
    })
    .await;
    let gw = harness::start(harness::config(
        Overrides {
            upstream: Some(upstream.url()),
            upstream_dialect: Some("elasticpath".into()),
            mode: Some(dialectgate_dialect::Mode::Lenient),
            ..Overrides::default()
        },
        &[],
    ))
    .await;
    let body = json!({"id": "cus_ada", "firstName": "Ada", "lastName": "King", "tags": ["vip"]});
    let answer = harness::send(&gw, "microbase", "cus_ada", &body).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(
        answer.header("x-dialectgate-fidelity"),
        Some("derived=/data/name<-/firstName+/lastName; dropped=/tags(lossy)")
    );
    assert_eq!(
        upstream.seen()[0].json(),
        json!({"data": {"type": "customer", "name": "Ada King"}})
    );
}

#[tokio::test]
async fn strict_mode_refuses_a_lossy_translation_naming_the_callers_fields() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let gw = harness::gateway_to(&upstream, "elasticpath").await;
    let body =
        json!({"id": "cus_ada", "firstName": "Ada", "lastName": "King", "tags": ["vip"], "status": "ACTIVE"});
    let answer = harness::send(&gw, "microbase", "cus_ada", &body).await;
    // MicroBase reports business errors as 200 + ok:false.
    assert_eq!(answer.status, 200);
    let json = answer.json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["error"], "validation_error");
    let data = json["data"].to_string();
    assert!(data.contains("status") && data.contains("tags"), "{data}");
    assert!(upstream.seen().is_empty(), "nothing may be forwarded");
}

#[tokio::test]
async fn the_ep_sdk_token_flow_works_against_the_gateway() {
    let gw = harness::start(harness::config(Overrides::default(), &[])).await;
    let rsp = harness::client()
        .post(gw.url("/oauth/access_token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id=cid&client_secret={}",
            harness::CALLER_KEY
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 200);
    let token: serde_json::Value = rsp.json().await.unwrap();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["identifier"], "client_credentials");
    assert_eq!(token["expires_in"], 3600);
    assert!(token["expires"].as_u64().unwrap() > 1_700_000_000);
    let bad = harness::client()
        .post(gw.url("/oauth/access_token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_id=cid&client_secret=wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let access = token["access_token"].as_str().unwrap();
    let rsp = harness::client()
        .put(gw.url("/v2/customers/cus_alan"))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {access}"))
        .body(r#"{"data":{"type":"customer","email":"alan.t@example.com"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 200);
}

#[tokio::test]
async fn missing_or_wrong_credentials_get_each_vendors_401() {
    let gw = harness::start(harness::config(Overrides::default(), &[])).await;
    for dialect in harness::DIALECTS {
        let c = harness::call(dialect, "cus_ada", "wrong_key");
        for with_credential in [false, true] {
            let mut req = harness::client()
                .request(c.method.parse().unwrap(), gw.url(&c.path))
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&harness::simple_update(dialect, "cus_ada")).unwrap());
            if with_credential {
                req = req.header(c.auth.0, c.auth.1.clone());
            }
            let rsp = req.send().await.unwrap();
            assert_eq!(rsp.status(), 401, "{dialect}");
            let text = rsp.text().await.unwrap();
            assert!(
                !text.contains("wrong_key"),
                "{dialect}: the credential is echoed: {text}"
            );
        }
    }
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods() {
    let gw = harness::start(harness::config(Overrides::default(), &[])).await;
    let rsp = harness::client().get(gw.url("/nowhere")).send().await.unwrap();
    assert_eq!(rsp.status(), 404);
    assert_eq!(rsp.headers()["content-type"], "application/problem+json");
    let rsp = harness::client()
        .delete(gw.url("/v2/customers/cus_ada"))
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 405);
    assert_eq!(rsp.headers()["allow"], "PUT");
    let body: serde_json::Value = rsp.json().await.unwrap();
    assert_eq!(body["errors"][0]["status"], 405);
}

#[tokio::test]
async fn query_parameters_follow_each_vendor() {
    let gw = harness::start(harness::config(Overrides::default(), &[])).await;
    let post = |path: String, auth: (&'static str, &'static str), body: &'static str| {
        harness::client()
            .post(gw.url(&path))
            .header(auth.0, auth.1)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let medusa = ("x-medusa-access-token", harness::CALLER_KEY);
    // Medusa: expand and fields are accepted; anything else is refused as forbidNonWhitelisted does.
    let ok = post(
        "/admin/customers/cus_ada?expand=groups&fields=email".into(),
        medusa,
        "{}",
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);
    let bad = post("/admin/customers/cus_ada?foo=1".into(), medusa, "{}")
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(
        body,
        json!({"type": "invalid_data", "message": "property foo should not exist"})
    );
    // MicroBase reads query parameters as arguments, the query winning over the body.
    let mb = post(
        "/services/customer/v1/customer.update?status=INACTIVE".into(),
        ("authorization", "Bearer dg_demo_key"),
        r#"{"id": "cus_ada", "status": "ACTIVE"}"#,
    )
    .await
    .unwrap();
    assert_eq!(mb.status(), 200);
    assert_eq!(gw.backend.get("cus_ada").unwrap()["status"], "inactive");
    // Elastic Path takes no query parameters: refused, not dropped.
    let ep = harness::client()
        .put(gw.url("/v2/customers/cus_ada?include=x"))
        .header("authorization", "Bearer dg_demo_key")
        .header("content-type", "application/json")
        .body(r#"{"data":{"type":"customer"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(ep.status(), 400);
}
