//! The upstream interface, a `tower::Service` taking an [`UpstreamRequest`] and giving a
//! [`Reply`], and the HTTP upstream: one pooled client behind it (`client`: for `http://`,
//! HTTP/1.1 on hyper's connection API with a pool of its one origin, `plain`; for `https://`,
//! hyper-util's with rustls, HTTP/2 by ALPN; each chosen because it measured cheaper per
//! request); timeout, retries and the circuit breaker are layers around it
//! (`pipeline::forward`). Also the upstream's errors, which the caller never sees in detail.

mod attempt;
mod client;
mod payload;
mod plain;

pub use self::attempt::Attempt;
pub use self::payload::Payload;

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{Answer, Operation, Outbound};
use http::HeaderMap;
use http_body_util::Full;
use rustls::pki_types::CertificateDer;
use tower::{BoxError, Service};

use crate::config::Config;

/// One call to the upstream.
#[derive(Debug, Clone)]
pub struct UpstreamRequest {
    /// The customer id (the embedded backend's key; an HTTP upstream has it in the path).
    pub id: String,
    /// Method, path and content type in the upstream's dialect (its `body` is `null`: the body
    /// travels in [`UpstreamRequest::body`]); shared by the attempts.
    pub outbound: Arc<Outbound>,
    /// The body, shared by the attempts.
    pub body: Arc<Payload>,
    /// The headers built for the upstream (`pipeline::forward::headers`).
    pub headers: HeaderMap,
    /// Whether the call may be repeated (`forward::headers::repeatable`): a read, PUT, PATCH,
    /// or a write sent with the caller's `Idempotency-Key`.
    pub repeatable: bool,
    /// What the call does (the embedded backend's dispatch; an HTTP upstream has it in the
    /// method and path).
    pub operation: Operation,
}

impl UpstreamRequest {
    /// A call of `outbound` for customer `id`; its body moves into the shared [`Payload`].
    pub fn new(
        id: String,
        mut outbound: Outbound,
        headers: HeaderMap,
        (operation, repeatable): (Operation, bool),
    ) -> UpstreamRequest {
        let body = Payload::new(
            std::mem::take(&mut outbound.body),
            std::mem::take(&mut outbound.held),
        );
        UpstreamRequest {
            id,
            outbound: Arc::new(outbound),
            body: Arc::new(body),
            headers,
            repeatable,
            operation,
        }
    }
}

/// What the upstream gave back.
#[derive(Debug)]
pub enum Reply {
    /// An HTTP answer, to be read in the upstream's dialect.
    Http { status: u16, body: Bytes },
    /// An answer already understood (the embedded backend's).
    Answer(Answer),
}

/// An HTTP upstream: base URL plus one pooled client, built once. Cloning it is one reference
/// count: the stack is cloned for every call and tower's retry layer clones itself again in
/// each call, where copying the client's settings and counting each of its shared parts cost
/// about 200 instructions a clone.
#[derive(Debug, Clone)]
pub struct HttpUpstream(Arc<Target>);

/// What an [`HttpUpstream`] holds, shared by its clones.
#[derive(Debug)]
struct Target {
    base: Box<str>,
    /// `base` parsed once; each request only sets its path.
    base_url: url::Url,
    /// The scheme and authority of `base_url` as the request URI holds them, parsed once
    /// (`None` if the URI grammar refuses them: every call then goes through the parser).
    origin: Option<(http::uri::Scheme, http::uri::Authority)>,
    /// The `Host` header of every call, made once from `base_url` (see [`host_header`]).
    host: Option<http::HeaderValue>,
    client: client::Client,
    max_response_bytes: usize,
}

/// Why an upstream client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The base URL does not parse.
    #[error("upstream.url is not a valid URL: {0}")]
    Url(String),
    /// The HTTP client could not be built (its TLS set-up).
    #[error("cannot build the upstream client")]
    Client(#[source] rustls::Error),
}

/// Why an upstream call produced no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The connection could not be made or was reset.
    #[error("cannot reach the upstream")]
    Connect(#[source] BoxError),
    /// No complete answer within the timeout.
    #[error("the upstream did not answer in time")]
    Timeout,
    /// The answer was larger than allowed.
    #[error("the upstream's answer exceeds {limit} bytes")]
    TooLarge { limit: usize },
    /// The answer was cut off or not HTTP.
    #[error("the upstream's answer was broken")]
    Protocol(#[source] BoxError),
    /// The circuit breaker is open: the upstream kept failing and is being left alone.
    #[error("the upstream is failing; calls are paused")]
    CircuitOpen,
    /// The request could not be built as the upstream's URL plus exactly the route: the
    /// caller's input, not the upstream, is at fault. Nothing was sent.
    #[error("the request cannot be sent upstream")]
    Unsendable,
}

impl UpstreamError {
    /// The canonical problem the caller gets (details of the upstream stay in the logs).
    pub fn problem(&self) -> Problem {
        match self {
            UpstreamError::Timeout => {
                Problem::new(ErrorKind::GatewayTimeout, "the upstream did not answer in time")
            }
            UpstreamError::Connect(_) => {
                Problem::new(ErrorKind::BadGateway, "the upstream could not be reached")
            }
            UpstreamError::TooLarge { .. } => {
                Problem::new(ErrorKind::BadGateway, "the upstream's answer is too large")
            }
            UpstreamError::Protocol(_) => {
                Problem::new(ErrorKind::BadGateway, "the upstream's answer was broken")
            }
            UpstreamError::CircuitOpen => {
                Problem::new(ErrorKind::Overloaded, "the upstream is failing; retry shortly")
            }
            UpstreamError::Unsendable => Problem::new(
                ErrorKind::Malformed,
                "the request cannot be sent upstream (check the customer id)",
            ),
        }
    }

    /// Whether this failure tells something about the upstream's health: refused or reset
    /// connections, timeouts and broken answers do. An answer over the size limit does not
    /// (the upstream answered; a caller's large payload echoed back can cause it), nor does a
    /// request that was never sent.
    pub fn is_upstream_health(&self) -> bool {
        matches!(
            self,
            UpstreamError::Connect(_) | UpstreamError::Timeout | UpstreamError::Protocol(_)
        )
    }

    /// A short label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            UpstreamError::Connect(_) => "connect",
            UpstreamError::Timeout => "timeout",
            UpstreamError::TooLarge { .. } => "too_large",
            UpstreamError::Protocol(_) => "protocol",
            UpstreamError::CircuitOpen => "circuit_open",
            UpstreamError::Unsendable => "unsendable",
        }
    }
}

/// Makes rustls with the ring provider the process's TLS provider, which every HTTPS client
/// takes when it is built: the upstream's and the candidate's, the OTLP exporter's (reqwest,
/// built without a provider of its own). The first call installs it; later ones find it
/// there, which is not an error.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl HttpUpstream {
    /// Builds the client for `base` (no trailing slash), trusting the system's certificate
    /// authorities and `roots` for `https://`. The timeout of each attempt is the stack's
    /// (`pipeline::forward`), not the client's.
    ///
    /// # Errors
    /// When the URL does not parse or the TLS backend cannot be initialised.
    pub fn new(
        base: &str,
        config: &Config,
        roots: &[CertificateDer<'static>],
    ) -> Result<HttpUpstream, BuildError> {
        let base_url = url::Url::parse(base).map_err(|e| BuildError::Url(e.to_string()))?;
        let plain = if base_url.scheme() == "http" {
            let origin = plain::Origin::of(&base_url);
            Some(origin.ok_or_else(|| BuildError::Url(format!("{base} has no host")))?)
        } else {
            None
        };
        let client = client::build(config, roots, plain).map_err(BuildError::Client)?;
        Ok(HttpUpstream(Arc::new(Target {
            base: base.into(),
            host: host_header(&base_url),
            origin: origin(&base_url),
            base_url,
            client,
            max_response_bytes: config.upstream.max_response_bytes.get(),
        })))
    }

    /// The configured base URL plus `path` (the route, with the id already encoded as one
    /// segment), checked to be exactly that before anything is sent: same scheme, host and
    /// port, the base path followed by `path` unchanged (no dot segment resolved, no
    /// separator reinterpreted), no fragment, and the query `query` exactly (empty: none; the
    /// dialect's own, a read's `id:in=12`, already encoded).
    ///
    /// A path and query whose every byte the URL parser keeps as it is (see [`kept_as_is`]),
    /// the usual case, are written after the base's origin directly; any other goes through the
    /// parser ([`Self::checked_url`]). Both give the same URI, or both refuse (a test compares
    /// them byte by byte).
    ///
    /// # Errors
    /// [`UpstreamError::Unsendable`] when the URL would be anything else.
    pub fn url_for(&self, path: &str, query: &str) -> Result<http::Uri, UpstreamError> {
        self.uri_for(path, query, false)
    }

    /// [`Self::url_for`]'s URI, or in `origin_form` its path and query alone (the same checks;
    /// the form an HTTP/1.1 request to the origin itself names its target in).
    fn uri_for(&self, path: &str, query: &str, origin_form: bool) -> Result<http::Uri, UpstreamError> {
        let prefix = self.0.base_url.path().trim_end_matches('/');
        // (A base with a fragment, which configuration refuses, is left to the parser's check.)
        if let Some((scheme, authority)) = &self.0.origin
            && self.0.base_url.fragment().is_none()
            && kept_as_is(prefix, path, query)
        {
            // Only the path and query are new: the origin's parts are shared, not parsed again.
            let mut text = String::with_capacity(prefix.len() + path.len() + 1 + query.len());
            text.push_str(prefix);
            text.push_str(path);
            if !query.is_empty() {
                text.push('?');
                text.push_str(query);
            }
            // One the URI grammar refuses is not sent.
            let target = http::uri::PathAndQuery::try_from(text).map_err(|_| UpstreamError::Unsendable)?;
            if origin_form {
                return Ok(http::Uri::from(target));
            }
            let mut parts = http::uri::Parts::default();
            parts.scheme = Some(scheme.clone());
            parts.authority = Some(authority.clone());
            parts.path_and_query = Some(target);
            return http::Uri::from_parts(parts).map_err(|_| UpstreamError::Unsendable);
        }
        let text = String::from(self.checked_url(prefix, path, query)?);
        // The text moves into the URI; one the URI grammar refuses is not sent.
        let uri = http::Uri::try_from(text).map_err(|_| UpstreamError::Unsendable)?;
        if !origin_form {
            return Ok(uri);
        }
        // (The parser's URL always has a path: at least `/`.)
        let target = uri.into_parts().path_and_query;
        target.map(http::Uri::from).ok_or(UpstreamError::Unsendable)
    }

    /// The base URL with its path `prefix` + `path` and its query `query` set by the URL
    /// parser, and only if it kept them exactly and stayed on the base's origin.
    fn checked_url(&self, prefix: &str, path: &str, query: &str) -> Result<url::Url, UpstreamError> {
        let mut want = String::with_capacity(prefix.len() + path.len());
        want.push_str(prefix);
        want.push_str(path);
        let mut url = url::Url::clone(&self.0.base_url);
        url.set_path(&want);
        url.set_query((!query.is_empty()).then_some(query));
        let same_origin = url.scheme() == self.0.base_url.scheme()
            && url.host() == self.0.base_url.host()
            && url.port_or_known_default() == self.0.base_url.port_or_known_default();
        if same_origin
            && url.path() == want
            && url.query().unwrap_or_default() == query
            && url.fragment().is_none()
        {
            Ok(url)
        } else {
            Err(UpstreamError::Unsendable)
        }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.0.base
    }

    /// The request of one call: the checked URL, the headers built for the upstream, the body.
    fn request(&self, request: UpstreamRequest) -> Result<http::Request<Full<Bytes>>, UpstreamError> {
        let outbound = &request.outbound;
        let uri = if self.0.client.origin_form() {
            self.uri_for(&outbound.path, &outbound.query, true)?
        } else {
            self.url_for(&outbound.path, &outbound.query)?
        };
        // A `null` body is no body (a GET).
        let has_body = !request.body.is_empty();
        let body = if has_body {
            Full::new(request.body.text())
        } else {
            Full::default()
        };
        let mut sent = http::Request::new(body);
        *sent.method_mut() =
            http::Method::from_bytes(outbound.method.as_bytes()).unwrap_or(http::Method::POST);
        *sent.uri_mut() = uri;
        // The request takes the headers (the retry policy copied them if another attempt may
        // follow).
        let headers = sent.headers_mut();
        *headers = request.headers;
        headers.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json"),
        );
        if let Some(host) = &self.0.host {
            headers.insert(http::header::HOST, host.clone());
        }
        if has_body {
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(outbound.content_type),
            );
        }
        Ok(sent)
    }

    /// One attempt on its own: the answer's status and body, read up to `limit` bytes (the
    /// tests drive it with a client of their own).
    #[cfg(test)]
    fn once(response: hyper_util::client::legacy::ResponseFuture, limit: usize) -> Attempt {
        Attempt::new(Ok(client::Sending::Pooled(response)), limit)
    }
}

/// Whether the URL parser keeps the path `prefix` + `path` and the query `query` exactly as
/// they are, judged on their bytes alone (when not, [`HttpUpstream::checked_url`] asks the
/// parser): `path` starts with `/`; the path has only unreserved characters, sub-delimiters,
/// `:`, `@` and `/` (no `%`, so no encoded dot), and no `.` or `..` segment; the query has
/// those, `?` and `%` (the parser encodes neither, nor validates escapes there).
fn kept_as_is(prefix: &str, path: &str, query: &str) -> bool {
    fn plain_path(p: &str) -> bool {
        p.bytes().all(|b| PATH_KEPT[usize::from(b)])
            && (!p.contains('.') || p.split('/').all(|segment| segment != "." && segment != ".."))
    }
    path.starts_with('/')
        && plain_path(prefix)
        && plain_path(path)
        && query.bytes().all(|b| QUERY_KEPT[usize::from(b)])
}

/// The bytes [`kept_as_is`] lets through in a path, and in a query, one look-up each.
const PATH_KEPT: [bool; 256] = kept(b"-._~!$&()*+,;=:@/");
const QUERY_KEPT: [bool; 256] = kept(b"-._~!$&()*+,;=:@/?%");

/// ASCII letters and digits, and `extra`.
const fn kept(extra: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        // `b < 256`: the cast is exact.
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
}

/// What a failed call says about the upstream, as reqwest said it before: a timeout anywhere in
/// the chain (the connect timeout, TCP's) is [`UpstreamError::Timeout`]; a connection that could
/// not be made (refused, DNS, TLS handshake; the plain client's [`plain::ConnectError`]) is
/// [`UpstreamError::Connect`]; anything else (reset,
/// cut off, not HTTP) is [`UpstreamError::Protocol`]. The errors name no URL (the path holds the
/// customer id).
fn classify(e: BoxError) -> UpstreamError {
    let mut connect = false;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&*e);
    while let Some(err) = cause {
        let timed_out = err
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_timeout)
            || err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
        if timed_out {
            return UpstreamError::Timeout;
        }
        connect |= err
            .downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(hyper_util::client::legacy::Error::is_connect)
            || err.is::<plain::ConnectError>();
        cause = err.source();
    }
    if connect {
        UpstreamError::Connect(e)
    } else {
        UpstreamError::Protocol(e)
    }
}

/// The scheme and authority of `base` (its text before the path), as a request URI has them.
fn origin(base: &url::Url) -> Option<(http::uri::Scheme, http::uri::Authority)> {
    let uri = http::Uri::try_from(&base[..url::Position::BeforePath]).ok()?;
    let parts = uri.into_parts();
    Some((parts.scheme?, parts.authority?))
}

/// The `Host` header for calls to a plain `http://` `base`: its host, and its port unless it
/// is the scheme's default, as hyper-util's client wrote it on every call (it formatted one
/// per request unless the request carried one; `url_for` keeps every call on `base`'s origin).
/// The plain client writes none: hyper's connection API sends the request's own.
/// None for `https://`: there ALPN may choose HTTP/2, whose requests name their authority in
/// `:authority` and must not carry a `Host` as well (nginx answers 400 to both).
fn host_header(base: &url::Url) -> Option<http::HeaderValue> {
    if base.scheme() != "http" {
        return None;
    }
    let host = base.host_str()?;
    let value = match base.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    http::HeaderValue::from_maybe_shared(Bytes::from(value)).ok()
}

impl Service<UpstreamRequest> for HttpUpstream {
    type Response = Reply;
    type Error = UpstreamError;
    /// Named (not an `async` block): held by the layers around it, not boxed.
    type Future = Attempt;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), UpstreamError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: UpstreamRequest) -> Self::Future {
        // The pooled client's future does nothing until polled.
        let response = self.request(request).map(|sent| self.0.client.request(sent));
        Attempt::new(response, self.0.max_response_bytes)
    }
}

#[cfg(test)]
mod plain_tests;
#[cfg(test)]
mod tests;
