//! The canonical Rust model and the canonical JSON Schemas agree: serialized `Customer`,
//! `CustomerPatch` (absent, null and value at every nesting level) and `Problem` values validate
//! against `schemas/canonical/{customer,update,error}.json`, and the schemas refuse what the
//! model cannot express.

use std::path::Path;

use dialectgate_canonical::{
    Address, AddressPatch, Addresses, AddressesPatch, Company, CompanyPatch, Customer, CustomerPatch,
    ErrorKind, Group, Name, NamePatch, Patch, Problem, Tax, TaxPatch, Violation,
};
use jsonschema::{Draft, Validator};
use serde_json::{Map, Value, json};

fn validator(name: &str) -> Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../schemas/canonical")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::meta::validate(&schema).unwrap_or_else(|e| panic!("{name} is not a valid JSON Schema: {e}"));
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn assert_valid(v: &Validator, doc: &Value) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{doc:#}\n{errors:#?}");
}

fn address() -> Address {
    Address {
        id: Some("addr_1".into()),
        label: Some("Work".into()),
        given_name: Some("Ada".into()),
        family_name: Some("Lovelace".into()),
        name: Some("Ada Lovelace".into()),
        company: Some("Analytical Engines".into()),
        line1: Some("12 St James's Square".into()),
        line2: None,
        city: Some("London".into()),
        region: Some("Greater London".into()),
        postal_code: Some("SW1Y 4JH".into()),
        country: Some("GB".into()),
        phone: Some("+44 20 7946 0000".into()),
        instructions: Some("Ring twice".into()),
        default: Some(true),
    }
}

fn full_customer() -> Customer {
    let mut metadata = Map::new();
    metadata.insert("tier".into(), json!("gold"));
    metadata.insert("visits".into(), json!(12));
    let mut extensions = Map::new();
    extensions.insert("axim".into(), json!({"role": "r1"}));
    Customer {
        id: Some("cus_1".into()),
        version: Some("4".into()),
        email: Some("ada@example.org".into()),
        name: Some(Name {
            given: Some("Ada".into()),
            family: Some("Lovelace".into()),
            full: Some("Ada Lovelace".into()),
        }),
        phone: Some("+44 20 7946 0000".into()),
        has_password: Some(true),
        status: Some("active".into()),
        tags: Some(vec!["vip".into()]),
        groups: Some(vec![Group {
            id: "cgrp_1".into(),
            name: Some("VIP".into()),
        }]),
        company: Some(Company {
            id: Some("co_1".into()),
            name: Some("Analytical Engines".into()),
        }),
        notes: Some("n".into()),
        external_ref: Some("ext-1".into()),
        billing_email: Some("billing@example.org".into()),
        tax: Some(Tax {
            id: Some("GB123".into()),
            kind: Some("gb_vat".into()),
        }),
        addresses: Some(Addresses {
            billing: Some(address()),
            shipping: Some(Address {
                default: None,
                ..address()
            }),
            book: Some(vec![address(), Address::default()]),
        }),
        metadata: Some(metadata),
        has_account: Some(false),
        created_at: Some("2026-01-02T03:04:05Z".into()),
        updated_at: Some("2026-01-02T03:04:06Z".into()),
        extensions: Some(extensions),
    }
}

#[test]
fn a_full_customer_validates_against_customer_json() {
    let doc = serde_json::to_value(full_customer()).unwrap();
    assert_valid(&validator("customer.json"), &doc);
    // The tax kind is serialized as `type`.
    assert_eq!(doc["tax"]["type"], json!("gb_vat"));
    // And it reads back identically.
    assert_eq!(serde_json::from_value::<Customer>(doc).unwrap(), full_customer());
}

#[test]
fn an_empty_and_a_minimal_customer_validate() {
    let v = validator("customer.json");
    assert_valid(&v, &serde_json::to_value(Customer::default()).unwrap());
    let minimal = Customer {
        id: Some("c".into()),
        email: Some("a@b.co".into()),
        ..Customer::default()
    };
    assert_eq!(
        serde_json::to_value(&minimal).unwrap(),
        json!({"id": "c", "email": "a@b.co"})
    );
    assert_valid(&v, &serde_json::to_value(&minimal).unwrap());
}

#[test]
fn the_customer_schema_refuses_what_the_model_refuses() {
    let v = validator("customer.json");
    // Unknown members and malformed structure: refused by both.
    for bad in [
        json!({"nickname": "x"}),
        json!({"name": {"first": "x"}}),
        json!({"groups": [{"name": "no id"}]}),
        json!({"tags": "vip"}),
    ] {
        assert!(!v.is_valid(&bad), "{bad}");
        assert!(serde_json::from_value::<Customer>(bad.clone()).is_err(), "{bad}");
    }
    // Value constraints the Rust types do not carry: the schema is the gate.
    for bad in [
        json!({"status": "gone"}),
        json!({"addresses": {"billing": {"country": "gb"}}}),
        json!({"created_at": "yesterday"}),
    ] {
        assert!(!v.is_valid(&bad), "{bad}");
    }
}

fn patch_with_every_state() -> CustomerPatch {
    CustomerPatch {
        email: Patch::Set("ada@example.org".into()),
        name: Patch::Set(NamePatch {
            given: Patch::Set("Ada".into()),
            family: Patch::Clear,
            full: Patch::Absent,
        }),
        phone: Patch::Clear,
        password: Patch::Set("s3cret".into()),
        status: Patch::Set("pending".into()),
        tags: Patch::Set(vec![]),
        groups: Patch::Clear,
        company: Patch::Set(CompanyPatch {
            id: Patch::Absent,
            name: Patch::Clear,
        }),
        notes: Patch::Absent,
        external_ref: Patch::Set("ext".into()),
        billing_email: Patch::Clear,
        tax: Patch::Set(TaxPatch {
            id: Patch::Set("NL1".into()),
            kind: Patch::Clear,
        }),
        addresses: Patch::Set(AddressesPatch {
            billing: Patch::Set(AddressPatch {
                line1: Patch::Set("Keizersgracht 1".into()),
                line2: Patch::Clear,
                country: Patch::Set("NL".into()),
                default: Patch::Clear,
                ..AddressPatch::default()
            }),
            shipping: Patch::Clear,
            book: Patch::Set(vec![address(), Address::default()]),
        }),
        metadata: Patch::Set({
            let mut m = Map::new();
            m.insert("keep".into(), json!({"nested": [1, 2]}));
            m.insert("delete".into(), Value::Null);
            m
        }),
        extensions: Patch::Set({
            let mut m = Map::new();
            m.insert("axim".into(), json!({"role": "r1"}));
            m.insert("medusa".into(), Value::Null);
            m
        }),
    }
}

#[test]
fn a_patch_with_absent_null_and_values_validates_against_update_json() {
    let patch = patch_with_every_state();
    let doc = serde_json::to_value(&patch).unwrap();
    assert_valid(&validator("update.json"), &doc);
    // Absent members are left out, cleared ones are null, at every level.
    assert!(doc.get("notes").is_none());
    assert_eq!(doc["phone"], Value::Null);
    assert_eq!(doc["name"], json!({"given": "Ada", "family": null}));
    assert_eq!(doc["company"], json!({"name": null}));
    assert_eq!(doc["tax"], json!({"id": "NL1", "type": null}));
    assert_eq!(
        doc["addresses"]["billing"],
        json!({"line1": "Keizersgracht 1", "line2": null, "country": "NL", "default": null})
    );
    assert_eq!(doc["addresses"]["shipping"], Value::Null);
    assert_eq!(doc["metadata"]["delete"], Value::Null);
    // It reads back identically: the three states survive.
    assert_eq!(serde_json::from_value::<CustomerPatch>(doc).unwrap(), patch);
}

#[test]
fn whole_objects_can_be_cleared_or_set_in_a_patch() {
    let v = validator("update.json");
    for patch in [
        CustomerPatch {
            name: Patch::Clear,
            company: Patch::Clear,
            tax: Patch::Clear,
            addresses: Patch::Clear,
            metadata: Patch::Clear,
            extensions: Patch::Clear,
            ..CustomerPatch::default()
        },
        CustomerPatch {
            groups: Patch::Set(vec![Group {
                id: "g".into(),
                name: None,
            }]),
            ..CustomerPatch::default()
        },
        CustomerPatch {
            addresses: Patch::Set(AddressesPatch {
                book: Patch::Clear,
                ..AddressesPatch::default()
            }),
            ..CustomerPatch::default()
        },
    ] {
        let doc = serde_json::to_value(&patch).unwrap();
        assert_valid(&v, &doc);
        assert_eq!(serde_json::from_value::<CustomerPatch>(doc).unwrap(), patch);
    }
}

#[test]
fn the_empty_patch_is_a_valid_no_op() {
    // RFC 7396: `{}` changes nothing. EP's `{"data":{"type":"customer"}}` and Medusa's `{}` are
    // valid vendor requests that decode to it, so the canonical form accepts it too.
    let doc = serde_json::to_value(CustomerPatch::default()).unwrap();
    assert_eq!(doc, json!({}));
    assert!(validator("update.json").is_valid(&doc));
}

#[test]
fn the_update_schema_refuses_read_only_members_as_the_model_does() {
    let v = validator("update.json");
    for member in ["id", "has_password", "has_account", "created_at", "updated_at"] {
        let doc = json!({ member: "x" });
        assert!(!v.is_valid(&doc), "{member}");
        assert!(serde_json::from_value::<CustomerPatch>(doc).is_err(), "{member}");
    }
    // Array items are full values: a null inside an array is not a clear.
    assert!(!v.is_valid(&json!({"tags": [null]})));
    assert!(!v.is_valid(&json!({"addresses": {"book": [{"line1": null}]}})));
}

#[test]
fn every_problem_kind_validates_against_error_json() {
    let v = validator("error.json");
    for kind in ErrorKind::ALL {
        let plain = Problem::new(kind, format!("{} happened", kind.as_str()));
        let doc = serde_json::to_value(&plain).unwrap();
        assert_valid(&v, &doc);
        assert_eq!(doc["status"], json!(kind.status()));
        assert_eq!(
            doc["type"],
            json!(format!("urn:dialectgate:problem:{}", kind.as_str()))
        );
        assert!(
            doc.get("kind").is_none(),
            "the kind is carried by the type URI only"
        );

        let detailed = Problem {
            instance: Some("/v2/customers/cus_1".into()),
            request_id: Some("req-1".into()),
            ..Problem::new(kind, "refused")
        }
        .with_errors(vec![
            Violation::new("/data/email", "type", "email must be a string"),
            Violation::new("", "minProperties", "the body must not be empty"),
            Violation::new("/address/0/city~1town", "required", "city is required"),
        ]);
        let doc = serde_json::to_value(&detailed).unwrap();
        assert_valid(&v, &doc);
        assert!(doc["errors"][0].get("property").is_none());
        let back: Problem = serde_json::from_value(doc).unwrap();
        assert_eq!(back.kind(), kind);
        assert_eq!(back.errors.len(), 3);
    }
}

#[test]
fn the_error_schema_refuses_a_problem_without_its_required_members() {
    let v = validator("error.json");
    assert!(!v.is_valid(&json!({"title": "x", "status": 400})));
    assert!(!v.is_valid(&json!({"type": "x", "title": "x", "status": 99})));
    assert!(!v.is_valid(&json!({"type": "x", "title": "x", "status": 400, "errors": [{"pointer": "/a"}]})));
    assert!(!v.is_valid(&json!({"type": "x", "title": "x", "status": 400, "errors": [{"pointer": "a", "code": "c", "message": "m"}]})));
}
