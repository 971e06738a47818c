//! One method and path, two operations told apart by the body (Shopify's Admin GraphQL
//! `customerUpdate` mutation and `customer(id:)` query at `POST /admin/api/{version}/graphql.json`):
//! the gateway picks the operation once the body is read, refuses a body that is neither in
//! GraphQL's error shape, answers a read in `data.customer` (`null` when there is no such
//! customer), and calls a Shopify upstream with its own documents. Expected bodies come from
//! docs/vendors/shopify.md.

use serde_json::{Value, json};

use crate::harness::{self, Answer, CALLER_KEY, Upstream};

/// The documented mutation (docs/vendors/shopify.md#request).
const MUTATION: &str = "mutation customerUpdate($input: CustomerInput!) {\n  customerUpdate(input: $input) {\n    customer { id firstName lastName email phone tags updatedAt }\n    userErrors { field message }\n  }\n}";

/// A `customer(id:)` read, written as a JavaScript client writes it (a `#graphql` comment first).
const QUERY: &str =
    "#graphql\n  query getCustomer($id: ID!) { customer(id: $id) { id firstName lastName email } }";

/// Posts `body` to Shopify's GraphQL endpoint (any version) as a Shopify client does.
async fn post(gw: &harness::Running, version: &str, body: &Value) -> Answer {
    let rsp = harness::client()
        .post(gw.url(&format!("/admin/api/{version}/graphql.json")))
        .header("x-shopify-access-token", CALLER_KEY)
        .json(body)
        .send()
        .await
        .unwrap();
    harness::answer(rsp).await
}

#[tokio::test]
async fn the_document_picks_the_operation_on_the_embedded_backend() {
    let gw = harness::start(harness::config(Default::default(), &[])).await;
    // The update: the answer in data.customerUpdate.customer, no user errors.
    let update = post(
        &gw,
        "2026-10",
        &json!({"query": MUTATION, "variables": {"input": {"id": "gid://shopify/Customer/cus_ada", "firstName": "Augusta"}}}),
    )
    .await;
    assert_eq!(update.status, 200, "{}", String::from_utf8_lossy(&update.body));
    assert_eq!(update.json()["data"]["customerUpdate"]["userErrors"], json!([]));
    assert_eq!(
        update.json()["data"]["customerUpdate"]["customer"]["firstName"],
        "Augusta"
    );
    // The read, at another version: data.customer.
    let read = post(
        &gw,
        "2025-07",
        &json!({"query": QUERY, "variables": {"id": "gid://shopify/Customer/cus_ada"}}),
    )
    .await;
    assert_eq!(read.status, 200, "{}", String::from_utf8_lossy(&read.body));
    assert_eq!(read.json()["data"]["customer"]["firstName"], "Augusta");
    // Shopify's GID around the bare id the backend holds.
    assert_eq!(
        read.json()["data"]["customer"]["id"],
        "gid://shopify/Customer/cus_ada"
    );
    assert!(
        read.json()["data"].get("customerUpdate").is_none(),
        "{}",
        read.json()
    );
    // No such customer: a read answers data.customer null; an update the documented user error.
    let nobody = post(
        &gw,
        "2026-10",
        &json!({"query": QUERY, "variables": {"id": "gid://shopify/Customer/cus_nobody"}}),
    )
    .await;
    assert_eq!(
        (nobody.status, nobody.json()),
        (200, json!({"data": {"customer": null}}))
    );
    let nobody = post(
        &gw,
        "2026-10",
        &json!({"query": MUTATION, "variables": {"input": {"id": "gid://shopify/Customer/cus_nobody", "note": "x"}}}),
    )
    .await;
    assert_eq!(nobody.status, 200);
    assert_eq!(
        nobody.json()["data"]["customerUpdate"]["userErrors"],
        json!([{"field": ["id"], "message": "Customer does not exist"}])
    );
    // Neither operation: 400 in GraphQL's errors shape, saying what each wants.
    let other = post(
        &gw,
        "2026-10",
        &json!({"query": "query { customers(first: 1) { edges { node { id } } } }", "variables": {}}),
    )
    .await;
    assert_eq!(other.status, 400, "{}", String::from_utf8_lossy(&other.body));
    let message = other.json()["errors"][0]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("none of the operations"), "{message}");
    assert!(
        message.contains("update wants /query") && message.contains("retrieve wants /query"),
        "{message}"
    );
    // Not JSON at all: the same shape.
    let rsp = harness::client()
        .post(gw.url("/admin/api/2026-10/graphql.json"))
        .header("x-shopify-access-token", CALLER_KEY)
        .header("content-type", "application/json")
        .body("{\"query\": ")
        .send()
        .await
        .unwrap();
    let broken = harness::answer(rsp).await;
    assert_eq!(broken.status, 400);
    assert!(
        broken.json()["errors"][0]["message"].is_string(),
        "{}",
        broken.json()
    );
    // A read carries the id in its variables and nothing else of its own.
    let inline = post(
        &gw,
        "2026-10",
        &json!({"query": "{ customer(id: \"gid://shopify/Customer/cus_ada\") { id } }"}),
    )
    .await;
    assert_eq!(
        inline.status, 200,
        "a validation error, as Shopify's user errors come"
    );
    assert!(
        inline.json()["data"]["customerUpdate"]["userErrors"][0]["message"].is_string(),
        "{}",
        inline.json()
    );
    // GET is no method of either operation.
    let get = harness::client()
        .get(gw.url("/admin/api/2026-10/graphql.json"))
        .header("x-shopify-access-token", CALLER_KEY)
        .send()
        .await
        .unwrap();
    let get = harness::answer(get).await;
    assert_eq!(get.status, 405);
    assert_eq!(get.header("allow"), Some("POST"));
    gw.stop().await;
}

/// A Shopify store: the read answers the documented `data.customer` shape for `cus_ada`,
/// `null` for anyone else; the update answers as the documented example does.
fn shopify_store(seen: &harness::Recorded) -> harness::Reply {
    let body = seen.json();
    let query = body["query"].as_str().unwrap_or_default();
    let answer = if query.starts_with("query") {
        match body["variables"]["id"].as_str() {
            Some("gid://shopify/Customer/cus_ada") => {
                json!({"data": {"customer": {"id": "gid://shopify/Customer/cus_ada", "firstName": "Ada",
                "lastName": "Lovelace", "email": "ada@example.com", "phone": null, "note": null,
                "tags": ["vip"], "createdAt": "2024-01-10T09:00:00Z", "updatedAt": "2025-05-12T20:21:18Z"}}})
            }
            _ => json!({"data": {"customer": null}}),
        }
    } else {
        let input = &body["variables"]["input"];
        json!({"data": {"customerUpdate": {"userErrors": [], "customer": {"id": input["id"],
            "firstName": input["firstName"], "lastName": "Lovelace", "tags": []}}}})
    };
    (200, "application/json", serde_json::to_vec(&answer).unwrap())
}

#[tokio::test]
async fn a_shopify_upstream_is_called_with_the_gateways_own_documents() {
    let upstream = Upstream::start(shopify_store).await;
    let gw = harness::gateway_to(&upstream, "shopify").await;
    // A Medusa read becomes the customer(id:) query, at the default version.
    let read = harness::medusa_read(&gw, "cus_ada").await;
    assert_eq!(read.status, 200, "{}", String::from_utf8_lossy(&read.body));
    assert_eq!(read.json()["customer"]["first_name"], "Ada");
    assert_eq!(read.json()["customer"]["email"], "ada@example.com");
    let seen = upstream.seen();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/admin/api/2026-10/graphql.json")
    );
    assert_eq!(
        seen[0].header("x-shopify-access-token"),
        Some(harness::UPSTREAM_TOKEN)
    );
    let sent = seen[0].json();
    // The bare id of the Medusa caller, as Shopify's GID.
    assert_eq!(sent["variables"], json!({"id": "gid://shopify/Customer/cus_ada"}));
    assert!(
        sent["query"]
            .as_str()
            .unwrap()
            .starts_with("query customer($id: ID!)"),
        "{sent}"
    );
    // data.customer null is a not found, in the caller's words.
    let missing = harness::medusa_read(&gw, "cus_nobody").await;
    assert_eq!(missing.status, 404, "{}", String::from_utf8_lossy(&missing.body));
    // A Medusa update becomes the customerUpdate mutation with the id in its input.
    upstream.clear();
    let update = harness::send(&gw, "medusa", "cus_ada", &json!({"first_name": "Augusta"})).await;
    assert_eq!(update.status, 200, "{}", String::from_utf8_lossy(&update.body));
    assert_eq!(update.json()["customer"]["first_name"], "Augusta");
    let seen = upstream.seen();
    let sent = seen.last().unwrap().json();
    assert_eq!(
        sent["variables"],
        json!({"input": {"id": "gid://shopify/Customer/cus_ada", "firstName": "Augusta"}})
    );
    assert!(
        sent["query"]
            .as_str()
            .unwrap()
            .starts_with("mutation customerUpdate("),
        "{sent}"
    );
    gw.stop().await;
}
