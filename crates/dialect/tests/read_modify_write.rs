//! Partial updates across dialects (issue: "updates that lose nothing"): realistic partial
//! updates, each valid in its caller's dialect, sent to every other dialect with the stored
//! customer at hand (what `translation.fill = "read"` reads). Expected bodies are written from
//! the vendors' documented write rules (`docs/vendors/<id>.md`, Semantics and Retrieve), not from
//! the definitions.

#[path = "support/common.rs"]
mod common;

use common::{DIALECTS, endpoint, registry};
use dialectgate_canonical::Problem;
use dialectgate_dialect::{Fill, Mode, Options, Step, Translation};
use serde_json::{Value, json};

/// The stored customer, as a canonical Customer (an id every dialect can write: BigCommerce's are integers).
fn stored() -> Value {
    json!({
        "id": "1815",
        "version": "7",
        "email": "ada@example.com",
        "name": {"given": "Ada", "family": "Lovelace", "full": "Ada Lovelace"},
        "phone": "+44 20 7946 0001",
        "has_password": true,
        "status": "active",
        "tags": ["vip"],
        "company": {"id": "comp_analytical", "name": "Analytical Engines Ltd"},
        "notes": "Prefers email.",
        "external_ref": "crm-0001",
        "billing_email": "billing@analytical.example",
        "addresses": {
            "billing": {"line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"}
        },
        "metadata": {"source": "fixture"},
        "created_at": "2024-01-10T09:00:00Z",
        "updated_at": "2024-01-10T09:00:00Z"
    })
}

/// Partial updates valid in `dialect`, by name. The id travels in the path (`1815`), or in
/// MicroBase's and BigCommerce's bodies.
fn partial_updates(dialect: &str) -> Vec<(&'static str, Value)> {
    match dialect {
        "elasticpath" => vec![
            (
                "email",
                json!({"data": {"type": "customer", "email": "ada@new.example"}}),
            ),
            (
                "name",
                json!({"data": {"type": "customer", "name": "Augusta Lovelace"}}),
            ),
            (
                "external_ref",
                json!({"data": {"type": "customer", "external_ref": "crm-9"}}),
            ),
            (
                "password",
                json!({"data": {"type": "customer", "password": "s3cret-pass"}}),
            ),
        ],
        "microbase" => vec![
            ("email", json!({"id": "1815", "email": "ada@new.example"})),
            ("first name", json!({"id": "1815", "firstName": "Augusta"})),
            ("last name", json!({"id": "1815", "lastName": "King"})),
            ("status", json!({"id": "1815", "status": "INACTIVE"})),
            ("tags", json!({"id": "1815", "tags": ["a", "b"]})),
        ],
        "axim" => {
            let with = |extra: Value| {
                let mut body =
                    json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"});
                if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
                    b.extend(e);
                }
                body
            };
            vec![
                (
                    "email",
                    json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@new.example"}),
                ),
                ("phone", with(json!({"phoneNumber": "+44 1"}))),
                ("status", with(json!({"status": "inactive"}))),
                (
                    "meta field",
                    with(json!({"metaFields": [{"code": "tier", "value": "gold"}]})),
                ),
                ("notes", with(json!({"notes": "Call first."}))),
            ]
        }
        "medusa" => vec![
            ("email", json!({"email": "ada@new.example"})),
            ("first name", json!({"first_name": "Augusta"})),
            ("last name", json!({"last_name": "King"})),
            ("phone", json!({"phone": "+44 1"})),
            ("metadata", json!({"metadata": {"tier": "gold"}})),
            ("password", json!({"password": "s3cret-pass"})),
        ],
        "checkoutpage" => vec![
            ("name", json!({"name": "Augusta Lovelace"})),
            ("email", json!({"email": "ada@new.example"})),
            ("phone", json!({"phone": "+44 1"})),
            ("company name", json!({"companyName": "Acme"})),
            ("billing email", json!({"billingEmail": "b@new.example"})),
            ("tax id", json!({"taxId": "GB999"})),
        ],
        "commercetools" => vec![
            (
                "first name",
                json!({"version": 7, "actions": [{"action": "setFirstName", "firstName": "Augusta"}]}),
            ),
            (
                "email",
                json!({"version": 7, "actions": [{"action": "changeEmail", "email": "ada@new.example"}]}),
            ),
            (
                "company name",
                json!({"version": 7, "actions": [{"action": "setCompanyName", "companyName": "Acme"}]}),
            ),
            (
                "vat id cleared",
                json!({"version": 7, "actions": [{"action": "setVatId"}]}),
            ),
        ],
        "shopify" => {
            let input = |members: Value| {
                let mut input = json!({"id": "gid://shopify/Customer/1815"});
                if let (Value::Object(i), Value::Object(m)) = (&mut input, members) {
                    i.extend(m);
                }
                json!({"query": "mutation customerUpdate($input: CustomerInput!) { customerUpdate(input: $input) { userErrors { field message } } }", "variables": {"input": input}})
            };
            vec![
                ("email", input(json!({"email": "ada@new.example"}))),
                ("first name", input(json!({"firstName": "Augusta"}))),
                ("last name", input(json!({"lastName": "King"}))),
                ("phone", input(json!({"phone": "+441"}))),
                ("note", input(json!({"note": "Call first."}))),
                ("tags", input(json!({"tags": ["a", "b"]}))),
            ]
        }
        // docs/vendors/bigcommerce.md#request: an array of one item, `id` an integer.
        "bigcommerce" => vec![
            ("email", json!([{"id": 1815, "email": "ada@new.example"}])),
            ("first name", json!([{"id": 1815, "first_name": "Augusta"}])),
            ("last name", json!([{"id": 1815, "last_name": "King"}])),
            ("phone", json!([{"id": 1815, "phone": "+44 1"}])),
            ("company", json!([{"id": 1815, "company": "Acme"}])),
            ("notes", json!([{"id": 1815, "notes": "Call first."}])),
            (
                "password",
                json!([{"id": 1815, "authentication": {"new_password": "s3cret-pass"}}]),
            ),
        ],
        "spree" => vec![
            ("email", json!({"user": {"email": "ada@new.example"}})),
            ("first name", json!({"user": {"first_name": "Augusta"}})),
            ("last name", json!({"user": {"last_name": "King"}})),
            ("password", json!({"user": {"password": "s3cret-pass"}})),
        ],
        other => panic!("no partial updates for {other}"),
    }
}

fn path_id(dialect: &str) -> Option<&'static str> {
    (!["microbase", "bigcommerce"].contains(&dialect)).then_some("1815")
}

/// The translation with the stored customer read when asked, and how many reads it took.
fn send(from: &str, to: &str, body: &Value, overflow: bool) -> (Result<Translation, Problem>, usize) {
    let reg = registry();
    let options = Options {
        mode: Mode::Strict,
        fill: Fill::Read,
        overflow,
        overflow_prefix: "dialectgate:",
    };
    let (from, to) = (endpoint(from), endpoint(to));
    match reg.plan(&from, &to, path_id(from.id()), body, options) {
        Ok(Step::Ready(t)) => (Ok(t), 0),
        Ok(Step::Read(pending)) => (reg.complete(&from, &to, pending, &stored(), Mode::Strict), 1),
        Err(p) => (Err(p), 0),
    }
}

/// Refused only when the information truly has no place in the target (or is a secret, or an
/// enum value without a mapping), each refusal naming members the caller sent.
#[test]
fn across_every_pair_a_partial_update_is_refused_only_when_it_has_no_place() {
    // Per overflow setting (off, on).
    let mut carried = [0; 2];
    let mut refused = [0; 2];
    for &from in DIALECTS.iter() {
        for (name, body) in partial_updates(from) {
            registry()
                .validate_request(&endpoint(from), &body)
                .unwrap_or_else(|p| panic!("{from} {name}: the example must be valid: {p:?}"));
            for &to in DIALECTS.iter().filter(|&&to| to != from) {
                for overflow in [false, true] {
                    match send(from, to, &body, overflow).0 {
                        Ok(t) => {
                            carried[usize::from(overflow)] += 1;
                            assert!(
                                t.fidelity.dropped.is_empty(),
                                "{from}->{to} {name}: {:?}",
                                t.fidelity
                            );
                        }
                        Err(p) => {
                            refused[usize::from(overflow)] += 1;
                            assert!(!p.errors.is_empty(), "{from}->{to} {name}: {p:?}");
                            for v in &p.errors {
                                assert!(
                                    ["lossy", "secret", "unmapped_enum"].contains(&v.code.as_str()),
                                    "{from}->{to} {name} (overflow {overflow}): refused for {} ({}) — {}",
                                    v.code,
                                    v.pointer,
                                    v.message
                                );
                                let at = dialectgate_dialect::Pointer::parse(&v.pointer).expect("a pointer");
                                assert!(
                                    at.get(&body).is_some(),
                                    "{from}->{to} {name}: {} is not a member the caller sent",
                                    v.pointer
                                );
                                assert!(
                                    !v.message.contains("must not be empty"),
                                    "{from}->{to} {name}: {}",
                                    v.message
                                );
                                if overflow && v.code == "lossy" {
                                    assert!(
                                        !["medusa", "axim"].contains(&to),
                                        "{from}->{to} {name}: {to} has a bag, nothing but a secret is refused"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "partial updates across the 20 pairs: overflow off: {} carried, {} refused; on: {} carried, {} refused",
        carried[0], refused[0], carried[1], refused[1]
    );
    assert!(
        carried[0] > refused[0],
        "carried {carried:?}, refused {refused:?}"
    );
    assert!(carried[1] > carried[0], "overflow carries more: {carried:?}");
}

#[test]
fn a_first_name_alone_into_a_full_name_takes_the_stored_last_name() {
    for to in ["elasticpath", "checkoutpage"] {
        let (t, reads) = send("medusa", to, &json!({"first_name": "Augusta"}), false);
        let t = t.unwrap_or_else(|p| panic!("{to}: {p:?}"));
        assert_eq!(reads, 1);
        let name = if to == "elasticpath" {
            &t.outbound.body["data"]["name"]
        } else {
            &t.outbound.body["name"]
        };
        assert_eq!(name, "Augusta Lovelace", "{to}");
        assert_eq!(t.fidelity.filled.len(), 1, "{:?}", t.fidelity);
        assert_eq!(t.fidelity.filled[0].pointer, "/name/family");
        // The derived name names only what the caller sent.
        assert_eq!(t.fidelity.derived[0].from, ["/first_name"]);
    }
}

#[test]
fn axim_gets_its_three_required_members_with_an_email_change() {
    let (t, reads) = send(
        "elasticpath",
        "axim",
        &json!({"data": {"type": "customer", "email": "ada@new.example"}}),
        false,
    );
    let t = t.unwrap();
    assert_eq!(reads, 1);
    // AximCommerce requires firstName, lastName and email on every PUT
    // (docs/vendors/axim.md#semantics).
    assert_eq!(
        t.outbound.body,
        json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@new.example"})
    );
    assert_eq!(t.outbound.method, "PUT");
}

#[test]
fn a_merged_metadata_key_into_axims_replaced_list_keeps_the_stored_codes() {
    let (t, reads) = send(
        "medusa",
        "axim",
        &json!({"metadata": {"tier": "gold", "source": ""}}),
        false,
    );
    let t = t.unwrap();
    assert_eq!(reads, 1);
    // Medusa's "" deletes a key (setMetadata); Axim replaces metaFields in full.
    assert_eq!(
        t.outbound.body["metaFields"],
        json!([{"code": "tier", "value": "gold"}])
    );
    let (t, _) = send("medusa", "axim", &json!({"metadata": {"tier": "gold"}}), false);
    assert_eq!(
        t.unwrap().outbound.body["metaFields"],
        json!([{"code": "source", "value": "fixture"}, {"code": "tier", "value": "gold"}])
    );
}

#[test]
fn a_pure_patch_makes_no_read() {
    for (from, to, body) in [
        ("medusa", "elasticpath", json!({"email": "ada@new.example"})),
        (
            "elasticpath",
            "medusa",
            json!({"data": {"type": "customer", "name": "Augusta King"}}),
        ),
        ("checkoutpage", "medusa", json!({"phone": "+44 1"})),
        ("medusa", "medusa", json!({"metadata": {"k": "v"}})),
    ] {
        let (t, reads) = send(from, to, &body, false);
        assert!(t.is_ok(), "{from}->{to}: {t:?}");
        assert_eq!(reads, 0, "{from}->{to}");
    }
}

#[test]
fn overflow_carries_what_has_no_place_into_the_bag_but_never_a_password() {
    let (t, _) = send("checkoutpage", "medusa", &json!({"companyName": "Acme"}), true);
    let t = t.unwrap();
    assert_eq!(
        t.outbound.body,
        json!({"metadata": {"dialectgate:/company/name": "Acme"}})
    );
    assert_eq!(t.fidelity.overflow[0].pointer, "/companyName");
    assert_eq!(t.fidelity.overflow[0].key, "dialectgate:/company/name");
    // Into Axim the bag is replaced in full: the stored codes come along.
    let (t, reads) = send("microbase", "axim", &json!({"id": "1815", "tags": ["a"]}), true);
    let t = t.unwrap();
    assert_eq!(reads, 1);
    assert_eq!(
        t.outbound.body["metaFields"],
        json!([{"code": "dialectgate:/tags", "value": ["a"]}, {"code": "source", "value": "fixture"}])
    );
    // A secret is refused, by that name, even with a bag.
    let (refused, _) = send(
        "elasticpath",
        "medusa",
        &json!({"data": {"type": "customer", "password": "p"}}),
        true,
    );
    assert!(refused.is_ok(), "Medusa has a password member");
    let (refused, _) = send("medusa", "axim", &json!({"password": "s3cret-pass"}), true);
    let p = refused.unwrap_err();
    assert_eq!(p.errors[0].code, "secret", "{p:?}");
    assert_eq!(p.errors[0].pointer, "/password");
}

#[test]
fn nothing_left_for_checkout_page_names_the_callers_members_not_an_empty_body() {
    let (refused, _) = send(
        "microbase",
        "checkoutpage",
        &json!({"id": "1815", "tags": ["a"]}),
        false,
    );
    let p = refused.unwrap_err();
    assert_eq!(p.errors.len(), 1, "{p:?}");
    assert_eq!(p.errors[0].code, "lossy");
    assert_eq!(p.errors[0].pointer, "/tags");
    assert!(!p.message().contains("must not be empty"), "{}", p.message());
}
