//! Reads in every dialect and the read before a write, over loopback against recording stubs
//! that answer with the vendors' documented bodies (`docs/vendors/axim.md`, `medusa.md`, and each
//! vendor's Retrieve section).

use dialectgate_gateway::{CredentialMode, Overrides};
use serde_json::{Value, json};

use crate::harness::{self, CALLER_KEY, Recorded, Running, Upstream};

/// AximCommerce's "get customer" answer for `cus_ada` (docs/vendors/axim.md#retrieve).
fn axim_customer() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "success": true,
        "data": {
            "id": "cus_ada", "email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace",
            "phoneNumber": "+44 20 7946 0001", "status": "active",
            "metaFields": [{"code": "source", "value": "crm"}],
            "createdAt": "2024-01-10T09:00:00Z", "updatedAt": "2024-01-10T09:00:00Z"
        }
    }))
    .unwrap()
}

/// An Axim store stand-in: GET answers the customer; PUT answers it updated with what was sent.
fn axim_reply(rec: &Recorded) -> harness::Reply {
    if rec.method == "GET" {
        return (200, "application/json", axim_customer());
    }
    let mut answer: Value = serde_json::from_slice(&axim_customer()).unwrap();
    if let (Value::Object(data), Value::Object(sent)) = (&mut answer["data"], rec.json()) {
        data.extend(sent);
    }
    answer["message"] = json!("Customer updated successfully");
    (200, "application/json", serde_json::to_vec(&answer).unwrap())
}

async fn gateway_to(upstream: &Upstream, dialect: &str, env: &[(&str, &str)]) -> Running {
    harness::start(harness::config(
        Overrides {
            upstream: Some(upstream.url()),
            upstream_dialect: Some(dialect.into()),
            credentials: Some(CredentialMode::Static),
            ..Overrides::default()
        },
        env,
    ))
    .await
}

fn ep_email_change() -> Value {
    json!({"data": {"type": "customer", "email": "ada@new.example"}})
}

#[tokio::test]
async fn an_email_change_into_axim_reads_the_names_first_and_sends_the_three_required_members() {
    let upstream = Upstream::start(axim_reply).await;
    let gw = gateway_to(&upstream, "axim", &[]).await;
    let answer = harness::send(&gw, "elasticpath", "cus_ada", &ep_email_change()).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.json()["data"]["email"], "ada@new.example");
    assert_eq!(answer.json()["data"]["name"], "Ada Lovelace");
    let header = answer
        .header("x-dialectgate-fidelity")
        .unwrap_or_default()
        .to_owned();
    assert!(
        header.contains("filled=/name/given(required_on_write),/name/family(required_on_write)"),
        "{header}"
    );

    let seen = upstream.seen();
    assert_eq!(seen.len(), 2, "one read, one write");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("GET", "/customers/cus_ada")
    );
    assert!(seen[0].body.is_empty(), "a GET carries no body");
    assert_eq!(seen[0].header("accesstoken"), Some(harness::UPSTREAM_TOKEN));
    assert_eq!(
        (seen[1].method.as_str(), seen[1].path.as_str()),
        ("PUT", "/customers/cus_ada")
    );
    // AximCommerce requires firstName, lastName and email on every PUT
    // (docs/vendors/axim.md#semantics).
    assert_eq!(
        seen[1].json(),
        json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@new.example"})
    );
    let metrics = gw.metrics.render();
    assert_eq!(
        harness::metric(
            &metrics,
            "dialectgate_upstream_reads_total{upstream=\"axim\",reason=\"required_on_write\"}"
        ),
        Some(1.0),
        "{metrics}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn a_failed_read_writes_nothing_and_answers_in_the_callers_dialect() {
    for (status, body, expect) in [
        (
            404,
            json!({"success": false, "message": "No customer matches the specified customer_id."}),
            404,
        ),
        (
            500,
            json!({"success": false, "message": "An error occurred on the server."}),
            502,
        ),
    ] {
        let bytes = serde_json::to_vec(&body).unwrap();
        let upstream = Upstream::start(move |_| (status, "application/json", bytes.clone())).await;
        let gw = gateway_to(&upstream, "axim", &[]).await;
        let answer = harness::send(&gw, "elasticpath", "cus_ada", &ep_email_change()).await;
        assert_eq!(answer.status, expect, "{}", String::from_utf8_lossy(&answer.body));
        // Elastic Path's error envelope (docs/vendors/elasticpath.md#errors).
        assert_eq!(answer.json()["errors"][0]["status"], expect);
        let seen = upstream.seen();
        assert_eq!(seen.len(), 1, "the read only: nothing written");
        assert_eq!(seen[0].method, "GET");
        gw.stop().await;
    }
}

#[tokio::test]
async fn with_fill_never_the_update_is_refused_and_nothing_is_sent() {
    let upstream = Upstream::start(axim_reply).await;
    let gw = gateway_to(&upstream, "axim", &[("DIALECTGATE__TRANSLATION__FILL", "never")]).await;
    let answer = harness::send(&gw, "elasticpath", "cus_ada", &ep_email_change()).await;
    assert_eq!(answer.status, 422, "{}", String::from_utf8_lossy(&answer.body));
    assert!(upstream.seen().is_empty());
    gw.stop().await;
}

#[tokio::test]
async fn a_pure_patch_makes_no_read() {
    let upstream = Upstream::start(axim_reply).await;
    let gw = gateway_to(&upstream, "axim", &[]).await;
    let full = json!({"first_name": "Ada", "last_name": "Byron", "email": "ada@example.com"});
    let answer = harness::send(&gw, "medusa", "cus_ada", &full).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "PUT");
    gw.stop().await;
}

#[tokio::test]
async fn overflow_round_trips_through_medusa_metadata() {
    // A Medusa store stand-in keeping `metadata` as Medusa does (merge; "" deletes).
    let stored = std::sync::Arc::new(std::sync::Mutex::new(json!({
        "id": "cus_ada", "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
        "phone": null, "has_account": true, "metadata": {"source": "crm"}, "deleted_at": null,
        "billing_address_id": null, "created_at": "2024-01-10T09:00:00Z", "updated_at": "2024-01-10T09:00:00Z",
        "orders": [], "shipping_addresses": []
    })));
    let store = stored.clone();
    let upstream = Upstream::start(move |rec| {
        let mut customer = store.lock().unwrap();
        if rec.method == "POST" {
            let sent = rec.json();
            for (k, v) in sent.as_object().unwrap() {
                if k == "metadata" {
                    for (mk, mv) in v.as_object().unwrap() {
                        if mv == "" {
                            customer["metadata"].as_object_mut().unwrap().remove(mk);
                        } else {
                            customer["metadata"][mk] = mv.clone();
                        }
                    }
                } else {
                    customer[k] = v.clone();
                }
            }
        }
        let body = serde_json::to_vec(&json!({"customer": *customer})).unwrap();
        (200, "application/json", body)
    })
    .await;
    let gw = gateway_to(
        &upstream,
        "medusa",
        &[("DIALECTGATE__TRANSLATION__OVERFLOW", "true")],
    )
    .await;
    let answer = harness::send(&gw, "checkoutpage", "cus_ada", &json!({"companyName": "Acme"})).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(
        answer.json()["data"]["companyName"],
        "Acme",
        "the update's answer carries it back"
    );
    assert_eq!(
        stored.lock().unwrap()["metadata"],
        json!({"source": "crm", "dialectgate:/company/name": "Acme"}),
        "the bag's other keys are kept"
    );
    // A Checkout Page read finds it where it wrote it.
    let read = harness::client()
        .get(gw.url("/v1/customers/cus_ada"))
        .bearer_auth(CALLER_KEY)
        .send()
        .await
        .unwrap();
    let read = harness::answer(read).await;
    assert_eq!(read.status, 200, "{}", String::from_utf8_lossy(&read.body));
    assert_eq!(read.json()["data"]["companyName"], "Acme");
    gw.stop().await;
}

#[tokio::test]
async fn every_dialect_reads_at_its_vendors_retrieve_route_on_the_embedded_backend() {
    let gw = harness::start(harness::config(Overrides::default(), &[])).await;
    let get = |path: &str, header: (&str, String)| {
        harness::client()
            .get(gw.url(path))
            .header(header.0, header.1)
            .send()
    };
    let bearer = format!("Bearer {CALLER_KEY}");
    // Elastic Path: {data: {type: "customer", …, password: bool}}
    // (docs/vendors/elasticpath.md#retrieve).
    let ep = harness::answer(
        get("/v2/customers/cus_ada", ("authorization", bearer.clone()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ep.status, 200);
    assert_eq!(ep.json()["data"]["type"], "customer");
    assert_eq!(ep.json()["data"]["name"], "Ada Lovelace");
    assert_eq!(ep.json()["data"]["password"], true);
    // AximCommerce: {success: true, data}, without the update's message.
    let axim = harness::answer(
        get("/customers/cus_ada", ("accesstoken", CALLER_KEY.to_owned()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(axim.status, 200);
    assert_eq!(axim.json()["success"], true);
    assert_eq!(axim.json()["data"]["firstName"], "Ada");
    assert!(axim.json().get("message").is_none(), "{}", axim.json());
    // Medusa: the default relations; not found is 404 not_found.
    let medusa = harness::answer(
        get(
            "/admin/customers/cus_grace",
            ("x-medusa-access-token", CALLER_KEY.to_owned()),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(medusa.status, 200);
    assert_eq!(medusa.json()["customer"]["shipping_addresses"], json!([]));
    let missing = harness::answer(
        get(
            "/admin/customers/cus_nobody",
            ("x-medusa-access-token", CALLER_KEY.to_owned()),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["type"], "not_found");
    // Checkout Page: {data: {…}}.
    let cp = harness::answer(
        get("/v1/customers/cus_alan", ("authorization", bearer.clone()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(cp.status, 200);
    assert_eq!(cp.json()["data"]["name"], "Alan Turing");
    // MicroBase: customer.info with {"id"}; not found is a 200 ok:false
    // (docs/vendors/microbase.md#retrieve).
    let info = |body: Value| {
        harness::client()
            .post(gw.url("/services/customer/v1/customer.info"))
            .header("authorization", bearer.clone())
            .json(&body)
            .send()
    };
    let mb = harness::answer(info(json!({"id": "cus_ada"})).await.unwrap()).await;
    assert_eq!(mb.status, 200);
    assert_eq!(mb.json()["ok"], true);
    assert_eq!(mb.json()["customer"]["firstName"], "Ada");
    let nobody = harness::answer(info(json!({"id": "cus_nobody"})).await.unwrap()).await;
    assert_eq!((nobody.status, nobody.json()["ok"].clone()), (200, json!(false)));
    assert_eq!(nobody.json()["error"], "customer_not_found");
    let no_id = harness::answer(info(json!({})).await.unwrap()).await;
    assert_eq!(no_id.json()["error"], "validation_error");
    // Any verb, the id in the query (MicroBase reads query parameters as body members).
    let by_query = harness::client()
        .get(gw.url("/services/customer/v1/customer.info?id=cus_grace"))
        .header("authorization", bearer.clone())
        .send()
        .await
        .unwrap();
    let by_query = harness::answer(by_query).await;
    assert_eq!(
        by_query.status,
        200,
        "{}",
        String::from_utf8_lossy(&by_query.body)
    );
    assert_eq!(by_query.json()["customer"]["firstName"], "Grace");
    let extra = harness::answer(
        info(json!({"id": "cus_ada", "email": "x@example.com"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        extra.json()["error"],
        "validation_error",
        "a read carries the id and nothing else"
    );
    // A wrong credential on a read is the vendor's 401.
    let denied = harness::answer(
        get("/v2/customers/cus_ada", ("authorization", "Bearer wrong".into()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(denied.status, 401);
    gw.stop().await;
}

#[tokio::test]
async fn a_read_in_one_dialect_is_sent_as_the_upstreams_retrieve_call() {
    let upstream = Upstream::start(axim_reply).await;
    let gw = gateway_to(&upstream, "axim", &[]).await;
    let read = harness::medusa_read(&gw, "cus_ada").await;
    assert_eq!(read.status, 200, "{}", String::from_utf8_lossy(&read.body));
    assert_eq!(read.json()["customer"]["first_name"], "Ada");
    assert_eq!(read.json()["customer"]["metadata"], json!({"source": "crm"}));
    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("GET", "/customers/cus_ada")
    );
    // A hostile id is refused before anything is sent.
    let hostile = harness::medusa_read(&gw, "%2E%2E").await;
    assert_eq!(
        upstream.seen().len(),
        1,
        "{}",
        String::from_utf8_lossy(&hostile.body)
    );
    assert!(
        hostile.status == 400 || hostile.status == 404,
        "{}",
        hostile.status
    );
    gw.stop().await;
}
