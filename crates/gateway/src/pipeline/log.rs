//! The log phase, the last one: how the request was handled goes into the metrics and into one
//! access line. The line never holds the body, a credential or a customer id (the path is the
//! one `route::logged_path` shows). The binary's access-log writer (`src/telemetry/access.rs`)
//! finds the line by [`ACCESS_LOG_TARGET`] and its fields.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use dialectgate_dialect::Dialect;
use http::{Method, Response};
use http_body_util::Full;

use crate::metrics::{DialectHandles, Metrics};
use crate::outcome::Outcome;

/// The tracing target of the access line. It keeps the name of the module that used to emit
/// the line (the line shows its target, and log filters name it).
pub const ACCESS_LOG_TARGET: &str = "dialectgate_gateway::service";

/// How a request was handled, for the metrics and the access line.
pub(crate) struct Handled {
    /// The dialect that served it (`None`: refused before any dialect claimed it).
    pub(crate) dialect: Option<Arc<Dialect>>,
    pub(crate) status: u16,
    pub(crate) outcome: Outcome,
}

impl Handled {
    /// The id of the dialect that served the request, or `-`.
    pub(crate) fn dialect_id(&self) -> &str {
        self.dialect.as_deref().map_or("-", Dialect::id)
    }
}

/// `rsp`, and how the request it answers was handled (by `dialect`, ending in `outcome`).
pub(crate) fn handled(
    dialect: Option<Arc<Dialect>>,
    rsp: Response<Full<Bytes>>,
    outcome: Outcome,
) -> (Response<Full<Bytes>>, Handled) {
    let status = rsp.status().as_u16();
    (
        rsp,
        Handled {
            dialect,
            status,
            outcome,
        },
    )
}

/// What the access line says of the request besides how it was handled.
pub(crate) struct Request<'a> {
    pub(crate) request_id: &'a str,
    pub(crate) method: &'a Method,
    /// The path as the log may show it (`route::logged_path`).
    pub(crate) path: &'a str,
    /// The upstream's dialect.
    pub(crate) upstream: &'a str,
    pub(crate) started: Instant,
}

/// Records the request in the request span, the metrics (`handles`: the serving dialect's
/// series, resolved once) and the access line.
pub(crate) fn log(
    span: &tracing::Span,
    (metrics, handles): (&Metrics, Option<&DialectHandles>),
    request: &Request<'_>,
    handled: &Handled,
) {
    let dialect = handled.dialect_id();
    span.record("dialect", dialect);
    span.record("outcome", handled.outcome.label());
    metrics.request(
        handles,
        dialect,
        request.upstream,
        handled.outcome.label(),
        handled.status,
        request.started.elapsed(),
    );
    let elapsed_us = u64::try_from(request.started.elapsed().as_micros()).unwrap_or(u64::MAX);
    // Plain `&str` values: the binary's access-log writer takes them without `fmt`.
    tracing::info!(
        target: ACCESS_LOG_TARGET,
        request_id = request.request_id,
        method = request.method.as_str(),
        path = request.path,
        dialect,
        upstream = request.upstream,
        status = handled.status,
        outcome = handled.outcome.label(),
        fault = handled.outcome.fault_field(),
        elapsed_us,
        "Request handled."
    );
}
