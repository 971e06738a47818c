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
    /// The dialect's route that served it, as the route phase found it for the access log
    /// (`route::logged_path_of`); `None` when not routed to an operation.
    pub(crate) route: Option<usize>,
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
            route: None,
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

/// Records the request in the request span (with span export built in), the metrics (`handles`:
/// the serving dialect's series, resolved once) and the access line.
pub(crate) fn log(
    span: &tracing::Span,
    (metrics, handles): (&Metrics, Option<&DialectHandles>),
    request: &Request<'_>,
    handled: &Handled,
) {
    let dialect = handled.dialect_id();
    // The span's dialect and outcome are for span exporters (OTLP, the `otlp` feature): no event
    // is written inside the span after this, so without one nothing would read them.
    if cfg!(feature = "otlp") {
        record(span, dialect, handled.outcome.label());
    }
    // One reading of the clock for the metric and the line.
    let elapsed = request.started.elapsed();
    metrics.request(
        handles,
        dialect,
        request.upstream,
        handled.outcome.label(),
        handled.status,
        elapsed,
    );
    let elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    // Plain `&str` values: the binary's access-log writer takes them without `fmt`. The
    // message too: a `&str` in the first field, where the macro would put it as `fmt::Arguments`
    // (the same field, value and place in the line, without going through `fmt`).
    tracing::info!(
        target: ACCESS_LOG_TARGET,
        message = "Request handled.",
        request_id = request.request_id,
        method = request.method.as_str(),
        path = request.path,
        dialect,
        upstream = request.upstream,
        status = handled.status,
        outcome = handled.outcome.label(),
        fault = handled.outcome.fault_field(),
        elapsed_us,
    );
}

/// Records `dialect` and `outcome` in the request span in one call: the subscriber takes both
/// at once (one dispatch, one append to the span's fields) where `Span::record` twice would
/// dispatch twice. The span holds the same fields either way.
fn record(span: &tracing::Span, dialect: &str, outcome: &str) {
    use tracing::field::Value;
    let Some(meta) = span.metadata() else {
        // A disabled span records nothing.
        return;
    };
    let fields = meta.fields();
    if let (Some(d), Some(o)) = (fields.field("dialect"), fields.field("outcome")) {
        span.record_all(&fields.value_set(&[
            (&d, Some(&dialect as &dyn Value)),
            (&o, Some(&outcome as &dyn Value)),
        ]));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    /// The fields one `Span::record` call hands the subscriber: name and value.
    type Call = Vec<(String, String)>;

    /// Keeps what each `Span::record` call hands the subscriber, one entry per call.
    #[derive(Clone, Default)]
    struct Records(Arc<Mutex<Vec<Call>>>);

    struct Collect(Vec<(String, String)>);

    impl Visit for Collect {
        fn record_str(&mut self, field: &Field, value: &str) {
            self.0.push((field.name().to_owned(), value.to_owned()));
        }
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.push((field.name().to_owned(), format!("{value:?}")));
        }
    }

    impl Subscriber for Records {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, values: &Record<'_>) {
            let mut seen = Collect(Vec::new());
            values.record(&mut seen);
            self.0.lock().unwrap().push(seen.0);
        }
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, _: &Event<'_>) {}
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    /// A span with the request span's fields (`service.rs`), the two the log phase records empty.
    fn request_span() -> tracing::Span {
        tracing::info_span!(
            "request",
            request_id = "r1",
            dialect = tracing::field::Empty,
            upstream = "medusa",
            outcome = tracing::field::Empty,
        )
    }

    #[test]
    fn the_dialect_and_the_outcome_are_recorded_in_one_call_with_their_values() {
        let records = Records::default();
        tracing::subscriber::with_default(records.clone(), || {
            let span = request_span();
            super::record(&span, "elasticpath", "ok");
        });
        let calls = records.0.lock().unwrap();
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(
            *calls,
            [vec![pair("dialect", "elasticpath"), pair("outcome", "ok")]]
        );
    }

    #[test]
    fn a_disabled_span_records_nothing() {
        super::record(&tracing::Span::none(), "elasticpath", "ok");
    }

    /// The log phase records the dialect and the outcome in the request span only in a build
    /// with span export (the `otlp` feature); the access line is written either way.
    #[test]
    fn the_span_is_recorded_in_only_with_span_export() {
        use bytes::Bytes;
        use http::{Method, Response};
        use http_body_util::Full;

        use crate::metrics::Metrics;
        use crate::outcome::Outcome;

        let records = Records::default();
        tracing::subscriber::with_default(records.clone(), || {
            let span = request_span();
            let (_, handled) = super::handled(None, Response::new(Full::new(Bytes::new())), Outcome::Ok);
            let request = super::Request {
                request_id: "r1",
                method: &Method::PUT,
                path: "/v2/customers/{id}",
                upstream: "medusa",
                started: std::time::Instant::now(),
            };
            super::log(&span, (&Metrics::default(), None), &request, &handled);
        });
        let recorded = records.0.lock().unwrap().len();
        assert_eq!(recorded, usize::from(cfg!(feature = "otlp")));
    }
}
