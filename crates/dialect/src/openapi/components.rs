//! The schemas' definitions as OpenAPI components: each schema's `$defs` moved to
//! `components/schemas` under a name of the dialect's, and the references to them rewritten, so
//! every reference resolves inside the document.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// `doc` ready for `components/schemas`: its `$defs` moved there (as `{dialect}_{Name}`, or
/// `{dialect}_{kind}_{Name}` when another of the dialect's documents defines the same name
/// differently), its references to them rewritten, and `$schema`/`$id` dropped (the document
/// declares `jsonSchemaDialect`; an `$id` would make `#/components/…` resolve elsewhere).
pub(super) fn hoist_definitions(
    dialect: &str,
    kind: &str,
    doc: &Value,
    schemas: &mut Map<String, Value>,
) -> Value {
    let mut doc = doc.clone();
    let Value::Object(map) = &mut doc else {
        return doc;
    };
    map.remove("$schema");
    map.remove("$id");
    let defs = match map.remove("$defs") {
        Some(Value::Object(defs)) => defs,
        _ => Map::new(),
    };
    let plain: BTreeMap<String, String> = defs
        .keys()
        .map(|n| (n.clone(), format!("{dialect}_{n}")))
        .collect();
    let mut names = BTreeMap::new();
    for (name, def) in &defs {
        let target = match (plain.get(name), plain.get(name).and_then(|p| schemas.get(p))) {
            (_, Some(existing)) if !same_definition(existing, def, &plain) => {
                format!("{dialect}_{kind}_{name}")
            }
            (Some(p), _) => p.clone(),
            (None, _) => continue,
        };
        names.insert(name.clone(), target);
    }
    for (name, mut def) in defs {
        rewrite_refs(&mut def, &names);
        if let Some(target) = names.get(&name) {
            schemas.insert(target.clone(), def);
        }
    }
    rewrite_refs(&mut doc, &names);
    doc
}

/// True when `existing` (already hoisted) is `def` once `def`'s references are rewritten.
fn same_definition(existing: &Value, def: &Value, names: &BTreeMap<String, String>) -> bool {
    let mut def = def.clone();
    rewrite_refs(&mut def, names);
    *existing == def
}

/// Rewrites `#/$defs/{name}…` to `#/components/schemas/{target}…` everywhere in `v`.
fn rewrite_refs(v: &mut Value, names: &BTreeMap<String, String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some(rest) = r.strip_prefix("#/$defs/")
            {
                let (name, tail) = rest.split_once('/').map_or((rest, ""), |(n, t)| (n, t));
                if let Some(target) = names.get(name) {
                    let sep = if tail.is_empty() { "" } else { "/" };
                    *r = format!("#/components/schemas/{target}{sep}{tail}");
                }
            }
            map.values_mut().for_each(|v| rewrite_refs(v, names));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, names)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn definitions_move_to_components_and_references_follow() {
        let mut schemas = Map::new();
        let doc = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://example.invalid/request.json",
            "properties": {"a": {"$ref": "#/$defs/Address"}, "b": {"$ref": "#/$defs/Pair/properties/x"}},
            "$defs": {
                "Address": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Address"}}},
                "Pair": {"properties": {"x": {"type": "string"}}},
            },
        });
        let out = hoist_definitions("d", "request", &doc, &mut schemas);
        assert_eq!(out.get("$schema"), None);
        assert_eq!(out.get("$id"), None);
        assert_eq!(out.get("$defs"), None);
        assert_eq!(out["properties"]["a"]["$ref"], "#/components/schemas/d_Address");
        assert_eq!(
            out["properties"]["b"]["$ref"],
            "#/components/schemas/d_Pair/properties/x"
        );
        assert_eq!(
            schemas["d_Address"]["properties"]["next"]["$ref"],
            "#/components/schemas/d_Address"
        );
        // The same definition from the dialect's response shares the component…
        let same = hoist_definitions("d", "response", &doc, &mut schemas);
        assert_eq!(same["properties"]["a"]["$ref"], "#/components/schemas/d_Address");
        // …a different one of the same name gets its own.
        let other = json!({"properties": {"a": {"$ref": "#/$defs/Address"}}, "$defs": {"Address": {"type": "string"}}});
        let other = hoist_definitions("d", "error", &other, &mut schemas);
        assert_eq!(
            other["properties"]["a"]["$ref"],
            "#/components/schemas/d_error_Address"
        );
        assert_eq!(schemas["d_error_Address"], json!({"type": "string"}));
        assert_eq!(schemas["d_Address"]["type"], "object");
    }
}
