//! The vendors' own example requests (`tests/fixtures/<dialect>/request.vendor-example.json`):
//! each validates, and translates to every other dialect and to canonical. The lenient
//! outputs (target request + fidelity report, or the refusal) are insta snapshots, one per
//! (source, target) pair; strict mode is checked against an explicit table of refused pairs.

#[path = "support/common.rs"]
mod common;

use common::{DIALECTS, endpoint, fixture, path_id, registry};
use dialectgate_canonical::ErrorKind;
use dialectgate_dialect::{Mode, Pointer};
use serde_json::{Value, json};

/// What one translation produced, as snapshotted.
fn outcome(from: &str, to: &str, mode: Mode) -> Value {
    let reg = registry();
    let body = fixture(from, "request");
    match reg.translate(&endpoint(from), &endpoint(to), path_id(reg, from), &body, mode) {
        Ok(mut t) => {
            // The report's order follows map iteration, which serde_json's `preserve_order`
            // changes; it carries no meaning, so snapshot it sorted.
            t.fidelity.dropped.sort_by(|a, b| a.pointer.cmp(&b.pointer));
            t.fidelity.derived.sort_by(|a, b| a.target.cmp(&b.target));
            json!({
            "outcome": "translated",
            "method": t.outbound.method,
            "path": t.outbound.path,
            "content_type": t.outbound.content_type,
            "body": t.outbound.body,
            "fidelity": t.fidelity,
            })
        }
        Err(problem) => json!({
            "outcome": "refused",
            "kind": problem.kind().as_str(),
            "status": problem.status,
            "errors": problem.errors,
        }),
    }
}

/// Every dialect's example to canonical and to every other dialect, lenient: one snapshot per
/// pair, `lenient__<from>__to__<to>`.
#[test]
fn lenient_translations_of_every_example_match_their_snapshots() {
    for &from in DIALECTS.iter() {
        let targets = std::iter::once("canonical").chain(DIALECTS.iter().copied());
        for to in targets.filter(|to| *to != from) {
            // Sorted: with serde_json's `preserve_order` (enabled by other workspace members
            // under `cargo test --workspace`) maps would otherwise keep insertion order.
            insta::with_settings!({ sort_maps => true }, {
                insta::assert_json_snapshot!(
                    format!("lenient__{from}__to__{to}"),
                    outcome(from, to, Mode::Lenient)
                );
            });
        }
    }
}

fn shipped_fixtures() -> std::path::PathBuf {
    common::repo().join("tests/fixtures")
}

#[test]
fn every_vendor_example_request_validates() {
    common::generic::example_requests_validate(registry(), &shipped_fixtures());
}

#[test]
fn every_vendor_example_response_is_read_as_a_valid_canonical_customer() {
    common::generic::example_responses_read_as_canonical_customers(registry(), &shipped_fixtures());
}

#[test]
fn lenient_translations_of_the_examples_to_canonical_are_valid_canonical_updates() {
    common::generic::requests_translate_to_canonical_exactly(registry(), &shipped_fixtures());
}

#[test]
fn every_dialects_invalid_request_is_refused_in_its_own_error_shape() {
    common::generic::invalid_requests_are_refused_in_the_dialects_terms(registry(), &shipped_fixtures());
}

#[test]
fn every_pair_translates_or_refuses_with_a_problem() {
    common::generic::every_pair_translates_or_refuses(registry(), &shipped_fixtures());
}

/// Pairs refused in strict mode, with the members of the caller's example each refusal names
/// and the code (`lossy`, `required_on_write`, …), from `tests/fixtures/<from>/strict-refusals.json`
/// (`{"<to>": {"code": …, "pointers": […]}}`; no file, no refusals). Every other pair must
/// translate.
/// One expected strict refusal: from, to, the code, and each (pointer, code) it names.
type Refusal = (&'static str, String, String, Vec<(String, String)>);

fn strict_refusals() -> Vec<Refusal> {
    let mut out = Vec::new();
    for &from in DIALECTS.iter() {
        let path = shipped_fixtures().join(from).join("strict-refusals.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let table: serde_json::Map<String, Value> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (to, refusal) in table.into_iter().filter(|(k, _)| !k.starts_with('$')) {
            let code = refusal["code"]
                .as_str()
                .unwrap_or_else(|| panic!("{from}->{to}: code"))
                .to_owned();
            // `codes` gives a pointer whose violation has another code than `code`.
            let pointers = refusal["pointers"]
                .as_array()
                .unwrap_or_else(|| panic!("{from}->{to}: pointers"))
                .iter()
                .map(|p| {
                    let p = p.as_str().expect("a pointer").to_owned();
                    let code = refusal["codes"][&p].as_str().unwrap_or(&code).to_owned();
                    (p, code)
                })
                .collect();
            out.push((from, to, code, pointers));
        }
    }
    out
}

#[test]
fn strict_mode_refuses_exactly_the_lossy_pairs_and_names_the_callers_fields() {
    let reg = registry();
    let refusals = strict_refusals();
    let mut targets = vec!["canonical"];
    targets.extend(DIALECTS.iter().copied());
    for &from in DIALECTS.iter() {
        let body = fixture(from, "request");
        for to in &targets {
            let result = reg.translate(
                &endpoint(from),
                &endpoint(to),
                path_id(reg, from),
                &body,
                Mode::Strict,
            );
            let expected = refusals.iter().find(|(f, t, ..)| *f == from && t == to);
            match (result, expected) {
                (Ok(t), None) => assert!(t.fidelity.dropped.is_empty(), "{from}->{to}: {:?}", t.fidelity),
                (Ok(t), Some(_)) => panic!("{from}->{to} should be refused in strict mode: {:?}", t.outbound),
                (Err(p), None) => panic!("{from}->{to} should translate in strict mode: {p:?}"),
                (Err(p), Some((_, _, code, pointers))) => {
                    assert_eq!(p.kind(), ErrorKind::Untranslatable, "{from}->{to}");
                    let mut got: Vec<(&str, &str)> = p
                        .errors
                        .iter()
                        .map(|v| (v.pointer.as_str(), v.code.as_str()))
                        .collect();
                    let mut want: Vec<(&str, &str)> =
                        pointers.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
                    got.sort_unstable();
                    want.sort_unstable();
                    assert_eq!(got, want, "{from}->{to}: {p:?}");
                    for v in &p.errors {
                        if *code == "lossy" {
                            // A pointer into the caller's own body, at a member it sent.
                            let ptr = Pointer::parse(&v.pointer).unwrap();
                            assert!(
                                ptr.get(&body).is_some(),
                                "{from}->{to}: {} not in the body",
                                v.pointer
                            );
                        }
                        assert!(!v.message.is_empty());
                    }
                }
            }
        }
    }
}

#[test]
fn lenient_mode_reports_what_strict_mode_refuses() {
    let reg = registry();
    for (from, to, code, pointers) in strict_refusals() {
        if code != "lossy" {
            continue;
        }
        let pointers: Vec<String> = pointers.into_iter().map(|(p, _)| p).collect();
        let t = reg
            .translate(
                &endpoint(from),
                &endpoint(&to),
                path_id(reg, from),
                &fixture(from, "request"),
                Mode::Lenient,
            )
            .unwrap_or_else(|p| panic!("{from}->{to}: {p:?}"));
        let mut got: Vec<&str> = t.fidelity.dropped.iter().map(|d| d.pointer.as_str()).collect();
        let mut want = pointers.clone();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "{from}->{to}");
    }
}

#[test]
fn every_example_translates_to_its_own_dialect_exactly_in_strict_mode() {
    common::generic::examples_translate_to_themselves_exactly(registry(), &shipped_fixtures());
    let reg = registry();
    for &d in DIALECTS.iter() {
        let body = fixture(d, "request");
        let t = reg
            .translate(&endpoint(d), &endpoint(d), path_id(reg, d), &body, Mode::Strict)
            .unwrap_or_else(|p| panic!("{d}->{d}: {p:?}"));
        // Members the definition writes itself (`[request] extra`: Shopify's GraphQL document)
        // are the gateway's own, not the caller's: the caller's need not equal them.
        let mut expected = body.clone();
        for (p, v) in &reg.dialect(d).unwrap().definition().request.extra {
            let (parent, name) = p.rsplit_once('/').unwrap();
            if let Some(serde_json::Value::Object(members)) = expected.pointer_mut(parent) {
                members.insert(name.to_owned(), serde_json::to_value(v).unwrap());
            }
        }
        // CheckoutPage fills its replaced objects in full (documented in its definition).
        if d != "checkoutpage" {
            assert_eq!(t.outbound.body, expected, "{d}");
        }
    }
}
