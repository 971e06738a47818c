//! The listener: accepts connections, serves HTTP/1.1 and HTTP/2 with hyper under the same
//! rules (header and idle timeouts, a connection limit, a stream limit), and shuts down
//! gracefully (stop accepting, let in-flight requests finish within the grace period). The
//! admin listener runs on the same machinery.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use http::{HeaderMap, HeaderName, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

use self::guard::guard;
use crate::config::Config;
use crate::live::Live;
use crate::pipeline::authenticate::SENSITIVE_HEADERS;

mod activity;
mod guard;
mod side_wake;

pub(crate) use self::activity::{Activity, Tracked};

/// The HTTP/2 connection preface (RFC 9113 §3.4): what a prior-knowledge h2c client sends first.
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What the first bytes of a connection say it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniffed {
    Http1,
    Http2,
    /// Nothing yet, a part of the HTTP/2 preface only, or an error: hyper-util's `auto`
    /// builder reads the version itself (the behaviour of every connection before).
    Undecided,
}

/// Looks at the first bytes of a connection without consuming them.
///
/// hyper-util's `auto` builder reads up to 24 bytes to tell HTTP/1 from HTTP/2 and hands them to
/// hyper first; hyper's read buffer (8 KiB) then cannot take the rest of the request and is
/// doubled to 16 KiB, on every connection. Peeking instead lets hyper read the whole request
/// into its first 8 KiB buffer.
async fn sniff(stream: &TcpStream) -> Sniffed {
    let mut buf = [0u8; H2_PREFACE.len()];
    match stream.peek(&mut buf).await {
        Ok(n) if n > 0 && buf[..n] != H2_PREFACE[..n] => Sniffed::Http1,
        Ok(n) if n == H2_PREFACE.len() => Sniffed::Http2,
        _ => Sniffed::Undecided,
    }
}

/// Largest header block an HTTP/2 request may carry (hyper's default, stated here).
const H2_MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;

/// Streams an HTTP/2 client may reset before they are answered, before the connection is
/// closed (the h2 crate's default, stated here: the rapid-reset attack).
const H2_MAX_PENDING_RESETS: usize = 20;

/// How often, at most, a full listener says so in the log (it may be under attack).
const FULL_WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// The rules every connection of one listener follows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Transport {
    /// A new connection must complete its first request's headers within this time (HTTP/1
    /// also every following request's, counted from the previous answer: hyper's rule).
    pub header_read_timeout: Duration,
    /// A connection with no request in flight for this long is closed.
    pub idle_timeout: Duration,
    /// Connections open at once; one more is closed as soon as it is accepted.
    pub max_connections: usize,
    /// Streams open at once on one HTTP/2 connection.
    pub http2_max_concurrent_streams: u32,
}

impl Transport {
    /// The traffic listener's rules, from `[server]`.
    pub(crate) fn traffic(config: &Config) -> Transport {
        Transport {
            header_read_timeout: config.server.header_read_timeout,
            idle_timeout: config.server.idle_timeout,
            max_connections: config.server.max_connections.get(),
            http2_max_concurrent_streams: config.server.http2_max_concurrent_streams.get(),
        }
    }
}

/// The connection builders, shared by every connection task.
struct Builders {
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
    auto: Builder<TokioExecutor>,
}

impl Builders {
    fn new(t: &Transport) -> Builders {
        // Slowloris: a client must finish its headers in time (hyper needs a timer for this).
        // Half-close allowed: while a request is in flight hyper does not read the connection to
        // detect an early close. That read needs a second 8 KiB read buffer on every busy
        // connection (the first one is held by the request's headers), and it cut off clients
        // that half-close after sending. A client that goes away mid-request is noticed when its
        // answer is written; the request itself runs to its end (bounded by the upstream timeout).
        let mut http1 = http1::Builder::new();
        http1
            .timer(TokioTimer::new())
            .header_read_timeout(t.header_read_timeout)
            .max_buf_size(64 * 1024)
            .half_close(true);
        // hyper's HTTP/2 has no header or idle timeout: `guard` below provides both.
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2
            .timer(TokioTimer::new())
            .max_concurrent_streams(t.http2_max_concurrent_streams)
            .max_header_list_size(H2_MAX_HEADER_LIST_BYTES)
            .max_pending_accept_reset_streams(H2_MAX_PENDING_RESETS);
        let mut auto = Builder::new(TokioExecutor::new());
        auto.http1()
            .timer(TokioTimer::new())
            .header_read_timeout(t.header_read_timeout)
            .max_buf_size(64 * 1024)
            .half_close(true);
        auto.http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(t.http2_max_concurrent_streams)
            .max_header_list_size(H2_MAX_HEADER_LIST_BYTES)
            .max_pending_accept_reset_streams(H2_MAX_PENDING_RESETS);
        Builders { http1, http2, auto }
    }
}

/// Runs a request handler so that a panic costs that one request a 500 (`on_panic` makes it),
/// never the connection or the process. The panic's payload is not logged: it could quote
/// request data. A plain function: the future it gives holds `handler` once (an `async fn` would
/// hold it twice, as its argument and as the future it awaits).
fn contained<F>(
    handler: F,
    on_panic: impl FnOnce() -> Response<Full<Bytes>>,
) -> impl Future<Output = Response<Full<Bytes>>>
where
    F: Future<Output = Response<Full<Bytes>>>,
{
    AssertUnwindSafe(handler).catch_unwind().map(|caught| {
        caught.unwrap_or_else(|_| {
            tracing::error!("A request handler panicked.");
            on_panic()
        })
    })
}

/// The answer type every listener's service gives.
pub(crate) type Answer = Response<Tracked<Full<Bytes>>>;

/// Serves `gateway` on `listener` until `shutdown` completes, then drains in-flight requests
/// for at most the configured grace period. Returns whether every connection drained in time.
pub async fn serve(listener: TcpListener, live: Arc<Live>, shutdown: impl Future<Output = ()>) -> bool {
    // Connection-level settings come from the configuration in force at start.
    let (transport, grace) = {
        let gateway = live.current();
        (
            Transport::traffic(gateway.config()),
            gateway.config().server.grace_period,
        )
    };
    // Every header that may carry a credential is marked sensitive as the request arrives
    // ([`mark_sensitive`]): a value printed by mistake shows as `Sensitive`, and HTTP/2 never
    // indexes it.
    let sensitive: Arc<[HeaderName]> = SENSITIVE_HEADERS
        .into_iter()
        .map(HeaderName::from_static)
        .collect();
    let make_service = move |peer: SocketAddr, activity: Activity| {
        let live = live.clone();
        let sensitive = sensitive.clone();
        let handler = tower::service_fn(move |mut req: hyper::Request<Incoming>| {
            mark_sensitive(req.headers_mut(), &sensitive);
            let busy = activity.begin();
            // Each request runs on the configuration in force when it arrived.
            let gw = live.current();
            async move {
                // Cloning a request's Uri shares its bytes: kept to answer a panic in the
                // caller's dialect.
                let uri = req.uri().clone();
                // The pipeline's large part is boxed inside `handle` (the route phase's future),
                // so this future stays small as hyper and tower move it along.
                let rsp = contained(gw.handle(req, Some(peer)), || gw.internal_error(uri.path())).await;
                Ok::<_, Infallible>(rsp.map(|body| Tracked::new(body, busy)))
            }
        });
        TowerToHyperService::new(handler)
    };
    let shutdown = async {
        shutdown.await;
        tracing::info!("Shutting down: draining in-flight requests.");
    };
    let drained = run(listener, transport, make_service, shutdown, grace, "traffic").await;
    if !drained {
        tracing::warn!("Grace period over; closing the remaining connections.");
    }
    drained
}

/// Accepts connections on `listener` under `transport`'s rules and serves each with the
/// service `make_service` builds for it, until `shutdown` completes; then stops accepting, asks
/// every connection to close once its requests are answered, and waits at most `grace` for
/// them. Returns whether every connection closed in time.
pub(crate) async fn run<M, S>(
    listener: TcpListener,
    transport: Transport,
    mut make_service: M,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
    name: &'static str,
) -> bool
where
    M: FnMut(SocketAddr, Activity) -> S,
    S: Service<Request<Incoming>, Response = Answer, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    let builders = Arc::new(Builders::new(&transport));
    // One permit per open connection. Beyond the limit a new connection is accepted and closed
    // at once rather than left in the kernel's accept queue: the client learns immediately
    // (and a load balancer tries another replica) instead of waiting for a connect timeout,
    // and the queue does not fill with connections their clients have given up on. At
    // shutdown, holding every permit means every connection has closed.
    let connections = Arc::new(Semaphore::new(transport.max_connections));
    let mut last_full_warning: Option<Instant> = None;
    // Tells every connection to finish its requests and close.
    let (stopping_tx, stopping) = watch::channel(Phase::Serving);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(err) => {
                        // EMFILE and friends: back off instead of spinning; keep serving.
                        tracing::warn!(listener = name, %err, "Accept failed.");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = connections.clone().try_acquire_owned() else {
                    drop(stream);
                    if last_full_warning.is_none_or(|at| at.elapsed() >= FULL_WARNING_INTERVAL) {
                        last_full_warning = Some(Instant::now());
                        tracing::warn!(
                            listener = name,
                            max_connections = transport.max_connections,
                            "Connection limit reached; new connections are closed until some end."
                        );
                    }
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let activity = Activity::new();
                let svc = make_service(peer, activity.clone());
                let builders = builders.clone();
                let stopping = stopping.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    if let Err(err) = connection(stream, svc, &builders, &transport, activity, stopping).await {
                        tracing::debug!(listener = name, %peer, %err, "Connection ended with an error.");
                    }
                });
            }
            () = shutdown.as_mut() => break,
        }
    }
    drop(listener);
    let _ = stopping_tx.send(Phase::Stopping);
    let all = u32::try_from(transport.max_connections).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(grace, connections.acquire_many(all))
        .await
        .is_ok();
    if !drained {
        // The grace period is over: the connections still open are closed now, their requests
        // cut off, so that a server run as a library does not go on answering after `serve`.
        let _ = stopping_tx.send(Phase::Closing);
    }
    drained
}

/// What the server asks of its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Serving,
    /// Finish the requests in flight, then close.
    Stopping,
    /// Close now: the grace period is over.
    Closing,
}

/// Serves one connection in the protocol its first bytes announce, under `guard`.
async fn connection<S>(
    stream: TcpStream,
    svc: S,
    builders: &Builders,
    transport: &Transport,
    activity: Activity,
    mut stopping: watch::Receiver<Phase>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    S: Service<Request<Incoming>, Response = Answer, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    let sniffed = tokio::select! {
        sniffed = tokio::time::timeout(transport.header_read_timeout, sniff(&stream)) => {
            match sniffed {
                Ok(sniffed) => sniffed,
                // Not one byte within the header timeout: closed, as hyper closes a connection
                // whose headers do not arrive in time.
                Err(_) => return Ok(()),
            }
        }
        // Shutting down before the first byte: close, as hyper closes an idle connection.
        _ = stopping.wait_for(|phase| *phase >= Phase::Stopping) => return Ok(()),
    };
    let io = TokioIo::new(stream);
    match sniffed {
        Sniffed::Http1 => {
            let conn = builders.http1.serve_connection(io, svc);
            guard(conn, transport, &activity, stopping)
                .await
                .map_err(Into::into)
        }
        Sniffed::Http2 => {
            let conn = builders.http2.serve_connection(io, svc);
            guard(conn, transport, &activity, stopping)
                .await
                .map_err(Into::into)
        }
        Sniffed::Undecided => {
            let conn = builders.auto.serve_connection(io, svc);
            guard(conn, transport, &activity, stopping).await
        }
    }
}

/// Marks every value of the headers `names` in `headers` sensitive, in one pass over the
/// request's headers (not six hashed look-ups); a header whose name has none of the names'
/// lengths (bit `n`: `n` bytes, 63 and longer share bit 63) is passed over without comparing.
fn mark_sensitive(headers: &mut HeaderMap, names: &[HeaderName]) {
    let bit = |name: &HeaderName| 1u64 << name.as_str().len().min(63);
    let lengths = names.iter().fold(0, |mask, name| mask | bit(name));
    for (name, value) in headers.iter_mut() {
        if lengths & bit(name) != 0 && names.contains(name) {
            value.set_sensitive(true);
        }
    }
}

/// Completes on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests;
