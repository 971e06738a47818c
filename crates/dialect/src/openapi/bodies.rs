//! Request bodies of the OpenAPI document that a plain schema reference cannot say: a retrieve
//! call's body (the id and the retrieve request's fixed members), and one operation for two
//! that share a method and a path and are told apart by the body.

use serde_json::{Value, json};

use super::id_schema;
use crate::dialect::Dialect;
use crate::route::Route;

/// The body of a retrieve call whose id travels at `at`: the id, and the retrieve request's
/// fixed members (`[retrieve.request]`: constants required, extra members optional); nothing
/// else.
pub(super) fn retrieve_body_schema(d: &Dialect, route: &Route, at: &crate::pointer::Pointer) -> Value {
    let mut schema = json!({"type": "object", "additionalProperties": false, "properties": {}});
    let id = id_schema(route);
    place(&mut schema, at.segments(), id, true);
    if let Some(fixed) = &d.retrieve_request {
        for (p, v) in &fixed.constants {
            place(&mut schema, p.segments(), json!({ "const": v }), true);
        }
        for (p, v) in &fixed.extra {
            place(
                &mut schema,
                p.segments(),
                json!({ "type": json_type(v), "examples": [v] }),
                false,
            );
        }
    }
    schema
}

/// Puts `leaf` at `path` in an object `schema`, making the objects on the way.
fn place(schema: &mut Value, path: &[String], leaf: Value, required: bool) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if required {
        if schema.get("required").is_none() {
            schema["required"] = json!([]);
        }
        if let Some(Value::Array(names)) = schema.get_mut("required")
            && !names.contains(&json!(first))
        {
            names.push(json!(first));
        }
    }
    let member = &mut schema["properties"][first.as_str()];
    if rest.is_empty() {
        *member = leaf;
    } else {
        if member.is_null() {
            *member = json!({"type": "object", "additionalProperties": false, "properties": {}});
        }
        place(member, rest, leaf, required);
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// One OpenAPI operation for two operations at one method and path, told apart by the body:
/// either request body, either success answer, the bodies' examples together.
pub(super) fn shared_operation(d: &Dialect, first: Value, second: Value) -> Value {
    let mut op = first.clone();
    op["operationId"] = Value::String(format!("{}_customer_by_body", d.id()));
    op["summary"] = Value::String(format!(
        "Update or retrieve a customer ({}), as the body says",
        d.vendor()
    ));
    let body = |o: &Value| o.pointer("/requestBody/content/application~1json").cloned();
    if let (Some(a), Some(b)) = (body(&first), body(&second)) {
        // Examples are named by the customer they address: the first operation's stand for
        // both where the names meet.
        let mut examples = a.get("examples").cloned().unwrap_or_else(|| json!({}));
        if let (Value::Object(all), Some(Value::Object(more))) = (&mut examples, b.get("examples")) {
            for (k, v) in more {
                all.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        op["requestBody"]["content"]["application/json"] = json!({
            "schema": {"oneOf": [a["schema"], b["schema"]]},
            "examples": examples,
        });
    }
    op
}
