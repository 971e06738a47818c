use serde_json::json;

use super::*;

fn places() -> Vec<String> {
    vec!["metadata".into(), "tags".into()]
}

#[test]
fn a_translation_is_kept_only_with_every_placeholder_whole_once_and_in_a_place() {
    let (bag, list) = (placeholder(0, false), placeholder(1, true));
    let ok = json!({"email": "a@example.com", "metadata": bag, "tags": list});
    assert!(placed(&ok, &places(), 2));
    for (body, why) in [
        (json!({"metadata": bag}), "one missing (dropped on the way)"),
        (json!({"metadata": bag, "tags": bag}), "one twice"),
        (
            json!({"metadata": bag, "other": list}),
            "one where the target's schema may check inside",
        ),
        (json!({"metadata": bag, "x": {"tags": list}}), "one nested"),
        (json!({"metadata": bag, "x": [1, [list]]}), "one nested in a list"),
        (
            json!({"metadata": {"\u{0}": 0, "overflowed": 1}, "tags": list}),
            "a member added to it",
        ),
        (
            json!({"metadata": {"\u{0}": "0"}, "tags": list}),
            "its index changed",
        ),
        (
            json!({"metadata": bag, "tags": ["\u{0}", 1, 2]}),
            "an item added to it",
        ),
        (
            json!({"metadata": bag, "tags": list, "x": placeholder(2, false)}),
            "one more than held",
        ),
        (json!([bag, list]), "a body that is no object"),
    ] {
        assert!(!placed(&body, &places(), 2), "{why}: {body}");
    }
}

#[test]
fn a_placeholder_is_nothing_a_caller_can_send() {
    // The strict parser refuses a NUL in member names and strings alike.
    for p in [placeholder(0, false), placeholder(0, true)] {
        assert!(crate::parse_strict(p.to_string().as_bytes(), 64).is_err(), "{p}");
    }
}
