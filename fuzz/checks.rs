//! The invariants the fuzz targets check, written once and included by path (`#[path]`) in
//! both targets under `fuzz/fuzz_targets/` and in `crates/dialect/tests/fuzz_corpus.rs`, which
//! replays `fuzz/corpus/*/` on stable (CI has no fuzzer).
//!
//! Two kinds of target, run for every dialect of the registry (`DIALECTGATE_FUZZ_DIALECT`):
//!
//! * `request_<dialect>`: the bytes are a caller's body in that dialect. Parsed with
//!   `parse_strict`, then translated to canonical and to every dialect, strict and lenient.
//!   On success the canonical patch re-validates against `schemas/canonical/update.json` and the
//!   outbound body against the target's request schema; strict mode dropped nothing. On failure
//!   the problem is a client error (4xx), and its rendering in the caller's dialect is a body
//!   the dialect's error schema accepts that echoes no secret (a string of more than 8 chars
//!   found in a `password` member of the input, outside free-form `metadata`).
//! * `answer_<dialect>`: the first 2 bytes are the upstream's status (big endian, folded into
//!   100..=999), the rest its body. Read as an answer of that dialect and of canonical: a
//!   Customer comes only from a 2xx, is a valid canonical Customer, and encodes for every caller
//!   to a body its response schema accepts and that reads back as a Customer; a problem renders
//!   for every caller in a body its error schema accepts (for a canonical caller with a 4xx/5xx
//!   status).
//!   `classify_error` is exercised directly too. Nothing echoes a secret of the upstream body.
//!
//! A secret found in an output is confirmed before it is reported: the input is run again with
//! every secret replaced by a canary of the same length, and only an echoed canary counts (so a
//! password that happens to read `validation` is not a leak).
//!
//! Findings not yet fixed in the engine are tolerated by the `TOLERATE_*` switches below, each
//! naming its reproducer in `fuzz/corpus/`; turn a switch off once its finding is fixed.
#![allow(dead_code)] // every includer uses only part of this file

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use bytes::Bytes;
use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{
    Answer, DEFAULT_MAX_DEPTH, DEFAULT_MAX_VALUES, DEFAULT_OVERFLOW_PREFIX, Endpoint, Fill, Limits, Mode,
    Options, Registry, Step, parse_holding_text, parse_limited, parse_strict, problem_json,
};
use serde_json::Value;

#[path = "secrets.rs"]
mod secrets;
pub use secrets::{find_secrets, secrets_of, with_canaries};

/// Every dialect of the registry, sorted by id.
pub static DIALECTS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| registry().dialects().iter().map(|d| d.id()).collect());

/// Every endpoint a request may be translated to or an answer rendered for: canonical, then
/// every dialect.
pub static ENDPOINTS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    std::iter::once("canonical")
        .chain(DIALECTS.iter().copied())
        .collect()
});

/// The dialect a fuzz target exercises: `DIALECTGATE_FUZZ_DIALECT`, which must name one.
pub fn fuzzed_dialect() -> &'static str {
    static CHOSEN: LazyLock<&'static str> = LazyLock::new(|| {
        let wanted = std::env::var("DIALECTGATE_FUZZ_DIALECT").unwrap_or_default();
        DIALECTS
            .iter()
            .copied()
            .find(|d| *d == wanted)
            .unwrap_or_else(|| panic!("DIALECTGATE_FUZZ_DIALECT must be one of {:?}", *DIALECTS))
    });
    *CHOSEN
}

/// The customer id used when the id travels in the path.
pub const PATH_ID: &str = "cus_123";

/// KNOWN FINDING (fuzzing, Hardening item 6), to turn off once fixed: a canonical upstream's
/// error answer (problem+json) reaches a canonical caller verbatim, so its self-declared
/// `status` becomes the gateway's HTTP status (an upstream 500 whose body says `"status": 200`
/// is answered 200; `"status": 0` becomes the gateway's own 500) and a `type` that is no URI
/// reference breaks the canonical error schema. Reproducer:
/// `fuzz/corpus/answer_axim/500-canonical-problem-status-200`. While `true`, that one
/// rendering (canonical upstream → canonical caller) is only checked for secret echo.
const TOLERATE_CANONICAL_PROBLEM_PASSTHROUGH: bool = false;

/// KNOWN FINDING, to turn off once fixed: `translate` accepts a request that carries nothing
/// to update and yields an empty canonical patch, which `schemas/canonical/update.json` refuses
/// (`minProperties: 1`): Medusa `{}` (strict or lenient), or MicroBase `{"id":"c1","x":1}` in
/// lenient mode (the unknown member is dropped). Reproducers:
/// `fuzz/corpus/request_medusa/empty-body.json`, `fuzz/corpus/request_microbase/only-unknown-members.json`.
/// While `true`, an empty patch is not checked against the canonical schema.
const TOLERATE_EMPTY_PATCH: bool = false;

/// KNOWN FINDING, to turn off once fixed: `read_answer` does not check the Customer it decodes
/// from a dialect upstream against `schemas/canonical/customer.json`, and the vendors' response
/// schemas are laxer, so a vendor's 200 can become a Customer the canonical schema refuses: a
/// timestamp that is no date-time (Checkout Page `{"data":{"id":"c1","updatedAt":"yesterday"}}`),
/// a country that is no ISO code (`"address":{"country":")L"}`). Reproducers:
/// `fuzz/corpus/answer_{checkoutpage,medusa}/200-timestamp-not-date-time`,
/// `fuzz/corpus/answer_checkoutpage/200-country-not-iso`. While `true`, a Customer read from a
/// dialect upstream (and its canonical encoding) is not checked against the canonical schema.
const TOLERATE_UNCHECKED_DECODED_CUSTOMER: bool = false;

/// KNOWN FINDING, to turn off once fixed: a canonical upstream's Customer needs no `id` (the
/// canonical customer schema requires nothing), but every dialect's response schema requires
/// one, and `encode_answer` does not check its output, so a canonical upstream answering 200
/// `{}` makes the gateway answer e.g. an Axim caller `{"data":{},...}`, which Axim's response
/// schema refuses. Reproducer: `fuzz/corpus/answer_axim/200-canonical-customer-without-id`.
/// While `true`, encodings of a Customer without `id` are not checked against the caller's
/// response schema.
const TOLERATE_CUSTOMER_WITHOUT_ID: bool = false;

/// The repository root: the nearest ancestor of the including crate with `config/dialects`.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|p| p.join("config/dialects").is_dir())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("no config/dialects above {}", env!("CARGO_MANIFEST_DIR")))
}

/// The shipped definitions and schemas, loaded once.
pub fn registry() -> &'static Registry {
    static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
        let root = repo_root();
        Registry::load(&root.join("config/dialects"), &root.join("schemas"))
            .unwrap_or_else(|e| panic!("the shipped definitions must load: {e}"))
    });
    &REGISTRY
}

fn endpoint(id: &str) -> Endpoint {
    registry()
        .endpoint(id)
        .unwrap_or_else(|| panic!("unknown endpoint {id}"))
}

/// For fuzz targets: a broken invariant is a crash.
pub fn must_hold(result: Result<(), String>) {
    if let Err(e) = result {
        panic!("invariant broken: {e}");
    }
}

/// Runs the check a corpus directory (`request_<dialect>` or `answer_<dialect>`) stands for.
/// `None` when the name is no target.
pub fn check_target(target: &str, data: &[u8]) -> Option<Result<(), String>> {
    if let Some(d) = target.strip_prefix("request_") {
        DIALECTS.contains(&d).then(|| check_request(d, data))
    } else if let Some(d) = target.strip_prefix("answer_") {
        DIALECTS.contains(&d).then(|| check_answer(d, data))
    } else {
        None
    }
}

// ------------------------------------------------------------------------------- requests

/// The `request_<source>` invariants for one caller body.
pub fn check_request(source: &str, bytes: &[u8]) -> Result<(), String> {
    let from = endpoint(source);
    check_held(&from, bytes)?;
    let body = match parse_strict(bytes, DEFAULT_MAX_DEPTH) {
        Ok(body) => body,
        Err(e) => {
            // What the gateway answers for a body that is not JSON.
            let problem = Problem::new(ErrorKind::Malformed, format!("the body is not valid JSON: {e}"));
            return check_rendered(&from, &problem, None, true, &[]).map(drop);
        }
    };
    let secrets = secrets_of(&body);
    let echoes = run_request(&from, &body, &secrets)?;
    if let Some(first) = echoes.first() {
        let (canaried, canaries) = with_canaries(&body);
        if let Some(echo) = run_request(&from, &canaried, &canaries)?.first() {
            return Err(format!(
                "{source}: a password value is echoed ({echo}); first seen as: {first}"
            ));
        }
    }
    Ok(())
}

/// Members held as text agree with the whole tree, towards every endpoint that may take them:
/// a body parsed holding them is the strict parser's document (resolved and written back), and
/// a translation kept with them is the whole tree's (body, id and report).
fn check_held(from: &Endpoint, bytes: &[u8]) -> Result<(), String> {
    let reg = registry();
    let limits = Limits {
        depth: DEFAULT_MAX_DEPTH,
        values: DEFAULT_MAX_VALUES,
    };
    let text = Bytes::copy_from_slice(bytes);
    let options = Options {
        fill: Fill::Read,
        ..Options::default()
    };
    for &to_id in ENDPOINTS.iter() {
        let to = endpoint(to_id);
        let names = reg.held_members(from, &to);
        // Not held: the gateway parses the whole tree, as the other checks do.
        let Some((mut tree, held)) = parse_holding_text(&text, limits, names, DEFAULT_OVERFLOW_PREFIX, 0)
            .filter(|(_, held)| !names.is_empty() && !held.is_empty())
        else {
            continue;
        };
        let what = format!("{} -> {to_id} held as text", from.id());
        let Ok(mut whole) = parse_limited(bytes, limits) else {
            return Err(format!("{what}: accepted a body the strict parser refuses"));
        };
        let written = serde_json::to_vec(&held.writing(&tree)).map_err(|e| format!("{what}: {e}"))?;
        if held.resolve(&tree) != whole
            || serde_json::from_slice::<Value>(&written).ok().as_ref() != Some(&whole)
        {
            return Err(format!("{what}: not the strict parser's document"));
        }
        let path_id =
            Some(PATH_ID).filter(|_| from.dialect().is_some_and(|d| d.route().id_in_body.is_none()));
        let Ok(Step::Ready(mut kept)) = reg.plan_taking(from, &to, path_id, &mut tree, options) else {
            continue;
        };
        if reg.hold_text(&to, &mut kept.outbound, held).is_err() {
            continue;
        }
        let Ok(Step::Ready(w)) = reg.plan_taking(from, &to, path_id, &mut whole, options) else {
            return Err(format!(
                "{what}: kept where the whole tree is refused or read first"
            ));
        };
        let written = serde_json::to_vec(&kept.outbound.held.writing(&kept.outbound.body))
            .map_err(|e| e.to_string())?;
        if serde_json::from_slice::<Value>(&written).ok().as_ref() != Some(&w.outbound.body)
            || kept.id != w.id
            || format!("{:?}", kept.fidelity) != format!("{:?}", w.fidelity)
        {
            return Err(format!("{what}: another translation than the whole tree's"));
        }
    }
    Ok(())
}

/// Translates `body` from `from` to every endpoint in both modes, checking every outcome.
/// Returns the places a secret showed up (unconfirmed).
fn run_request(from: &Endpoint, body: &Value, secrets: &[String]) -> Result<Vec<String>, String> {
    let reg = registry();
    let path_id = match from.dialect() {
        Some(d) if d.route().id_in_body.is_some() => None,
        _ => Some(PATH_ID),
    };
    let mut echoes = Vec::new();
    for &to_id in ENDPOINTS.iter() {
        let to = endpoint(to_id);
        for mode in [Mode::Strict, Mode::Lenient] {
            let what = format!("{} -> {to_id} ({mode:?})", from.id());
            match reg.translate(from, &to, path_id, body, mode) {
                Ok(t) => {
                    // Towards canonical the outbound body is the canonical patch itself.
                    let patch = &t.outbound.body;
                    let tolerated = TOLERATE_EMPTY_PATCH && patch.as_object().is_some_and(|m| m.is_empty());
                    if to_id == "canonical"
                        && let Err(p) = reg.validate_request(&Endpoint::Canonical, patch)
                        && !tolerated
                    {
                        return Err(format!(
                            "{what}: the canonical patch does not validate: {patch} — {}",
                            describe(&p)
                        ));
                    }
                    if to.dialect().is_some()
                        && let Err(p) = reg.validate_request(&to, &t.outbound.body)
                    {
                        return Err(format!(
                            "{what}: the outbound body does not validate: {} — {}",
                            t.outbound.body,
                            describe(&p)
                        ));
                    }
                    if mode == Mode::Strict && !t.fidelity.dropped.is_empty() {
                        return Err(format!("{what}: strict mode dropped {:?}", t.fidelity.dropped));
                    }
                    if t.id.is_empty() || path_id.is_some_and(|id| id != t.id) {
                        return Err(format!("{what}: wrong customer id {:?}", t.id));
                    }
                }
                Err(problem) => {
                    if !(400..500).contains(&problem.status) {
                        return Err(format!(
                            "{what}: a refused request is not a client error: {}",
                            describe(&problem)
                        ));
                    }
                    let out = check_rendered(from, &problem, path_id, true, secrets)
                        .map_err(|e| format!("{what}: {e}"))?;
                    echoes.extend(out.into_iter().map(|e| format!("{what}: {e}")));
                }
            }
        }
    }
    Ok(echoes)
}

// -------------------------------------------------------------------------------- answers

/// The `answer_<upstream>` invariants: 2 status bytes, then the upstream's body.
pub fn check_answer(upstream: &str, data: &[u8]) -> Result<(), String> {
    let [hi, lo, body @ ..] = data else {
        return Ok(());
    };
    let raw = u16::from_be_bytes([*hi, *lo]);
    let status = if (100..=999).contains(&raw) {
        raw
    } else {
        100 + raw % 900
    };
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let secrets = parsed.as_ref().map(secrets_of).unwrap_or_default();
    let echoes = run_answer(upstream, status, body, &secrets)?;
    if let (Some(first), Some(parsed)) = (echoes.first(), &parsed) {
        let (canaried, canaries) = with_canaries(parsed);
        let bytes = serde_json::to_vec(&canaried).map_err(|e| e.to_string())?;
        if let Some(echo) = run_answer(upstream, status, &bytes, &canaries)?.first() {
            return Err(format!(
                "{upstream} {status}: a password value of the upstream's body is echoed ({echo}); first seen as: {first}"
            ));
        }
    }
    Ok(())
}

fn run_answer(upstream: &str, status: u16, body: &[u8], secrets: &[String]) -> Result<Vec<String>, String> {
    let reg = registry();
    let mut echoes = Vec::new();
    for source in [upstream, "canonical"] {
        let from = endpoint(source);
        let what = format!("{source} answered {status}");
        match reg.read_answer(&from, status, body) {
            Answer::Customer(customer) => {
                if !(200..300).contains(&status) {
                    return Err(format!("{what}: read as a Customer"));
                }
                let tolerated = TOLERATE_UNCHECKED_DECODED_CUSTOMER && source != "canonical";
                if !(tolerated || reg.canonical().is_valid_customer(&customer)) {
                    return Err(format!(
                        "{what}: read as an invalid canonical Customer: {customer}"
                    ));
                }
                let lacks_id = customer.get("id").is_none();
                for &to_id in ENDPOINTS.iter() {
                    let to = endpoint(to_id);
                    let what = format!("{what}, encoded for {to_id}");
                    match reg.encode_answer(&to, &customer) {
                        Ok((st, out)) => {
                            let bytes = serde_json::to_vec(&out).map_err(|e| e.to_string())?;
                            match to.dialect() {
                                Some(_) if TOLERATE_CUSTOMER_WITHOUT_ID && lacks_id => {}
                                Some(d) => {
                                    if !d.is_valid_response_body(&out) {
                                        return Err(format!(
                                            "{what}: does not match the response schema: {out}"
                                        ));
                                    }
                                    if !matches!(reg.read_answer(&to, st, &bytes), Answer::Customer(_)) {
                                        return Err(format!(
                                            "{what}: {st} {out} does not read back as a Customer"
                                        ));
                                    }
                                }
                                None => {
                                    let valid = tolerated || reg.canonical().is_valid_customer(&out);
                                    if !valid || out.get("password").is_some() {
                                        return Err(format!("{what}: not a valid canonical Customer: {out}"));
                                    }
                                }
                            }
                            if !(200..300).contains(&st) {
                                return Err(format!("{what}: success answered with status {st}"));
                            }
                            echoes.extend(find_secrets(&bytes, secrets).map(|s| format!("{what}: {s}")));
                        }
                        Err(problem) => {
                            let out = check_rendered(&to, &problem, Some(PATH_ID), false, secrets)
                                .map_err(|e| format!("{what}: refused, and {e}"))?;
                            echoes.extend(out.into_iter().map(|e| format!("{what}: {e}")));
                        }
                    }
                }
            }
            Answer::Problem(problem) => {
                for &to_id in ENDPOINTS.iter() {
                    if source == "canonical" && to_id == "canonical" && TOLERATE_CANONICAL_PROBLEM_PASSTHROUGH
                    {
                        let rendered = reg.render_error(&Endpoint::Canonical, &problem, Some(PATH_ID));
                        echoes.extend(
                            find_secrets(&rendered.body, secrets)
                                .map(|e| format!("{what}, rendered for canonical: {e}")),
                        );
                        continue;
                    }
                    let out = check_rendered(&endpoint(to_id), &problem, Some(PATH_ID), false, secrets)
                        .map_err(|e| format!("{what}, rendered for {to_id}: {e}"))?;
                    echoes.extend(
                        out.into_iter()
                            .map(|e| format!("{what}, rendered for {to_id}: {e}")),
                    );
                }
            }
        }
    }
    // The error classifier on its own, on every status (read_answer only uses it off the
    // success path).
    let d = endpoint(upstream);
    if let Some(dialect) = d.dialect() {
        let problem = dialect.classify_error(status, body);
        for to in [&d, &Endpoint::Canonical] {
            let out = check_rendered(to, &problem, None, false, secrets)
                .map_err(|e| format!("{upstream} {status} classified, rendered for {}: {e}", to.id()))?;
            echoes.extend(out);
        }
    }
    Ok(echoes)
}

// ------------------------------------------------------------------------------- rendering

/// Renders `problem` for `to`: a status `to` may answer errors with (for canonical an error
/// status, 4xx only when `client`), a JSON body that
/// matches `to`'s error schema. Returns where a secret shows up (in the rendered body or in
/// the problem's own JSON, which is what gets logged).
fn check_rendered(
    to: &Endpoint,
    problem: &Problem,
    id: Option<&str>,
    client: bool,
    secrets: &[String],
) -> Result<Vec<String>, String> {
    let reg = registry();
    let rendered = reg.render_error(to, problem, id);
    // A dialect may answer errors with any status it documents (MicroBase's validation errors
    // are 200 with `ok: false`); canonical answers an error with an error status.
    let statuses = match (to, client) {
        (Endpoint::Dialect(_), _) => 100..600,
        (Endpoint::Canonical, true) => 400..500,
        (Endpoint::Canonical, false) => 400..600,
    };
    if !statuses.contains(&rendered.status) {
        return Err(format!(
            "{} renders {} as status {}",
            to.id(),
            describe(problem),
            rendered.status
        ));
    }
    let essence = rendered.content_type.split(';').next().unwrap_or_default().trim();
    if essence == "application/json" || essence.ends_with("+json") {
        let body: Value = serde_json::from_slice(&rendered.body).map_err(|e| {
            format!(
                "{} renders {} as invalid JSON ({e}): {:?}",
                to.id(),
                describe(problem),
                String::from_utf8_lossy(&rendered.body)
            )
        })?;
        let valid = match to.dialect() {
            Some(d) => d.is_valid_error_body(&body),
            None => reg.canonical().is_valid_problem(&body),
        };
        if !valid {
            return Err(format!(
                "{} renders {} as a body its error schema refuses: {body}",
                to.id(),
                describe(problem)
            ));
        }
    }
    let mut echoes: Vec<String> = find_secrets(&rendered.body, secrets)
        .map(|s| format!("{} error body: {s}", to.id()))
        .collect();
    echoes.extend(find_secrets(&problem_json(problem), secrets).map(|s| format!("problem: {s}")));
    Ok(echoes)
}

fn describe(problem: &Problem) -> String {
    String::from_utf8_lossy(&problem_json(problem)).into_owned()
}

// --------------------------------------------------------------------------------- secrets
