use proptest::prelude::*;

use crate::parse::fragments::fragment;
use serde_json::{Value, json};

use super::{Doc, DocJson, Sorted, parse_doc};
use crate::parse::{Limits, parse_limited};

const LIMITS: Limits = Limits { depth: 4, values: 60 };

/// The strict parser's message, without the position serde_json appends.
fn message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.find(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// `text` parsed both ways: the same document, or the same refusal.
fn same_as_the_strict_parser(text: &str, limits: Limits) -> Result<(), String> {
    match (
        parse_doc(text.as_bytes(), limits),
        parse_limited(text.as_bytes(), limits),
    ) {
        (Ok(doc), Ok(value)) if doc.to_value() == value && doc.equals(&value) => Ok(()),
        (Err(a), Err(b)) if message(&a) == message(&b) => Ok(()),
        (a, b) => Err(format!("{text}: doc {a:?}, value {b:?}")),
    }
}

#[test]
fn refuses_what_the_strict_parser_refuses_with_its_words() {
    let deep = format!("{}{}", "[".repeat(5), "]".repeat(5));
    let many = format!("[{}]", vec!["1"; 60].join(","));
    for text in [
        r#"{"a": 1, "a": 2}"#,
        r#"{"a": "\u0000"}"#,
        r#"{"\u0000": 1}"#,
        "18446744073709551616",
        "1e400",
        "0.1000000000000000055511151231257827",
        deep.as_str(),
        many.as_str(),
        "{} {}",
        "",
        "[1,]",
    ] {
        same_as_the_strict_parser(text, LIMITS).unwrap();
        assert!(parse_doc(text.as_bytes(), LIMITS).is_err(), "{text}");
    }
    assert_eq!(
        parse_doc(b"\"\xff\"", LIMITS).unwrap_err().to_string(),
        parse_limited(b"\"\xff\"", LIMITS).unwrap_err().to_string()
    );
}

#[test]
fn a_duplicate_past_the_scanned_members_is_refused_by_its_name() {
    // 20 distinct names, then the 18th again, then the 3rd: the first met is named.
    let mut members: Vec<String> = (0..20).map(|i| format!("\"m{i}\": {i}")).collect();
    members.push("\"m17\": 0".into());
    members.push("\"m2\": 0".into());
    let text = format!("{{{}}}", members.join(","));
    let limits = Limits {
        depth: 4,
        values: 100,
    };
    let e = parse_doc(text.as_bytes(), limits).unwrap_err();
    assert_eq!(message(&e), "duplicate key `m17`");
    same_as_the_strict_parser(&text, limits).unwrap();
    // Without the repeats, every member is kept, in order.
    let text = format!("{{{}}}", members[..20].join(","));
    let doc = parse_doc(text.as_bytes(), limits).unwrap();
    let Doc::Object(kept) = &doc else {
        panic!("{doc:?}")
    };
    assert_eq!(kept.len(), 20);
    assert_eq!(kept[19].0, "m19");
}

#[test]
fn strings_without_escapes_are_borrowed_from_the_text() {
    let text = br#"{"name": "Ada", "esc\u00e9": "a\nb"}"#;
    let doc = parse_doc(text, LIMITS).unwrap();
    let Doc::Object(members) = &doc else {
        panic!("{doc:?}")
    };
    assert!(matches!(members[0].0, std::borrow::Cow::Borrowed("name")));
    assert!(matches!(
        members[0].1,
        Doc::String(std::borrow::Cow::Borrowed("Ada"))
    ));
    assert_eq!(members[1].0, "escé");
    assert_eq!(members[1].1.as_str(), Some("a\nb"));
    assert_eq!(doc.member("name").and_then(Doc::as_str), Some("Ada"));
    assert!(doc.member("nobody").is_none());
}

#[test]
fn equals_compares_objects_whatever_their_order() {
    let doc = parse_doc(br#"{"b": [1, {"c": null}], "a": "x"}"#, LIMITS).unwrap();
    assert!(doc.equals(&json!({"a": "x", "b": [1, {"c": null}]})));
    assert!(!doc.equals(&json!({"a": "x", "b": [1, {"c": null}], "d": 1})));
    assert!(!doc.equals(&json!({"a": "y", "b": [1, {"c": null}]})));
    assert!(!doc.equals(&json!({"a": "x", "b": [1]})));
}

/// A schema that uses the keywords the dialects' schemas use.
fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "a": {"type": ["string", "null"], "minLength": 1, "format": "email"},
            "b": {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"const": "x"}]}, "maxItems": 2},
            "é": {"enum": [true, null, {"a": 0}]},
            "\n": {"type": "object", "additionalProperties": false, "properties": {"a": {"type": "number"}}}
        },
        "additionalProperties": {"type": ["object", "string", "boolean"]},
        "required": ["a"]
    })
}

/// The texts these properties run over (escaped names among them).
fn text() -> impl Strategy<Value = String> {
    fragment(vec!["a", "b", "k\\u0000", "é", "\\n"])
}

proptest! {
    /// Any text: the same document as the strict parser's, or the same refusal.
    #[test]
    fn the_same_document_as_the_strict_parser(text in text()) {
        prop_assert!(same_as_the_strict_parser(&text, LIMITS).is_ok(), "{}", text);
    }

    /// Any document: a schema checks it in place as it checks the `Value`.
    #[test]
    fn the_schema_checks_the_document_as_it_checks_the_value(a in text(), b in text(), c in text()) {
        let text = format!(r#"{{"a": {a}, "b": {b}, "\n": {c}}}"#);
        let (Ok(doc), Ok(value)) = (parse_doc(text.as_bytes(), LIMITS), parse_limited(text.as_bytes(), LIMITS)) else {
            return Ok(());
        };
        let on_value = crate::validate::compile(&schema()).unwrap();
        let on_doc = crate::validate::compile_for::<DocJson>(&schema()).unwrap();
        prop_assert_eq!(on_doc.is_valid(&doc), on_value.is_valid(&value), "{}", text);
    }

    /// Members set in any order, over one another, are kept as a `Value`'s map keeps them.
    #[test]
    fn members_set_in_order_are_a_maps_members(
        names in prop::collection::vec(prop_oneof![
            Just(""), Just("a"), Just("ab"), Just("b"), Just("ba"), Just("é"), Just("Z"), Just("a\u{0}")
        ], 0..24),
    ) {
        let mut sorted: Vec<(std::borrow::Cow<'_, str>, Doc<'_>)> = Vec::new();
        let mut map = serde_json::Map::new();
        for (i, name) in names.iter().enumerate() {
            sorted.set_sorted(std::borrow::Cow::Borrowed(*name), Doc::Number(i.into()));
            map.insert((*name).to_owned(), json!(i));
        }
        let doc = Doc::Object(sorted);
        prop_assert!(doc.is_sorted());
        prop_assert_eq!(serde_json::to_vec(&doc).unwrap(), serde_json::to_vec(&map).unwrap());
    }
}

#[test]
fn a_slot_is_made_in_order_once() {
    let mut members = vec![(std::borrow::Cow::Borrowed("b"), Doc::Null)];
    *members.slot_sorted("a", || Doc::Bool(false)) = Doc::Bool(true);
    assert!(matches!(members.slot_sorted("a", || Doc::Null), Doc::Bool(true)));
    members.slot_sorted("c", || Doc::Null);
    let names: Vec<&str> = members.iter().map(|(k, _)| k.as_ref()).collect();
    assert_eq!(names, ["a", "b", "c"]);
}
