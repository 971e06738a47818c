//! The parse holding members as text against the strict parser: the same document, the same
//! refusals, and the member's own text written back.

use bytes::Bytes;
use proptest::prelude::*;

use crate::parse::fragments::fragment;
use serde_json::{Value, json};

use super::parse_holding_text;
use crate::HeldText;
use crate::parse::{Limits, parse_limited};

const LIMITS: Limits = Limits {
    depth: 64,
    values: 10_000,
};

fn parse_with(text: &str, min_len: usize, limits: Limits) -> Option<(Value, HeldText)> {
    let names = ["metadata".to_owned(), "tags".to_owned()];
    parse_holding_text(
        &Bytes::copy_from_slice(text.as_bytes()),
        limits,
        &names,
        "dg_",
        min_len,
    )
}

fn parse(text: &str) -> Option<(Value, HeldText)> {
    parse_with(text, 0, LIMITS)
}

/// The body written from `tree` and `held`, as text.
fn written(tree: &Value, held: &HeldText) -> String {
    serde_json::to_string(&held.writing(tree)).unwrap()
}

#[test]
fn a_large_member_is_held_as_its_own_text_and_written_back_byte_for_byte() {
    let member = r#"{"k": [1, 2.5e3, "\u00e9\"x\\", -0.0], "n": {"deep": {"x": true, "y": null, "z": ""}}}"#;
    let body =
        format!(r#"{{"email":"a@example.com", "metadata": {member} ,"tags":["a","b"],"first_name":"Ada"}}"#);
    let (tree, held) = parse(&body).unwrap();
    let whole = parse_limited(body.as_bytes(), LIMITS).unwrap();
    assert_eq!(held.len(), 2, "metadata and tags");
    assert_eq!(tree["email"], "a@example.com");
    assert_eq!(tree["first_name"], "Ada");
    assert_eq!(
        tree["metadata"],
        json!({"\u{0}": 0}),
        "a placeholder of the member's type"
    );
    assert_eq!(tree["tags"], json!(["\u{0}", 1]));
    let out = written(&tree, &held);
    assert!(
        out.contains(&format!(r#""metadata":{member}"#)),
        "the caller's own text: {out}"
    );
    assert!(out.contains(r#""tags":["a","b"]"#), "{out}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), whole);
    assert_eq!(held.resolve(&tree), whole);
}

#[test]
fn whatever_the_strict_parser_refuses_inside_a_held_member_is_left_to_it() {
    let deep = format!("{}0{}", "[".repeat(70), "]".repeat(70));
    // Far deeper than any stack: refused, never a stack overflow.
    let abyss = format!("{}0{}", "[".repeat(200_000), "]".repeat(200_000));
    let unclosed = "{\"a\":".repeat(100_000);
    for member in [
        r#"{"a": {"b": 1, "b": 2}}"#.to_owned(),
        r#"{"a": "x\u0000y"}"#.to_owned(),
        r#"{"a": {"k\u0000": 1}}"#.to_owned(),
        r#"{"a": 1.00000000000000000001}"#.to_owned(),
        r#"{"a": 18446744073709551616}"#.to_owned(),
        r#"{"a": [1,]}"#.to_owned(),
        r#"{"a": tru}"#.to_owned(),
        format!(r#"{{"a": {deep}}}"#),
        abyss.clone(),
        format!(r#"{{"a": {abyss}}}"#),
        unclosed.clone(),
    ] {
        let body = format!(r#"{{"metadata": {member}}}"#);
        assert!(parse(&body).is_none(), "{member}");
        assert!(parse_limited(body.as_bytes(), LIMITS).is_err(), "{member}");
    }
}

#[test]
fn values_are_counted_as_the_strict_parser_counts_them() {
    // The root, metadata, its list and 97 numbers: 100 values.
    let list = vec!["0"; 97].join(",");
    let body = format!(r#"{{"metadata": {{"a": [{list}]}}}}"#);
    let at = |values| Limits { depth: 64, values };
    assert!(parse_limited(body.as_bytes(), at(100)).is_ok());
    assert!(parse_with(&body, 0, at(100)).is_some_and(|(_, held)| held.len() == 1));
    assert!(parse_limited(body.as_bytes(), at(99)).is_err());
    assert!(parse_with(&body, 0, at(99)).is_none());
    // Checked and then built (a member `""`): counted once.
    let body = format!(r#"{{"metadata": {{"e": "", "a": [{list}]}}}}"#);
    assert!(parse_limited(body.as_bytes(), at(101)).is_ok());
    assert!(parse_with(&body, 0, at(101)).is_some_and(|(_, held)| held.is_empty()));
    assert!(parse_with(&body, 0, at(100)).is_none());
}

#[test]
fn a_small_empty_or_scalar_member_or_one_a_transform_may_change_is_built() {
    for body in [
        r#"{"metadata": {}}"#,
        r#"{"metadata": { }, "tags": [ ]}"#,
        r#"{"metadata": "x"}"#,
        r#"{"metadata": null}"#,
        r#"{"metadata": {"a": ""}}"#,
        r#"{"metadata": {"a": 1, "b": null}}"#,
        r#"{"other": {"a": 1}}"#,
    ] {
        let (tree, held) = parse(body).unwrap();
        assert!(held.is_empty(), "{body}");
        assert_eq!(tree, parse_limited(body.as_bytes(), LIMITS).unwrap(), "{body}");
    }
    // `""` or `null` deeper down is no member of the object: held.
    let (_, held) = parse(r#"{"metadata": {"a": {"b": "", "c": null}}}"#).unwrap();
    assert_eq!(held.len(), 1);
    // Below the smallest size held: built.
    let body = r#"{"metadata": {"a": 1}}"#;
    let (tree, held) = parse_with(body, body.len(), LIMITS).unwrap();
    assert!(held.is_empty());
    assert_eq!(tree, json!({"metadata": {"a": 1}}));
}

#[test]
fn a_reserved_name_at_the_top_of_a_held_object_leaves_the_refusal_to_the_whole_tree() {
    assert!(parse(r#"{"metadata": {"dg_x": 1}}"#).is_none());
    let (_, held) = parse(r#"{"metadata": {"a": {"dg_x": 1}}, "tags": ["dg_x"]}"#).unwrap();
    assert_eq!(held.len(), 2, "deeper down, and in a list, it is data");
}

#[test]
fn a_body_that_is_not_an_object_or_not_json_is_left_to_the_strict_parser() {
    for body in [
        &b"[1]"[..],
        b"{",
        b"",
        b" 1",
        b"{\"metadata\":{\"a\":\"\xff\"}}",
        b"{} {}",
    ] {
        let bytes = Bytes::copy_from_slice(body);
        assert!(parse_holding_text(&bytes, LIMITS, &["metadata".into()], "dg_", 0).is_none());
    }
}

/// The texts these properties run over (a reserved name among them).
fn text() -> impl Strategy<Value = String> {
    fragment(vec!["a", "b", "dg_k", "k\\u0000", "é"])
}

proptest! {
    /// Any document: held, it is the strict parser's document (resolved or written back);
    /// not held, the strict parser refuses it, or a held object would carry a reserved name.
    #[test]
    fn the_same_document_as_the_strict_parser(metadata in text(), tags in text(), other in text()) {
        let body = format!(r#"{{"metadata": {metadata}, "tags": {tags}, "other": {other}}}"#);
        let limits = Limits { depth: 4, values: 60 };
        let whole = parse_limited(body.as_bytes(), limits);
        match parse_with(&body, 0, limits) {
            Some((tree, held)) => {
                let whole = whole.unwrap();
                prop_assert_eq!(held.resolve(&tree), whole.clone());
                prop_assert_eq!(serde_json::from_str::<Value>(&written(&tree, &held)).unwrap(), whole);
            }
            None => {
                let reserved = |v: &Value| v.as_object().is_some_and(|m| m.keys().any(|k| k.starts_with("dg_")));
                prop_assert!(whole.map_or(true, |w| reserved(&w["metadata"]) || reserved(&w["tags"])), "{}", body);
            }
        }
    }
}
