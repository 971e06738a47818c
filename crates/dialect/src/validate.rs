//! JSON Schema validation: schemas compiled once at load, violations reported with a JSON
//! Pointer into the caller's own body and a message in the dialect's own style.

use std::path::Path;

use dialectgate_canonical::Violation;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, Validator};
use serde_json::Value;

use crate::error::DialectError;
use crate::pointer::Pointer;

mod email;

/// At most this many violations are reported for one body.
pub const MAX_VIOLATIONS: usize = 20;

/// Compiles the text of one schema file, named `path` in errors (Draft 2020-12, formats
/// checked, no remote references).
pub(crate) fn compile_text(path: &Path, text: &str) -> Result<(Validator, Value), DialectError> {
    let json: Value = serde_json::from_str(text).map_err(|e| DialectError::Schema {
        path: path.to_owned(),
        message: format!("not JSON: {e}"),
    })?;
    let validator = compile(&json).map_err(|message| DialectError::Schema {
        path: path.to_owned(),
        message,
    })?;
    Ok((validator, json))
}

/// Compiles a schema value. The `email` format is checked as jsonschema checks it, with a quick
/// path for the common shape (`validate/email.rs`).
pub(crate) fn compile(json: &Value) -> Result<Validator, String> {
    compile_for(json)
}

/// [`compile`], for documents in the representation `F` (a [`crate::doc::Doc`]: `DocJson`).
pub(crate) fn compile_for<F: jsonschema::json::Json>(json: &Value) -> Result<Validator<F>, String> {
    jsonschema::meta::validate(json).map_err(|e| format!("not a valid JSON Schema: {e}"))?;
    jsonschema::options_for::<F>()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .with_format("email", email::is_email)
        .build(json)
        .map_err(|e| format!("cannot compile: {e}"))
}

/// The facts a message template can use.
#[derive(Debug, Default)]
pub(crate) struct MessageVars {
    /// The JSON Schema keyword or translation code.
    pub code: String,
    /// Where the violation is, in the caller's body.
    pub pointer: Pointer,
    /// Where the validator reported it (the parent object for `required` and
    /// `additionalProperties`).
    pub at: Pointer,
    /// The member concerned (missing, unexpected, or the last segment).
    pub property: Option<String>,
    pub expected: Option<String>,
    pub limit: Option<String>,
    pub format: Option<String>,
    pub allowed: Option<String>,
    pub target: Option<String>,
}

impl MessageVars {
    fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "code" => self.code.clone(),
            "pointer" => self.pointer.to_string(),
            "field" => {
                let dotted = self.pointer.dotted();
                if dotted.is_empty() {
                    "body".to_owned()
                } else {
                    dotted
                }
            }
            "dotpath" => self.at.segments().iter().map(|s| format!(".{s}")).collect(),
            "property" => self
                .property
                .clone()
                .or_else(|| self.pointer.last().map(str::to_owned))
                .unwrap_or_else(|| "body".to_owned()),
            "expected" => self.expected.clone()?,
            "limit" => self.limit.clone()?,
            "format" => self.format.clone()?,
            "allowed" => self.allowed.clone()?,
            "target" => self.target.clone()?,
            _ => return None,
        })
    }
}

/// Built-in message templates, used when a dialect gives none for a code.
fn default_template(code: &str) -> &'static str {
    match code {
        "required" => "{field} is required",
        "additionalProperties" => "{field} is not allowed",
        "type" => "{field} must be of type {expected}",
        "format" => "{field} must be a valid {format}",
        "enum" => "{field} must be one of {allowed}",
        "const" => "{field} must be {allowed}",
        "maxLength" => "{field} must be at most {limit} characters long",
        "minLength" => "{field} must be at least {limit} characters long",
        "minProperties" => "{field} must have at least {limit} member(s)",
        "maxProperties" => "{field} must have at most {limit} member(s)",
        "minItems" => "{field} must have at least {limit} item(s)",
        "maxItems" => "{field} must have at most {limit} item(s)",
        "pattern" => "{field} does not match the expected pattern",
        "lossy" => "{field} cannot be carried to {target}: it has no place there",
        "cannot_clear" => "{field} cannot be cleared in {target}",
        "secret" => "{field} is a secret, and {target} has no place for it",
        "partial_replace" => "{field} would be cleared: {target} replaces the whole object",
        "unmapped_enum" => "{field} has a value with no equivalent in {target}",
        "required_on_write" => {
            "{field} is required by {target} on every update and the request does not carry it"
        }
        "target_invalid" => "{field} cannot be expressed in {target}",
        "invalid_id" => {
            "the customer id must be 1 to {limit} bytes long, without control characters, and not `.` or `..`"
        }
        "id_mismatch" => "{field} does not match the customer id in the path",
        "read_only" => "{field} is read-only",
        "reserved_key" => {
            "{field}: the key {property} is reserved (keys starting with {allowed} are written by the gateway only)"
        }
        "query" => "query parameter {property} is not allowed",
        "too_many_ids" => "{property} names more than {limit} customer: one read retrieves one customer",
        "malformed" => "the body is not valid JSON",
        _ => "{field} is invalid ({code})",
    }
}

/// Fills the placeholders of a message template.
pub(crate) fn fill_message(template: &str, vars: &MessageVars) -> String {
    crate::template::fill(template, |name| vars.get(name))
}

/// Builds the violation for `vars`, with the dialect's template for its code if it has one.
pub(crate) fn violation(
    templates: &std::collections::HashMap<String, String>,
    vars: &MessageVars,
) -> Violation {
    let template = templates.get(&vars.code).map_or_else(
        || match (vars.code.as_str(), &vars.format) {
            // An id that is not in (or cannot be written in) a dialect's id form.
            ("invalid_id", Some(_)) => "the customer id must be {format} in {target}",
            (code, _) => default_template(code),
        },
        String::as_str,
    );
    Violation {
        pointer: vars.pointer.to_string(),
        code: vars.code.clone(),
        message: fill_message(template, vars),
        property: vars.get("property"),
    }
}

/// Validates `instance`; on failure returns every violation (capped at [`MAX_VIOLATIONS`]).
pub(crate) fn violations(
    validator: &Validator,
    instance: &Value,
    templates: &std::collections::HashMap<String, String>,
) -> Result<(), Vec<Violation>> {
    if validator.is_valid(instance) {
        return Ok(());
    }
    let mut out = Vec::new();
    for error in validator.iter_errors(instance) {
        let at = Pointer::parse(error.instance_path().as_str()).unwrap_or_default();
        for vars in describe(error.kind(), &at) {
            out.push(violation(templates, &vars));
        }
        if out.len() >= MAX_VIOLATIONS {
            out.truncate(MAX_VIOLATIONS);
            break;
        }
    }
    // Keep a stable, readable order: by pointer, then code.
    out.sort_by(|a, b| (&a.pointer, &a.code).cmp(&(&b.pointer, &b.code)));
    out.dedup_by(|a, b| a.pointer == b.pointer && a.code == b.code);
    Err(out)
}

/// Turns one validator error into message facts; never copies the offending value, which may be
/// a secret.
fn describe(kind: &ValidationErrorKind, at: &Pointer) -> Vec<MessageVars> {
    let base = |code: &str| MessageVars {
        code: code.to_owned(),
        pointer: at.clone(),
        at: at.clone(),
        ..MessageVars::default()
    };
    match kind {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default().to_owned();
            vec![MessageVars {
                pointer: at.child(name.clone()),
                property: Some(name),
                ..base("required")
            }]
        }
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => unexpected
            .iter()
            .map(|name| MessageVars {
                pointer: at.child(name.clone()),
                property: Some(name.clone()),
                ..base("additionalProperties")
            })
            .collect(),
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(set) => set
                    .iter()
                    .map(|t| t.to_string())
                    .filter(|t| t != "null")
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            vec![MessageVars {
                expected: Some(expected),
                ..base("type")
            }]
        }
        ValidationErrorKind::Format { format } => vec![MessageVars {
            format: Some(format.clone()),
            ..base("format")
        }],
        ValidationErrorKind::Enum { options } => vec![MessageVars {
            allowed: Some(list(options)),
            ..base("enum")
        }],
        ValidationErrorKind::Constant { expected_value } => vec![MessageVars {
            allowed: Some(expected_value.to_string()),
            ..base("const")
        }],
        ValidationErrorKind::MaxLength { limit } => vec![MessageVars {
            limit: Some(limit.to_string()),
            ..base("maxLength")
        }],
        ValidationErrorKind::MinLength { limit } => vec![MessageVars {
            limit: Some(limit.to_string()),
            ..base("minLength")
        }],
        ValidationErrorKind::MinProperties { limit } => vec![MessageVars {
            limit: Some(limit.to_string()),
            ..base("minProperties")
        }],
        ValidationErrorKind::MaxProperties { limit } => vec![MessageVars {
            limit: Some(limit.to_string()),
            ..base("maxProperties")
        }],
        ValidationErrorKind::MinItems { limit } => vec![MessageVars {
            limit: Some(limit.to_string()),
            ..base("minItems")
        }],
        ValidationErrorKind::MaxItems { limit } => vec![MessageVars {
            limit: Some(limit.to_string()),
            ..base("maxItems")
        }],
        ValidationErrorKind::Pattern { .. } => vec![base("pattern")],
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            // Report the branch that got furthest: the one with the fewest errors.
            match context.iter().filter(|c| !c.is_empty()).min_by_key(|c| c.len()) {
                Some(branch) => branch
                    .iter()
                    .flat_map(|e| {
                        describe(
                            e.kind(),
                            &Pointer::parse(e.instance_path().as_str()).unwrap_or_default(),
                        )
                    })
                    .collect(),
                None => vec![base("anyOf")],
            }
        }
        other => vec![base(other.keyword())],
    }
}

fn list(options: &Value) -> String {
    match options {
        Value::Array(items) => items
            .iter()
            .map(|v| match v {
                Value::String(s) if s.is_empty() => "\"\"".to_owned(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// The message variables refusing the member at `pointer` with `code`; add what the message
/// needs (`MessageVars { target: …, ..refusal(code, pointer) }`) and pass them to
/// [`crate::side::Side::refuse`].
pub(crate) fn refusal(code: &str, pointer: Pointer) -> MessageVars {
    MessageVars {
        code: code.to_owned(),
        at: pointer.clone(),
        pointer,
        ..Default::default()
    }
}
