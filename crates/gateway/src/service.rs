//! The gateway and the driver of its request pipeline: [`Gateway::handle`] runs the phases of
//! `pipeline/` in order, one call each, so the order is read here and each phase's work in its
//! own file:
//!
//! 1. route (`pipeline::route`, after `read_body`'s framing checks): which dialect, or its token
//!    endpoint (`service/token_route.rs`);
//! 2. admit (`pipeline::admit`): requests in flight;
//! 3. authenticate (`pipeline::authenticate`, tokens from `token`);
//! 4. read the body (`pipeline::read_body`): content type, body with a cap and a deadline; then
//!    a working slot (`admit`);
//! 5. the operation (`service/operations.rs`): translate (`pipeline::translate`),
//!    read-modify-write (`pipeline::read_modify_write`), forward (`pipeline::forward`), answer
//!    (`pipeline::answer`);
//! 6. log (`pipeline::log`): the metrics and the access line.
//!
//! A refusal at any phase is a [`Failure`] answered in the caller's own dialect.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{Endpoint, Operation, Registry, measure};
use http::{HeaderValue, Request, Response};
use http_body::Body;
use http_body_util::Full;
use tracing::Instrument;

use crate::candidate::Candidate;
use crate::config::Config;
use crate::context::{Call, X_REQUEST_ID, request_id};
use crate::metrics::DialectHandles;
use crate::outcome::{Failure, Outcome};
use crate::pipeline::admit::{self, Admission};
use crate::pipeline::answer;
use crate::pipeline::authenticate;
use crate::pipeline::forward::{Forwarder, Forwarding};
use crate::pipeline::log::{self, Handled, handled};
use crate::pipeline::read_body;
use crate::pipeline::route::{self, Route, RouteIndex};
use crate::token::TokenKeys;

mod operations;
mod start;
mod token_route;

pub use self::start::{Shared, StartError};

/// Everything a request needs, built once per configuration and shared.
#[derive(Debug)]
pub struct Gateway {
    registry: Arc<Registry>,
    /// The registry's operation routes, indexed once (`pipeline::route`).
    routes: RouteIndex,
    config: Config,
    admission: Admission,
    forwarder: Forwarder,
    /// Each loaded dialect's metric series, resolved once.
    dialect_metrics: Vec<(String, DialectHandles)>,
    shared: Shared,
    /// The keys access tokens are sealed and opened with (`token.rs`).
    tokens: TokenKeys,
    /// Migration mode's candidate (`candidate.rs`); `None` when off.
    candidate: Option<Candidate>,
}

impl Gateway {
    fn dialect_metrics(&self, id: &str) -> Option<&DialectHandles> {
        self.dialect_metrics.iter().find(|(d, _)| d == id).map(|(_, h)| h)
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The loaded dialects.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The store and metrics this gateway shares with its successors.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The HTTP upstream's base URL; `None` when the embedded backend answers.
    pub fn upstream_base(&self) -> Option<&str> {
        self.forwarder.base()
    }

    /// The answer to a request at `path` whose handler failed unexpectedly: a 500 in the error
    /// shape of the dialect that serves the path (no detail leaves the gateway), else plain
    /// problem details.
    pub(crate) fn internal_error(&self, path: &str) -> Response<Full<Bytes>> {
        let Some(dialect) = route::serving((&self.registry, &self.routes), path) else {
            return answer::internal_error();
        };
        let failure = Failure::new(
            Outcome::Internal,
            Problem::new(ErrorKind::Internal, "the gateway failed to handle the request"),
        );
        let caller = Endpoint::Dialect(dialect.clone());
        answer::refusal(
            &self.registry,
            (&dialect, Operation::Update),
            &caller,
            &failure,
            (path, None),
        )
    }

    /// Handles one request: the phases in order, the log phase last. Never fails: every
    /// failure becomes an answer.
    ///
    /// What the log needs is taken from the request here, and the request moves at once into
    /// the route phase's future, boxed: that future holds every later phase's state (a few
    /// kilobytes) and is not copied again when the one returned here, small, is moved along
    /// (by the server's futures around it). Nothing is counted before the first poll.
    pub fn handle<B>(
        &self,
        req: Request<B>,
        peer: Option<SocketAddr>,
    ) -> impl Future<Output = Response<Full<Bytes>>>
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let started = Instant::now();
        let request_id = request_id(req.headers());
        let method = req.method().clone();
        let span = tracing::info_span!(
            "request",
            // Plain `&str` values, as in the access line: recorded without `fmt`.
            request_id = request_id.as_str(),
            dialect = tracing::field::Empty,
            upstream = self.forwarder.endpoint().id(),
            outcome = tracing::field::Empty,
        );
        #[cfg(feature = "otlp")]
        {
            // Continue the caller's W3C trace in the exported spans.
            use opentelemetry::propagation::TextMapPropagator;
            use tracing_opentelemetry::OpenTelemetrySpanExt;
            let cx = opentelemetry_sdk::propagation::TraceContextPropagator::new()
                .extract(&opentelemetry_http::HeaderExtractor(req.headers()));
            let _ = span.set_parent(cx);
        }
        let routed = Box::pin(async move {
            // For the log line; cloning a request's Uri shares its bytes.
            let uri = req.uri().clone();
            let routed = self.route(req, peer, (&request_id, uri.path())).await;
            (routed, request_id, uri)
        })
        .instrument(span.clone());
        async move {
            let metrics = &self.shared.metrics;
            metrics.in_flight.inc();
            let ((mut response, handled), request_id, uri) = routed.await;
            metrics.in_flight.dec();
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                response.headers_mut().insert(X_REQUEST_ID, v);
            }
            let path = route::logged_path_of(
                &self.registry,
                uri.path(),
                handled.dialect.as_deref(),
                handled.route,
            );
            let request = log::Request {
                request_id: &request_id,
                method: &method,
                path: &path,
                upstream: self.forwarder.endpoint().id(),
                started,
            };
            log::log(
                &span,
                (metrics, self.dialect_metrics(handled.dialect_id())),
                &request,
                &handled,
            );
            response
        }
    }

    /// The route phase, then the rest of a routed request's phases ([`Gateway::phases`]) or its
    /// dialect's token endpoint; a refusal is answered by the answer phase, in the caller's
    /// dialect once a dialect claims the request, else in plain problem details. `path`: the
    /// request's path (`req`'s own, kept by the caller for the log).
    async fn route<B>(
        &self,
        req: Request<B>,
        peer: Option<SocketAddr>,
        (request_id, path): (&str, &str),
    ) -> (Response<Full<Bytes>>, Handled)
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        // Refused before any dialect claims the request: plain problem details.
        let unclaimed =
            |failure: Failure| handled(None, answer::plain_problem(&failure.problem), failure.outcome);
        if let Err(failure) = read_body::check_framing(&req) {
            return unclaimed(failure);
        }
        let (dialect, operation, path_id, logged) =
            match route::route((&self.registry, &self.routes), req.method(), path) {
                Err(failure) => return unclaimed(failure),
                Ok(Route::Token(dialect)) => return self.token(dialect, req).await,
                Ok(Route::Operation {
                    dialect,
                    operation,
                    path_id,
                    logged,
                }) => (dialect, operation, path_id, logged),
            };
        let mut call = Call {
            dialect: &dialect,
            operation,
            caller: Endpoint::Dialect(dialect.clone()),
            path_id: path_id.as_deref(),
            peer,
            request_id,
        };
        let (rsp, outcome) = match self.phases(&mut call, req).await {
            Ok(rsp) => (rsp, Outcome::Ok),
            Err(failure) => (
                answer::refusal(
                    &self.registry,
                    (&dialect, call.operation),
                    &call.caller,
                    &failure,
                    (path, call.path_id),
                ),
                failure.outcome,
            ),
        };
        let (rsp, mut handled) = handled(Some(dialect), rsp, outcome);
        handled.route = Some(logged);
        (rsp, handled)
    }

    /// The phases after routing, in order: admit, authenticate, read the body (and wait for a
    /// working slot; where two operations share the method and path, the body picks one:
    /// `call.operation` is then set), then the operation's own (`service/operations.rs`).
    async fn phases<B>(&self, call: &mut Call<'_>, req: Request<B>) -> Result<Response<Full<Bytes>>, Failure>
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        route::check_method(call.dialect, call.operation, req.method())?;
        // Admission before any work: past the limit, answer at once and cheaply.
        let _admitted = self.admission.admit()?;
        let (parts, body) = req.into_parts();
        let pass_on = authenticate::check(call.dialect, &parts.headers, &self.config, &self.tokens)?;
        let (bytes, reading) =
            read_body::read_request(call, &parts.headers, body, &self.config.server, &self.admission).await?;
        let config = &self.config;
        // Wait for a working slot and the memory parsing and translating the body may take,
        // with the body read but not parsed; both are held until the answer is built.
        let needed = admit::request_reservation(&measure(&bytes), config.server.max_json_values.get());
        let (_working, memory) = self
            .admission
            .work(reading, needed, config.upstream.timeout)
            .await?;
        // An operation told by its body: the body is parsed here, once, and handed on.
        let mut parsed = None;
        if route::told_by_body(call.dialect, &parts.method, parts.uri.path()) {
            let (operation, body) = route::by_body(
                call.dialect,
                (&parts.method, parts.uri.path()),
                &bytes,
                config.server.json_limits(),
            )?;
            call.operation = operation;
            parsed = Some(body);
        }
        let call = &*call;
        let forwarding = Forwarding {
            headers: &parts.headers,
            pass_on: pass_on.as_ref(),
            memory: Mutex::new(memory),
        };
        let query = parts.uri.query().unwrap_or_default();
        // The operation's future (about 3.5 KB: the exchange with the upstream) is boxed: it is
        // copied once as it is made either way, and this one and the route phase's (boxed in
        // `handle`) stay small, so that box is filled with a small copy.
        match call.operation {
            // The update owns the body's bytes: they are dropped once parsed.
            Operation::Update => Box::pin(self.update(call, &forwarding, query, (bytes, parsed))).await,
            Operation::Retrieve => Box::pin(self.retrieve(call, &forwarding, query, (&bytes, parsed))).await,
        }
    }

    fn observe_translation(&self, dialect: &str, time: Duration) {
        match self.dialect_metrics(dialect) {
            Some(h) => h.translation_duration.observe(time.as_secs_f64()),
            None => self
                .shared
                .metrics
                .translation_duration
                .get_or_create(&crate::metrics::DialectLabels {
                    dialect: dialect.to_owned(),
                })
                .observe(time.as_secs_f64()),
        }
    }
}
