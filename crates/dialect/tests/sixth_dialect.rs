//! A sixth, made-up dialect ("nimbus", `tests/data/sixth/`, laid out as the repository is:
//! `config/dialects/nimbus.toml`, `schemas/nimbus/`, `tests/fixtures/nimbus/`), added with files
//! only: copied next to the shipped tree in a temporary directory, loaded, put through the same
//! generic checks as the shipped dialects, translated through in both directions, answered and
//! rendered, and listed in the fidelity matrix.

#[path = "support/common.rs"]
mod common;

use std::path::PathBuf;

use common::{DIALECTS, Workspace, fixture};
use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{Answer, Endpoint, LossReason, Mode, Registry};
use serde_json::{Value, json};

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/sixth")
}

fn read(name: &str) -> Value {
    common::fixture_in(&data().join("tests/fixtures"), "nimbus", name)
}

/// The five shipped definitions plus nimbus, with their schemas, in a temporary directory.
fn with_nimbus() -> (Workspace, Registry) {
    let ws = Workspace::new("sixth");
    ws.add(&data());
    let reg = ws
        .load()
        .unwrap_or_else(|e| panic!("nimbus must load from files alone: {e}"));
    (ws, reg)
}

fn ep(reg: &Registry, id: &str) -> Endpoint {
    reg.endpoint(id).unwrap_or_else(|| panic!("no endpoint {id}"))
}

fn dropped(t: &dialectgate_dialect::Translation) -> Vec<(String, LossReason)> {
    let mut out: Vec<(String, LossReason)> = t
        .fidelity
        .dropped
        .iter()
        .map(|d| (d.pointer.clone(), d.reason))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn no_target(pointers: &[&str]) -> Vec<(String, LossReason)> {
    let mut out: Vec<(String, LossReason)> = pointers
        .iter()
        .map(|p| ((*p).to_owned(), LossReason::NoTarget))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn the_generic_checks_hold_for_a_sixth_dialect_added_by_files_alone() {
    let (ws, reg) = with_nimbus();
    assert!(reg.dialect("nimbus").is_some());
    common::generic::all(&reg, &ws.fixtures());
}

#[test]
fn nimbus_loads_next_to_the_five_and_routes() {
    let (_ws, reg) = with_nimbus();
    let ids: Vec<&str> = reg.dialects().iter().map(|d| d.id()).collect();
    // The shipped dialects and nimbus, by id.
    let mut expected: Vec<&str> = DIALECTS.iter().copied().chain(["nimbus"]).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected);
    let nimbus = reg.dialect("nimbus").unwrap();
    assert_eq!(nimbus.route().method, "PATCH");
    assert_eq!(
        nimbus.match_path("/api/v3/customers/nim%2042"),
        Some(Some("nim 42".to_owned()))
    );
    assert_eq!(nimbus.path_for("nim 42"), "/api/v3/customers/nim%2042");
    assert_eq!(nimbus.auth().accept[0].header, "x-nimbus-key");
}

#[test]
fn nimbus_to_canonical_is_exact() {
    let (_ws, reg) = with_nimbus();
    let t = reg
        .translate(
            &ep(&reg, "nimbus"),
            &ep(&reg, "canonical"),
            Some("nim_42"),
            &read("request.vendor-example.json"),
            Mode::Strict,
        )
        .unwrap_or_else(|p| panic!("{p:?}"));
    assert!(t.fidelity.is_exact());
    assert_eq!(
        t.outbound.body,
        json!({
            "name": {"given": "Ada", "family": "Lovelace King"},
            "email": "ada@example.org",
            "phone": "+44 20 7946 0000",
            "status": "active",
            "tags": ["vip", "beta"],
            "addresses": {"billing": {"line1": "12 St James's Square", "city": "London",
                "postal_code": "SW1Y 4JH", "country": "GB"}},
            "metadata": {"loyalty_tier": "gold", "visits": 12},
            "notes": "Prefers email",
        })
    );
    reg.validate_request(&ep(&reg, "canonical"), &t.outbound.body)
        .unwrap();
    assert_eq!(t.outbound.path, "/customers/nim_42");
}

#[test]
fn nimbus_round_trips_through_canonical_and_through_itself() {
    let (_ws, reg) = with_nimbus();
    let body = read("request.vendor-example.json");
    let to_canonical = reg
        .translate(
            &ep(&reg, "nimbus"),
            &ep(&reg, "canonical"),
            Some("nim_42"),
            &body,
            Mode::Strict,
        )
        .unwrap();
    let back = reg
        .translate(
            &ep(&reg, "canonical"),
            &ep(&reg, "nimbus"),
            Some("nim_42"),
            &to_canonical.outbound.body,
            Mode::Strict,
        )
        .unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(back.outbound.body, body);
    assert_eq!(back.outbound.method, "PATCH");
    assert_eq!(back.outbound.path, "/api/v3/customers/nim_42");
    let same = reg
        .translate(
            &ep(&reg, "nimbus"),
            &ep(&reg, "nimbus"),
            Some("nim_42"),
            &body,
            Mode::Strict,
        )
        .unwrap();
    assert_eq!(same.outbound.body, body);
}

#[test]
fn nimbus_translates_to_every_other_dialect() {
    let (_ws, reg) = with_nimbus();
    let body = read("request.vendor-example.json");
    let translate = |to: &str| {
        reg.translate(
            &ep(&reg, "nimbus"),
            &ep(&reg, to),
            Some("nim_42"),
            &body,
            Mode::Lenient,
        )
        .unwrap_or_else(|p| panic!("nimbus->{to}: {p:?}"))
    };

    let t = translate("elasticpath");
    assert_eq!(
        t.outbound.body,
        json!({"data": {"type": "customer", "email": "ada@example.org", "name": "Ada Lovelace King"}})
    );
    assert_eq!(
        t.fidelity.derived[0].from,
        ["/customer/givenName", "/customer/familyName"]
    );
    assert_eq!(
        dropped(&t),
        no_target(&[
            "/customer/attributes",
            "/customer/billing",
            "/customer/contact/phone",
            "/customer/labels",
            "/customer/note",
            "/customer/state",
        ])
    );

    let t = translate("microbase");
    assert_eq!(
        t.outbound.body,
        json!({"id": "nim_42", "email": "ada@example.org", "firstName": "Ada", "lastName": "Lovelace King",
            "status": "ACTIVE", "tags": ["vip", "beta"]})
    );

    let t = translate("axim");
    assert_eq!(
        t.outbound.body,
        json!({"email": "ada@example.org", "firstName": "Ada", "lastName": "Lovelace King",
            "phoneNumber": "+44 20 7946 0000", "status": "active", "notes": "Prefers email",
            "metaFields": [{"code": "loyalty_tier", "value": "gold"}, {"code": "visits", "value": 12}]})
    );
    // Axim replaces metaFields in full; without a read of the stored list (this translation
    // reads nothing), the merged attributes would wipe the stored codes.
    let mut expected = no_target(&["/customer/billing", "/customer/labels"]);
    expected.insert(0, ("/customer/attributes".to_owned(), LossReason::PartialReplace));
    assert_eq!(dropped(&t), expected);

    let t = translate("medusa");
    assert_eq!(
        t.outbound.body["metadata"],
        json!({"loyalty_tier": "gold", "visits": 12})
    );
    assert_eq!(t.outbound.body["phone"], json!("+44 20 7946 0000"));

    // Checkout Page replaces its address in full: nimbus's billing has no street2 nor a
    // region, so sending it would wipe Checkout Page's line2 and state.
    let t = translate("checkoutpage");
    assert_eq!(
        t.outbound.body["address"],
        json!({"line1": "12 St James's Square", "city": "London", "postalCode": "SW1Y 4JH", "country": "GB"})
    );
    let replace: Vec<(String, LossReason)> = dropped(&t)
        .into_iter()
        .filter(|(_, r)| *r == LossReason::PartialReplace)
        .collect();
    assert_eq!(
        replace,
        [
            ("/customer/billing".to_owned(), LossReason::PartialReplace),
            ("/customer/billing/street2".to_owned(), LossReason::PartialReplace),
        ]
    );
}

#[test]
fn every_dialect_translates_to_nimbus() {
    let (_ws, reg) = with_nimbus();
    for &from in DIALECTS.iter() {
        let body = fixture(from, "request");
        let path_id = reg
            .dialect(from)
            .unwrap()
            .route()
            .id_in_body
            .is_none()
            .then_some("c1");
        let t = reg
            .translate(
                &ep(&reg, from),
                &ep(&reg, "nimbus"),
                path_id,
                &body,
                Mode::Lenient,
            )
            .unwrap_or_else(|p| panic!("{from}->nimbus: {p:?}"));
        assert_eq!(t.outbound.body["object"], json!("customer"), "{from}");
        assert!(
            reg.dialect("nimbus")
                .unwrap()
                .decode_request(Some("c1"), &t.outbound.body)
                .is_ok()
        );
    }

    let mb = reg
        .translate(
            &ep(&reg, "microbase"),
            &ep(&reg, "nimbus"),
            None,
            &fixture("microbase", "request"),
            Mode::Strict,
        )
        .unwrap();
    assert_eq!(
        mb.outbound.body,
        json!({"object": "customer", "customer": {"givenName": "John", "familyName": "Doe",
            "contact": {"email": "john.doe@gmail.com"}, "state": "ENABLED", "labels": ["VIP"]}})
    );
    assert_eq!(mb.outbound.path, "/api/v3/customers/HkhhuXESl");

    // Checkout Page's replaced address: the members nimbus has are carried (lines cleared
    // with null), the canonical members no dialect has are not a loss, the state is.
    let cp = reg
        .translate(
            &ep(&reg, "checkoutpage"),
            &ep(&reg, "nimbus"),
            Some("c1"),
            &json!({"address": {"city": "Delft", "state": "ZH"}}),
            Mode::Lenient,
        )
        .unwrap();
    assert_eq!(
        cp.outbound.body["customer"]["billing"],
        json!({"street": null, "street2": null, "town": "Delft", "zip": null, "countryCode": null})
    );
    assert_eq!(dropped(&cp), no_target(&["/address/state"]));
}

#[test]
fn nimbus_answers_and_errors() {
    let (_ws, reg) = with_nimbus();
    let nimbus = ep(&reg, "nimbus");
    let bytes = serde_json::to_vec(&read("response.vendor-example.json")).unwrap();
    let Answer::Customer(customer) = reg.read_answer(&nimbus, 200, &bytes) else {
        panic!("the nimbus example response is a customer")
    };
    assert!(reg.canonical().is_valid_customer(&customer), "{customer:#}");
    assert_eq!(customer["status"], json!("pending"));
    assert_eq!(customer["addresses"]["billing"]["country"], json!("GB"));
    assert_eq!(customer["created_at"], json!("2026-01-02T03:04:05Z"));

    // Nimbus's answer in every other dialect, and a MicroBase answer in nimbus.
    for &to in DIALECTS.iter() {
        if to == "microbase" {
            // "pending" has no MicroBase status: an error, not a guess.
            assert!(reg.encode_answer(&ep(&reg, to), &customer).is_err());
            continue;
        }
        let id = customer["id"].as_str().unwrap_or_default();
        if !reg.dialect(to).unwrap().route().writes_id(id) {
            // An id the dialect cannot write (not an integer, for BigCommerce): an error.
            assert!(reg.encode_answer(&ep(&reg, to), &customer).is_err(), "{to}");
            continue;
        }
        let (_, body) = reg.encode_answer(&ep(&reg, to), &customer).unwrap();
        assert!(
            reg.dialect(to).unwrap().is_valid_response_body(&body),
            "{to}: {body}"
        );
    }
    let mb = serde_json::to_vec(&fixture("microbase", "response")).unwrap();
    let Answer::Customer(from_mb) = reg.read_answer(&ep(&reg, "microbase"), 200, &mb) else {
        panic!()
    };
    let (status, body) = reg.encode_answer(&nimbus, &from_mb).unwrap();
    assert_eq!(status, 200);
    assert_eq!(body["object"], json!("customer"));
    assert_eq!(body["customer"]["state"], json!("ENABLED"));
    assert!(reg.dialect("nimbus").unwrap().is_valid_response_body(&body));

    // Its own error shapes, and back.
    let d = reg.dialect("nimbus").unwrap();
    let invalid = reg
        .validate_request(
            &nimbus,
            &json!({"object": "customer", "customer": {"state": "ON", "shoe": 9}}),
        )
        .unwrap_err();
    let rendered = d.render_error(&invalid, Some("nim_42"));
    assert_eq!(rendered.status, 422);
    let body: Value = serde_json::from_slice(&rendered.body).unwrap();
    assert!(d.is_valid_error_body(&body), "{body}");
    assert_eq!(body["error"]["code"], json!("invalid_request"));
    assert_eq!(
        body["error"]["fields"],
        json!([{"path": "/customer/shoe", "message": "/customer/shoe is unknown"},
               {"path": "/customer/state", "message": "/customer/state must be one of ENABLED, DISABLED, PENDING"}])
    );
    for kind in ErrorKind::ALL {
        let rendered = d.render_error(&Problem::new(kind, "x"), Some("nim_42"));
        let body: Value = serde_json::from_slice(&rendered.body).unwrap();
        assert!(d.is_valid_error_body(&body), "{kind:?}: {body}");
        let back = d.classify_error(rendered.status, &rendered.body).kind();
        // Every kind has its own status or its own code here, so none collapses.
        assert_eq!(back, kind, "{kind:?}: {body}");
    }
    let not_found = d.render_error(&Problem::new(ErrorKind::NotFound, "x"), Some("nim_42"));
    assert_eq!(
        serde_json::from_slice::<Value>(&not_found.body).unwrap(),
        json!({"error": {"code": "customer_missing", "message": "no customer nim_42"}})
    );
}

#[test]
fn the_matrix_includes_nimbus_both_ways() {
    let (_ws, reg) = with_nimbus();
    let matrix = reg.matrix();
    // canonical, the shipped dialects and nimbus: every ordered pair.
    let endpoints = 1 + DIALECTS.len() + 1;
    assert_eq!(matrix.len(), endpoints * (endpoints - 1));
    let entry = |from: &str, to: &str| {
        matrix
            .iter()
            .find(|e| e.from == from && e.to == to)
            .unwrap_or_else(|| panic!("no matrix entry {from}->{to}"))
    };
    let to_canonical = entry("nimbus", "canonical");
    assert!(to_canonical.lost.is_empty() && to_canonical.derived.is_empty());
    assert_eq!(to_canonical.carried.len(), 13);
    assert!(
        to_canonical
            .carried
            .contains(&"/customer/billing/countryCode".to_owned())
    );

    let to_microbase = entry("nimbus", "microbase");
    assert_eq!(
        to_microbase.lost,
        [
            "/customer/contact/phone",
            "/customer/billing/street",
            "/customer/billing/street2",
            "/customer/billing/town",
            "/customer/billing/zip",
            "/customer/billing/countryCode",
            "/customer/attributes",
            "/customer/note",
        ]
    );
    assert!(entry("microbase", "nimbus").lost.is_empty());
    assert_eq!(
        entry("elasticpath", "nimbus").lost,
        ["/data/password", "/data/external_ref"]
    );
    for &d in DIALECTS.iter().filter(|d| **d != "nimbus") {
        entry(d, "nimbus");
        entry("nimbus", d);
    }
}
