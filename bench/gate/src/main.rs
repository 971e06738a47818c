//! The in-process pipeline for the instruction-count gate (bench/gate.sh).
//!
//! `dialectgate-gate CASE N` sends one case's request through `Gateway::handle` WARM times, then
//! N times inside `measured`. bench/gate.sh runs it under
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect=*measured*`, so only the N
//! requests are counted. `dialectgate-gate --list` prints the cases:
//! - one per loaded dialect (its id): the dialect's vendor example (its credential, customer
//!   `cus_ada`) against the embedded canonical backend: routing, admission, credentials, body
//!   read, strict parse, validation, translation both ways, the backend, the answer, metrics;
//! - `deployed`: the deployed path. An Elastic Path update (name, email, password) into a
//!   Medusa-dialect upstream over HTTP (a hyper server on loopback, in the same runtime, so its
//!   share is counted too and stays the same), through the upstream client (hyper-util's
//!   pooled client), the retry and breaker layers, at the default log level (a JSON subscriber
//!   at `info` writing to a sink, so the access line is built);
//! - `read-modify-write`: the same path, an Elastic Path email change into an AximCommerce
//!   upstream, which requires the names on every write: the gateway reads the stored customer
//!   first, then writes.

/// The allocator the `dialectgate` binary ships with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashMap;
use std::convert::Infallible;
use std::hint::black_box;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use bytes::Bytes;
use dialectgate_gateway::{Gateway, Overrides};
use http_body_util::{BodyExt, Full};

const WARM: usize = 50;
/// The HTTP cases, beside one case per dialect.
const HTTP_CASES: [&str; 2] = ["deployed", "read-modify-write"];
/// The caller key and the gateway's upstream credential of the HTTP cases.
const CALLER_KEY: &str = "dg_gate_key";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dialectgate-gate: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One case: the gateway and the request it is sent.
struct Case {
    gateway: Gateway,
    method: String,
    path: String,
    credential: (String, String),
    body: Bytes,
}

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn run(args: &[String]) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    if args.first().map(String::as_str) == Some("--list") {
        for d in gateway(None, &[])?.registry().dialects() {
            println!("{}", d.id());
        }
        for case in HTTP_CASES {
            println!("{case}");
        }
        return Ok(());
    }
    let [name, n] = args else {
        return Err("usage: dialectgate-gate CASE N | --list".into());
    };
    let n: usize = n.parse().map_err(|_| format!("N: not a count: {n}"))?;
    let case = match name.as_str() {
        "deployed" | "read-modify-write" => {
            // The default log level: the access line is built and written (to a sink).
            tracing_subscriber::fmt()
                .json()
                .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
                .with_writer(std::io::sink)
                .init();
            let upstream = rt.block_on(upstream())?;
            let (dialect, body) = if name == "deployed" {
                (
                    "medusa",
                    r#"{"data":{"type":"customer","name":"Ada Lovelace","email":"ada@example.com","password":"correct-horse-battery-staple"}}"#,
                )
            } else {
                (
                    "axim",
                    r#"{"data":{"type":"customer","email":"ada.king@example.com"}}"#,
                )
            };
            let gateway = gateway(Some((upstream, dialect)), &[])?;
            Case {
                gateway,
                method: "PUT".into(),
                path: "/v2/customers/cus_ada".into(),
                credential: ("authorization".into(), format!("Bearer {CALLER_KEY}")),
                body: Bytes::from_static(body.as_bytes()),
            }
        }
        dialect => embedded(dialect)?,
    };
    let request = || {
        http::Request::builder()
            .method(case.method.as_str())
            .uri(case.path.as_str())
            .header("host", "gate")
            .header("content-type", "application/json")
            .header(case.credential.0.as_str(), case.credential.1.as_str())
            .body(Full::new(case.body.clone()))
            .map_err(|e| e.to_string())
    };
    for _ in 0..WARM {
        let status = rt.block_on(case.gateway.handle(request()?, None)).status();
        if !status.is_success() {
            return Err(format!("{name}: the gateway answered {status}"));
        }
    }
    measured(&rt, &case.gateway, n, request)
}

/// The shipped configuration, with the definitions from the working tree, in front of the
/// embedded backend or of `upstream` speaking its dialect.
fn gateway(upstream: Option<(SocketAddr, &str)>, extra: &[(&str, &str)]) -> Result<Gateway, String> {
    let mut env: HashMap<String, String> = extra
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut overrides = Overrides {
        listen: Some("127.0.0.1:0".into()),
        ..Overrides::default()
    };
    if let Some((addr, dialect)) = upstream {
        env.insert("DIALECTGATE_KEYS".into(), CALLER_KEY.into());
        env.insert("DIALECTGATE_UPSTREAM_TOKEN".into(), "dg_gate_upstream".into());
        overrides.upstream = Some(format!("http://{addr}"));
        overrides.upstream_dialect = Some(dialect.into());
    }
    let mut config = dialectgate_gateway::load(
        Some(&root().join("config/dialectgate.toml")),
        Some(env),
        &overrides,
    )
    .map_err(|e| format!("the shipped configuration: {e}"))?;
    config.dialects.dir = root().join("config/dialects");
    config.dialects.schemas = root().join("schemas");
    Gateway::new(config).map_err(|e| format!("start: {e}"))
}

/// A dialect's vendor example against the embedded backend, with the public demo key.
fn embedded(dialect: &str) -> Result<Case, String> {
    let gateway = gateway(None, &[])?;
    let d = gateway
        .registry()
        .dialects()
        .iter()
        .find(|d| d.id() == dialect)
        .ok_or_else(|| format!("no case {dialect}"))?;
    let fixture = root().join(format!("tests/fixtures/{dialect}/request.vendor-example.json"));
    let text = std::fs::read_to_string(&fixture).map_err(|e| format!("{}: {e}", fixture.display()))?;
    let mut body: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let route = d.route();
    // A customer of the embedded backend the dialect can name: `cus_ada`, or `1815` where ids
    // are integers (BigCommerce); written in the dialect's id form (a Shopify GID).
    let id = if route.writes_id("cus_ada") {
        "cus_ada"
    } else {
        "1815"
    };
    let written = route.id_format.encode_text(id).unwrap_or_else(|| id.to_owned());
    if let (Some(at), Some(value)) = (&route.id_in_body, route.id_format.encode_value(id)) {
        // Where the example has it (in an array body, BigCommerce's `/0/id`), else made.
        match body.pointer_mut(&at.to_string()) {
            Some(slot) => *slot = value,
            None => {
                if let Some(map) = body.as_object_mut() {
                    at.set(map, value);
                }
            }
        }
    }
    let body = Bytes::from(serde_json::to_vec(&body).map_err(|e| e.to_string())?);
    let credential = &d.auth().accept[0];
    let value = match &credential.scheme {
        Some(scheme) if !credential.scheme_optional => format!("{scheme} dg_demo_key"),
        _ => "dg_demo_key".to_owned(),
    };
    let (method, path, header) = (
        d.route().method.clone(),
        // Any value of a path variable is served (`/stores/gate/v3/customers`).
        route
            .path
            .split('/')
            .map(
                |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some("id") => written.clone(),
                    Some(_) => "gate".to_owned(),
                    None => segment.to_owned(),
                },
            )
            .collect::<Vec<_>>()
            .join("/"),
        credential.header.clone(),
    );
    Ok(Case {
        gateway,
        method,
        path,
        credential: (header, value),
        body,
    })
}

/// A loopback upstream answering customer `cus_ada` as a Medusa or an AximCommerce server does
/// (the bodies of bench/nginx/upstream.conf.in), on the current runtime.
async fn upstream() -> Result<SocketAddr, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = hyper::service::service_fn(
                |req: http::Request<hyper::body::Incoming>| async move {
                    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
                    // The body is read whole, as a server does before answering.
                    let _ = req.into_body().collect().await;
                    let body: &'static str = match (method.as_str(), path.as_str()) {
                        (_, "/admin/customers/cus_ada") => {
                            r#"{"customer":{"id":"cus_ada","email":"ada@example.com","first_name":"Ada","last_name":"Lovelace"}}"#
                        }
                        ("GET", "/customers/cus_ada") => {
                            r#"{"success":true,"data":{"id":"cus_ada","email":"ada@example.com","firstName":"Ada","lastName":"Lovelace","status":"active"}}"#
                        }
                        (_, "/customers/cus_ada") => {
                            r#"{"success":true,"message":"Customer updated successfully","data":{"id":"cus_ada","email":"ada.king@example.com","firstName":"Ada","lastName":"Lovelace","status":"active"}}"#
                        }
                        _ => r#"{"message":"not found"}"#,
                    };
                    let mut rsp = http::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
                    rsp.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("application/json"),
                    );
                    Ok::<_, Infallible>(rsp)
                },
            );
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    Ok(addr)
}

/// The N counted requests (the callgrind toggle: keep the name, and never inline it).
#[inline(never)]
fn measured(
    rt: &tokio::runtime::Runtime,
    gateway: &Gateway,
    n: usize,
    request: impl Fn() -> Result<http::Request<Full<Bytes>>, String>,
) -> Result<(), String> {
    for _ in 0..n {
        black_box(rt.block_on(gateway.handle(black_box(request()?), None)));
    }
    Ok(())
}
