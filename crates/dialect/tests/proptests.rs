//! Property tests.
//!
//! 1. Round trips: for each dialect, valid requests generated from the members its definition
//!    maps go dialect → canonical → the same dialect and come back exactly (strict mode, no
//!    loss reported either way). Where the dialect's own semantics make two bodies mean the
//!    same update, both sides are compared after normalising (see each strategy).
//! 2. Consistency: strict and lenient agree, every dropped member is a member of the caller's
//!    body, and going through canonical gives the same target body as translating directly.
//! 3. Robustness: no input, valid or not, makes any public function panic.
//!
//! The number of cases follows `PROPTEST_CASES` (CI sets 64).

#[path = "support/common.rs"]
mod common;

use common::{DIALECTS, endpoint, path_id, registry};
use dialectgate_canonical::{ErrorKind, Problem, Violation};
use dialectgate_dialect::{CanonicalRequest, Endpoint, Mode, Pointer, parse_strict};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value, json};

// ------------------------------------------------------------------ value strategies

/// Short text, any printable characters (names, notes, ids).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "\\PC{0,12}",
        1 => prop::sample::select(vec!["", " ", "Ann  Lee", " lead", "trail ", "a\u{0}b", "é ü 漢字", "~1/x"])
            .prop_map(str::to_owned),
    ]
}

fn non_empty_text() -> impl Strategy<Value = String> {
    "\\PC{1,12}"
}

/// An address the JSON Schema `email` format accepts.
fn email() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,6}(\\.[a-z0-9]{1,4})?@[a-z]{1,8}\\.(com|org|nl)"
}

/// ISO 3166-1 alpha-2 shaped (the canonical form requires upper case).
fn country() -> impl Strategy<Value = String> {
    "[A-Z]{2}"
}

/// `Some` half of the time.
fn maybe<S: Strategy>(s: S) -> impl Strategy<Value = Option<S::Value>> {
    prop::option::of(s)
}

/// A string or null (a member the dialect can clear).
fn nullable(s: impl Strategy<Value = String>) -> impl Strategy<Value = Value> {
    prop_oneof![3 => s.prop_map(Value::String), 1 => Just(Value::Null)]
}

/// Any JSON value without nulls (metadata values).
fn json_value_no_null() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), v);
    }
}

// ------------------------------------------------------------------ valid bodies per dialect

/// Elastic Path: `data.type` plus at least one attribute (an update with none is the empty
/// canonical patch, which the canonical schema refuses).
fn elasticpath_body() -> BoxedStrategy<Value> {
    (maybe(text()), maybe(text()), maybe(text()), maybe("\\PC{0,40}"))
        .prop_filter("at least one attribute", |(a, b, c, d)| {
            a.is_some() || b.is_some() || c.is_some() || d.is_some()
        })
        .prop_map(|(name, email, password, external_ref)| {
            let mut data = Map::new();
            data.insert("type".into(), json!("customer"));
            put(&mut data, "name", name.map(Value::String));
            put(&mut data, "email", email.map(Value::String));
            put(&mut data, "password", password.map(Value::String));
            put(&mut data, "external_ref", external_ref.map(Value::String));
            json!({ "data": data })
        })
        .boxed()
}

/// MicroBase: the id plus at least one member, no empty strings (MicroBase ignores `""`, so a
/// body with one cannot come back with it: see `microbase_empty_strings_round_trip_as_absent`).
fn microbase_body() -> BoxedStrategy<Value> {
    (
        "[A-Za-z0-9_-]{1,12}",
        maybe(email()),
        maybe(non_empty_text()),
        maybe(non_empty_text()),
        maybe(prop::sample::select(vec!["ACTIVE", "INACTIVE"])),
        maybe(prop::collection::vec(text(), 0..4)),
    )
        .prop_filter("at least one member", |(_, a, b, c, d, e)| {
            a.is_some() || b.is_some() || c.is_some() || d.is_some() || e.is_some()
        })
        .prop_map(|(id, email, first, last, status, tags)| {
            let mut body = Map::new();
            body.insert("id".into(), Value::String(id));
            put(&mut body, "email", email.map(Value::String));
            put(&mut body, "firstName", first.map(Value::String));
            put(&mut body, "lastName", last.map(Value::String));
            put(&mut body, "status", status.map(|s| json!(s)));
            put(&mut body, "tags", tags.map(|t| json!(t)));
            Value::Object(body)
        })
        .boxed()
}

/// MicroBase with some members `""`: decoded as absent.
fn microbase_body_with_empty_strings() -> BoxedStrategy<Value> {
    (
        microbase_body(),
        prop::collection::vec(
            prop::sample::select(vec!["email", "firstName", "lastName", "status"]),
            1..4,
        ),
    )
        .prop_map(|(mut body, empties)| {
            for member in empties {
                body[member] = json!("");
            }
            body
        })
        .boxed()
}

fn axim_address() -> BoxedStrategy<Value> {
    (
        (
            maybe(text()),
            maybe(text()),
            maybe(text()),
            maybe(text()),
            maybe(text()),
        ),
        (
            maybe(text()),
            maybe(text()),
            maybe(country()),
            maybe(text()),
            maybe(any::<bool>()),
        ),
    )
        .prop_map(
            |((first, last, phone, a1, a2), (city, state, country, zip, default))| {
                let mut a = Map::new();
                put(&mut a, "firstName", first.map(Value::String));
                put(&mut a, "lastName", last.map(Value::String));
                put(&mut a, "phoneNumber", phone.map(Value::String));
                put(&mut a, "address1", a1.map(Value::String));
                put(&mut a, "address2", a2.map(Value::String));
                put(&mut a, "city", city.map(Value::String));
                put(&mut a, "state", state.map(Value::String));
                put(&mut a, "country", country.map(Value::String));
                put(&mut a, "zipcode", zip.map(Value::String));
                put(&mut a, "isDefaultAddress", default.map(Value::Bool));
                Value::Object(a)
            },
        )
        .boxed()
}

/// Axim: firstName, lastName and email always (required on every write). metaFields codes are
/// unique (a repeated code is refused) and their values never null (see the note in
/// `axim_round_trips_through_canonical`).
fn axim_body() -> BoxedStrategy<Value> {
    (
        (text(), text(), text(), maybe(text())),
        maybe(prop::sample::select(vec!["active", "inactive", "pending"])),
        maybe(prop::collection::vec(axim_address(), 0..3)),
        maybe(text()),
        maybe(prop::collection::btree_map(
            "[a-z_]{1,8}",
            json_value_no_null(),
            0..4,
        )),
        maybe(text()),
    )
        .prop_flat_map(|fields| {
            // Shuffle the metaFields order: canonical metadata is an object, so order is not
            // part of the meaning.
            let n = fields.4.as_ref().map_or(0, |m| m.len());
            (Just(fields), Just((0..n).collect::<Vec<usize>>()).prop_shuffle())
        })
        .prop_map(
            |(((first, last, email, phone), status, address, company, meta, notes), order)| {
                let mut body = Map::new();
                body.insert("firstName".into(), Value::String(first));
                body.insert("lastName".into(), Value::String(last));
                body.insert("email".into(), Value::String(email));
                put(&mut body, "phoneNumber", phone.map(Value::String));
                put(&mut body, "status", status.map(|s| json!(s)));
                put(&mut body, "address", address.map(Value::Array));
                put(&mut body, "company", company.map(Value::String));
                if let Some(meta) = meta {
                    let items: Vec<(String, Value)> = meta.into_iter().collect();
                    let list: Vec<Value> = order
                        .iter()
                        .map(|&i| json!({"code": items[i].0, "value": items[i].1}))
                        .collect();
                    body.insert("metaFields".into(), Value::Array(list));
                }
                put(&mut body, "notes", notes.map(Value::String));
                Value::Object(body)
            },
        )
        .boxed()
}

/// Medusa: at least one member; metadata values are never null (a null value would come back
/// as `""`: canonical null is Medusa's `""`, see `medusa_metadata_null_value_comes_back_as_empty_string`).
fn medusa_body() -> BoxedStrategy<Value> {
    (
        maybe(nullable(email())),
        maybe(nullable(text())),
        maybe(nullable(text())),
        maybe(nullable(text())),
        maybe(nullable(text())),
        maybe(prop_oneof![
            3 => prop::collection::btree_map("[a-z_]{1,8}", prop_oneof![json_value_no_null(), Just(json!(""))], 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            1 => Just(Value::Null),
        ]),
        maybe(prop::collection::vec("cgrp_[A-Z0-9]{4}".prop_map(|id| json!({ "id": id })), 0..3)),
    )
        .prop_map(|(email, first, last, password, phone, metadata, groups)| {
            let mut body = Map::new();
            put(&mut body, "email", email);
            put(&mut body, "first_name", first);
            put(&mut body, "last_name", last);
            put(&mut body, "password", password);
            put(&mut body, "phone", phone);
            put(&mut body, "metadata", metadata);
            put(&mut body, "groups", groups.map(Value::Array));
            Value::Object(body)
        })
        .prop_filter("at least one member", |b| !b.as_object().is_some_and(Map::is_empty))
    .boxed()
}

const CP_ADDRESS: [&str; 6] = ["line1", "line2", "city", "state", "postalCode", "country"];

fn cp_address() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => (
            maybe(nullable(text())),
            maybe(nullable(text())),
            maybe(nullable(text())),
            maybe(nullable(text())),
            maybe(nullable(text())),
            maybe(nullable(country())),
        )
            .prop_map(|(l1, l2, city, state, zip, country)| {
                let mut a = Map::new();
                for (k, v) in CP_ADDRESS.iter().zip([l1, l2, city, state, zip, country]) {
                    put(&mut a, k, v);
                }
                Value::Object(a)
            }),
        1 => Just(Value::Null),
    ]
    .boxed()
}

/// Checkout Page: at least one member; email is never null (it cannot be cleared).
fn checkoutpage_body() -> BoxedStrategy<Value> {
    (
        (maybe(nullable(text())), maybe(nullable(text())), maybe(text()), maybe(nullable(text()))),
        (maybe(nullable(text())), maybe(nullable(text())), maybe(nullable(text()))),
        maybe(cp_address()),
        maybe(prop_oneof![
            4 => (maybe(nullable(text())), maybe(nullable(text())), maybe(cp_address())).prop_map(|(name, phone, address)| {
                let mut s = Map::new();
                put(&mut s, "name", name);
                put(&mut s, "phone", phone);
                put(&mut s, "address", address);
                Value::Object(s)
            }),
            1 => Just(Value::Null),
        ]),
    )
        .prop_map(|((name, company, email, phone), (billing_email, tax_id, tax_type), address, shipping)| {
            let mut body = Map::new();
            put(&mut body, "name", name);
            put(&mut body, "companyName", company);
            put(&mut body, "email", email.map(Value::String));
            put(&mut body, "phone", phone);
            put(&mut body, "billingEmail", billing_email);
            put(&mut body, "taxId", tax_id);
            put(&mut body, "taxIdType", tax_type);
            put(&mut body, "address", address);
            put(&mut body, "shipping", shipping);
            Value::Object(body)
        })
        .prop_filter("at least one member", |b| !b.as_object().is_some_and(Map::is_empty))
    .boxed()
}

/// A valid request of any of the five dialects.
fn any_valid_request() -> BoxedStrategy<(&'static str, Value)> {
    prop_oneof![
        elasticpath_body().prop_map(|b| ("elasticpath", b)),
        microbase_body().prop_map(|b| ("microbase", b)),
        microbase_body_with_empty_strings().prop_map(|b| ("microbase", b)),
        axim_body().prop_map(|b| ("axim", b)),
        medusa_body().prop_map(|b| ("medusa", b)),
        checkoutpage_body().prop_map(|b| ("checkoutpage", b)),
    ]
    .boxed()
}

// ------------------------------------------------------------------ normalisers

/// Checkout Page replaces `address` and `shipping` in full: an omitted member of a sent
/// subdocument is cleared, so it means the same as an explicit null, and a null
/// `shipping.address` means the same as one with every member null. The engine always emits
/// the explicit form.
fn normalise_checkoutpage(body: &Value) -> Value {
    fn fill(address: &mut Value) {
        if address.is_null() {
            *address = json!({});
        }
        if let Value::Object(a) = address {
            for k in CP_ADDRESS {
                a.entry(k).or_insert(Value::Null);
            }
        }
    }
    let mut out = body.clone();
    if let Some(a) = out.get_mut("address").filter(|a| a.is_object()) {
        fill(a);
    }
    if let Some(Value::Object(s)) = out.get_mut("shipping") {
        s.entry("name").or_insert(Value::Null);
        s.entry("phone").or_insert(Value::Null);
        fill(s.entry("address").or_insert(Value::Null));
    }
    out
}

/// Axim's metaFields list becomes an object in canonical form: compare in code order.
fn normalise_axim(body: &Value) -> Value {
    let mut out = body.clone();
    if let Some(Value::Array(items)) = out.get_mut("metaFields") {
        items.sort_by(|a, b| a["code"].as_str().cmp(&b["code"].as_str()));
    }
    out
}

/// MicroBase ignores empty strings: they mean "leave unchanged", i.e. absent.
fn normalise_microbase(body: &Value) -> Value {
    let mut out = body.clone();
    if let Value::Object(m) = &mut out {
        m.retain(|_, v| v.as_str() != Some(""));
    }
    out
}

// ------------------------------------------------------------------ round trip

fn fail(context: &str, problem: &Problem) -> TestCaseError {
    TestCaseError::fail(format!("{context}: {} {:?}", problem.message(), problem.errors))
}

/// dialect → canonical → the same dialect, strict both ways.
fn round_trip(dialect: &str, body: &Value) -> Result<Value, TestCaseError> {
    let reg = registry();
    let (d, c) = (endpoint(dialect), endpoint("canonical"));
    reg.validate_request(&d, body)
        .map_err(|p| fail(&format!("the strategy made an invalid {dialect} body {body}"), &p))?;
    let there = reg
        .translate(&d, &c, path_id(reg, dialect), body, Mode::Strict)
        .map_err(|p| fail(&format!("{dialect} -> canonical of {body}"), &p))?;
    prop_assert!(there.fidelity.is_exact(), "{:?}", there.fidelity);
    // A map the dialect replaces in full (Axim's metaFields) is merged by the canonical patch:
    // the way back reads the stored customer, here one that holds nothing else.
    let options = dialectgate_dialect::Options {
        mode: Mode::Strict,
        ..Default::default()
    };
    let back = reg
        .plan(&c, &d, Some(&there.id), &there.outbound.body, options)
        .and_then(|step| match step {
            dialectgate_dialect::Step::Ready(t) => Ok(t),
            dialectgate_dialect::Step::Read(pending) => reg.complete(
                &c,
                &d,
                pending,
                &serde_json::json!({"id": there.id}),
                Mode::Strict,
            ),
        })
        .map_err(|p| fail(&format!("canonical -> {dialect} of {}", there.outbound.body), &p))?;
    prop_assert!(
        back.fidelity.derived.is_empty() && back.fidelity.dropped.is_empty(),
        "{:?}",
        back.fidelity
    );
    Ok(back.outbound.body)
}

proptest! {
    #[test]
    fn elasticpath_round_trips_through_canonical(body in elasticpath_body()) {
        prop_assert_eq!(round_trip("elasticpath", &body)?, body);
    }

    #[test]
    fn microbase_round_trips_through_canonical(body in microbase_body()) {
        prop_assert_eq!(round_trip("microbase", &body)?, body);
    }

    #[test]
    fn microbase_empty_strings_round_trip_as_absent(body in microbase_body_with_empty_strings()) {
        // `""` is MicroBase's "leave unchanged": it is decoded as absent, so it comes back
        // absent. Only when nothing else is left is there no canonical update at all.
        let normal = normalise_microbase(&body);
        prop_assume!(normal.as_object().is_some_and(|m| m.len() > 1));
        prop_assert_eq!(round_trip("microbase", &body)?, normal);
    }

    #[test]
    fn axim_round_trips_through_canonical(body in axim_body()) {
        // metaFields order is not kept (canonical metadata is an object). A metaFields value of
        // null is not generated: it decodes to canonical `{code: null}`, which in a merge patch
        // means "delete the key" — not the same as Axim storing null (noted, not asserted).
        prop_assert_eq!(normalise_axim(&round_trip("axim", &body)?), normalise_axim(&body));
    }

    #[test]
    fn medusa_round_trips_through_canonical(body in medusa_body()) {
        prop_assert_eq!(round_trip("medusa", &body)?, body);
    }

    #[test]
    fn checkoutpage_round_trips_through_canonical(body in checkoutpage_body()) {
        // Exact up to the replace semantics of address/shipping (see `normalise_checkoutpage`).
        let back = round_trip("checkoutpage", &body)?;
        prop_assert_eq!(normalise_checkoutpage(&back), normalise_checkoutpage(&body));
        prop_assert_eq!(back, normalise_checkoutpage(&body));
    }

    #[test]
    fn translations_of_valid_requests_are_consistent((from, body) in any_valid_request()) {
        let reg = registry();
        let source = endpoint(from);
        let id = path_id(reg, from);
        let to_canonical = reg
            .translate(&source, &endpoint("canonical"), id, &body, Mode::Strict)
            .map_err(|p| fail(&format!("{from} -> canonical"), &p))?;
        for &to in DIALECTS.iter() {
            let target = endpoint(to);
            let strict = reg.translate(&source, &target, id, &body, Mode::Strict);
            let lenient = reg.translate(&source, &target, id, &body, Mode::Lenient);
            match (&strict, &lenient) {
                (Ok(s), Ok(l)) => {
                    prop_assert_eq!(&s.outbound, &l.outbound);
                    prop_assert!(s.fidelity.dropped.is_empty());
                }
                (Err(s), Ok(l)) => {
                    // Strict refuses exactly what lenient reports dropped, with the same pointers.
                    prop_assert_eq!(s.kind(), ErrorKind::Untranslatable);
                    prop_assert!(!l.fidelity.dropped.is_empty());
                    let mut refused: Vec<&str> = s.errors.iter().map(|v| v.pointer.as_str()).collect();
                    let mut reported: Vec<&str> = l.fidelity.dropped.iter().map(|d| d.pointer.as_str()).collect();
                    refused.sort_unstable();
                    reported.sort_unstable();
                    prop_assert_eq!(refused, reported);
                }
                (Err(s), Err(l)) => prop_assert_eq!(s, l),
                (Ok(_), Err(l)) => prop_assert!(false, "{from}->{to}: lenient refused what strict accepted: {l:?}"),
            }
            if let Ok(l) = &lenient {
                // Every dropped member is one the caller sent.
                for d in &l.fidelity.dropped {
                    let p = Pointer::parse(&d.pointer).unwrap_or_default();
                    prop_assert!(p.get(&body).is_some(), "{from}->{to}: {} is not in {body}", d.pointer);
                }
                // Through canonical (a canonical hop in between) gives the same target body.
                // (Not for an update that carries nothing, e.g. MicroBase's id with only "":
                // the canonical schema refuses the empty patch.)
                if to_canonical.outbound.body == json!({}) {
                    continue;
                }
                let via = reg
                    .translate(&endpoint("canonical"), &target, Some(&l.id), &to_canonical.outbound.body, Mode::Lenient)
                    .map_err(|p| fail(&format!("canonical -> {to}"), &p))?;
                prop_assert_eq!(&via.outbound, &l.outbound);
            }
        }
    }
}

#[test]
fn medusa_metadata_null_value_comes_back_as_empty_string() {
    // The reason `medusa_body` never puts null in metadata: canonical null (delete the key) is
    // Medusa's "", so a Medusa null comes back as "" (both mean "delete" to the gateway;
    // Medusa itself would store null).
    let body = json!({"metadata": {"a": null}});
    assert_eq!(
        round_trip("medusa", &body).unwrap(),
        json!({"metadata": {"a": ""}})
    );
}

// ------------------------------------------------------------------ robustness

const KEYS: &[&str] = &[
    "data",
    "type",
    "customer",
    "id",
    "email",
    "name",
    "password",
    "external_ref",
    "firstName",
    "lastName",
    "first_name",
    "last_name",
    "status",
    "tags",
    "phone",
    "phoneNumber",
    "metadata",
    "metaFields",
    "code",
    "value",
    "groups",
    "address",
    "addresses",
    "shipping",
    "billing",
    "book",
    "given",
    "family",
    "full",
    "line1",
    "country",
    "postalCode",
    "ok",
    "error",
    "errors",
    "message",
    "success",
    "title",
    "detail",
    "a/b",
    "~0",
    "",
];

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![4 => prop::sample::select(KEYS).prop_map(str::to_owned), 1 => "\\PC{0,6}"]
}

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "\\PC{0,10}",
        1 => prop::sample::select(vec!["", "customer", "ACTIVE", "active", "pending", "a@b.co", "$null", "{id}", "Bearer x"])
            .prop_map(str::to_owned),
        1 => "[\\x00-\\x7f]{0,8}",
    ]
}

fn arb_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(arb_key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Arbitrary JSON, mostly objects (every dialect's body is one), sometimes a valid body with
/// one member replaced by anything.
fn arb_body() -> BoxedStrategy<Value> {
    prop_oneof![
        2 => prop::collection::btree_map(arb_key(), arb_json(), 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        1 => arb_json(),
        2 => (any_valid_request(), arb_key(), arb_json()).prop_map(|((_, mut body), key, v)| {
            if let Value::Object(m) = &mut body {
                m.insert(key, v);
            }
            body
        }),
        1 => (elasticpath_body(), arb_key(), arb_json()).prop_map(|(mut body, key, v)| {
            body["data"][key] = v;
            body
        }),
    ]
    .boxed()
}

/// Bytes that are often almost JSON.
fn arb_bytes() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        arb_json().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        (arb_json(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(v, at, byte)| {
            let mut bytes = serde_json::to_vec(&v).unwrap_or_default();
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] = byte;
                bytes.truncate(i + 1 + (byte as usize % 4));
            }
            bytes
        }),
    ]
    .boxed()
}

fn all_endpoints() -> Vec<Endpoint> {
    let mut out = vec![endpoint("canonical")];
    out.extend(DIALECTS.iter().map(|d| endpoint(d)));
    out
}

fn arb_status() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => prop::sample::select(vec![200u16, 201, 204, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 502, 503, 504]),
        1 => any::<u16>(),
    ]
}

proptest! {
    #[test]
    fn nothing_panics_on_any_body_for_any_pair(body in arb_body(), id in maybe(arb_string())) {
        let reg = registry();
        let endpoints = all_endpoints();
        for from in &endpoints {
            let _ = reg.validate_request(from, &body);
            for to in &endpoints {
                for mode in [Mode::Strict, Mode::Lenient] {
                    if let (Ok(t), Some(_)) = (reg.translate(from, to, id.as_deref(), &body, mode), to.dialect()) {
                        // Whatever gets through is a valid request of the target dialect. (Not
                        // asserted for a canonical target: the engine does not check its own
                        // canonical output, see the report on Checkout Page countries.)
                        prop_assert!(
                            reg.validate_request(to, &t.outbound.body).is_ok(),
                            "{} -> {}: {}",
                            from.id(),
                            to.id(),
                            t.outbound.body
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn nothing_panics_in_the_engine_on_unvalidated_input(body in arb_json(), id in maybe(arb_string())) {
        // The engine functions are documented for validated input; unvalidated input must
        // still never panic.
        let reg = registry();
        let patch = match &body { Value::Object(m) => m.clone(), other => {
            let mut m = Map::new();
            m.insert("email".into(), other.clone());
            m
        }};
        let request = CanonicalRequest { id: id.clone().unwrap_or_default(), patch };
        for d in reg.dialects() {
            let _ = d.decode_request(id.as_deref(), &body);
            let _ = d.encode_request(&request);
            let _ = d.decode_response(&body);
            let _ = d.encode_response(&body);
            let _ = d.is_success_body(&body);
            let _ = d.source_pointer(id.as_deref().unwrap_or("/"));
            let _ = d.match_path(id.as_deref().unwrap_or("/"));
            let _ = d.path_for(id.as_deref().unwrap_or(""));
        }
        for to in all_endpoints() {
            let _ = reg.encode_request(&to, &request);
        }
    }

    #[test]
    fn parse_strict_never_panics(bytes in arb_bytes(), depth in 0usize..80) {
        if let Ok(v) = parse_strict(&bytes, depth) {
            // What it accepts, serde_json accepts too (and reads the same).
            prop_assert_eq!(serde_json::from_slice::<Value>(&bytes).ok(), Some(v));
        }
    }

    #[test]
    fn classify_error_and_read_answer_never_panic(status in arb_status(), bytes in arb_bytes()) {
        let reg = registry();
        for d in reg.dialects() {
            let problem = d.classify_error(status, &bytes);
            prop_assert!(!problem.message().is_empty() || bytes.is_empty());
        }
        for e in all_endpoints() {
            let _ = reg.read_answer(&e, status, &bytes);
        }
    }

    #[test]
    fn encode_answer_never_panics_on_canonical_ish_documents(doc in arb_body(), customer in arb_customer()) {
        let reg = registry();
        for e in all_endpoints() {
            let _ = reg.encode_answer(&e, &doc);
            if let Ok((_, body)) = reg.encode_answer(&e, &customer) {
                // A customer the answer path accepts is encoded as that dialect's success body.
                if let Some(d) = e.dialect() {
                    prop_assert!(d.is_valid_response_body(&body), "{}: {body}", d.id());
                }
            }
        }
    }

    #[test]
    fn render_error_never_panics(kind in prop::sample::select(ErrorKind::ALL.to_vec()),
                                 detail in arb_string(),
                                 violations in prop::collection::vec((arb_string(), arb_string(), arb_string()), 0..4),
                                 id in maybe(arb_string())) {
        let reg = registry();
        let problem = Problem::new(kind, detail).with_errors(
            violations.into_iter().map(|(p, c, m)| Violation::new(p, c, m)).collect());
        for e in all_endpoints() {
            let rendered = reg.render_error(&e, &problem, id.as_deref());
            if let (Some(d), Ok(body)) = (e.dialect(), serde_json::from_slice::<Value>(&rendered.body)) {
                prop_assert!(d.is_valid_error_body(&body), "{} {kind:?}: {body}", d.id());
            }
        }
    }
}

/// Canonical Customer documents (valid ones, with an id, as an upstream answers them).
fn arb_customer() -> BoxedStrategy<Value> {
    (
        "[a-z0-9_]{1,10}",
        maybe(email()),
        maybe((maybe(text()), maybe(text()), maybe(text()))),
        maybe(text()),
        maybe(prop::sample::select(vec!["active", "inactive", "pending"])),
        maybe(prop::collection::vec(text(), 0..3)),
        maybe(prop::collection::btree_map(
            "[a-z]{1,5}",
            json_value_no_null(),
            0..3,
        )),
        maybe(any::<bool>()),
    )
        .prop_map(|(id, email, name, phone, status, tags, metadata, has_password)| {
            let mut c = Map::new();
            c.insert("id".into(), Value::String(id));
            put(&mut c, "email", email.map(Value::String));
            if let Some((given, family, full)) = name {
                let mut n = Map::new();
                put(&mut n, "given", given.map(Value::String));
                put(&mut n, "family", family.map(Value::String));
                put(&mut n, "full", full.map(Value::String));
                c.insert("name".into(), Value::Object(n));
            }
            put(&mut c, "phone", phone.map(Value::String));
            put(&mut c, "status", status.map(|s| json!(s)));
            put(&mut c, "tags", tags.map(|t| json!(t)));
            put(
                &mut c,
                "metadata",
                metadata.map(|m| Value::Object(m.into_iter().collect())),
            );
            put(&mut c, "has_password", has_password.map(Value::Bool));
            Value::Object(c)
        })
        .boxed()
}
