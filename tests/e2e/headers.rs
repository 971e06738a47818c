//! Headers across the gateway: request ids, trace context, Forwarded, hop-by-hop stripping,
//! credentials, and the lenient-mode fidelity report.

use dialectgate_gateway::Overrides;
use reqwest::header::{HeaderMap, HeaderValue};
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
    // The upstream's own authority (made once at load), never the caller's `Host`.
    let authority = upstream.url().trim_start_matches("http://").to_owned();
    assert_eq!(seen.header("host"), Some(authority.as_str()));
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
    for &dialect in harness::DIALECTS.iter() {
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
    // The update (PUT) and the read (GET) share the path.
    assert_eq!(rsp.headers()["allow"], "PUT, GET");
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

/// Sends [`harness::simple_update`] as a caller of `dialect`, with `extra` headers given as raw
/// values (which may be anything a client can put on the wire, `Host` included).
async fn send_raw(gw: &harness::Running, dialect: &str, extra: &[(&'static str, &[u8])]) -> harness::Answer {
    let c = harness::call(dialect, "cus_ada", harness::CALLER_KEY);
    let mut headers = HeaderMap::new();
    for (name, value) in extra {
        headers.append(*name, HeaderValue::from_bytes(value).unwrap());
    }
    let rsp = harness::client()
        .request(c.method.parse().unwrap(), gw.url(&c.path))
        .header("content-type", "application/json")
        .header(c.auth.0, c.auth.1)
        .headers(headers)
        .body(serde_json::to_vec(&harness::simple_update(dialect, "cus_ada")).unwrap())
        .send()
        .await
        .unwrap();
    harness::answer(rsp).await
}

/// A gateway in front of a canonical `upstream`, believing forwarding headers from `trusted`.
async fn gateway_trusting(upstream: &Upstream, trusted: &str) -> harness::Running {
    harness::start(harness::config(
        Overrides {
            upstream: Some(upstream.url()),
            upstream_dialect: Some("canonical".into()),
            ..Overrides::default()
        },
        &[("DIALECTGATE__SERVER__TRUSTED_PROXIES", trusted)],
    ))
    .await
}

#[tokio::test]
async fn a_forged_host_cannot_add_a_forwarded_element() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let gw = harness::gateway_to(&upstream, "canonical").await;
    let answer = send_raw(&gw, "medusa", &[("host", b"gw.example\",for=\"6.6.6.6")]).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    // One element, ours: the forged Host is not a valid authority, so no host parameter.
    assert_eq!(seen[0].header("forwarded"), Some("for=127.0.0.1;proto=http"));
}

#[tokio::test]
async fn a_callers_forwarding_headers_are_dropped_unless_the_peer_is_a_trusted_proxy() {
    let forwarding: [(&'static str, &[u8]); 4] = [
        ("forwarded", b"for=192.0.2.60;proto=https;host=shop.example"),
        ("x-forwarded-for", b"192.0.2.60"),
        ("x-forwarded-proto", b"https"),
        ("x-forwarded-host", b"shop.example"),
    ];
    // Untrusted: the default (no trusted proxies), and a range that does not hold the peer.
    for trusted in [None, Some("10.0.0.0/8")] {
        let upstream = Upstream::start(|_| harness::customer_answer()).await;
        let gw = match trusted {
            None => harness::gateway_to(&upstream, "canonical").await,
            Some(range) => gateway_trusting(&upstream, range).await,
        };
        let answer = send_raw(&gw, "checkoutpage", &forwarding).await;
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
        let seen = &upstream.seen()[0];
        assert_eq!(
            seen.header("forwarded"),
            Some(format!("for=127.0.0.1;proto=http;host=\"{}\"", gw.addr).as_str()),
            "trusted = {trusted:?}"
        );
        for name in ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"] {
            assert_eq!(seen.header(name), None, "{name}, trusted = {trusted:?}");
        }
    }
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let gw = gateway_trusting(&upstream, "127.0.0.1").await;
    let answer = send_raw(&gw, "checkoutpage", &forwarding).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let seen = &upstream.seen()[0];
    assert_eq!(
        seen.header("forwarded"),
        Some(
            format!(
                "for=192.0.2.60;proto=https;host=shop.example, for=127.0.0.1;proto=http;host=\"{}\"",
                gw.addr
            )
            .as_str()
        )
    );
    assert_eq!(seen.header("x-forwarded-for"), Some("192.0.2.60"));
    assert_eq!(seen.header("x-forwarded-proto"), Some("https"));
    assert_eq!(seen.header("x-forwarded-host"), Some("shop.example"));
}

#[tokio::test]
async fn tracestate_goes_upstream_only_with_the_callers_trace() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let gw = harness::gateway_to(&upstream, "canonical").await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let valid = format!("00-{trace_id}-00f067aa0ba902b7-01");
    let state = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
    for traceparent in [
        valid.as_str(),
        "00-garbage-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
    ] {
        let answer = send_raw(
            &gw,
            "axim",
            &[
                ("traceparent", traceparent.as_bytes()),
                ("tracestate", state.as_bytes()),
            ],
        )
        .await;
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    }
    let seen = upstream.seen();
    assert_eq!(seen.len(), 3);
    // Continued: the same trace, the caller's tracestate with it.
    let tp = seen[0].header("traceparent").unwrap();
    assert!(tp.starts_with(&format!("00-{trace_id}-")) && tp != valid, "{tp}");
    assert_eq!(seen[0].header("tracestate"), Some(state));
    // Restarted: a new trace, and the caller's tracestate (of another trace) dropped.
    for restarted in &seen[1..] {
        let tp = restarted.header("traceparent").unwrap();
        assert_eq!(tp.len(), 55, "{tp}");
        assert!(!tp.to_ascii_lowercase().contains(trace_id), "{tp}");
        assert_eq!(restarted.header("tracestate"), None);
    }
    // An oversized tracestate (33 members) is dropped even with a valid trace.
    let members = (0..33).map(|i| format!("k{i}=v")).collect::<Vec<_>>().join(",");
    let answer = send_raw(
        &gw,
        "axim",
        &[
            ("traceparent", valid.as_bytes()),
            ("tracestate", members.as_bytes()),
        ],
    )
    .await;
    assert_eq!(answer.status, 200);
    let seen = upstream.seen();
    assert!(seen[3].header("traceparent").unwrap().contains(trace_id));
    assert_eq!(seen[3].header("tracestate"), None);
}

#[tokio::test]
async fn an_invalid_idempotency_key_is_refused_in_the_callers_dialect_and_nothing_is_sent() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let gw = harness::gateway_to(&upstream, "canonical").await;
    let too_long = "k".repeat(256);
    let non_ascii = "caf\u{e9}-9f1c".as_bytes();
    for &dialect in harness::DIALECTS.iter() {
        for key in [too_long.as_bytes(), non_ascii] {
            let answer = send_raw(&gw, dialect, &[("idempotency-key", key)]).await;
            assert_eq!(answer.status, 400, "{dialect}");
            let body = answer.json();
            let text = body.to_string();
            assert!(text.contains("Idempotency-Key"), "{dialect}: {text}");
            assert!(
                !text.contains("kkkk") && !text.contains("9f1c"),
                "{dialect}: the key is echoed: {text}"
            );
            // Each vendor's own error shape: its error schema, and the documented members.
            assert!(
                harness::registry_dialect(dialect).is_valid_error_body(&body),
                "{dialect}: {text}"
            );
            match dialect {
                "elasticpath" => assert_eq!(body["errors"][0]["status"], 400, "{text}"),
                "microbase" => assert_eq!(body["ok"], false, "{text}"),
                "axim" => assert_eq!(body["success"], false, "{text}"),
                "medusa" => assert_eq!(body["type"], "invalid_data", "{text}"),
                "checkoutpage" => assert_eq!(body["status"], "error", "{text}"),
                _ => {}
            }
        }
    }
    assert!(upstream.seen().is_empty(), "nothing may be forwarded");
}

#[tokio::test]
async fn an_idempotency_key_of_255_visible_characters_passes_through_unchanged() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let gw = harness::gateway_to(&upstream, "canonical").await;
    // Every visible ASCII character, repeated to 255.
    let key: String = (0x21u8..=0x7e).cycle().take(255).map(char::from).collect();
    let answer = send_raw(&gw, "medusa", &[("idempotency-key", key.as_bytes())]).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(upstream.seen()[0].header("idempotency-key"), Some(key.as_str()));
}
