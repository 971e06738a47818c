//! The translate phase: the raw body is parsed strictly, the dialect's query parameters are
//! applied, and the request is validated, decoded and encoded for the upstream's dialect. A
//! refusal counts each schema violation in `dialectgate_validation_failures_total`.

use std::time::{Duration, Instant};

use bytes::Bytes;

use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{
    Endpoint, HELD_MIN_BYTES, HeldText, Limits, Registry, Step, parse_holding_text, parse_limited,
};
use serde_json::Value;

use crate::config::Config;
use crate::context::Call;
use crate::metrics::{Metrics, ValidationLabels};
use crate::outcome::{Failure, Outcome};

/// The caller's body parsed strictly within `limits`; a body that is not JSON is refused as
/// malformed.
pub(crate) fn parse_body(bytes: &[u8], limits: Limits) -> Result<Value, Failure> {
    parse_limited(bytes, limits).map_err(|e| {
        Failure::new(
            Outcome::Malformed,
            Problem::new(ErrorKind::Malformed, format!("the body is not valid JSON: {e}")),
        )
    })
}

/// `bytes` (and the `query` string) of `call` translated for `upstream` (or waiting for the
/// stored customer), the id the body carries (for a later refusal: the parsed body itself is
/// dropped here), and the time spent. The bytes are dropped as soon as they are parsed, before
/// the tree of the translation is built (`bench/memory/attribute.sh`), unless a large member
/// the translation carries whole is held as their text instead of a tree ([`HeldText`]);
/// `parsed` is their parse when the route phase already made it (an operation told by its
/// body), not made again.
pub(crate) fn translate(
    registry: &Registry,
    upstream: &Endpoint,
    config: &Config,
    metrics: &Metrics,
    call: &Call<'_>,
    query: &str,
    (bytes, parsed): (Bytes, Option<Value>),
) -> Result<(Step, Option<String>, Duration), Failure> {
    let (body, held) = match parsed {
        Some(body) => (Ok(body), None),
        None => match holding(registry, upstream, config, call, &bytes) {
            Some((body, held)) if !held.is_empty() => (Ok(body), Some(held)),
            // Nothing held: the whole tree.
            Some((body, _)) => (Ok(body), None),
            None => (parse_body(&bytes, config.server.json_limits()), None),
        },
    };
    drop(bytes);
    let (translation, id, elapsed) = match held {
        None => plan(registry, upstream, config, call, query, body?)?,
        Some(held) => plan_holding(registry, upstream, (config, call, query), body?, held)?,
    };
    match translation {
        Ok(step) => Ok((step, id, elapsed)),
        Err(p) => Err(refused(metrics, call, id, p)),
    }
}

/// [`plan`] of a body parsed with members `held` as text: kept when the translation can carry
/// them, else made again from the whole tree, so that neither what is sent nor what is refused
/// depends on holding.
#[cold]
fn plan_holding(
    registry: &Registry,
    upstream: &Endpoint,
    (config, call, query): (&Config, &Call<'_>, &str),
    body: Value,
    held: HeldText,
) -> Result<Planned, Failure> {
    match plan(registry, upstream, config, call, query, body)? {
        (Ok(Step::Ready(mut t)), id, elapsed) => match registry.hold_text(upstream, &mut t.outbound, held) {
            Ok(()) => Ok((Ok(Step::Ready(t)), id, elapsed)),
            Err(held) => again(registry, upstream, config, call, query, &held),
        },
        // Refused, or waiting for the stored customer.
        _ => again(registry, upstream, config, call, query, &held),
    }
}

/// The caller's body parsed with the large members the translation to `upstream` may carry
/// whole held as text, when there are any.
fn holding(
    registry: &Registry,
    upstream: &Endpoint,
    config: &Config,
    call: &Call<'_>,
    bytes: &Bytes,
) -> Option<(Value, HeldText)> {
    if bytes.len() < HELD_MIN_BYTES {
        return None;
    }
    let names = registry.held_members(&call.caller, upstream);
    if names.is_empty() {
        return None;
    }
    let limits = config.server.json_limits();
    let prefix = config.translation.overflow_prefix.as_str();
    parse_holding_text(bytes, limits, names, prefix, HELD_MIN_BYTES)
}

/// [`plan`] of the whole tree of the body `held` came from.
fn again(
    registry: &Registry,
    upstream: &Endpoint,
    config: &Config,
    call: &Call<'_>,
    query: &str,
    held: &HeldText,
) -> Result<Planned, Failure> {
    let body = parse_body(held.body(), config.server.json_limits())?;
    plan(registry, upstream, config, call, query, body)
}

/// A translation, the id the body carries and the time spent.
type Planned = (Result<Step, Problem>, Option<String>, Duration);

/// The caller's parsed `body`, with the `query` applied, translated for `upstream`.
fn plan(
    registry: &Registry,
    upstream: &Endpoint,
    config: &Config,
    call: &Call<'_>,
    query: &str,
    mut body: Value,
) -> Result<Planned, Failure> {
    call.dialect
        .apply_query(query, &mut body)
        .map_err(|p| Failure::new(Outcome::Validation, p))?;
    let started = Instant::now();
    let translation = {
        let _span = tracing::debug_span!("translate").entered();
        // The body is needed no more: what the translation carries whole is moved out of it.
        registry.plan_taking(
            &call.caller,
            upstream,
            call.path_id,
            &mut body,
            config.translation.options(),
        )
    };
    let elapsed = started.elapsed();
    // The body's id is never moved out, nor held as text.
    let id = body_id(call, &body);
    Ok((translation, id, elapsed))
}

/// The customer id the caller's `body` carries, when its dialect has it there.
pub(crate) fn body_id(call: &Call<'_>, body: &Value) -> Option<String> {
    let route = call.dialect.route();
    route
        .id_in_body
        .as_ref()
        .and_then(|p| p.get(body))
        .and_then(|v| route.id_format.decode_value(v))
}

/// The refusal of a translation: each violation counted in
/// `dialectgate_validation_failures_total`; the answer names `body_id`, the id the caller's body
/// carries ([`body_id`]).
pub(crate) fn refused(metrics: &Metrics, call: &Call<'_>, body_id: Option<String>, p: Problem) -> Failure {
    let dialect = call.dialect;
    let outcome = if p.kind() == ErrorKind::Validation {
        Outcome::Validation
    } else {
        Outcome::Untranslatable
    };
    for v in &p.errors {
        metrics
            .validation_failures
            .get_or_create(&ValidationLabels {
                dialect: dialect.id().to_owned(),
                keyword: v.code.clone(),
            })
            .inc();
    }
    Failure::new(outcome, p).about(body_id)
}
