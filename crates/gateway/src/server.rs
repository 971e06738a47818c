//! The listener: accepts connections, serves HTTP/1.1 and HTTP/2 with hyper, and shuts down
//! gracefully (stop accepting, let in-flight requests finish within the grace period).

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};

use crate::live::Live;

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

/// The connection builders, shared by every connection task.
struct Builders {
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
    auto: Builder<TokioExecutor>,
}

/// Serves `gateway` on `listener` until `shutdown` completes, then drains in-flight requests
/// for at most the configured grace period. Returns whether every connection drained in time.
pub async fn serve(listener: TcpListener, live: Arc<Live>, shutdown: impl Future<Output = ()>) -> bool {
    // Connection-level settings come from the configuration in force at start.
    let gateway = live.current();
    let header_read_timeout = gateway.config().header_read_timeout;
    // Slowloris: a client must finish its headers in time (hyper needs a timer for this).
    // Half-close allowed: while a request is in flight hyper does not read the connection to
    // detect an early close. That read needs a second 8 KiB read buffer on every busy
    // connection (the first one is held by the request's headers), and it cut off clients that
    // half-close after sending. A client that goes away mid-request is noticed when its answer
    // is written; the request itself runs to its end (bounded by the upstream timeout).
    let mut h1 = http1::Builder::new();
    h1.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_buf_size(64 * 1024)
        .half_close(true);
    let mut h2 = http2::Builder::new(TokioExecutor::new());
    h2.timer(TokioTimer::new());
    let mut auto = Builder::new(TokioExecutor::new());
    auto.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_buf_size(64 * 1024)
        .half_close(true);
    auto.http2().timer(TokioTimer::new());
    let builders = Arc::new(Builders {
        http1: h1,
        http2: h2,
        auto,
    });
    let graceful = GracefulShutdown::new();
    // Tells the connections still waiting for their first bytes to close (they are not yet
    // hyper connections that `graceful` could shut down).
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(err) => {
                        // EMFILE and friends: back off instead of spinning; keep serving.
                        tracing::warn!(%err, "Accept failed.");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let live = live.clone();
                let svc = service_fn(move |req: hyper::Request<Incoming>| {
                    // Each request runs on the configuration in force when it arrived.
                    let gw = live.current();
                    async move {
                        // A panic must cost one request a 500, never the connection or the
                        // process. The payload is not logged: it could quote request data.
                        let handled = AssertUnwindSafe(gw.handle(req, Some(peer))).catch_unwind().await;
                        Ok::<_, Infallible>(handled.unwrap_or_else(|_| {
                            tracing::error!("A request handler panicked.");
                            crate::service::internal_error()
                        }))
                    }
                });
                // Taken now, so that a shutdown waits for this connection too.
                let watcher = graceful.watcher();
                let builders = builders.clone();
                let mut stopping = stopping.clone();
                tokio::spawn(async move {
                    let sniffed = tokio::select! {
                        sniffed = tokio::time::timeout(header_read_timeout, sniff(&stream)) => {
                            match sniffed {
                                Ok(sniffed) => sniffed,
                                // Not one byte within the header timeout: closed, as hyper
                                // closes a connection whose headers do not arrive in time.
                                Err(_) => return,
                            }
                        }
                        // Shutting down before the first byte: close, as hyper closes an idle
                        // connection.
                        _ = stopping.wait_for(|stop| *stop) => return,
                    };
                    let io = TokioIo::new(stream);
                    let result: Result<(), Box<dyn std::error::Error + Send + Sync>> = match sniffed {
                        Sniffed::Http1 => watcher
                            .watch(builders.http1.serve_connection(io, svc))
                            .await
                            .map_err(Into::into),
                        Sniffed::Http2 => watcher
                            .watch(builders.http2.serve_connection(io, svc))
                            .await
                            .map_err(Into::into),
                        Sniffed::Undecided => {
                            watcher
                                .watch(builders.auto.serve_connection(io, svc).into_owned())
                                .await
                        }
                    };
                    if let Err(err) = result {
                        tracing::debug!(%peer, %err, "Connection ended with an error.");
                    }
                });
            }
            () = shutdown.as_mut() => break,
        }
    }
    drop(listener);
    tracing::info!("Shutting down: draining in-flight requests.");
    let _ = stopping_tx.send(true);
    tokio::select! {
        () = graceful.shutdown() => true,
        () = tokio::time::sleep(gateway.config().grace_period) => {
            tracing::warn!("Grace period over; closing the remaining connections.");
            false
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
