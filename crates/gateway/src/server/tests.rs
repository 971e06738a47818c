use super::*;

#[tokio::test]
async fn a_panicking_handler_costs_its_request_a_500_and_nothing_else() {
    let panicked = contained(
        async {
            if std::hint::black_box(true) {
                panic!("a bug quoting request data");
            }
            Response::new(Full::new(Bytes::new()))
        },
        crate::pipeline::answer::internal_error,
    )
    .await;
    assert_eq!(panicked.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
    let body = http_body_util::BodyExt::collect(panicked.into_body())
        .await
        .unwrap()
        .to_bytes();
    let text = String::from_utf8_lossy(&body);
    assert!(!text.contains("quoting"), "the panic message leaked: {text}");
    // The next request on the same task is served as usual.
    let fine = contained(
        async { Response::new(Full::new(Bytes::from_static(b"ok"))) },
        crate::pipeline::answer::internal_error,
    )
    .await;
    assert_eq!(fine.status(), http::StatusCode::OK);
}

#[tokio::test]
async fn a_panic_is_answered_in_the_error_shape_of_the_dialect_serving_the_path() {
    let config =
        crate::config::load_default(Some(Default::default()), &crate::config::Overrides::default()).unwrap();
    let gw = crate::service::Gateway::new(config).unwrap();
    let body = |rsp: Response<Full<Bytes>>| async move {
        let bytes = http_body_util::BodyExt::collect(rsp.into_body())
            .await
            .unwrap()
            .to_bytes();
        serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
    };
    let rsp = gw.internal_error("/admin/customers/cus_ada");
    assert_eq!(rsp.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(rsp.headers()["content-type"], "application/json");
    let medusa = gw.registry().dialect("medusa").unwrap().clone();
    let json = body(rsp).await;
    assert!(medusa.is_valid_error_body(&json), "{json}");
    // Elastic Path's envelope (docs/vendors/elasticpath.md#errors), status as a number.
    let json = body(gw.internal_error("/v2/customers/cus_ada")).await;
    assert_eq!(json["errors"][0]["status"], 500, "{json}");
    // No dialect serves the path: plain problem details.
    let rsp = gw.internal_error("/nowhere");
    assert_eq!(rsp.headers()["content-type"], "application/problem+json");
}

#[test]
fn every_value_of_every_credential_header_is_marked_sensitive_and_nothing_else() {
    let names: Vec<HeaderName> = SENSITIVE_HEADERS
        .into_iter()
        .map(HeaderName::from_static)
        .collect();
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("authorization", "Bearer a"),
        ("authorization", "Bearer b"),
        ("accesstoken", "t"),
        ("x-medusa-access-token", "m"),
        ("x-moltin-customer-token", "c"),
        ("cookie", "k=v"),
        ("proxy-authorization", "Basic x"),
        ("content-type", "application/json"),
        ("x-request-id", "r1"),
    ] {
        headers.append(
            HeaderName::from_static(name),
            http::HeaderValue::from_static(value),
        );
    }
    mark_sensitive(&mut headers, &names);
    for (name, value) in &headers {
        assert_eq!(
            value.is_sensitive(),
            SENSITIVE_HEADERS.contains(&name.as_str()),
            "{name}"
        );
    }
    assert_eq!(
        headers
            .get_all("authorization")
            .iter()
            .filter(|v| v.is_sensitive())
            .count(),
        2
    );
}
