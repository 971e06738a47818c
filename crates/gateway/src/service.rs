//! The request pipeline, one async function per phase, named after what it does:
//! route → admit (in-flight limit) → authenticate → read body (limit, timeout) → parse →
//! translate (validate, decode, policy, encode) → forward → answer. Any failure at any phase is
//! answered in the caller's own dialect.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{Answer, Dialect, Endpoint, Fidelity, Registry, parse_strict};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};
use serde_json::{Map, Value};
use tracing::Instrument;

use crate::backend::Backend;
use crate::carryover::{Capacity, Carried};
use crate::config::{Config, CredentialMode};
use crate::credentials;
use crate::metrics::{DialectHandles, Metrics, UpstreamLabels, ValidationLabels};
use crate::token::TokenStore;
use crate::upstream::{HttpUpstream, Upstream};
use crate::upstream_headers::{UpstreamHeaders, check_idempotency_key};
use prometheus_client::metrics::histogram::Histogram;

/// The request id header, accepted from callers or generated, and returned on every answer.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Longest request URI accepted (path and query); longer gets 414.
const MAX_URI_BYTES: usize = 8 * 1024;

/// Lists what a lenient translation derived or dropped.
pub const X_FIDELITY: HeaderName = HeaderName::from_static("x-dialectgate-fidelity");

/// Everything a request needs, built once at startup and shared.
#[derive(Debug)]
pub struct Gateway {
    registry: Arc<Registry>,
    upstream: Upstream,
    upstream_endpoint: Endpoint,
    config: Config,
    /// Builds the upstream call's headers.
    upstream_headers: UpstreamHeaders,
    /// Each loaded dialect's metric series, resolved once.
    dialect_metrics: Vec<(String, DialectHandles)>,
    /// `upstream_duration_seconds` of this upstream, resolved once.
    upstream_duration: Histogram,
    /// Requests handled at once; shared with the previous and next configurations.
    in_flight: Capacity,
    /// Requests past admission that may be parsed, translated and sent upstream at once; the
    /// others wait here with only their raw body read (not the parsed and translated JSON),
    /// and the upstream sees at most this many connections. Shared like `in_flight`.
    working: Capacity,
    shared: Shared,
}

/// What outlives a configuration reload: the embedded store, the metrics, the issued tokens,
/// the admission limits (requests in flight under the old configuration count against the new
/// one) and the upstream's circuit breaker.
#[derive(Debug, Clone)]
pub struct Shared {
    pub backend: Arc<Backend>,
    pub metrics: Arc<Metrics>,
    pub tokens: Arc<TokenStore>,
    carried: Arc<Carried>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            backend: Arc::new(Backend::seeded()),
            metrics: Arc::new(Metrics::default()),
            tokens: Arc::new(TokenStore::default()),
            carried: Arc::default(),
        }
    }
}

/// Why the gateway cannot start with a configuration.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Dialects or schemas could not be loaded.
    #[error("cannot load the dialects")]
    Dialects(#[source] dialectgate_dialect::DialectError),
    /// `upstream.dialect` names no loaded dialect.
    #[error("upstream.dialect `{0}` is not `canonical` nor a loaded dialect")]
    UnknownUpstreamDialect(String),
    /// `server.only` names no loaded dialect.
    #[error("server.only names `{0}`, which is not a loaded dialect")]
    UnknownOnly(String),
    /// The upstream client could not be built.
    #[error("cannot set up the upstream")]
    Client(#[source] crate::upstream::BuildError),
}

/// One outcome, for the log line.
struct Outcome {
    dialect: String,
    status: u16,
    result: &'static str,
}

impl Gateway {
    /// Loads dialects and builds the upstream from `config`.
    ///
    /// # Errors
    /// See [`StartError`].
    pub fn new(config: Config) -> Result<Gateway, StartError> {
        let registry =
            Registry::load(&config.dialects_dir, &config.schemas_dir).map_err(StartError::Dialects)?;
        Gateway::with_registry(config, registry, Shared::default())
    }

    /// Builds a gateway from an already loaded registry and backend (tests, hot reload).
    ///
    /// # Errors
    /// See [`StartError`].
    pub fn with_registry(
        config: Config,
        mut registry: Registry,
        shared: Shared,
    ) -> Result<Gateway, StartError> {
        let upstream_endpoint = registry
            .endpoint(&config.upstream_dialect)
            .ok_or_else(|| StartError::UnknownUpstreamDialect(config.upstream_dialect.clone()))?;
        if !config.only.is_empty() {
            registry.retain(&config.only).map_err(StartError::UnknownOnly)?;
        }
        let carried = &shared.carried;
        let (upstream, breaker) = match &config.upstream_url {
            None => (Upstream::Embedded(shared.backend.clone()), None),
            Some(url) => {
                let breaker =
                    carried
                        .breaker
                        .breaker_for(url, config.breaker_failures, config.breaker_cooldown);
                let http = HttpUpstream::new(url, &config, breaker.clone()).map_err(StartError::Client)?;
                (Upstream::Http(http), Some((url.clone(), breaker)))
            }
        };
        // Nothing below fails: this gateway goes into service, so it takes over the limits.
        carried.breaker.keep(breaker);
        carried.in_flight.resize(config.max_in_flight);
        carried.working.resize(config.max_working);
        let upstream_headers = UpstreamHeaders::new(&config, &upstream_endpoint);
        let dialect_metrics = registry
            .dialects()
            .iter()
            .map(|d| {
                let id = d.id().to_owned();
                let handles = shared.metrics.handles(&id, upstream_endpoint.id());
                (id, handles)
            })
            .collect();
        let upstream_duration = shared
            .metrics
            .upstream_duration
            .get_or_create(&UpstreamLabels {
                upstream: upstream_endpoint.id().to_owned(),
            })
            .clone();
        Ok(Gateway {
            registry: Arc::new(registry),
            upstream,
            upstream_endpoint,
            upstream_headers,
            dialect_metrics,
            upstream_duration,
            in_flight: carried.in_flight.clone(),
            working: carried.working.clone(),
            config,
            shared,
        })
    }

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

    /// The upstream.
    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// Handles one request. Never fails: every failure becomes an answer.
    pub async fn handle<B>(&self, req: Request<B>, peer: Option<SocketAddr>) -> Response<Full<Bytes>>
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let started = Instant::now();
        let request_id = request_id(req.headers());
        let method = req.method().clone();
        // For the log line; cloning a request's Uri shares its bytes.
        let uri = req.uri().clone();
        let metrics = &self.shared.metrics;
        metrics.in_flight.inc();
        let span = tracing::info_span!(
            "request",
            request_id = %request_id,
            dialect = tracing::field::Empty,
            upstream = %self.upstream_endpoint.id(),
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
        let (mut response, outcome) = self.route(req, peer, &request_id).instrument(span.clone()).await;
        metrics.in_flight.dec();
        span.record("dialect", outcome.dialect.as_str());
        span.record("outcome", outcome.result);
        metrics.request(
            self.dialect_metrics(&outcome.dialect),
            &outcome.dialect,
            self.upstream_endpoint.id(),
            outcome.result,
            outcome.status,
            started.elapsed(),
        );
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert(X_REQUEST_ID, v);
        }
        let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        // One line per request; never the body, never a credential, never a customer id.
        tracing::info!(
            request_id = %request_id,
            %method,
            path = self.logged_path(uri.path(), &outcome.dialect),
            dialect = %outcome.dialect,
            upstream = %self.upstream_endpoint.id(),
            status = outcome.status,
            outcome = outcome.result,
            elapsed_us,
            "Request handled."
        );
        response
    }

    /// The path for the access log: the route template of the dialect that served the request
    /// (`/admin/customers/{id}`: customer ids, which can be emails, stay out of logs), or its
    /// token endpoint; a path no dialect serves is cut to 128 bytes.
    fn logged_path<'a>(&'a self, path: &'a str, dialect: &str) -> &'a str {
        match self.registry.dialect(dialect) {
            Some(d) if d.auth().token_endpoint.as_ref().is_some_and(|t| t.path == path) => path,
            Some(d) => &d.route().path,
            None => {
                let mut end = path.len().min(128);
                while !path.is_char_boundary(end) {
                    end -= 1;
                }
                &path[..end]
            }
        }
    }

    async fn route<B>(
        &self,
        req: Request<B>,
        peer: Option<SocketAddr>,
        request_id: &str,
    ) -> (Response<Full<Bytes>>, Outcome)
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        // Framing checks hyper leaves to the application.
        if req.uri().path_and_query().map_or(0, |pq| pq.as_str().len()) > MAX_URI_BYTES {
            let mut problem = Problem::new(ErrorKind::Malformed, "the request URI is too long");
            problem.status = 414;
            let mut rsp = plain_problem(&problem);
            *rsp.status_mut() = StatusCode::URI_TOO_LONG;
            return (
                rsp,
                Outcome {
                    dialect: "-".into(),
                    status: 414,
                    result: "uri_too_long",
                },
            );
        }
        if req.version() == http::Version::HTTP_11 && !req.headers().contains_key(header::HOST) {
            let problem = Problem::new(ErrorKind::Malformed, "an HTTP/1.1 request needs a Host header");
            return (
                plain_problem(&problem),
                Outcome {
                    dialect: "-".into(),
                    status: 400,
                    result: "no_host",
                },
            );
        }
        let path = req.uri().path();
        let mut path_match = None;
        for dialect in self.registry.dialects() {
            if let Some(id) = dialect.match_path(path) {
                path_match = Some((dialect.clone(), id));
                break;
            }
        }
        let Some((dialect, path_id)) = path_match else {
            if req.method() == Method::POST
                && let Some(d) = self
                    .registry
                    .dialects()
                    .iter()
                    .find(|d| d.auth().token_endpoint.as_ref().is_some_and(|t| t.path == path))
            {
                return self.token(d.clone(), req).await;
            }
            let problem = Problem::new(ErrorKind::NotFound, format!("no dialect serves {path}"));
            return (
                plain_problem(&problem),
                Outcome {
                    dialect: "-".into(),
                    status: 404,
                    result: "no_route",
                },
            );
        };
        let caller = Endpoint::Dialect(dialect.clone());
        let answer = |problem: Problem, id: Option<&str>, result: &'static str| {
            let (rsp, status) = self.error_response(&caller, &problem, id);
            (
                rsp,
                Outcome {
                    dialect: dialect.id().to_owned(),
                    status,
                    result,
                },
            )
        };
        if !dialect.accepts_method(req.method().as_str()) {
            let (mut rsp, outcome) = answer(
                Problem::new(
                    ErrorKind::MethodNotAllowed,
                    format!("{} is not allowed here", req.method()),
                ),
                path_id.as_deref(),
                "method_not_allowed",
            );
            let allow = std::iter::once(&dialect.route().method)
                .chain(&dialect.route().also_methods)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if let Ok(v) = HeaderValue::from_str(&allow) {
                rsp.headers_mut().insert(header::ALLOW, v);
            }
            return (rsp, outcome);
        }
        // Admission before any work: past the limit, answer at once and cheaply.
        let Some(_permit) = self.in_flight.try_acquire() else {
            let (mut rsp, outcome) = answer(
                Problem::new(
                    ErrorKind::Overloaded,
                    "too many requests in flight; retry shortly",
                ),
                path_id.as_deref(),
                "overloaded",
            );
            rsp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return (rsp, outcome);
        };
        let (parts, body) = req.into_parts();
        match self
            .pipeline(
                &dialect,
                &caller,
                parts,
                body,
                path_id.as_deref(),
                peer,
                request_id,
            )
            .await
        {
            Ok((rsp, result)) => {
                let status = rsp.status().as_u16();
                (
                    rsp,
                    Outcome {
                        dialect: dialect.id().to_owned(),
                        status,
                        result,
                    },
                )
            }
            Err((problem, id, result)) => answer(problem, id.as_deref().or(path_id.as_deref()), result),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn pipeline<B>(
        &self,
        dialect: &Arc<Dialect>,
        caller: &Endpoint,
        parts: http::request::Parts,
        body: B,
        path_id: Option<&str>,
        peer: Option<SocketAddr>,
        request_id: &str,
    ) -> Result<(Response<Full<Bytes>>, &'static str), (Problem, Option<String>, &'static str)>
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let fail = |p: Problem, result: &'static str| (p, None, result);
        // Authenticate.
        let Some(token) = credentials::extract(dialect, &parts.headers) else {
            return Err(fail(
                Problem::new(ErrorKind::Unauthorized, "a valid credential is required"),
                "unauthorized",
            ));
        };
        // A credential goes upstream only in passthrough mode (a token's bound secret, never
        // the token); in static mode the gateway's own (prebuilt as a header) does.
        let passthrough_token = match credentials::authenticate(&self.config, &self.shared.tokens, &token) {
            credentials::Access::Granted => None,
            credentials::Access::PassOn(secret) => Some(secret),
            credentials::Access::Refused => {
                return Err(fail(
                    Problem::new(ErrorKind::Unauthorized, "the credential is not valid"),
                    "unauthorized",
                ));
            }
        };
        // Content type.
        check_content_type(&parts.headers).map_err(|p| fail(p, "unsupported_media_type"))?;
        check_idempotency_key(&parts.headers).map_err(|p| fail(p, "bad_idempotency_key"))?;
        // Body: refuse a declared oversize at once; otherwise read with a cap and a deadline.
        let limit = self.config.max_body_bytes;
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(fail(too_large(limit), "payload_too_large"));
        }
        let bytes = self
            .read_body(body, limit)
            .await
            .map_err(|(p, result)| fail(p, result))?;
        // Wait for a working slot with the body read but not parsed; the slot is held until
        // the answer is built.
        let Ok(Some(_working)) =
            tokio::time::timeout(self.config.upstream_timeout, self.working.acquire()).await
        else {
            return Err(fail(
                Problem::new(
                    ErrorKind::Overloaded,
                    "too many requests in flight; retry shortly",
                ),
                "overloaded",
            ));
        };
        let mut body = parse_strict(&bytes, self.config.max_depth).map_err(|e| {
            fail(
                Problem::new(ErrorKind::Malformed, format!("the body is not valid JSON: {e}")),
                "malformed",
            )
        })?;
        dialect
            .apply_query(parts.uri.query().unwrap_or_default(), &mut body)
            .map_err(|p| fail(p, "validation"))?;
        let body_id = dialect
            .route()
            .id_in_body
            .as_ref()
            .and_then(|p| p.get(&body))
            .and_then(Value::as_str)
            .map(str::to_owned);
        // Translate.
        let translate_started = Instant::now();
        let translation = {
            let _span = tracing::debug_span!("translate").entered();
            self.registry
                .translate(caller, &self.upstream_endpoint, path_id, &body, self.config.mode)
        };
        let mut translate_time = translate_started.elapsed();
        let translation = translation.map_err(|p| {
            let result = if p.kind() == ErrorKind::Validation {
                "validation"
            } else {
                "untranslatable"
            };
            for v in &p.errors {
                self.shared
                    .metrics
                    .validation_failures
                    .get_or_create(&ValidationLabels {
                        dialect: dialect.id().to_owned(),
                        keyword: v.code.clone(),
                    })
                    .inc();
            }
            (p, body_id.clone(), result)
        })?;
        let id = translation.id.clone();
        // Forward.
        let answer = match &self.upstream {
            // The embedded backend speaks canonical: the outbound body is the canonical patch.
            Upstream::Embedded(backend) => {
                match backend.update(&id, translation.outbound.body.as_object().unwrap_or(&Map::new())) {
                    Ok(doc) => Answer::Customer(doc),
                    Err(p) => Answer::Problem(p),
                }
            }
            Upstream::Http(http) => {
                let headers = self.upstream_headers.build(
                    dialect,
                    &parts.headers,
                    passthrough_token.as_ref(),
                    peer,
                    request_id,
                );
                let repeatable = matches!(translation.outbound.method.as_str(), "PUT" | "PATCH")
                    || parts.headers.contains_key("idempotency-key");
                let upstream_started = Instant::now();
                let sent = http
                    .send(&translation.outbound, headers, repeatable)
                    .instrument(tracing::debug_span!("forward"))
                    .await;
                self.upstream_duration
                    .observe(upstream_started.elapsed().as_secs_f64());
                match sent {
                    Ok((status, body)) => {
                        if status >= 500 {
                            self.shared
                                .metrics
                                .upstream_error(self.upstream_endpoint.id(), "5xx");
                        }
                        let read_started = Instant::now();
                        let answer = self.registry.read_answer(&self.upstream_endpoint, status, &body);
                        translate_time += read_started.elapsed();
                        answer
                    }
                    // The caller's id could not make a URL: its error, never sent, not logged.
                    Err(e @ crate::upstream::UpstreamError::Unsendable) => {
                        return Err((e.problem(), Some(id), "unsendable"));
                    }
                    Err(e) => {
                        self.shared
                            .metrics
                            .upstream_error(self.upstream_endpoint.id(), e.label());
                        // Neither the URL (it holds the customer id) nor caller input: the
                        // error and its cause carry neither (`without_url`).
                        tracing::warn!(request_id, error = %e, cause = ?std::error::Error::source(&e).map(ToString::to_string), "Upstream call failed.");
                        return Err((e.problem(), Some(id), "upstream_error"));
                    }
                }
            }
        };
        // Answer in the caller's dialect.
        let customer = match answer {
            Answer::Customer(doc) => doc,
            Answer::Problem(p)
                if self.config.credential_mode == CredentialMode::Static
                    && matches!(p.kind(), ErrorKind::Unauthorized | ErrorKind::Forbidden) =>
            {
                // The upstream refused the gateway's own credential: a configuration fault of
                // the gateway, not something the caller can fix.
                tracing::error!(
                    request_id,
                    status = p.status,
                    "The upstream refused the gateway's credential."
                );
                let problem = Problem::new(
                    ErrorKind::BadGateway,
                    "the upstream refused the gateway's credential",
                );
                return Err((problem, Some(id), "upstream_auth"));
            }
            Answer::Problem(p) => return Err((p, Some(id), "upstream_refused")),
        };
        let encode_started = Instant::now();
        let (status, out) = self
            .registry
            .encode_answer(caller, &customer)
            .map_err(|p| (p, Some(id.clone()), "untranslatable_answer"))?;
        let mut rsp = json_response(
            status,
            "application/json",
            serde_json::to_vec(&out).unwrap_or_default(),
        );
        translate_time += encode_started.elapsed();
        match self.dialect_metrics(dialect.id()) {
            Some(h) => h.translation_duration.observe(translate_time.as_secs_f64()),
            None => self
                .shared
                .metrics
                .translation_duration
                .get_or_create(&crate::metrics::DialectLabels {
                    dialect: dialect.id().to_owned(),
                })
                .observe(translate_time.as_secs_f64()),
        }
        if !translation.fidelity.is_exact()
            && let Ok(v) = HeaderValue::from_str(&fidelity_header(&translation.fidelity))
        {
            rsp.headers_mut().insert(X_FIDELITY, v);
        }
        Ok((rsp, "ok"))
    }

    /// The OAuth2 token endpoint a vendor SDK calls before its first request (see `token.rs`).
    async fn token<B>(&self, dialect: Arc<Dialect>, req: Request<B>) -> (Response<Full<Bytes>>, Outcome)
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let outcome = |status: u16, result: &'static str| Outcome {
            dialect: dialect.id().to_owned(),
            status,
            result,
        };
        let answer = match &dialect.auth().token_endpoint {
            Some(endpoint) => crate::token::endpoint(self, endpoint, req.into_body()).await,
            None => Err((Problem::new(ErrorKind::NotFound, "no token endpoint"), "no_route")),
        };
        match answer {
            Ok(rsp) => (rsp, outcome(200, "token")),
            Err((problem, result)) => {
                let (rsp, status) = self.error_response(&Endpoint::Dialect(dialect.clone()), &problem, None);
                (rsp, outcome(status, result))
            }
        }
    }

    /// Reads a body with a cap and a deadline: never more than `limit` bytes, never longer than
    /// the configured body read timeout. The error carries the outcome label for the log line.
    pub(crate) async fn read_body<B>(&self, body: B, limit: usize) -> Result<Bytes, (Problem, &'static str)>
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        match tokio::time::timeout(self.config.body_read_timeout, Limited::new(body, limit).collect()).await {
            Err(_) => Err((
                Problem::new(
                    ErrorKind::RequestTimeout,
                    "the request body was not received in time",
                ),
                "body_timeout",
            )),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                Err((too_large(limit), "payload_too_large"))
            }
            Ok(Err(_)) => Err((
                Problem::new(ErrorKind::Malformed, "the request body could not be read"),
                "body_error",
            )),
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
        }
    }

    fn error_response(
        &self,
        caller: &Endpoint,
        problem: &Problem,
        id: Option<&str>,
    ) -> (Response<Full<Bytes>>, u16) {
        let rendered = self.registry.render_error(caller, problem, id);
        let status = rendered.status;
        let mut rsp = json_response(status, &rendered.content_type, rendered.body);
        if problem.kind() == ErrorKind::Overloaded {
            rsp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        (rsp, status)
    }
}

fn too_large(limit: usize) -> Problem {
    Problem::new(
        ErrorKind::PayloadTooLarge,
        format!("the request body exceeds {limit} bytes"),
    )
}

fn check_content_type(headers: &HeaderMap) -> Result<(), Problem> {
    let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return Err(Problem::new(
            ErrorKind::UnsupportedMediaType,
            "Content-Type must be application/json",
        ));
    };
    let mut parts = ct.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let json =
        essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"));
    let charset_ok = parts.all(|p| {
        let p = p.trim().to_ascii_lowercase();
        !p.starts_with("charset=")
            || matches!(
                p.trim_start_matches("charset=").trim_matches('"'),
                "utf-8" | "utf8"
            )
    });
    if json && charset_ok {
        Ok(())
    } else {
        Err(Problem::new(
            ErrorKind::UnsupportedMediaType,
            "Content-Type must be application/json (UTF-8)",
        ))
    }
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

fn fidelity_header(f: &Fidelity) -> String {
    let mut parts = Vec::new();
    if !f.derived.is_empty() {
        let derived: Vec<String> = f
            .derived
            .iter()
            .map(|d| format!("{}<-{}", d.target, d.from.join("+")))
            .collect();
        parts.push(format!("derived={}", derived.join(",")));
    }
    if !f.dropped.is_empty() {
        let dropped: Vec<String> = f
            .dropped
            .iter()
            .map(|d| format!("{}({})", d.pointer, d.reason.code()))
            .collect();
        parts.push(format!("dropped={}", dropped.join(",")));
    }
    parts.join("; ")
}

/// The answer to a request whose handler failed unexpectedly: no detail leaves the gateway.
pub(crate) fn internal_error() -> Response<Full<Bytes>> {
    plain_problem(&Problem::new(
        ErrorKind::Internal,
        "the gateway failed to handle the request",
    ))
}

fn plain_problem(problem: &Problem) -> Response<Full<Bytes>> {
    json_response(
        problem.status,
        "application/problem+json",
        dialectgate_dialect::problem_json(problem),
    )
}

pub(crate) fn json_response(status: u16, content_type: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut rsp = Response::new(Full::new(Bytes::from(body)));
    *rsp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(content_type) {
        rsp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    rsp
}
