//! `translate` and `validate` over files: reading each input, the stored customer of
//! `translate --current`, and one body's translation (the gateway's read-modify-write
//! completion, offline).

use anyhow::Context;
use dialectgate_dialect::{Answer, Endpoint, Operation, Options, Registry, Step, parse_strict};

use crate::batch;

/// `--json` is `--format json`.
pub(crate) fn batch_format(format: batch::Format, json: bool) -> batch::Format {
    if json { batch::Format::Json } else { format }
}

/// Reads and strictly parses one input; a refusal when it is not JSON.
pub(crate) fn read_json(input: &batch::Input) -> Result<serde_json::Value, batch::FileResult> {
    let bytes = input.read()?;
    parse_strict(&bytes, dialectgate_dialect::DEFAULT_MAX_DEPTH).map_err(|e| batch::FileResult::Failed {
        kind: "malformed".into(),
        message: format!("the input is not valid JSON: {e}"),
        problem: None,
    })
}

/// The stored customer of `translate --current`: the target's retrieve answer, or a canonical
/// Customer.
pub(crate) fn stored_customer(
    registry: &Registry,
    to: &Endpoint,
    path: &std::path::Path,
) -> anyhow::Result<serde_json::Value> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read --current {}", path.display()))?;
    // The retrieve's answer, or (where the read answers in the update's shape) the update's.
    for op in [Operation::Retrieve, Operation::Update] {
        if let Answer::Customer(doc) = registry.read_answer_to(op, to, 200, &bytes) {
            return Ok(doc);
        }
    }
    let doc = parse_strict(&bytes, dialectgate_dialect::DEFAULT_MAX_DEPTH)
        .map_err(|e| anyhow::anyhow!("--current {}: not valid JSON: {e}", path.display()))?;
    if registry.canonical().is_valid_customer(&doc) {
        return Ok(doc);
    }
    anyhow::bail!(
        "--current {}: neither a {} retrieve answer nor a canonical Customer",
        path.display(),
        to.id()
    )
}

/// Translates one body, completed with `current` when the target needs the stored customer
/// (`Registry::settle`, as the gateway's read-modify-write does with the customer it reads); the
/// output is the target body, or with `request` the whole request.
pub(crate) fn translate(
    registry: &Registry,
    (from, to): (&Endpoint, &Endpoint),
    id: Option<&str>,
    body: &serde_json::Value,
    (options, current): (Options<'_>, Option<&serde_json::Value>),
    request: bool,
) -> batch::FileResult {
    let translated = registry
        .plan(from, to, id, body, options)
        .and_then(|step| registry.settle((from, to), step, current, options.mode))
        .and_then(|step| match step {
            Step::Ready(t) => Ok(t),
            // `Fill::Never` without `--current`: never asked.
            Step::Read(_) => Err(dialectgate_canonical::Problem::new(
                dialectgate_canonical::ErrorKind::Internal,
                "a read was asked for without --current",
            )),
        });
    match translated {
        Ok(t) => {
            let note = (!t.fidelity.is_exact())
                .then(|| serde_json::to_string(&t.fidelity).ok())
                .flatten()
                .map(|f| format!("fidelity: {f}"));
            let out = if request {
                let mut headers = serde_json::Map::new();
                headers.insert("content-type".into(), t.outbound.content_type.into());
                serde_json::json!({
                    "method": t.outbound.method,
                    "path": t.outbound.path,
                    "headers": headers,
                    "body": t.outbound.body,
                })
            } else {
                t.outbound.body
            };
            batch::FileResult::Passed {
                text: serde_json::to_string_pretty(&out).unwrap_or_default(),
                json: out,
                note,
            }
        }
        Err(problem) => batch::FileResult::refused(problem.kind().as_str(), problem),
    }
}
