//! The clients every upstream call goes through. Both keep idle connections up to
//! `pool_max_idle`, each dropped after 60 s unused; both set `TCP_NODELAY`, TCP keep-alive,
//! `TCP_USER_TIMEOUT` and the connect timeout on every connection. Neither follows a redirect
//! nor retries anything of its own (each only resends, once, a request that never left because
//! its pooled connection closed first, as reqwest did): retries, the total timeout and the
//! circuit breaker are layers around the upstream (`pipeline::forward`).
//!
//! - An `http://` upstream's is [`Plain`]: HTTP/1.1 on hyper's own connection API with a pool
//!   of idle connections to its one origin (see `plain`; chosen by measurement over
//!   hyper-util's pooled client, whose pool is keyed by origin).
//! - An `https://` upstream's is hyper-util's pooled client (`client::legacy`) over
//!   hyper-rustls's connector, set up as reqwest (which wraps the same client) was before it:
//!   rustls with the process's provider (`install_tls_provider`), certificates checked by the
//!   platform verifier with `ca_file`'s roots added to the system's, HTTP/2 by ALPN. Chosen by
//!   measurement (BENCHMARKS.md): the same stack without reqwest's layer costs fewer
//!   instructions and less CPU per request.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::{Client as Pooled, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;

use super::install_tls_provider;
use super::plain::{self, KEEPALIVE, KEEPALIVE_RETRIES, POOL_IDLE, Plain};
use crate::config::Config;

/// The client: the whole request body is in memory before it is sent. An `http://` upstream's
/// is [`Plain`] (its requests in origin form, with their `Host`); an `https://` upstream's is
/// hyper-util's pooled client with rustls under it (its requests in absolute form).
#[derive(Debug, Clone)]
pub(super) enum Client {
    Plain(Plain),
    /// Boxed: the plain client is one pointer.
    Tls(Box<Pooled<HttpsConnector<HttpConnector>, Full<Bytes>>>),
}

/// A request on its way: the answer's head to come.
pub(super) enum Sending {
    /// hyper-util's pooled client's.
    Pooled(ResponseFuture),
    /// The plain client's, with the connection its body comes on.
    Plain(plain::Sending),
}

impl Client {
    /// Sends `req` (nothing happens until the answer is polled).
    pub(super) fn request(&self, req: http::Request<Full<Bytes>>) -> Sending {
        match self {
            Client::Plain(client) => Sending::Plain(client.request(req)),
            Client::Tls(client) => Sending::Pooled(client.request(req)),
        }
    }

    /// Whether its requests go in origin form (`/path?query`), not absolute.
    pub(super) fn origin_form(&self) -> bool {
        matches!(self, Client::Plain(_))
    }
}

/// Builds the client for `config.upstream`'s connection settings, trusting the system's
/// certificate authorities and `roots`; without TLS when `plain` names the origin of an
/// `http://` upstream (its client connects to that origin alone, so it never sends an
/// `https://` URL in the clear). The TLS set-up is made and checked either way, as before.
///
/// # Errors
/// When the platform's verifier or the TLS configuration cannot be set up.
pub(super) fn build(
    config: &Config,
    roots: &[CertificateDer<'static>],
    plain: Option<plain::Origin>,
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
    if let Some(origin) = plain {
        let upstream = &config.upstream;
        return Ok(Client::Plain(Plain::new(
            origin,
            upstream.connect_timeout,
            upstream.pool_max_idle,
        )));
    }

    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_connect_timeout(Some(config.upstream.connect_timeout));
    http.set_keepalive(Some(KEEPALIVE));
    http.set_keepalive_interval(Some(KEEPALIVE));
    http.set_keepalive_retries(Some(KEEPALIVE_RETRIES));
    #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
    http.set_tcp_user_timeout(Some(plain::USER_TIMEOUT));
    // The TLS connector below takes `https://` URLs as well.
    http.enforce_http(false);
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls_config)
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(http);
    Ok(Client::Tls(Box::new(pooled(config).build(https))))
}

/// The pooled client's settings.
fn pooled(config: &Config) -> hyper_util::client::legacy::Builder {
    let mut builder = Pooled::builder(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE)
        .pool_max_idle_per_host(config.upstream.pool_max_idle);
    builder
}
