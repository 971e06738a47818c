//! The admin listener: `/metrics` (Prometheus text), `/healthz` (alive), `/readyz` (config
//! loaded and upstream reachable, or the embedded backend in use), `POST /admin/reload`.
//! Separate from the traffic port so it can stay on loopback or behind a network policy.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;
use tokio::net::TcpListener;

use crate::live::Live;
use crate::upstream::Upstream;

/// Serves the admin endpoints until `shutdown` completes.
pub async fn serve_admin(listener: TcpListener, live: Arc<Live>, shutdown: impl Future<Output = ()>) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let live = live.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<Incoming>| {
                        let live = live.clone();
                        async move { Ok::<_, Infallible>(handle(&live, &req).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
            () = shutdown.as_mut() => return,
        }
    }
}

/// Answers one admin request.
pub async fn handle<B>(live: &Live, req: &Request<B>) -> Response<Full<Bytes>> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => json(StatusCode::OK, &json!({"status": "alive"})),
        (&Method::GET, "/readyz") => {
            let gateway = live.current();
            let upstream = match gateway.upstream() {
                Upstream::Embedded(_) => Ok("embedded"),
                Upstream::Http(http) => reachable(http.base()).await.map(|()| "reachable"),
            };
            // Readiness follows reachability only: an open circuit breaker already sheds load
            // with answers in the caller's dialect, which beats taking every replica out.
            match upstream {
                Ok(state) => json(StatusCode::OK, &json!({"status": "ready", "upstream": state})),
                Err(reason) => json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &json!({"status": "not ready", "upstream": reason}),
                ),
            }
        }
        (&Method::GET, "/metrics") => {
            let text = live.current().shared().metrics.render();
            let mut rsp = Response::new(Full::new(Bytes::from(text)));
            rsp.headers_mut().insert(
                header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            rsp
        }
        (&Method::POST, "/admin/reload") => match live.reload().await {
            Ok(()) => json(StatusCode::OK, &json!({"status": "reloaded"})),
            Err(reason) => json(
                StatusCode::UNPROCESSABLE_ENTITY,
                &json!({"status": "refused", "reason": reason}),
            ),
        },
        (_, "/healthz" | "/readyz" | "/metrics" | "/admin/reload") => json(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"status": "method not allowed"}),
        ),
        _ => json(StatusCode::NOT_FOUND, &json!({"status": "not found"})),
    }
}

/// Whether a TCP connection to the upstream's host and port opens within a second.
async fn reachable(base: &str) -> Result<(), &'static str> {
    let authority = base
        .split("://")
        .nth(1)
        .unwrap_or(base)
        .split('/')
        .next()
        .unwrap_or_default();
    let default_port = if base.starts_with("https://") { 443 } else { 80 };
    let target = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_owned()
    } else {
        format!("{authority}:{default_port}")
    };
    match tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(target)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(_)) => Err("unreachable"),
        Err(_) => Err("connect timeout"),
    }
}

fn json(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut rsp = Response::new(Full::new(Bytes::from(body.to_string())));
    *rsp.status_mut() = status;
    rsp.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    rsp
}
