//! The admin listener: `/metrics` (Prometheus text), `/healthz` (alive), `/readyz` (config
//! loaded and upstream reachable, or the embedded backend in use), all read-only, and
//! `POST /admin/reload`, which needs the token named by `admin.token_env` (off without one) and
//! runs at most once per [`RELOAD_INTERVAL`].
//! Separate from the traffic port so it can stay on loopback or behind a network policy; its
//! connections follow the traffic listener's header and idle timeouts, with a small
//! connection limit of their own.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use serde_json::json;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

use crate::config::{MIN_ADMIN_TOKEN_CHARS, Secret};
use crate::live::Live;
use crate::server::{self, Activity, Tracked, Transport};

/// Connections the admin listener keeps open at once: probes, a scraper and an operator.
const ADMIN_MAX_CONNECTIONS: usize = 32;
/// Streams open at once on one HTTP/2 admin connection.
const ADMIN_MAX_STREAMS: u32 = 8;
/// Shortest time between two reloads through `POST /admin/reload` (a reload re-reads and
/// compiles every dialect and schema).
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// Serves the admin endpoints until `shutdown` completes.
pub async fn serve_admin(listener: TcpListener, live: Arc<Live>, shutdown: impl Future<Output = ()>) {
    // Connection-level settings come from the configuration in force at start.
    let transport = {
        let gateway = live.current();
        let config = gateway.config();
        Transport {
            header_read_timeout: config.server.header_read_timeout,
            idle_timeout: config.server.idle_timeout,
            max_connections: ADMIN_MAX_CONNECTIONS,
            http2_max_concurrent_streams: ADMIN_MAX_STREAMS,
        }
    };
    let reloads = Arc::new(ReloadGate::default());
    let make_service = move |peer: SocketAddr, activity: Activity| {
        let live = live.clone();
        let reloads = reloads.clone();
        service_fn(move |req: Request<Incoming>| {
            let busy = activity.begin();
            let live = live.clone();
            let reloads = reloads.clone();
            async move {
                let rsp = handle(&live, &reloads, &req, peer).await;
                Ok::<_, Infallible>(rsp.map(|body| Tracked::new(body, busy)))
            }
        })
    };
    // On shutdown nothing waits for admin connections: they are told to close and the process
    // exits when the traffic listener has drained.
    server::run(
        listener,
        transport,
        make_service,
        shutdown,
        Duration::ZERO,
        "admin",
    )
    .await;
}

/// Remembers when the last reload through the admin listener started.
#[derive(Debug, Default)]
pub struct ReloadGate {
    last: Mutex<Option<Instant>>,
}

impl ReloadGate {
    /// Lets a reload start now, or says how long until one may.
    fn try_begin(&self) -> Result<(), Duration> {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = *last {
            let since = at.elapsed();
            if since < RELOAD_INTERVAL {
                return Err(RELOAD_INTERVAL - since);
            }
        }
        *last = Some(Instant::now());
        Ok(())
    }
}

/// Answers one admin request.
pub async fn handle<B>(
    live: &Live,
    reloads: &ReloadGate,
    req: &Request<B>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => json(StatusCode::OK, &json!({"status": "alive"})),
        (&Method::GET, "/readyz") => {
            let gateway = live.current();
            let upstream = match gateway.upstream_base() {
                None => Ok("embedded"),
                Some(base) => reachable(base).await.map(|()| "reachable"),
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
        (&Method::POST, "/admin/reload") => reload(live, reloads, req.headers(), peer).await,
        (_, path @ ("/healthz" | "/readyz" | "/metrics" | "/admin/reload")) => {
            let mut rsp = json(
                StatusCode::METHOD_NOT_ALLOWED,
                &json!({"status": "method not allowed"}),
            );
            let allow = if path == "/admin/reload" { "POST" } else { "GET" };
            rsp.headers_mut()
                .insert(header::ALLOW, http::HeaderValue::from_static(allow));
            rsp
        }
        _ => json(StatusCode::NOT_FOUND, &json!({"status": "not found"})),
    }
}

/// `POST /admin/reload`: off without a configured token (403, saying how to turn it on),
/// 401 without the right one, 429 within [`RELOAD_INTERVAL`] of the last, else the reload.
async fn reload(
    live: &Live,
    reloads: &ReloadGate,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let (token, token_env) = {
        let gateway = live.current();
        let config = gateway.config();
        (config.admin.token.clone(), config.admin.token_env.clone())
    };
    let Some(token) = token else {
        return json(
            StatusCode::FORBIDDEN,
            &json!({
                "status": "disabled",
                "reason": format!(
                    "POST /admin/reload is off: set the environment variable {token_env} \
                     (admin.token_env) to a token of at least {MIN_ADMIN_TOKEN_CHARS} characters, \
                     restart, and send it as `Authorization: Bearer <token>`; SIGHUP reloads too"
                ),
            }),
        );
    };
    if !bearer_matches(headers, &token) {
        tracing::warn!(%peer, "POST /admin/reload refused: missing or wrong token.");
        let mut rsp = json(
            StatusCode::UNAUTHORIZED,
            &json!({"status": "unauthorized", "reason": "send the admin token as `Authorization: Bearer <token>`"}),
        );
        rsp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer realm=\"dialectgate-admin\""),
        );
        return rsp;
    }
    if let Err(wait) = reloads.try_begin() {
        // Whole seconds, rounded up: `Retry-After` has no fractions.
        let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        let mut rsp = json(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({"status": "too many reloads", "retry_after_seconds": seconds}),
        );
        rsp.headers_mut()
            .insert(header::RETRY_AFTER, http::HeaderValue::from(seconds));
        return rsp;
    }
    match live.reload().await {
        Ok(()) => json(StatusCode::OK, &json!({"status": "reloaded"})),
        Err(reason) => json(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({"status": "refused", "reason": reason}),
        ),
    }
}

/// Whether `headers` carry `Authorization: Bearer <token>`, compared in constant time (only
/// the length can show: the token is long and random, its length no secret).
fn bearer_matches(headers: &HeaderMap, token: &Secret) -> bool {
    let Some(presented) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
    else {
        return false;
    };
    presented.as_bytes().ct_eq(token.expose().as_bytes()).into()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn only_the_exact_bearer_token_matches() {
        let token = Secret::new("0123456789abcdef-token");
        assert!(bearer_matches(&auth("Bearer 0123456789abcdef-token"), &token));
        assert!(bearer_matches(&auth("bearer 0123456789abcdef-token"), &token));
        for wrong in [
            "Bearer 0123456789abcdef-toke",
            "Bearer 0123456789abcdef-tokenX",
            "Bearer ",
            "Basic 0123456789abcdef-token",
            "0123456789abcdef-token",
            "Bearer0123456789abcdef-token",
        ] {
            assert!(!bearer_matches(&auth(wrong), &token), "{wrong}");
        }
        assert!(!bearer_matches(&HeaderMap::new(), &token));
    }

    #[test]
    fn one_reload_per_interval() {
        let gate = ReloadGate::default();
        assert!(gate.try_begin().is_ok());
        let wait = gate.try_begin().unwrap_err();
        assert!(wait <= RELOAD_INTERVAL && wait > Duration::ZERO, "{wait:?}");
        *gate.last.lock().unwrap() = Instant::now().checked_sub(RELOAD_INTERVAL);
        assert!(gate.try_begin().is_ok(), "allowed again after the interval");
    }
}
