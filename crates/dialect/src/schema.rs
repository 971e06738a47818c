//! Schema files compiled at load, a folder's worth at once.

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
