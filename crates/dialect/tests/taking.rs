//! `Registry::plan_taking` (the gateway's: the members carried whole are moved out of the
//! caller's body, not copied) plans exactly what `Registry::plan` does, refusals included, for
//! every dialect's examples (vendor example, simple, invalid, and one with large opaque members)
//! to every endpoint, with and without reads of the stored customer and overflow.

#[path = "support/common.rs"]
mod common;

use common::{DIALECTS, endpoint, fixture_in, path_id, registry, repo};
use dialectgate_dialect::{Fill, Mode, Options};
use serde_json::{Value, json};

/// The fixtures of `dialect` that exist, and each with an opaque map and list added wherever a
/// top-level member holds a map or a list (metadata bags, tags): what a move would take.
fn bodies(dialect: &str) -> Vec<Value> {
    let dir = repo().join("tests/fixtures");
    let mut out: Vec<Value> = [
        "request.vendor-example.json",
        "request.simple.json",
        "request.invalid.json",
    ]
    .iter()
    .filter(|name| dir.join(dialect).join(name).exists())
    .map(|name| fixture_in(&dir, dialect, name))
    .collect();
    let grown: Vec<Value> = out
        .iter()
        .map(|body| {
            let mut body = body.clone();
            grow(&mut body, 0);
            body
        })
        .collect();
    out.extend(grown);
    out
}

/// Adds nested members to every map and list near the top of `v`, and an empty string
/// (`empty_string_null` reads it as `null`).
fn grow(v: &mut Value, depth: usize) {
    if depth > 3 {
        return;
    }
    match v {
        Value::Object(map) => {
            for member in map.values_mut() {
                grow(member, depth + 1);
            }
            if depth > 0 {
                map.insert("zz_nested".into(), json!({"a": [{"b": {"c": 1}}], "e": ""}));
                map.insert("zz_empty".into(), json!(""));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| grow(i, depth + 1)),
        _ => {}
    }
}

#[test]
fn taking_plans_exactly_what_copying_plans() {
    let reg = registry();
    let mut targets: Vec<&str> = DIALECTS.to_vec();
    targets.push("canonical");
    let mut compared = 0;
    for from in DIALECTS.iter() {
        for body in bodies(from) {
            for to in &targets {
                for (fill, overflow) in [(Fill::Never, false), (Fill::Read, false), (Fill::Read, true)] {
                    for mode in [Mode::Lenient, Mode::Strict] {
                        let options = Options {
                            mode,
                            fill,
                            overflow,
                            ..Options::default()
                        };
                        let (caller, target) = (endpoint(from), endpoint(to));
                        let copied = reg.plan(&caller, &target, path_id(reg, from), &body, options);
                        let mut taken_from = body.clone();
                        let taken =
                            reg.plan_taking(&caller, &target, path_id(reg, from), &mut taken_from, options);
                        assert_eq!(
                            format!("{copied:?}"),
                            format!("{taken:?}"),
                            "{from} -> {to}, {fill:?}, overflow {overflow}, {mode:?}: {body}"
                        );
                        compared += 1;
                    }
                }
            }
        }
    }
    assert!(compared > 500, "{compared}");
}
