//! Answers as the vendor gives them: a Medusa caller gets Medusa's default relations
//! (`orders`, `shipping_addresses`), `expand` replaces them and `fields` is ignored, as in Medusa
//! 1.20.10's handler (docs/vendors/medusa.md#update); and an upstream speaking the caller's
//! dialect has the members of its answer that the canonical model does not carry reach the
//! caller.

use serde_json::{Value, json};

use crate::harness;

/// Sends the simple Medusa update with `query` appended to the path.
async fn medusa_with_query(gw: &harness::Running, query: &str) -> harness::Answer {
    let c = harness::call("medusa", "cus_ada", harness::CALLER_KEY);
    let rsp = harness::client()
        .post(gw.url(&format!("{}?{query}", c.path)))
        .header("content-type", "application/json")
        .header(c.auth.0, c.auth.1)
        .json(&harness::simple_update("medusa", "cus_ada"))
        .send()
        .await
        .unwrap();
    harness::answer(rsp).await
}

fn members(answer: &harness::Answer) -> Vec<String> {
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let mut keys: Vec<String> = answer.json()["customer"]
        .as_object()
        .expect("a customer")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn a_medusa_caller_gets_the_default_relations_and_expand_replaces_them() {
    let upstream = harness::Upstream::start(|_| harness::customer_answer()).await;
    let gw = harness::gateway_to(&upstream, "canonical").await;

    let plain = medusa_with_query(&gw, "").await;
    let keys = members(&plain);
    assert!(keys.contains(&"shipping_addresses".to_owned()), "{keys:?}");
    for expanded_only in ["billing_address", "groups"] {
        assert!(
            !keys.contains(&expanded_only.to_owned()),
            "{expanded_only}: {keys:?}"
        );
    }
    assert_eq!(plain.json()["customer"]["deleted_at"], Value::Null);
    // The canonical upstream knows no orders: none are invented.
    assert!(!keys.contains(&"orders".to_owned()), "{keys:?}");

    let expanded = medusa_with_query(&gw, "expand=billing_address,groups").await;
    let keys = members(&expanded);
    assert!(!keys.contains(&"shipping_addresses".to_owned()), "{keys:?}");
    let c = &expanded.json()["customer"];
    assert_eq!(c["groups"], json!([{"id": "cgrp_vip"}]));
    assert_eq!(c["billing_address"]["address_1"], "12 St James's Square");

    // `fields` is validated but ignored by this handler.
    let fields = medusa_with_query(&gw, "fields=email").await;
    assert_eq!(fields.json(), plain.json());
    // Neither parameter goes upstream.
    for seen in upstream.seen() {
        assert_eq!(seen.query, None, "{seen:?}");
    }
    // Any other parameter is refused, as forbidNonWhitelisted does.
    let other = medusa_with_query(&gw, "include=orders").await;
    assert_eq!(other.status, 400);
}

#[tokio::test]
async fn a_medusa_upstream_answer_reaches_a_medusa_caller_without_losing_members() {
    let mut answer = harness::fixture("medusa", "response.vendor-example.json", &[]);
    answer["customer"]["id"] = json!("cus_ada");
    // Not named by Medusa's response schema: never passed on.
    answer["customer"]["password_hash"] = json!("$2b$10$secret");
    let body = serde_json::to_vec(&answer).unwrap();
    let upstream = harness::Upstream::start(move |_| (200, "application/json", body.clone())).await;
    let gw = harness::gateway_to(&upstream, "medusa").await;

    let got = medusa_with_query(&gw, "").await;
    let keys = members(&got);
    let c = &got.json()["customer"];
    let theirs = &answer["customer"];
    for member in ["orders", "billing_address_id", "deleted_at", "shipping_addresses"] {
        assert!(keys.contains(&member.to_owned()), "{member}: {keys:?}");
    }
    assert_eq!(c["orders"], theirs["orders"]);
    assert_eq!(c["billing_address_id"], theirs["billing_address_id"]);
    assert_eq!(c["deleted_at"], theirs["deleted_at"]);
    assert!(!keys.contains(&"password_hash".to_owned()), "{keys:?}");
    // Medusa's defaults: billing_address and groups only when expanded.
    assert!(!keys.contains(&"billing_address".to_owned()), "{keys:?}");
    assert!(!keys.contains(&"groups".to_owned()), "{keys:?}");

    let expanded = medusa_with_query(&gw, "expand=groups").await;
    let keys = members(&expanded);
    assert!(keys.contains(&"groups".to_owned()), "{keys:?}");
    assert!(
        !keys.contains(&"orders".to_owned()),
        "expand replaces the default: {keys:?}"
    );
}
