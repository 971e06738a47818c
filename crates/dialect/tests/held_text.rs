//! Members held as text (`Registry::held_members`, `parse_holding_text`, `Registry::hold_text`):
//! whenever a translation of a body parsed with its large members held as text is kept, it is
//! exactly the translation of the whole tree, the upstream's body written with the caller's
//! own text included; for every dialect's examples, with every kind of bag a caller may send,
//! to every endpoint, with and without reads of the stored customer, overflow and strictness.

#[path = "support/common.rs"]
mod common;

use bytes::Bytes;
use common::{DIALECTS, endpoint, fixture_in, path_id, registry, repo};
use dialectgate_dialect::{
    DEFAULT_OVERFLOW_PREFIX, Fill, Limits, Mode, Options, Step, parse_holding_text, parse_limited,
};
use serde_json::{Value, json};

const LIMITS: Limits = Limits {
    depth: 64,
    values: 10_000,
};

/// What a caller may put in a member held as text: a bag with nesting, escapes and numbers; one
/// with a key in the gateway's reserved prefix; with a `""` and a `null` member
/// (`empty_string_null` changes them); a list; a scalar.
fn bags() -> Vec<Value> {
    vec![
        json!({"car": "white", "n": {"deep": [1, {"a": "\u{e9}\"\\"}], "e": "", "z": null}, "x": 2.5, "big": 18446744073709551615u64}),
        json!({format!("{DEFAULT_OVERFLOW_PREFIX}x"): 1, "car": "white"}),
        json!({"car": "", "n": 1}),
        json!({"car": null}),
        json!([{"car": "white"}]),
        json!("white"),
    ]
}

/// Every dialect's example bodies, each with every member a caller's body may hold as text set
/// to each of [`bags`].
fn bodies(dialect: &str, held: &[String]) -> Vec<Value> {
    let dir = repo().join("tests/fixtures");
    let mut out = Vec::new();
    for name in [
        "request.vendor-example.json",
        "request.simple.json",
        "request.invalid.json",
    ] {
        if !dir.join(dialect).join(name).exists() {
            continue;
        }
        let body = fixture_in(&dir, dialect, name);
        out.push(body.clone());
        for bag in bags() {
            let mut body = body.clone();
            for member in held {
                body[member] = bag.clone();
            }
            out.push(body);
        }
    }
    out
}

#[test]
fn a_translation_kept_with_members_held_as_text_is_the_translation_of_the_whole_tree() {
    let reg = registry();
    let mut targets: Vec<&str> = DIALECTS.to_vec();
    targets.push("canonical");
    let (mut kept, mut again) = (0, 0);
    for from in DIALECTS.iter() {
        let caller = endpoint(from);
        for to in &targets {
            let target = endpoint(to);
            let held = reg.held_members(&caller, &target);
            if held.is_empty() {
                continue;
            }
            for body in bodies(from, held) {
                let text = Bytes::from(body.to_string());
                for (fill, overflow, mode) in [
                    (Fill::Never, false, Mode::Lenient),
                    (Fill::Read, false, Mode::Strict),
                    (Fill::Read, true, Mode::Lenient),
                ] {
                    let options = Options {
                        mode,
                        fill,
                        overflow,
                        ..Options::default()
                    };
                    let mut whole_tree = parse_limited(&text, LIMITS).unwrap();
                    let whole =
                        reg.plan_taking(&caller, &target, path_id(reg, from), &mut whole_tree, options);
                    let Some((mut tree, held_text)) =
                        parse_holding_text(&text, LIMITS, held, DEFAULT_OVERFLOW_PREFIX, 0)
                    else {
                        again += 1;
                        continue;
                    };
                    let step = reg.plan_taking(&caller, &target, path_id(reg, from), &mut tree, options);
                    let Ok(Step::Ready(mut t)) = step else {
                        again += 1;
                        continue;
                    };
                    if held_text.is_empty() {
                        // Nothing held: the whole tree itself.
                        assert_eq!(
                            format!("{:?}", Ok::<_, ()>(&t)),
                            format!(
                                "{:?}",
                                whole
                                    .as_ref()
                                    .map(|s| match s {
                                        Step::Ready(t) => t,
                                        Step::Read(_) => panic!("{from} -> {to}: {body}"),
                                    })
                                    .map_err(|_| ())
                            )
                        );
                        continue;
                    }
                    if reg.hold_text(&target, &mut t.outbound, held_text).is_err() {
                        again += 1;
                        continue;
                    }
                    let context = format!("{from} -> {to}, {fill:?}, overflow {overflow}, {mode:?}: {body}");
                    let Ok(Step::Ready(w)) = &whole else {
                        panic!("kept where the whole tree gives {whole:?}: {context}");
                    };
                    let written: Value = serde_json::from_slice(
                        &serde_json::to_vec(&t.outbound.held.writing(&t.outbound.body)).unwrap(),
                    )
                    .unwrap();
                    assert_eq!(written, w.outbound.body, "{context}");
                    assert_eq!(
                        t.outbound.held.resolve(&t.outbound.body),
                        w.outbound.body,
                        "{context}"
                    );
                    assert_eq!(
                        (&t.id, &t.outbound.method, &t.outbound.path, &t.outbound.query),
                        (&w.id, &w.outbound.method, &w.outbound.path, &w.outbound.query),
                        "{context}"
                    );
                    assert_eq!(
                        format!("{:?}", t.fidelity),
                        format!("{:?}", w.fidelity),
                        "{context}"
                    );
                    kept += 1;
                }
            }
        }
    }
    // Medusa's metadata into the canonical form and into Medusa, at least.
    assert!(kept >= 8, "kept {kept}, translated again {again}");
    assert!(
        again > 0,
        "the reserved key, `\"\"` and `null` members are translated again"
    );
}

#[test]
fn where_members_may_be_held_follows_the_definitions_and_schemas() {
    let reg = registry();
    // Medusa's metadata is a free-form object merged into the customer's (Medusa's
    // AdminPostCustomersCustomerReq: `metadata?: Record<string, unknown>`); the canonical patch
    // carries it as an object too. Both take it as text.
    assert_eq!(
        reg.held_members(&endpoint("medusa"), &endpoint("canonical")),
        ["metadata"]
    );
    assert_eq!(
        reg.held_members(&endpoint("medusa"), &endpoint("medusa")),
        ["metadata"]
    );
    // Elastic Path writes everything under `data`, whose schema checks its members: nowhere
    // to write a member held as text, so nothing is held on the way there.
    assert!(
        reg.held_members(&endpoint("medusa"), &endpoint("elasticpath"))
            .is_empty()
    );
    // AximCommerce's metaFields items are checked one by one (code and value): never held.
    assert!(
        reg.held_members(&endpoint("axim"), &endpoint("canonical"))
            .is_empty()
    );
    // The canonical form as the caller: never (it is no dialect of a caller's body).
    assert!(
        reg.held_members(&endpoint("canonical"), &endpoint("canonical"))
            .is_empty()
    );
}
