//! The upstream interface, a `tower::Service` taking an [`UpstreamRequest`] and giving a
//! [`Reply`], and the HTTP upstream: one pooled reqwest client behind it; timeout, retries and
//! the circuit breaker are layers around it (`pipeline::forward`). Also the upstream's errors,
//! which the caller never sees in detail.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{Answer, Operation, Outbound};
use http::HeaderMap;
use tower::Service;

use crate::config::Config;

/// One call to the upstream.
#[derive(Debug, Clone)]
pub struct UpstreamRequest {
    /// The customer id (the embedded backend's key; an HTTP upstream has it in the path).
    pub id: String,
    /// Method, path, content type and body in the upstream's dialect; shared by the attempts.
    pub outbound: Arc<Outbound>,
    /// The headers built for the upstream (`pipeline::forward::headers`).
    pub headers: HeaderMap,
    /// Whether the call may be repeated (`forward::headers::repeatable`): a read, PUT, PATCH,
    /// or a write sent with the caller's `Idempotency-Key`.
    pub repeatable: bool,
    /// What the call does (the embedded backend's dispatch; an HTTP upstream has it in the
    /// method and path).
    pub operation: Operation,
}

/// What the upstream gave back.
#[derive(Debug)]
pub enum Reply {
    /// An HTTP answer, to be read in the upstream's dialect.
    Http { status: u16, body: Bytes },
    /// An answer already understood (the embedded backend's).
    Answer(Answer),
}

/// An HTTP upstream: base URL plus one pooled client, built once; cheap to clone (the stack
/// is cloned per call).
#[derive(Debug, Clone)]
pub struct HttpUpstream {
    base: Arc<str>,
    /// `base` parsed once; each request only sets its path.
    base_url: Arc<reqwest::Url>,
    /// The `Host` header of every call, made once from `base_url` (see [`host_header`]).
    host: Option<http::HeaderValue>,
    client: reqwest::Client,
    max_response_bytes: usize,
}

/// Why an upstream client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The base URL does not parse.
    #[error("upstream.url is not a valid URL: {0}")]
    Url(String),
    /// The HTTP client could not be built.
    #[error("cannot build the upstream client")]
    Client(#[source] reqwest::Error),
}

/// Why an upstream call produced no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The connection could not be made or was reset.
    #[error("cannot reach the upstream")]
    Connect(#[source] reqwest::Error),
    /// No complete answer within the timeout.
    #[error("the upstream did not answer in time")]
    Timeout,
    /// The answer was larger than allowed.
    #[error("the upstream's answer exceeds {limit} bytes")]
    TooLarge { limit: usize },
    /// The answer was cut off or not HTTP.
    #[error("the upstream's answer was broken")]
    Protocol(#[source] reqwest::Error),
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
/// (reqwest is built without a provider of its own) needs before it is built: the upstream's
/// and the candidate's, the OTLP exporter's. The first call installs it; later ones find it
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
    /// When the TLS backend cannot be initialised.
    pub fn new(
        base: &str,
        config: &Config,
        roots: &[reqwest::Certificate],
    ) -> Result<HttpUpstream, BuildError> {
        let base_url = reqwest::Url::parse(base).map_err(|e| BuildError::Url(e.to_string()))?;
        install_tls_provider();
        let client = reqwest::Client::builder()
            .tls_certs_merge(roots.iter().cloned())
            .connect_timeout(config.upstream.connect_timeout)
            .pool_max_idle_per_host(config.upstream.pool_max_idle)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            // A gateway answers for its upstream; it does not follow redirects on its behalf.
            .redirect(reqwest::redirect::Policy::none())
            // Retries are ours (`forward::retry`: only repeatable requests, with backoff).
            // reqwest's own policy (HTTP/2 refusals, which an HTTP/1 upstream never sends)
            // would otherwise copy every request in case it needs a second attempt.
            .retry(reqwest::retry::never().max_retries_per_request(0))
            .build()
            .map_err(BuildError::Client)?;
        Ok(HttpUpstream {
            base: base.into(),
            host: host_header(&base_url),
            base_url: Arc::new(base_url),
            client,
            max_response_bytes: config.upstream.max_response_bytes.get(),
        })
    }

    /// The configured base URL plus `path` (the route, with the id already encoded as one
    /// segment), checked to be exactly that before anything is sent: same scheme, host and
    /// port, the base path followed by `path` unchanged (no dot segment resolved, no
    /// separator reinterpreted), no fragment, and the query `query` exactly (empty: none; the
    /// dialect's own, a read's `id:in=12`, already encoded).
    ///
    /// # Errors
    /// [`UpstreamError::Unsendable`] when the URL would be anything else.
    pub fn url_for(&self, path: &str, query: &str) -> Result<reqwest::Url, UpstreamError> {
        let prefix = self.base_url.path().trim_end_matches('/');
        let mut want = String::with_capacity(prefix.len() + path.len());
        want.push_str(prefix);
        want.push_str(path);
        let mut url = reqwest::Url::clone(&self.base_url);
        url.set_path(&want);
        url.set_query((!query.is_empty()).then_some(query));
        let same_origin = url.scheme() == self.base_url.scheme()
            && url.host() == self.base_url.host()
            && url.port_or_known_default() == self.base_url.port_or_known_default();
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
        &self.base
    }

    /// One attempt: the answer's status and body, read up to `limit` bytes.
    async fn once(
        client: reqwest::Client,
        request: reqwest::Request,
        limit: usize,
    ) -> Result<Reply, UpstreamError> {
        // The URL (it holds the customer id) never goes into an error that is logged.
        let classify = |e: reqwest::Error| {
            let e = e.without_url();
            if e.is_builder() {
                UpstreamError::Unsendable
            } else if e.is_timeout() {
                UpstreamError::Timeout
            } else if e.is_connect() {
                UpstreamError::Connect(e)
            } else {
                UpstreamError::Protocol(e)
            }
        };
        let mut response = client.execute(request).await.map_err(classify)?;
        let status = response.status().as_u16();
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(UpstreamError::TooLarge { limit });
        }
        // A small answer usually comes in one chunk: it is kept as is, not copied.
        let mut first: Option<Bytes> = None;
        let mut buf = Vec::new();
        let mut len = 0;
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            len += chunk.len();
            if len > limit {
                return Err(UpstreamError::TooLarge { limit });
            }
            match first.take() {
                None if buf.is_empty() => first = Some(chunk),
                held => {
                    if let Some(held) = held {
                        buf.reserve(len);
                        buf.extend_from_slice(&held);
                    }
                    buf.extend_from_slice(&chunk);
                }
            }
        }
        let body = match first {
            Some(only) => only,
            None => Bytes::from(buf),
        };
        Ok(Reply::Http { status, body })
    }
}

/// The `Host` header for calls to `base`: its host, and its port unless it is the scheme's
/// default, as the HTTP client would write it on every call (it formats one per request
/// unless the request carries one; `url_for` keeps every call on `base`'s origin).
fn host_header(base: &reqwest::Url) -> Option<http::HeaderValue> {
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
    /// reqwest's future cannot be named: one allocation per attempt, next to the many of the
    /// HTTP call itself.
    type Future = Pin<Box<dyn Future<Output = Result<Reply, UpstreamError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), UpstreamError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: UpstreamRequest) -> Self::Future {
        let url = self.url_for(&request.outbound.path, &request.outbound.query);
        let (client, limit) = (self.client.clone(), self.max_response_bytes);
        let host = self.host.clone();
        Box::pin(async move {
            let outbound = &request.outbound;
            let method =
                reqwest::Method::from_bytes(outbound.method.as_bytes()).unwrap_or(reqwest::Method::POST);
            let mut sent = reqwest::Request::new(method, url?);
            // The request is built directly (no builder, no header merge); it takes the headers
            // (the retry policy copied them if another attempt may follow).
            let headers = sent.headers_mut();
            *headers = request.headers;
            headers.insert(
                http::header::ACCEPT,
                http::HeaderValue::from_static("application/json"),
            );
            if let Some(host) = host {
                headers.insert(http::header::HOST, host);
            }
            // A `null` body is no body (a GET).
            if !outbound.body.is_null() {
                headers.insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static(outbound.content_type),
                );
                *sent.body_mut() = Some(serde_json::to_vec(&outbound.body).unwrap_or_default().into());
            }
            HttpUpstream::once(client, sent, limit).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn the_host_header_is_what_the_client_wrote_per_call() {
        // hyper-util's rule: the URI's host, then `:port` unless the scheme's default.
        for (base, host) in [
            ("http://127.0.0.1:8080", "127.0.0.1:8080"),
            ("http://upstream.example", "upstream.example"),
            ("http://upstream.example:80/base", "upstream.example"),
            ("https://upstream.example:443", "upstream.example"),
            ("https://upstream.example:80", "upstream.example:80"),
            ("http://[::1]:9000/", "[::1]:9000"),
            ("http://B\u{fc}cher.example", "xn--bcher-kva.example"),
        ] {
            let url = reqwest::Url::parse(base).unwrap();
            assert_eq!(host_header(&url).unwrap(), host, "{base}");
        }
    }

    /// An upstream that reads one request and answers with `parts`, written one at a time.
    async fn upstream(parts: Vec<&'static [u8]>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            for part in parts {
                socket.write_all(part).await.unwrap();
                socket.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        format!("http://{addr}/")
    }

    async fn once(url: &str, limit: usize) -> Result<Reply, UpstreamError> {
        let request = reqwest::Request::new(reqwest::Method::GET, url.parse().unwrap());
        HttpUpstream::once(reqwest::Client::new(), request, limit).await
    }

    const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";

    #[tokio::test]
    async fn an_answer_in_one_piece_or_in_many_is_read_whole_and_in_order() {
        let one = upstream(vec![b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nabcdef"]).await;
        let many = upstream(vec![
            CHUNKED,
            b"3\r\nabc\r\n",
            b"2\r\nde\r\n",
            b"1\r\nf\r\n0\r\n\r\n",
        ]);
        let two = upstream(vec![CHUNKED, b"1\r\na\r\n", b"5\r\nbcdef\r\n0\r\n\r\n"]);
        for url in [one, many.await, two.await] {
            match once(&url, 6).await {
                Ok(Reply::Http { status, body }) => {
                    assert_eq!((status, &body[..]), (200, &b"abcdef"[..]), "{url}");
                }
                other => panic!("{url}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn an_answer_growing_past_the_limit_is_refused() {
        let url = upstream(vec![
            CHUNKED,
            b"3\r\nabc\r\n",
            b"3\r\ndef\r\n",
            b"1\r\ng\r\n0\r\n\r\n",
        ])
        .await;
        assert!(matches!(
            once(&url, 6).await,
            Err(UpstreamError::TooLarge { limit: 6 })
        ));
        let url = upstream(vec![CHUNKED, b"7\r\nabcdefg\r\n0\r\n\r\n"]).await;
        assert!(matches!(
            once(&url, 6).await,
            Err(UpstreamError::TooLarge { limit: 6 })
        ));
    }
}
