//! `dialectgate openapi` prints a valid OpenAPI 3.1 document of every inbound operation,
//! generated from the loaded dialects (so it cannot drift from them).

// A test: any failure to set up is a failure of the test.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use serde_json::Value;

fn document() -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_dialectgate"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn it_is_a_valid_openapi_3_1_document() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    // A structural parse with a maintained OpenAPI 3.1 model.
    let spec = oas3::from_json(doc.to_string()).unwrap();
    assert_eq!(spec.openapi, "3.1.0");
    // Every $ref resolves inside the document.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc["paths"], &mut all);
    assert!(!all.is_empty());
    for r in all {
        let pointer = r.strip_prefix('#').unwrap();
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    // Every component schema is a JSON Schema that compiles.
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        jsonschema::options()
            .build(schema)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // Every security requirement names a declared scheme.
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for (_, item) in doc["paths"].as_object().unwrap() {
        for (_, op) in item.as_object().unwrap() {
            for req in op["security"].as_array().into_iter().flatten() {
                for name in req.as_object().unwrap().keys() {
                    assert!(schemes.contains_key(name), "{name}");
                }
            }
        }
    }
}

#[test]
fn every_dialect_operation_is_described_as_its_vendor_serves_it() {
    let doc = document();
    let paths = &doc["paths"];
    let op = |path: &str, method: &str| paths[path][method].clone();
    let ep = op("/v2/customers/{id}", "put");
    assert_eq!(ep["operationId"], "elasticpath_update_customer");
    assert_eq!(ep["parameters"][0]["name"], "id");
    assert!(ep["responses"]["401"].is_object());
    let mb = op("/services/customer/v1/customer.update", "post");
    assert!(
        mb["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"].is_array(),
        "MicroBase errors are 200s"
    );
    assert!(
        mb["parameters"].as_array().unwrap().is_empty(),
        "MicroBase's id travels in the body"
    );
    let medusa = op("/admin/customers/{id}", "post");
    assert_eq!(
        medusa["responses"]["401"]["content"]["text/plain; charset=utf-8"]["schema"]["type"],
        "string"
    );
    assert_eq!(medusa["responses"]["422"]["description"], "Errors: duplicate");
    let names: Vec<&str> = medusa["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["id", "expand", "fields"]);
    assert_eq!(
        medusa["security"].as_array().unwrap().len(),
        2,
        "x-medusa-access-token or Bearer"
    );
    assert!(op("/customers/{id}", "put").is_object());
    assert!(op("/v1/customers/{id}", "patch").is_object());
    assert!(op("/oauth/access_token", "post").is_object());
}
