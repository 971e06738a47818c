//! The pooled HTTP client every upstream call goes through: hyper-util's (`client::legacy`),
//! over hyper-rustls's connector (an `http://` upstream: over the TCP connector alone), set up
//! as reqwest (which wraps the same client) was before
//! it: rustls with the process's provider (`install_tls_provider`), certificates checked by
//! the platform verifier with `ca_file`'s roots added to the system's, HTTP/2 by ALPN for
//! `https://` and HTTP/1.1 for `http://`, pooled connections (per-host idle maximum, 60 s idle
//! timeout), `TCP_NODELAY`, TCP keep-alive, the connect timeout. It follows no redirect and
//! retries nothing of its own (hyper-util only resends a request that never left because its
//! pooled connection closed first, as reqwest did): retries, the total timeout and the circuit
//! breaker are layers around the upstream (`pipeline::forward`).
//!
//! Chosen by measurement (BENCHMARKS.md): the same stack without reqwest's layer costs fewer
//! instructions and less CPU per request.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client as Pooled, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;

use super::install_tls_provider;
use crate::config::Config;

/// The client: the whole request body is in memory before it is sent. An `http://` upstream's
/// has the TCP connector alone: the same pooled client, set up the same, but every call's
/// futures (the client's own, which hold the connector's) are smaller without TLS's and are
/// copied less as they are made; an `https://` upstream's has rustls over it.
#[derive(Debug, Clone)]
pub(super) enum Client {
    Plain(Pooled<HttpConnector, Full<Bytes>>),
    Tls(Pooled<HttpsConnector<HttpConnector>, Full<Bytes>>),
}

impl Client {
    /// Sends `req` (nothing happens until the answer is polled).
    pub(super) fn request(&self, req: http::Request<Full<Bytes>>) -> ResponseFuture {
        match self {
            Client::Plain(client) => client.request(req),
            Client::Tls(client) => client.request(req),
        }
    }
}

/// How long an unused pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(60);

/// TCP keep-alive probes on every connection (reqwest's defaults, kept): a pooled connection
/// whose peer vanished is found out instead of hanging a call until its timeout.
const KEEPALIVE: Duration = Duration::from_secs(15);
const KEEPALIVE_RETRIES: u32 = 3;
/// Unacknowledged data older than this drops the connection (Linux's `TCP_USER_TIMEOUT`).
#[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
const USER_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the client for `config.upstream`'s connection settings, trusting the system's
/// certificate authorities and `roots`; without TLS when `tls` is false (an `http://` upstream:
/// the TCP connector then refuses an `https://` URL rather than send it in the clear). The TLS
/// set-up is made and checked either way, as before.
///
/// # Errors
/// When the platform's verifier or the TLS configuration cannot be set up.
pub(super) fn build(
    config: &Config,
    roots: &[CertificateDer<'static>],
    tls: bool,
) -> Result<Client, rustls::Error> {
    install_tls_provider();
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let verifier = if roots.is_empty() {
        rustls_platform_verifier::Verifier::new(provider.clone())?
    } else {
        rustls_platform_verifier::Verifier::new_with_extra_roots(roots.iter().cloned(), provider.clone())?
    };
    let tls_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        // Not a weakening: the platform's verifier, as rustls-platform-verifier's own set-up.
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();

    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_connect_timeout(Some(config.upstream.connect_timeout));
    http.set_keepalive(Some(KEEPALIVE));
    http.set_keepalive_interval(Some(KEEPALIVE));
    http.set_keepalive_retries(Some(KEEPALIVE_RETRIES));
    #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
    http.set_tcp_user_timeout(Some(USER_TIMEOUT));
    if !tls {
        // `http://` URLs only (the connector's default, stated here).
        http.enforce_http(true);
        return Ok(Client::Plain(pooled(config).build(http)));
    }
    // The TLS connector below takes `https://` URLs as well.
    http.enforce_http(false);
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls_config)
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(http);
    Ok(Client::Tls(pooled(config).build(https)))
}

/// The pooled client's settings, the same with or without TLS.
fn pooled(config: &Config) -> hyper_util::client::legacy::Builder {
    let mut builder = Pooled::builder(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE)
        .pool_max_idle_per_host(config.upstream.pool_max_idle);
    builder
}
