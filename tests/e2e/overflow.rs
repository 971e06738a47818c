//! Overflow keys are the gateway's own (issue #20, items 3 and 4), over loopback against the
//! stateful vendor stores of `vendors.rs`: a caller's forged overflow key is refused in its own
//! dialect and never reaches the upstream; keys planted in the upstream give back no read-only
//! or upstream-stored member; a write through a bag keeps every key the gateway stowed there.
//! Expected values come from the issue text and the vendor facts in `docs/vendors/` (Elastic Path,
//! AximCommerce, Medusa, Checkout Page, and each one's Retrieve section).

use dialectgate_gateway::{CredentialMode, Overrides};
use serde_json::{Value, json};

use crate::harness::{self, CALLER_KEY, Running};
use crate::vendors::{VendorStore, sample};

async fn gateway_to(store: &VendorStore, dialect: &str, overflow: bool) -> Running {
    harness::start(harness::config(
        Overrides {
            upstream: Some(store.url()),
            upstream_dialect: Some(dialect.into()),
            credentials: Some(CredentialMode::Static),
            ..Overrides::default()
        },
        &[(
            "DIALECTGATE__TRANSLATION__OVERFLOW",
            if overflow { "true" } else { "false" },
        )],
    ))
    .await
}

/// A read of customer `id` as a client of `dialect` makes it: its vendor's retrieve route,
/// with `query`.
async fn read(gw: &Running, dialect: &str, id: &str, query: &str) -> harness::Answer {
    let route = harness::registry_dialect(dialect)
        .retrieve_route()
        .expect("the dialect reads");
    let c = harness::call(dialect, id, CALLER_KEY);
    let rsp = harness::client()
        .request(
            route.method.parse().unwrap(),
            gw.url(&format!("{}{query}", route.path_for(id))),
        )
        .header(c.auth.0, c.auth.1)
        .send()
        .await
        .unwrap();
    harness::answer(rsp).await
}

fn text(answer: &harness::Answer) -> String {
    String::from_utf8_lossy(&answer.body).into_owned()
}

/// A store of `dialect` holding its sample, `edit`ed.
async fn store_of(dialect: &str, edit: impl FnOnce(&mut Value)) -> (VendorStore, String) {
    let (id, mut record) = sample(dialect);
    edit(&mut record);
    (VendorStore::start(dialect, vec![(id.clone(), record)]).await, id)
}

#[tokio::test]
async fn a_medusa_callers_forged_overflow_keys_are_refused_in_medusas_shape() {
    for overflow in [false, true] {
        let (store, id) = store_of("medusa", |_| {}).await;
        let before = store.record(&id).unwrap();
        let gw = gateway_to(&store, "medusa", overflow).await;
        let forged = json!({"metadata": {
            "dialectgate:/has_password": true,
            "dialectgate:/name/full": "Mallory Forged"
        }});
        let answer = harness::send(&gw, "medusa", &id, &forged).await;
        // Medusa's validation error: 400 {type: "invalid_data", message}
        // (docs/vendors/medusa.md#errors).
        assert_eq!(answer.status, 400, "overflow {overflow}: {}", text(&answer));
        let body = answer.json();
        assert_eq!(body["type"], "invalid_data", "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("dialectgate:/has_password"), "{message}");
        assert!(message.contains("dialectgate:/name/full"), "{message}");
        assert_eq!(
            store.writes(),
            0,
            "overflow {overflow}: nothing reached the store"
        );
        assert!(store.seen().iter().all(|s| s.method == "GET"));
        assert_eq!(store.record(&id).unwrap(), before);
        // An Elastic Path read says what is stored (docs/vendors/elasticpath.md#retrieve): the
        // name, no password set.
        let ep = read(&gw, "elasticpath", &id, "").await;
        assert_eq!(ep.status, 200, "{}", text(&ep));
        assert_eq!(ep.json()["data"]["name"], "Ron Swanson");
        assert_ne!(ep.json()["data"]["password"], true);
        gw.stop().await;
    }
}

#[tokio::test]
async fn keys_planted_in_medusas_metadata_give_back_no_read_only_or_stored_member() {
    // As if written before the refusal existed, or by another client of the store.
    let (store, id) = store_of("medusa", |record| {
        let metadata = record["metadata"].as_object_mut().unwrap();
        metadata.insert("dialectgate:/has_password".into(), json!(true));
        metadata.insert("dialectgate:/name/full".into(), json!("Mallory Forged"));
        metadata.insert("dialectgate:/has_account".into(), json!(true));
        metadata.insert("dialectgate:/id".into(), json!("cus_victim"));
        metadata.insert("dialectgate:/company/name".into(), json!("Pawnee Parks"));
    })
    .await;
    let gw = gateway_to(&store, "medusa", true).await;
    let ep = read(&gw, "elasticpath", &id, "").await;
    assert_eq!(ep.status, 200, "{}", text(&ep));
    let data = &ep.json()["data"];
    assert_eq!(data["name"], "Ron Swanson");
    assert_ne!(data["password"], true);
    assert_eq!(data["id"], id.as_str());
    // Medusa's own read: the stored flag, the bag without the gateway's keys.
    let medusa = read(&gw, "medusa", &id, "").await;
    assert_eq!(medusa.status, 200, "{}", text(&medusa));
    let customer = &medusa.json()["customer"];
    assert_eq!(customer["has_account"], false);
    assert_eq!(customer["id"], id.as_str());
    assert_eq!(customer["metadata"], json!({"source": "crm", "tier": "gold"}));
    // What the gateway stows there for Checkout Page (docs/vendors/checkoutpage.md) still comes
    // back.
    let cp = read(&gw, "checkoutpage", &id, "").await;
    assert_eq!(cp.json()["data"]["companyName"], "Pawnee Parks", "{}", text(&cp));
    gw.stop().await;
}

#[tokio::test]
async fn an_axim_callers_forged_codes_are_refused_in_axims_shape() {
    for overflow in [false, true] {
        let (store, id) = store_of("axim", |_| {}).await;
        let before = store.record(&id).unwrap();
        let gw = gateway_to(&store, "axim", overflow).await;
        let forged = json!({
            "firstName": "Ron", "lastName": "Swanson", "email": "ron@swanson.com",
            "metaFields": [
                {"code": "tier", "value": "gold"},
                {"code": "dialectgate:/has_account", "value": true},
                {"code": "dialectgate:/groups", "value": [{"id": "cgrp_vip"}]}
            ]
        });
        let answer = harness::send(&gw, "axim", &id, &forged).await;
        // Axim's error body: 400 {success: false, message, errors: [{field, message}]}
        // (docs/vendors/axim.md#errors).
        assert_eq!(answer.status, 400, "overflow {overflow}: {}", text(&answer));
        let body = answer.json();
        assert_eq!(body["success"], false);
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["metaFields.1.code", "metaFields.2.code"], "{body}");
        assert!(store.seen().iter().all(|s| s.method != "PUT"));
        assert_eq!(store.record(&id).unwrap(), before);
        // A Medusa read, groups expanded (docs/vendors/medusa.md#retrieve): no account flag, no
        // membership.
        let medusa = read(&gw, "medusa", &id, "?expand=groups").await;
        assert_eq!(medusa.status, 200, "{}", text(&medusa));
        let customer = &medusa.json()["customer"];
        assert_ne!(customer["has_account"], true, "{customer}");
        assert!(
            customer["groups"].as_array().is_none_or(Vec::is_empty),
            "{customer}"
        );
        gw.stop().await;
    }
}

#[tokio::test]
async fn a_medusa_metadata_update_into_axim_keeps_the_stowed_company_name() {
    let (store, id) = store_of("axim", |_| {}).await;
    let gw = gateway_to(&store, "axim", true).await;
    let company = json!({"code": "dialectgate:/company/name", "value": "Pawnee Parks"});
    // A Checkout Page companyName has no place in Axim (docs/vendors/axim.md#request): stowed in
    // metaFields.
    let answer = harness::send(&gw, "checkoutpage", &id, &json!({"companyName": "Pawnee Parks"})).await;
    assert_eq!(answer.status, 200, "{}", text(&answer));
    assert_eq!(
        store.record(&id).unwrap()["metaFields"],
        json!([company, {"code": "tier", "value": "gold"}])
    );
    // Issue #20, item 4: a Medusa metadata update reads the customer and PUTs the whole list
    // (Axim replaces metaFields): the company name goes with it.
    store.clear_seen();
    let answer = harness::send(&gw, "medusa", &id, &json!({"metadata": {"vip": "yes"}})).await;
    assert_eq!(answer.status, 200, "{}", text(&answer));
    let seen = store.seen();
    let put = seen.iter().find(|s| s.method == "PUT").expect("a PUT");
    let codes = put.body["metaFields"].as_array().unwrap();
    assert!(codes.contains(&company), "{codes:?}");
    assert_eq!(
        store.record(&id).unwrap()["metaFields"],
        json!([company, {"code": "tier", "value": "gold"}, {"code": "vip", "value": "yes"}])
    );
    // An Axim caller's own list replaces its codes, not the gateway's.
    let own = json!({"firstName": "Ron", "lastName": "Swanson", "email": "ron@swanson.com",
                     "metaFields": [{"code": "vip", "value": "no"}]});
    let answer = harness::send(&gw, "axim", &id, &own).await;
    assert_eq!(answer.status, 200, "{}", text(&answer));
    assert_eq!(
        store.record(&id).unwrap()["metaFields"],
        json!([company, {"code": "vip", "value": "no"}])
    );
    // The Axim caller does not see the gateway's key; Checkout Page reads its company back.
    let axim = read(&gw, "axim", &id, "").await;
    assert_eq!(
        axim.json()["data"]["metaFields"],
        json!([{"code": "vip", "value": "no"}])
    );
    let cp = read(&gw, "checkoutpage", &id, "").await;
    assert_eq!(cp.json()["data"]["companyName"], "Pawnee Parks", "{}", text(&cp));
    gw.stop().await;
}

#[tokio::test]
async fn a_stowed_key_in_medusas_metadata_survives_other_callers_writes() {
    let (store, id) = store_of("medusa", |_| {}).await;
    let gw = gateway_to(&store, "medusa", true).await;
    let answer = harness::send(&gw, "checkoutpage", &id, &json!({"companyName": "Pawnee Parks"})).await;
    assert_eq!(answer.status, 200, "{}", text(&answer));
    // Medusa merges metadata key by key, "" deleting one (docs/vendors/medusa.md#semantics): an
    // Axim caller's list and a Medusa deletion leave the gateway's key alone.
    let axim = json!({"firstName": "Ron", "lastName": "Swanson", "email": "ron@swanson.com",
                      "metaFields": [{"code": "vip", "value": "yes"}]});
    let answer = harness::send(&gw, "axim", &id, &axim).await;
    assert_eq!(answer.status, 200, "{}", text(&answer));
    let answer = harness::send(&gw, "medusa", &id, &json!({"metadata": {"tier": ""}})).await;
    assert_eq!(answer.status, 200, "{}", text(&answer));
    assert_eq!(
        store.record(&id).unwrap()["metadata"],
        json!({"source": "crm", "vip": "yes", "dialectgate:/company/name": "Pawnee Parks"})
    );
    let cp = read(&gw, "checkoutpage", &id, "").await;
    assert_eq!(cp.json()["data"]["companyName"], "Pawnee Parks", "{}", text(&cp));
    gw.stop().await;
}
