//! BigCommerce over real HTTP (docs/vendors/bigcommerce.md): the gateway's read of a
//! BigCommerce upstream is `GET /stores/{store_hash}/v3/customers?id:in=<id>` without a body,
//! `data[0]` the customer and an empty `data` not found; a BigCommerce caller reads with
//! `id:in` and updates with an array of one.

use serde_json::{Value, json};

use crate::harness::{self, Answer, CALLER_KEY, UPSTREAM_TOKEN, Upstream};

/// `GET path` as a caller of `dialect`, with its credential.
async fn get(gw: &harness::Running, dialect: &str, path: &str) -> Answer {
    let c = harness::call(dialect, "12", CALLER_KEY);
    let rsp = harness::client()
        .get(gw.url(path))
        .header(c.auth.0, c.auth.1)
        .send()
        .await
        .unwrap();
    harness::answer(rsp).await
}

#[tokio::test]
async fn a_read_of_a_bigcommerce_upstream_filters_by_id_in_and_takes_data_0() {
    let body = serde_json::to_vec(&json!({"data": [{
        "id": 12, "email": "janedoe@example.com", "first_name": "Jane", "last_name": "Doe"
    }], "meta": {"pagination": {"total": 1}}}))
    .unwrap();
    let upstream = Upstream::start(move |_| (200, "application/json", body.clone())).await;
    let gw = harness::gateway_to(&upstream, "bigcommerce").await;
    let answer = get(&gw, "medusa", "/admin/customers/12").await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.json()["customer"]["id"], "12");
    assert_eq!(answer.json()["customer"]["email"], "janedoe@example.com");
    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(
        seen[0].path,
        format!("/stores/{}/v3/customers", harness::path_value("store_hash"))
    );
    assert_eq!(seen[0].query.as_deref(), Some("id:in=12"));
    assert!(seen[0].body.is_empty(), "a GET carries no body");
    assert_eq!(seen[0].header("x-auth-token"), Some(UPSTREAM_TOKEN));

    // An id BigCommerce cannot write never reaches it.
    upstream.clear();
    let answer = get(&gw, "medusa", "/admin/customers/cus_1").await;
    assert_eq!(answer.status, 400, "{}", String::from_utf8_lossy(&answer.body));
    assert!(upstream.seen().is_empty());
    gw.stop().await;
}

#[tokio::test]
async fn an_empty_data_is_not_found() {
    let body = br#"{"data": [], "meta": {}}"#.to_vec();
    let upstream = Upstream::start(move |_| (200, "application/json", body.clone())).await;
    let gw = harness::gateway_to(&upstream, "bigcommerce").await;
    let answer = get(&gw, "medusa", "/admin/customers/12").await;
    assert_eq!(answer.status, 404, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.json()["type"], "not_found");
    gw.stop().await;
}

#[tokio::test]
async fn a_bigcommerce_caller_reads_with_id_in_and_updates_one_customer() {
    let gw = harness::start(harness::config(Default::default(), &[])).await;
    // The embedded backend's customer 1815, read in BigCommerce's shape.
    let answer = get(&gw, "bigcommerce", "/stores/any-store/v3/customers?id:in=1815").await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let got = answer.json();
    assert_eq!(got["data"][0]["id"], 1815);
    assert_eq!(got["data"][0]["email"], "augusta@example.com");
    assert_eq!(got["meta"], json!({}));

    // Several ids: refused naming the limit.
    let answer = get(&gw, "bigcommerce", "/stores/any-store/v3/customers?id:in=1815,12").await;
    assert_eq!(answer.status, 422);
    let errors = answer.json()["errors"].clone();
    assert!(errors.to_string().contains("id:in"), "{errors}");

    // Two customers in one update: BigCommerce's 413, nothing written.
    let c = harness::call("bigcommerce", "1815", CALLER_KEY);
    let two = json!([{"id": 1815, "first_name": "Ada"}, {"id": 1815, "first_name": "Augusta"}]);
    let rsp = harness::client()
        .put(gw.url(&c.path))
        .header("content-type", "application/json")
        .header(c.auth.0, c.auth.1.clone())
        .body(serde_json::to_vec(&two).unwrap())
        .send()
        .await
        .unwrap();
    let answer = harness::answer(rsp).await;
    assert_eq!(answer.status, 413, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(
        answer.json()["title"],
        "The request payload is too large. The maximum items allowed in the array is 1."
    );
    assert_eq!(gw.backend.get("1815").unwrap()["name"]["given"], "Augusta");

    // One customer: written, answered as an array of one.
    let one = json!([{"id": 1815, "first_name": "Ada"}]);
    let answer = harness::send(&gw, "bigcommerce", "1815", &one).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let got: Value = answer.json();
    assert_eq!(got["data"][0]["first_name"], "Ada");
    assert_eq!(gw.backend.get("1815").unwrap()["name"]["given"], "Ada");
    gw.stop().await;
}
