//! The listener: accepts connections, serves HTTP/1.1 and HTTP/2 with hyper, and shuts down
//! gracefully (stop accepting, let in-flight requests finish within the grace period).

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::live::Live;

/// Serves `gateway` on `listener` until `shutdown` completes, then drains in-flight requests
/// for at most the configured grace period. Returns whether every connection drained in time.
pub async fn serve(listener: TcpListener, live: Arc<Live>, shutdown: impl Future<Output = ()>) -> bool {
    // Connection-level settings come from the configuration in force at start.
    let gateway = live.current();
    let mut builder = Builder::new(TokioExecutor::new());
    // Slowloris: a client must finish its headers in time (hyper needs a timer for this).
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(gateway.config().header_read_timeout)
        .max_buf_size(64 * 1024);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
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
                let conn = builder.serve_connection(TokioIo::new(stream), svc).into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(err) = conn.await {
                        tracing::debug!(%peer, %err, "Connection ended with an error.");
                    }
                });
            }
            () = shutdown.as_mut() => break,
        }
    }
    drop(listener);
    tracing::info!("Shutting down: draining in-flight requests.");
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
