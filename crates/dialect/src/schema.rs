//! Schema files compiled at load, a folder's worth at once, and the walk from a JSON Pointer to the
//! schema node that describes it (following local `$ref`s and `anyOf`/`oneOf`).

use jsonschema::Validator;
use serde_json::Value;

use crate::error::DialectError;
use crate::source::Tree;
use crate::validate;

/// Compiles the schema files `names` in `folder` of the schemas tree: each validator with the
/// JSON it was compiled from, in order.
///
/// # Errors
/// Every file that does not compile, not only the first.
pub(crate) fn compile_files<const N: usize>(
    schemas: Tree<'_>,
    folder: &str,
    names: [&str; N],
) -> Result<[(Validator, Value); N], Vec<DialectError>> {
    let mut errors = Vec::new();
    let compiled: Vec<(Validator, Value)> = names
        .iter()
        .filter_map(|name| {
            let name = format!("{folder}/{name}");
            schemas
                .read(&name)
                .and_then(|text| validate::compile_text(&schemas.path(&name), &text))
                .map_err(|e| errors.push(e))
                .ok()
        })
        .collect();
    // Short exactly when a file failed.
    compiled.try_into().map_err(|_| errors)
}

/// Finds the schema node at `segments` below `node`, following local `$ref`s, `properties`,
/// `items` (for numeric segments) and `anyOf`/`oneOf` branches that are objects or arrays.
pub(crate) fn schema_node<'s>(root: &'s Value, node: &'s Value, segments: &[String]) -> Option<&'s Value> {
    let node = resolve(root, node);
    let Some((first, rest)) = segments.split_first() else {
        return Some(node);
    };
    if let Some(child) = node.get("properties").and_then(|p| p.get(first)) {
        return schema_node(root, child, rest);
    }
    if first.parse::<usize>().is_ok()
        && let Some(items) = node.get("items")
    {
        return schema_node(root, items, rest);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = node.get(key).and_then(Value::as_array)
            && let Some(found) = branches.iter().find_map(|b| schema_node(root, b, segments))
        {
            return Some(found);
        }
    }
    None
}

fn resolve<'s>(root: &'s Value, node: &'s Value) -> &'s Value {
    match node
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
    {
        Some(ptr) => root.pointer(ptr).map_or(node, |n| resolve(root, n)),
        None => node,
    }
}

/// The property names of an object schema node (following `$ref` and `anyOf`/`oneOf`).
pub(crate) fn object_members(root: &Value, node: &Value) -> Vec<String> {
    let node = resolve(root, node);
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        return props.keys().cloned().collect();
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = node.get(key).and_then(Value::as_array) {
            for b in branches {
                let members = object_members(root, b);
                if !members.is_empty() {
                    return members;
                }
            }
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

    #[test]
    fn reports_every_file_that_does_not_compile() {
        let dir = std::env::temp_dir().join(format!("dialectgate-schema-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("f")).unwrap();
        std::fs::write(dir.join("f/ok.json"), r#"{"type": "object"}"#).unwrap();
        std::fs::write(dir.join("f/bad.json"), "{").unwrap();
        let source = Source::Dir(dir.clone());
        let tree = Tree::schemas(&source);
        let [(ok, json)] = compile_files(tree, "f", ["ok.json"]).unwrap();
        assert!(ok.is_valid(&serde_json::json!({})));
        assert_eq!(json, serde_json::json!({"type": "object"}));
        let errors = compile_files(tree, "f", ["bad.json", "ok.json", "missing.json"]).unwrap_err();
        assert_eq!(errors.len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn embedded_schemas_compile_with_their_local_refs() {
        let source = Source::Embedded;
        let [(update, json)] = compile_files(Tree::schemas(&source), "canonical", ["update.json"]).unwrap();
        assert!(
            json.to_string().contains("\"$ref\""),
            "the canonical update schema uses $ref"
        );
        assert!(update.is_valid(&serde_json::json!({"email": "a@example.com"})));
        assert!(!update.is_valid(&serde_json::json!({"email": 3})));
    }
}
