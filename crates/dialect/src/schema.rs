//! Schema files compiled at load, a folder's worth at once.

use std::path::Path;

use jsonschema::Validator;
use serde_json::Value;

use crate::error::DialectError;
use crate::validate;

/// Compiles the schema files `names` in `dir`: each validator with the JSON it was compiled
/// from, in order.
///
/// # Errors
/// Every file that does not compile, not only the first.
pub(crate) fn compile_files<const N: usize>(
    dir: &Path,
    names: [&str; N],
) -> Result<[(Validator, Value); N], Vec<DialectError>> {
    let mut errors = Vec::new();
    let compiled: Vec<(Validator, Value)> = names
        .iter()
        .filter_map(|name| {
            validate::compile_file(&dir.join(name))
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

    #[test]
    fn reports_every_file_that_does_not_compile() {
        let dir = std::env::temp_dir().join(format!("dialectgate-schema-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ok.json"), r#"{"type": "object"}"#).unwrap();
        std::fs::write(dir.join("bad.json"), "{").unwrap();
        let [(ok, json)] = compile_files(&dir, ["ok.json"]).unwrap();
        assert!(ok.is_valid(&serde_json::json!({})));
        assert_eq!(json, serde_json::json!({"type": "object"}));
        let errors = compile_files(&dir, ["bad.json", "ok.json", "missing.json"]).unwrap_err();
        assert_eq!(errors.len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
