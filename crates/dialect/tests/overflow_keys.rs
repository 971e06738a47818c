//! Overflow keys are the gateway's own (issue #20, items 3 and 4). A caller's bag key starting
//! with `translation.overflow_prefix` is refused in the caller's dialect, overflow on or off; the
//! way back gives back only members the upstream has no place for, never read-only,
//! vendor-assigned or upstream-stored ones; read-modify-write keeps every stowed key. Expected
//! values come from the issue text and the vendors' documented shapes and write rules
//! (`docs/vendors/axim.md`, `medusa.md`, each vendor's Retrieve section), not from the
//! definitions.

#[path = "support/common.rs"]
mod common;

use common::{DIALECTS, endpoint, path_id, registry};
use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{Answer, Fill, Mode, Options, Step, Translation};
use serde_json::{Value, json};

const PREFIX: &str = "dialectgate:";

/// The dialects that declare a bag (`[request] bag`): Medusa `metadata`, AximCommerce
/// `metaFields`.
const WITH_BAG: [&str; 2] = ["axim", "medusa"];

fn options(overflow: bool) -> Options<'static> {
    Options {
        mode: Mode::Strict,
        fill: Fill::Read,
        overflow,
        overflow_prefix: PREFIX,
    }
}

/// The canonical customer `to`'s upstream answers with `body` (its retrieve answer), as the
/// engine reads it: nothing restored.
fn read(to: &str, body: &Value) -> Value {
    match registry().read_answer(&endpoint(to), 200, body.to_string().as_bytes()) {
        Answer::Customer(c) => c,
        Answer::Problem(p) => panic!("{to}: the answer must read: {p:?}"),
    }
}

/// `body` from `from` to `to` with overflow as given, completed with `stored` (the upstream's
/// retrieve answer) when a read is asked for: the translation and the number of reads.
fn send(
    from: &str,
    to: &str,
    body: &Value,
    opts: Options<'_>,
    stored: &Value,
) -> Result<(Translation, usize), Problem> {
    let reg = registry();
    let (f, t) = (endpoint(from), endpoint(to));
    match reg.plan(&f, &t, path_id(reg, from), body, opts)? {
        Step::Ready(translation) => Ok((translation, 0)),
        // No stored customer given: the read the target needs (commercetools' version) fails.
        Step::Read(_) if stored.is_null() => Err(Problem::new(
            dialectgate_canonical::ErrorKind::BadGateway,
            "no stored customer to read",
        )),
        Step::Read(pending) => reg
            .complete(&f, &t, pending, &read(to, stored), opts.mode)
            .map(|translation| (translation, 1)),
    }
}

/// The three members Axim requires on every PUT, plus `meta` as its metaFields.
fn axim_body(meta: Value) -> Value {
    json!({"firstName": "Ron", "lastName": "Swanson", "email": "ron@swanson.com", "metaFields": meta})
}

/// Callers' bodies carrying forged overflow keys, with where each caller put them.
fn forged() -> Vec<(&'static str, Value, Vec<&'static str>)> {
    vec![
        (
            "medusa",
            json!({"metadata": {"vip": "yes", "dialectgate:/has_password": true, "dialectgate:/name/full": "Mallory Forged"}}),
            vec![
                "/metadata/dialectgate:~1has_password",
                "/metadata/dialectgate:~1name~1full",
            ],
        ),
        (
            "axim",
            axim_body(json!([
                {"code": "tier", "value": "gold"},
                {"code": "dialectgate:/has_account", "value": true},
                {"code": "dialectgate:/groups", "value": [{"id": "cgrp_vip"}]}
            ])),
            vec!["/metaFields/1/code", "/metaFields/2/code"],
        ),
    ]
}

fn assert_reserved(p: &Problem, pointers: &[&str], case: &str) {
    assert_reserved_under(PREFIX, p, pointers, case);
}

fn assert_reserved_under(prefix: &str, p: &Problem, pointers: &[&str], case: &str) {
    assert_eq!(p.kind(), ErrorKind::Validation, "{case}: {p:?}");
    assert_eq!(p.status, 400, "{case}");
    let mut got: Vec<&str> = p.errors.iter().map(|v| v.pointer.as_str()).collect();
    got.sort_unstable();
    assert_eq!(got, pointers, "{case}: {p:?}");
    for v in &p.errors {
        assert_eq!(v.code, "reserved_key", "{case}: {v:?}");
        let key = v.property.as_deref().unwrap_or_default();
        assert!(key.starts_with(prefix), "{case}: {v:?}");
        assert!(
            v.message.contains(key),
            "{case}: the message names the key: {v:?}"
        );
    }
}

#[test]
fn a_callers_key_in_the_gateways_namespace_is_refused_overflow_on_or_off() {
    for (from, body, pointers) in forged() {
        registry()
            .validate_request(&endpoint(from), &body)
            .unwrap_or_else(|p| panic!("{from}: the body must be valid in its dialect: {p:?}"));
        for to in DIALECTS.iter().copied().chain(["canonical"]) {
            for overflow in [false, true] {
                let case = format!("{from} -> {to}, overflow {overflow}");
                let refused = send(from, to, &body, options(overflow), &Value::Null)
                    .err()
                    .unwrap_or_else(|| panic!("{case}: must be refused"));
                assert_reserved(&refused, &pointers, &case);
            }
        }
        // The library's plain translation (default options) refuses too.
        let (f, c) = (endpoint(from), endpoint("canonical"));
        let refused = registry()
            .translate(&f, &c, path_id(registry(), from), &body, Mode::Lenient)
            .unwrap_err();
        assert_reserved(&refused, &pointers, &format!("{from}: Registry::translate"));
    }
}

#[test]
fn a_canonical_callers_metadata_is_refused_where_it_would_land_in_a_bag() {
    let body = json!({"metadata": {"dialectgate:/company/name": "Forged Ltd"}});
    for to in DIALECTS.iter().copied() {
        let result = send("canonical", to, &body, options(true), &Value::Null);
        if WITH_BAG.contains(&to) {
            assert_reserved(
                &result.err().unwrap_or_else(|| panic!("canonical -> {to}")),
                &["/metadata/dialectgate:~1company~1name"],
                &format!("canonical -> {to}"),
            );
        } else if let Err(p) = result {
            assert!(
                p.errors.iter().all(|v| v.code != "reserved_key"),
                "canonical -> {to}: {to} has no bag: {p:?}"
            );
        }
    }
}

#[test]
fn the_refusal_is_in_the_callers_own_error_shape() {
    let reg = registry();
    let [(_, medusa_body, _), (_, axim_body, _)] = <[_; 2]>::try_from(forged()).unwrap();
    // Medusa: 400 {type: "invalid_data", message} (docs/vendors/medusa.md#errors).
    let p = send("medusa", "axim", &medusa_body, options(true), &Value::Null).unwrap_err();
    let rendered = reg.render_error(&endpoint("medusa"), &p, None);
    assert_eq!(rendered.status, 400);
    let body: Value = serde_json::from_slice(&rendered.body).unwrap();
    assert_eq!(body["type"], "invalid_data");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("dialectgate:/has_password"), "{message}");
    assert!(message.contains("dialectgate:/name/full"), "{message}");
    // AximCommerce: 400 {success: false, message, errors: [{field, message}]}
    // (docs/vendors/axim.md#errors).
    let p = send("axim", "medusa", &axim_body, options(false), &Value::Null).unwrap_err();
    let rendered = reg.render_error(&endpoint("axim"), &p, None);
    assert_eq!(rendered.status, 400);
    let body: Value = serde_json::from_slice(&rendered.body).unwrap();
    assert_eq!(body["success"], false);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["metaFields.1.code", "metaFields.2.code"]);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("dialectgate:/has_account")
    );
}

#[test]
fn only_keys_starting_with_the_configured_prefix_are_reserved() {
    let mine = Options {
        overflow_prefix: "acme-gw:",
        ..options(true)
    };
    // Under another prefix, `dialectgate:` keys are the caller's own; a key or value merely
    // holding the prefix is too.
    let body = json!({"metadata": {"dialectgate:/x": "1", "x-acme-gw:/y": "2", "note": "acme-gw:/z"}});
    let (t, _) = send("medusa", "medusa", &body, mine, &Value::Null).unwrap();
    assert_eq!(t.outbound.body, body);
    let refused = send(
        "medusa",
        "medusa",
        &json!({"metadata": {"acme-gw:/company/name": "Forged"}}),
        mine,
        &Value::Null,
    )
    .unwrap_err();
    assert_reserved_under(
        "acme-gw:",
        &refused,
        &["/metadata/acme-gw:~1company~1name"],
        "acme-gw:",
    );
    // A key deleted with Medusa's "" is a write to it too.
    let refused = send(
        "medusa",
        "medusa",
        &json!({"metadata": {"dialectgate:/company/name": ""}}),
        options(false),
        &Value::Null,
    )
    .unwrap_err();
    assert_reserved(&refused, &["/metadata/dialectgate:~1company~1name"], "a deletion");
}

/// Every key a forger would plant, and the one the gateway writes for a Checkout Page
/// `companyName` (docs/vendors/checkoutpage.md#request) that neither Medusa nor Axim has a place
/// for.
fn planted() -> Vec<(&'static str, Value)> {
    vec![
        ("dialectgate:/has_password", json!(true)),
        ("dialectgate:/name/full", json!("Mallory Forged")),
        ("dialectgate:/has_account", json!(true)),
        ("dialectgate:/id", json!("cus_victim")),
        ("dialectgate:/created_at", json!("2001-01-01T00:00:00Z")),
        ("dialectgate:/updated_at", json!("2001-01-01T00:00:00Z")),
        ("dialectgate:/password", json!("hunter2")),
        ("dialectgate:/company/name", json!("Pawnee Parks")),
    ]
}

#[test]
fn a_medusa_bag_gives_back_only_what_medusa_has_no_place_for() {
    let mut metadata = serde_json::Map::new();
    metadata.insert("source".into(), json!("crm"));
    for (k, v) in planted() {
        metadata.insert(k.into(), v);
    }
    // Medusa stores group memberships itself (docs/vendors/medusa.md#request).
    metadata.insert("dialectgate:/groups".into(), json!([{"id": "cgrp_vip"}]));
    let answer = json!({"customer": {
        "id": "cus_123", "email": "ron@swanson.com", "first_name": "Ron", "last_name": "Swanson",
        "phone": null, "has_account": false, "metadata": metadata, "deleted_at": null,
        "billing_address_id": null, "created_at": "2024-01-10T09:00:00Z",
        "updated_at": "2024-01-10T09:00:00Z", "orders": [], "shipping_addresses": []
    }});
    let mut customer = read("medusa", &answer);
    registry().restore_overflow(&endpoint("medusa"), &mut customer, PREFIX);
    assert_eq!(
        customer,
        json!({
            "id": "cus_123", "email": "ron@swanson.com",
            "name": {"given": "Ron", "family": "Swanson"},
            "has_account": false, "metadata": {"source": "crm"},
            "company": {"name": "Pawnee Parks"},
            "created_at": "2024-01-10T09:00:00Z", "updated_at": "2024-01-10T09:00:00Z",
            "addresses": {"book": []}
        })
    );
    // Elastic Path's read of it (docs/vendors/elasticpath.md#retrieve): the stored name, no
    // password flag set.
    let (_, ep) = registry()
        .encode_answer(&endpoint("elasticpath"), &customer)
        .unwrap();
    assert_eq!(ep["data"]["name"], "Ron Swanson");
    assert_ne!(ep["data"]["password"], true);
}

#[test]
fn an_axim_bag_gives_back_only_what_axim_has_no_place_for() {
    let mut meta = vec![json!({"code": "tier", "value": "gold"})];
    meta.extend(planted().into_iter().map(|(k, v)| json!({"code": k, "value": v})));
    // Axim stores its own phone and company id (docs/vendors/axim.md#request): a key for them
    // gives nothing back, even where the answer lacks the member.
    meta.push(json!({"code": "dialectgate:/phone", "value": "+1 555 0100"}));
    meta.push(json!({"code": "dialectgate:/company/id", "value": "comp_forged"}));
    let answer = json!({"success": true, "data": {
        "id": "c1", "email": "ron@swanson.com", "firstName": "Ron", "lastName": "Swanson",
        "company": "comp1", "metaFields": meta,
        "createdAt": "2024-01-10T09:00:00Z", "updatedAt": "2024-01-10T09:00:00Z"
    }});
    let mut customer = read("axim", &answer);
    registry().restore_overflow(&endpoint("axim"), &mut customer, PREFIX);
    assert_eq!(
        customer,
        json!({
            "id": "c1", "email": "ron@swanson.com",
            "name": {"given": "Ron", "family": "Swanson"},
            "company": {"id": "comp1", "name": "Pawnee Parks"},
            "metadata": {"tier": "gold"},
            "created_at": "2024-01-10T09:00:00Z", "updated_at": "2024-01-10T09:00:00Z"
        })
    );
    // Medusa's read of it (docs/vendors/medusa.md#answer): no account flag from the bag.
    let (_, medusa) = registry().encode_answer(&endpoint("medusa"), &customer).unwrap();
    assert_ne!(medusa["customer"]["has_account"], true);
    assert_eq!(medusa["customer"]["metadata"], json!({"tier": "gold"}));
}

#[test]
fn group_memberships_a_medusa_caller_overflowed_into_axim_come_back() {
    // Axim has no groups (docs/vendors/axim.md#request): a Medusa caller's memberships travel in
    // its bag, written by the gateway, and a Medusa read finds them. Callers cannot write the key
    // themselves (above), so only the gateway's own keys reach the bag this way.
    let stored = json!({"success": true, "data": {
        "id": "c1", "email": "ron@swanson.com", "firstName": "Ron", "lastName": "Swanson",
        "metaFields": [{"code": "tier", "value": "gold"}]
    }});
    let (t, reads) = send(
        "medusa",
        "axim",
        &json!({"groups": [{"id": "cgrp_vip"}]}),
        options(true),
        &stored,
    )
    .unwrap();
    assert_eq!(reads, 1);
    let sent = &t.outbound.body["metaFields"];
    assert_eq!(
        sent,
        &json!([{"code": "dialectgate:/groups", "value": [{"id": "cgrp_vip"}]}, {"code": "tier", "value": "gold"}])
    );
    let mut customer = read(
        "axim",
        &json!({"success": true, "data": {"id": "c1", "metaFields": sent}}),
    );
    registry().restore_overflow(&endpoint("axim"), &mut customer, PREFIX);
    assert_eq!(customer["groups"], json!([{"id": "cgrp_vip"}]));
}

/// A representative update in each caller's dialect that the upstream takes.
fn update(from: &str) -> Value {
    match from {
        "elasticpath" => json!({"data": {"type": "customer", "email": "ron@new.example"}}),
        "microbase" => json!({"id": "cus_123", "email": "ron@new.example"}),
        "bigcommerce" => json!([{"id": 123, "email": "ron@new.example"}]),
        "axim" => axim_body(json!([{"code": "vip", "value": "yes"}])),
        "medusa" => json!({"metadata": {"vip": "yes"}}),
        "checkoutpage" => json!({"phone": "5550100"}),
        "commercetools" => {
            json!({"version": 1, "actions": [{"action": "changeEmail", "email": "ron@new.example"}]})
        }
        "spree" => json!({"user": {"email": "ron@new.example"}}),
        "canonical" => json!({"metadata": {"vip": "yes"}}),
        "shopify" => json!({
            "query": "mutation customerUpdate($input: CustomerInput!) { customerUpdate(input: $input) { userErrors { field message } } }",
            "variables": {"input": {"id": "gid://shopify/Customer/cus_123", "email": "ron@new.example"}}
        }),
        other => panic!("no update for {other}"),
    }
}

/// The upstream's stored record holding two stowed keys, as its retrieve call answers it.
fn stored_with_stowed_keys(to: &str) -> Value {
    match to {
        "axim" => json!({"success": true, "data": {
            "id": "cus_123", "email": "ron@swanson.com", "firstName": "Ron", "lastName": "Swanson",
            "metaFields": [
                {"code": "dialectgate:/company/name", "value": "Pawnee Parks"},
                {"code": "dialectgate:/tags", "value": ["parks"]},
                {"code": "tier", "value": "gold"}
            ]
        }}),
        "medusa" => json!({"customer": {
            "id": "cus_123", "email": "ron@swanson.com", "first_name": "Ron", "last_name": "Swanson",
            "phone": null, "has_account": false, "deleted_at": null, "billing_address_id": null,
            "created_at": "2024-01-10T09:00:00Z", "updated_at": "2024-01-10T09:00:00Z",
            "orders": [], "shipping_addresses": [],
            "metadata": {"dialectgate:/company/name": "Pawnee Parks", "dialectgate:/tags": ["parks"], "tier": "gold"}
        }}),
        other => panic!("{other} has no bag"),
    }
}

/// The bag the upstream holds after the write, by its documented rule: Axim replaces
/// `metaFields` when sent (docs/vendors/axim.md#semantics); Medusa merges `metadata` key by key,
/// `""` deleting (docs/vendors/medusa.md#semantics).
fn bag_after(to: &str, stored: &Value, sent: &Value) -> serde_json::Map<String, Value> {
    let pairs = |list: &Value| -> serde_json::Map<String, Value> {
        list.as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                (
                    i["code"].as_str().unwrap_or_default().to_owned(),
                    i["value"].clone(),
                )
            })
            .collect()
    };
    match to {
        "axim" => pairs(sent.get("metaFields").unwrap_or(&stored["data"]["metaFields"])),
        _ => {
            let mut bag = stored["customer"]["metadata"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for (k, v) in sent
                .get("metadata")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if v == "" {
                    bag.remove(k);
                } else {
                    bag.insert(k.clone(), v.clone());
                }
            }
            bag
        }
    }
}

#[test]
fn every_write_through_a_bag_keeps_the_stowed_keys() {
    for to in WITH_BAG {
        let stored = stored_with_stowed_keys(to);
        for from in DIALECTS.iter().copied().chain(["canonical"]) {
            let case = format!("{from} -> {to}");
            let (t, _) = send(from, to, &update(from), options(true), &stored)
                .unwrap_or_else(|p| panic!("{case}: {p:?}"));
            let bag = bag_after(to, &stored, &t.outbound.body);
            assert_eq!(
                bag["dialectgate:/company/name"], "Pawnee Parks",
                "{case}: {bag:?}"
            );
            assert_eq!(bag["dialectgate:/tags"], json!(["parks"]), "{case}: {bag:?}");
        }
    }
}

#[test]
fn an_axim_callers_own_list_replaces_its_codes_but_not_the_gateways() {
    let stored = stored_with_stowed_keys("axim");
    let (t, reads) = send("axim", "axim", &update("axim"), options(true), &stored).unwrap();
    assert_eq!(reads, 1, "the stored keys are read first");
    assert_eq!(
        t.outbound.body["metaFields"],
        json!([
            {"code": "dialectgate:/company/name", "value": "Pawnee Parks"},
            {"code": "dialectgate:/tags", "value": ["parks"]},
            {"code": "vip", "value": "yes"}
        ]),
        "the caller's list replaces `tier`; the gateway's keys stay"
    );
    assert_eq!(t.fidelity.filled[0].pointer, "/metadata");
    // Without overflow the caller's list goes as it came, with no read.
    let (t, reads) = send("axim", "axim", &update("axim"), options(false), &stored).unwrap();
    assert_eq!(reads, 0);
    assert_eq!(
        t.outbound.body["metaFields"],
        json!([{"code": "vip", "value": "yes"}])
    );
}

#[test]
fn the_finding_a_medusa_metadata_update_into_axim_keeps_the_company_name() {
    // Issue #20, item 4: a Checkout Page companyName stowed in Axim's metaFields, then a Medusa
    // {"metadata":{"vip":"yes"}}: the PUT carries the company name.
    let stored = json!({"success": true, "data": {
        "id": "cus_123", "email": "ron@swanson.com", "firstName": "Ron", "lastName": "Swanson",
        "metaFields": [{"code": "dialectgate:/company/name", "value": "Pawnee Parks"}]
    }});
    let (t, reads) = send(
        "medusa",
        "axim",
        &json!({"metadata": {"vip": "yes"}}),
        options(true),
        &stored,
    )
    .unwrap();
    assert_eq!(reads, 1);
    assert_eq!(
        t.outbound.body["metaFields"],
        json!([{"code": "dialectgate:/company/name", "value": "Pawnee Parks"}, {"code": "vip", "value": "yes"}])
    );
}
