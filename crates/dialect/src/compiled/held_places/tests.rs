use serde_json::{Value, json};

use super::*;

#[test]
fn only_a_schema_that_checks_nothing_but_the_type_lets_a_member_be_held() {
    let root = |member: Value| json!({"type": "object", "properties": {"metadata": member}});
    for member in [
        json!({"type": "object"}),
        json!({"type": ["object", "null"], "description": "free-form"}),
        json!({"type": "array", "title": "tags"}),
    ] {
        assert_eq!(
            target_places(None, &root(member.clone())),
            ["metadata"],
            "{member}"
        );
    }
    for member in [
        json!({}),
        json!(true),
        json!({"type": "string"}),
        json!({"type": "object", "additionalProperties": {"type": "string"}}),
        json!({"type": "object", "maxProperties": 3}),
        json!({"type": "array", "items": {"type": "string"}}),
        json!({"$ref": "#/$defs/Bag"}),
        json!({"type": "object", "propertyNames": {"maxLength": 3}}),
    ] {
        assert!(target_places(None, &root(member.clone())).is_empty(), "{member}");
    }
    // A root that may look inside a member by other ways than `properties`.
    for (keyword, value) in [
        (
            "allOf",
            json!([{"properties": {"metadata": {"required": ["a"]}}}]),
        ),
        ("if", json!({"required": ["metadata"]})),
        ("patternProperties", json!({"^meta": {"maxProperties": 1}})),
        ("dependentSchemas", json!({"metadata": {"required": ["email"]}})),
        ("unevaluatedProperties", json!(false)),
    ] {
        let mut schema = root(json!({"type": "object"}));
        schema[keyword] = value;
        assert!(target_places(None, &schema).is_empty(), "{keyword}");
    }
}
