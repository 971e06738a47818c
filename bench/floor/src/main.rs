//! The floor of dialectgate's stack, for `bench/`: what a request costs in hyper + reqwest +
//! tokio (+ serde_json) alone, with the same server settings, client settings, runtime and
//! allocator as the gateway, and nothing of the gateway's own (no routing, credentials,
//! validation, translation, metrics or headers).
//!
//! ```text
//! dialectgate-floor LISTEN UPSTREAM [proxy|proxy-json] [reqwest|reqwest-gateway|hyper-util]
//! ```
//!
//! `proxy` forwards the method, path, body, `Authorization` and `Content-Type` of each request
//! to `UPSTREAM` (`http://host:port`) and answers with the upstream's status and body.
//! `proxy-json` also parses the request body into a `serde_json::Value` and serialises it
//! again before forwarding, and does the same with the answer: the JSON work any translating
//! gateway must do at the least. Runs with `TOKIO_WORKER_THREADS` like the gateway.
//!
//! The upstream client (fourth argument, else `FLOOR_CLIENT`, else `reqwest`, which keeps the
//! floor's figures comparable with earlier runs) is either reqwest, the gateway's client until
//! `bench/client.sh` measured it dearer (`reqwest` builds each request from a URL string,
//! `reqwest-gateway` the way the gateway called it), or the hyper-util pooled client that
//! reqwest wraps and the gateway now uses (`crates/gateway/src/upstream/client.rs`:
//! `hyper_util::client::legacy::Client` over hyper-rustls's `HttpsConnector`),
//! set up alike: rustls with the ring provider and the platform verifier, HTTP/1.1 and HTTP/2
//! by ALPN, up to 1,024 idle connections per host kept 60 s, `TCP_NODELAY`, a 2 s connect
//! timeout, no redirects, no retries of ours, and the gateway's total timeout (10 s) around
//! each call, sending and reading the answer, with `tokio::time::timeout` in both modes (the
//! gateway's is a tower layer around the client). `bench/client.sh` compares the two. For an
//! `https://` upstream with its own certificate authority, `FLOOR_CA` names its PEM file.

use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::net::TcpListener;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The gateway's upstream settings (`crates/gateway/src/upstream.rs`, `config/dialectgate.toml`).
const POOL_MAX_IDLE: usize = 1024;
const POOL_IDLE: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const TIMEOUT: Duration = Duration::from_secs(10);

enum Client {
    /// reqwest, each request built from the URL string (`RequestBuilder`).
    Reqwest(reqwest::Client),
    /// reqwest called as the gateway called it (`HttpUpstream::call` before the switch to
    /// hyper-util): the base URL parsed once, each request's path set on a copy, the request
    /// built directly with its headers and the `Host` header made once. Only for `http://`: over HTTP/2 the authority is a pseudo-header,
    /// and nginx 1.22 refuses a request that also has `Host` (400).
    ReqwestGateway {
        client: reqwest::Client,
        base: reqwest::Url,
        host: Option<HeaderValue>,
    },
    HyperUtil(HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>),
}

struct Floor {
    client: Client,
    upstream: String,
    json: bool,
}

/// reqwest as the gateway built it (rustls: the process's provider, installed by `main`;
/// the platform verifier, plus the certificates of `ca` as `upstream.ca_file` adds them).
fn reqwest_client(ca: Option<&[u8]>) -> Result<reqwest::Client, String> {
    let roots = match ca {
        Some(pem) => vec![reqwest::Certificate::from_pem(pem).map_err(|e| e.to_string())?],
        None => Vec::new(),
    };
    reqwest::Client::builder()
        .tls_certs_merge(roots)
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_max_idle_per_host(POOL_MAX_IDLE)
        .pool_idle_timeout(POOL_IDLE)
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never().max_retries_per_request(0))
        .build()
        .map_err(|e| e.to_string())
}

/// hyper-util's pooled client as reqwest sets it up inside: the same connector settings, the
/// same pool settings and timers. It never follows redirects and has no retry policy (like
/// reqwest, it keeps hyper-util's default of resending a request that was never written
/// because the pooled connection closed first). With `ca`, only its certificates are trusted
/// (a bench upstream's own authority; certificates are checked once per connection, so the
/// per-request cost is the same either way).
fn hyper_util_client(ca: Option<&[u8]>) -> Result<Client, String> {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    // The HTTPS connector below takes `https://` URLs too.
    http.enforce_http(false);
    let tls = match ca {
        None => HttpsConnectorBuilder::new()
            .with_provider_and_platform_verifier(rustls::crypto::ring::default_provider())
            .map_err(|e| e.to_string())?,
        Some(pem) => {
            let mut store = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                store
                    .add(cert.map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
            }
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(store)
            .with_no_client_auth();
            HttpsConnectorBuilder::new().with_tls_config(config)
        }
    };
    let https = tls.https_or_http().enable_all_versions().wrap_connector(http);
    let client = HyperClient::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE)
        .pool_max_idle_per_host(POOL_MAX_IDLE)
        .build(https);
    Ok(Client::HyperUtil(client))
}

/// Parses and re-serialises `bytes` when `json`; passes them through otherwise.
fn reencode(json: bool, bytes: Bytes) -> Option<Bytes> {
    if !json {
        return Some(bytes);
    }
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    serde_json::to_vec(&value).ok().map(Bytes::from)
}

/// Says on stderr which HTTP version the first upstream answer came in (HTTP/2 by ALPN over
/// TLS, HTTP/1.1 otherwise), so a run shows what it measured.
fn first_answer(version: http::Version) {
    static FIRST: std::sync::Once = std::sync::Once::new();
    FIRST.call_once(|| eprintln!("first upstream answer: {version:?}"));
}

fn answer(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut rsp = Response::new(Full::new(body));
    *rsp.status_mut() = status;
    rsp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    rsp
}

impl Floor {
    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
            return answer(StatusCode::BAD_REQUEST, Bytes::new());
        };
        let Some(body) = reencode(self.json, body) else {
            return answer(StatusCode::BAD_REQUEST, Bytes::new());
        };
        let sent = tokio::time::timeout(TIMEOUT, self.send(parts, body)).await;
        match sent
            .ok()
            .flatten()
            .and_then(|(s, b)| Some((s, reencode(self.json, b)?)))
        {
            Some((status, body)) => answer(status, body),
            None => answer(StatusCode::BAD_GATEWAY, Bytes::new()),
        }
    }

    /// One upstream call: the answer's status and whole body, or `None` on any failure.
    async fn send(&self, parts: http::request::Parts, body: Bytes) -> Option<(StatusCode, Bytes)> {
        match &self.client {
            Client::Reqwest(client) => {
                let url = format!("{}{}", self.upstream, parts.uri.path());
                let mut out = client.request(parts.method, url).body(body);
                for name in [header::AUTHORIZATION, header::CONTENT_TYPE] {
                    if let Some(v) = parts.headers.get(&name) {
                        out = out.header(name, v.clone());
                    }
                }
                let rsp = out.send().await.ok()?;
                first_answer(rsp.version());
                let status = rsp.status();
                Some((status, rsp.bytes().await.ok()?))
            }
            Client::ReqwestGateway { client, base, host } => {
                let mut url = base.clone();
                url.set_path(parts.uri.path());
                let mut sent = reqwest::Request::new(parts.method, url);
                let headers = sent.headers_mut();
                for name in [header::AUTHORIZATION, header::CONTENT_TYPE] {
                    if let Some(v) = parts.headers.get(&name) {
                        headers.insert(name, v.clone());
                    }
                }
                if let Some(host) = host {
                    headers.insert(header::HOST, host.clone());
                }
                *sent.body_mut() = Some(body.into());
                let rsp = client.execute(sent).await.ok()?;
                first_answer(rsp.version());
                let status = rsp.status();
                Some((status, rsp.bytes().await.ok()?))
            }
            Client::HyperUtil(client) => {
                let url = format!("{}{}", self.upstream, parts.uri.path());
                let mut out = Request::builder().method(parts.method).uri(url);
                for name in [header::AUTHORIZATION, header::CONTENT_TYPE] {
                    if let Some(v) = parts.headers.get(&name) {
                        out = out.header(name, v.clone());
                    }
                }
                let rsp = client.request(out.body(Full::new(body)).ok()?).await.ok()?;
                first_answer(rsp.version());
                let status = rsp.status();
                Some((status, rsp.into_body().collect().await.ok()?.to_bytes()))
            }
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(listen), Some(upstream)) = (args.get(1), args.get(2)) else {
        eprintln!(
            "usage: dialectgate-floor LISTEN UPSTREAM [proxy|proxy-json] [reqwest|reqwest-gateway|hyper-util]"
        );
        return ExitCode::from(2);
    };
    let json = match args.get(3).map(String::as_str) {
        None | Some("proxy") => false,
        Some("proxy-json") => true,
        Some(other) => {
            eprintln!("unknown mode `{other}` (proxy or proxy-json)");
            return ExitCode::from(2);
        }
    };
    let which = args
        .get(4)
        .cloned()
        .or_else(|| std::env::var("FLOOR_CLIENT").ok());
    // rustls with the ring provider for the whole process, as the gateway installs it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // FLOOR_CA: a PEM file of certificate authorities for an `https://` bench upstream.
    let ca = match std::env::var_os("FLOOR_CA").map(std::fs::read).transpose() {
        Ok(ca) => ca,
        Err(e) => {
            eprintln!("cannot read FLOOR_CA: {e}");
            return ExitCode::FAILURE;
        }
    };
    let upstream = upstream.trim_end_matches('/').to_owned();
    let client = match which.as_deref() {
        None | Some("reqwest") => reqwest_client(ca.as_deref()).map(Client::Reqwest),
        Some("reqwest-gateway") => reqwest_client(ca.as_deref()).and_then(|client| {
            let base = reqwest::Url::parse(&upstream).map_err(|e| e.to_string())?;
            let host = match (base.host_str(), base.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_owned(),
                (None, _) => return Err("the upstream URL has no host".to_owned()),
            };
            let host = HeaderValue::try_from(host).map_err(|e| e.to_string())?;
            let host = (base.scheme() == "http").then_some(host);
            Ok(Client::ReqwestGateway { client, base, host })
        }),
        Some("hyper-util") => hyper_util_client(ca.as_deref()),
        Some(other) => {
            eprintln!("unknown client `{other}` (reqwest, reqwest-gateway or hyper-util)");
            return ExitCode::from(2);
        }
    };
    let client = match client {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot build the client: {e}");
            return ExitCode::FAILURE;
        }
    };
    let floor = Arc::new(Floor {
        client,
        upstream,
        json,
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listen = listen.clone();
    runtime.block_on(async move {
        let listener = match TcpListener::bind(&listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cannot listen on {listen}: {e}");
                return ExitCode::FAILURE;
            }
        };
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let floor = floor.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| {
                    let floor = floor.clone();
                    async move { Ok::<_, Infallible>(floor.handle(req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    })
}
