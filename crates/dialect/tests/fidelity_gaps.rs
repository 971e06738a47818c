//! Fidelity gaps the stateful stores showed (issue #22, item 6), through the real engine with
//! the stored customer at hand (what `translation.fill = "read"` reads). Expected values come
//! from the issue and the vendors' documented write rules (`docs/vendors/<id>.md`), not from the
//! definitions.

#[path = "support/common.rs"]
mod common;

use common::{endpoint, registry};
use dialectgate_canonical::Problem;
use dialectgate_dialect::{Fill, Mode, Options, Step, Translation};
use serde_json::{Value, json};

/// The translation `from` → `to` of `body` (the id `cus_ada` in the path, or in MicroBase's
/// body), `stored` read when asked; and how many reads it took.
fn send(
    from: &str,
    to: &str,
    body: &Value,
    overflow: bool,
    stored: &Value,
) -> (Result<Translation, Problem>, usize) {
    let reg = registry();
    let options = Options {
        mode: Mode::Strict,
        fill: Fill::Read,
        overflow,
        overflow_prefix: "dialectgate:",
    };
    let (from, to) = (endpoint(from), endpoint(to));
    let id = (from.id() != "microbase").then_some("cus_ada");
    match reg.plan(&from, &to, id, body, options) {
        Ok(Step::Ready(t)) => (Ok(t), 0),
        Ok(Step::Read(pending)) => (reg.complete(&from, &to, pending, stored, Mode::Strict), 1),
        Err(p) => (Err(p), 0),
    }
}

/// A stored customer as a one-name store (Elastic Path, Checkout Page) gives it back: the full
/// name only.
fn one_name(full: &str) -> Value {
    json!({"id": "cus_ada", "email": "ada@example.com", "name": {"full": full}})
}

/// Where the one-name dialect keeps the name (docs/vendors: Elastic Path's `data.name`,
/// Checkout Page's `name`).
fn name_of<'a>(to: &str, body: &'a Value) -> &'a Value {
    if to == "elasticpath" {
        &body["data"]["name"]
    } else {
        &body["name"]
    }
}

#[test]
fn a_last_name_alone_into_one_name_keeps_the_stored_middle_words() {
    // Issue #22: "Mary Ann Smith" with only a last name sent lost "Ann".
    for to in ["elasticpath", "checkoutpage"] {
        for (stored, expected) in [
            ("Mary Ann Smith", "Mary Ann Jones"),
            ("Cher", "Cher Jones"),
            ("Ada Lovelace", "Ada Jones"),
        ] {
            let (t, reads) = send(
                "medusa",
                to,
                &json!({"last_name": "Jones"}),
                false,
                &one_name(stored),
            );
            let t = t.unwrap_or_else(|p| panic!("{to} {stored}: {p:?}"));
            assert_eq!(reads, 1, "{to} {stored}");
            assert_eq!(name_of(to, &t.outbound.body), expected, "{to} {stored}");
            assert!(t.fidelity.dropped.is_empty(), "{to} {stored}: {:?}", t.fidelity);
        }
        // A first name alone replaces the first word; the rest survives.
        let (t, _) = send(
            "medusa",
            to,
            &json!({"first_name": "Mary Jo"}),
            false,
            &one_name("Mary Ann Smith"),
        );
        let t = t.unwrap_or_else(|p| panic!("{to}: {p:?}"));
        assert_eq!(name_of(to, &t.outbound.body), "Mary Jo Ann Smith", "{to}");
        // Pinned, not closed: a first name alone into a one-word stored name has no stored last
        // name to join; it is refused naming the caller's member, never sent with a name lost.
        let (refused, _) = send(
            "medusa",
            to,
            &json!({"first_name": "Augusta"}),
            false,
            &one_name("Cher"),
        );
        let p = refused.expect_err("no last name to join");
        assert_eq!(p.errors.len(), 1, "{to}: {p:?}");
        assert_eq!(
            (p.errors[0].code.as_str(), p.errors[0].pointer.as_str()),
            ("lossy", "/first_name"),
            "{to}"
        );
    }
}

#[test]
fn a_city_only_change_into_checkout_page_keeps_the_stored_address() {
    // Checkout Page replaces `address` in full when supplied (docs/vendors/checkoutpage.md,
    // Semantics): the stored lines must travel with the new city.
    let stored = json!({
        "id": "cus_ada",
        "email": "ada@example.com",
        "addresses": {"billing": {
            "line1": "12 St James's Square", "line2": "Floor 2", "city": "London",
            "region": "Greater London", "postal_code": "SW1Y 4JH", "country": "GB"
        }}
    });
    let body = json!({"addresses": {"billing": {"city": "Manchester"}}});
    let (t, reads) = send("canonical", "checkoutpage", &body, false, &stored);
    let t = t.unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(reads, 1);
    assert_eq!(
        t.outbound.body,
        json!({"address": {
            "line1": "12 St James's Square", "line2": "Floor 2", "city": "Manchester",
            "state": "Greater London", "postalCode": "SW1Y 4JH", "country": "GB"
        }})
    );
    assert!(t.fidelity.dropped.is_empty(), "{:?}", t.fidelity);
}

#[test]
fn several_stored_metafields_codes_survive_a_medusa_metadata_change() {
    // AximCommerce replaces `metaFields` in full (docs/vendors/axim.md, Semantics); Medusa's
    // `metadata` merges: every stored code must come along, overflow on or off.
    let stored = json!({
        "id": "cus_ada",
        "email": "ada@example.com",
        "name": {"given": "Ada", "family": "Lovelace"},
        "metadata": {"p21_contact_id": 12548, "segment": "b2b", "source": "import"}
    });
    for overflow in [false, true] {
        let (t, reads) = send(
            "medusa",
            "axim",
            &json!({"metadata": {"segment": "b2c"}}),
            overflow,
            &stored,
        );
        let t = t.unwrap_or_else(|p| panic!("overflow {overflow}: {p:?}"));
        assert_eq!(reads, 1);
        let mut codes: Vec<(String, Value)> = t.outbound.body["metaFields"]
            .as_array()
            .unwrap_or_else(|| panic!("overflow {overflow}: {}", t.outbound.body))
            .iter()
            .map(|f| {
                (
                    f["code"].as_str().unwrap_or_default().to_owned(),
                    f["value"].clone(),
                )
            })
            .collect();
        codes.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            codes,
            [
                ("p21_contact_id".to_owned(), json!(12548)),
                ("segment".to_owned(), json!("b2c")),
                ("source".to_owned(), json!("import")),
            ],
            "overflow {overflow}"
        );
    }
}
