//! The floor of dialectgate's stack, for `bench/`: what a request costs in hyper + reqwest +
//! tokio (+ serde_json) alone, with the same server settings, client settings, runtime and
//! allocator as the gateway, and nothing of the gateway's own (no routing, credentials,
//! validation, translation, metrics or headers).
//!
//! ```text
//! dialectgate-floor LISTEN UPSTREAM [proxy|proxy-json]
//! ```
//!
//! `proxy` forwards the method, path, body, `Authorization` and `Content-Type` of each request
//! to `UPSTREAM` (`http://host:port`) and answers with the upstream's status and body.
//! `proxy-json` also parses the request body into a `serde_json::Value` and serialises it
//! again before forwarding, and does the same with the answer: the JSON work any translating
//! gateway must do at the least. Runs with `TOKIO_WORKER_THREADS` like the gateway.

use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Floor {
    client: reqwest::Client,
    upstream: String,
    json: bool,
}

/// Parses and re-serialises `bytes` when `json`; passes them through otherwise.
fn reencode(json: bool, bytes: Bytes) -> Option<Bytes> {
    if !json {
        return Some(bytes);
    }
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    serde_json::to_vec(&value).ok().map(Bytes::from)
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
        let url = format!("{}{}", self.upstream, parts.uri.path());
        let mut out = self.client.request(parts.method, url).body(body);
        for name in [header::AUTHORIZATION, header::CONTENT_TYPE] {
            if let Some(v) = parts.headers.get(&name) {
                out = out.header(name, v.clone());
            }
        }
        let Ok(rsp) = out.send().await else {
            return answer(StatusCode::BAD_GATEWAY, Bytes::new());
        };
        let status = rsp.status();
        match rsp.bytes().await.ok().and_then(|b| reencode(self.json, b)) {
            Some(body) => answer(status, body),
            None => answer(StatusCode::BAD_GATEWAY, Bytes::new()),
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(listen), Some(upstream)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: dialectgate-floor LISTEN UPSTREAM [proxy|proxy-json]");
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
    // The gateway's client settings (crates/gateway/src/upstream.rs).
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never().max_retries_per_request(0))
        .build();
    let client = match client {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot build the client: {e}");
            return ExitCode::FAILURE;
        }
    };
    let floor = Arc::new(Floor {
        client,
        upstream: upstream.trim_end_matches('/').to_owned(),
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
