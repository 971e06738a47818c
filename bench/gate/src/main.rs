//! The in-process pipeline for the instruction-count gate (bench/gate.sh).
//!
//! `dialectgate-gate DIALECT N`: loads the shipped configuration, sends DIALECT's vendor example
//! (its credential, customer `cus_ada`) through `Gateway::handle` against the embedded canonical
//! backend WARM times, then N times inside `measured`. bench/gate.sh runs it under
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect=*measured*`, so only the N
//! requests are counted: routing, admission, credentials, body read, strict parse, validation,
//! translation both ways, the backend, the answer, metrics. `dialectgate-gate --list` prints the
//! loaded dialects.

/// The allocator the `dialectgate` binary ships with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::path::Path;
use std::process::ExitCode;

use bytes::Bytes;
use dialectgate_gateway::{Gateway, Overrides};
use http_body_util::Full;

const WARM: usize = 50;

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

fn run(args: &[String]) -> Result<(), String> {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let overrides = Overrides {
        listen: Some("127.0.0.1:0".into()),
        ..Overrides::default()
    };
    let mut config = dialectgate_gateway::load(
        Some(&root.join("config/dialectgate.toml")),
        Some(Default::default()),
        &overrides,
    )
    .map_err(|e| format!("the shipped configuration: {e}"))?;
    config.dialects.dir = root.join("config/dialects");
    config.dialects.schemas = root.join("schemas");
    let gateway = Gateway::new(config).map_err(|e| format!("start: {e}"))?;
    if args.first().map(String::as_str) == Some("--list") {
        for d in gateway.registry().dialects() {
            println!("{}", d.id());
        }
        return Ok(());
    }
    let [dialect, n] = args else {
        return Err("usage: dialectgate-gate DIALECT N | --list".into());
    };
    let n: usize = n.parse().map_err(|_| format!("N: not a count: {n}"))?;
    let d = gateway
        .registry()
        .dialects()
        .iter()
        .find(|d| d.id() == dialect)
        .ok_or_else(|| format!("no dialect {dialect}"))?;
    let fixture = root.join(format!("tests/fixtures/{dialect}/request.vendor-example.json"));
    let text = std::fs::read_to_string(&fixture).map_err(|e| format!("{}: {e}", fixture.display()))?;
    let mut body: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    if let (Some(at), Some(map)) = (&d.route().id_in_body, body.as_object_mut()) {
        at.set(map, "cus_ada".into());
    }
    let bytes = Bytes::from(serde_json::to_vec(&body).map_err(|e| e.to_string())?);
    let credential = &d.auth().accept[0];
    let value = match &credential.scheme {
        Some(scheme) if !credential.scheme_optional => format!("{scheme} dg_demo_key"),
        _ => "dg_demo_key".to_owned(),
    };
    let method = d.route().method.clone();
    let path = d.route().path.replace("{id}", "cus_ada");
    let header = credential.header.clone();
    let request = || {
        http::Request::builder()
            .method(method.as_str())
            .uri(path.as_str())
            .header("host", "gate")
            .header("content-type", "application/json")
            .header(header.as_str(), value.as_str())
            .body(Full::new(bytes.clone()))
            .map_err(|e| e.to_string())
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    for _ in 0..WARM {
        let status = rt.block_on(gateway.handle(request()?, None)).status();
        if !status.is_success() {
            return Err(format!("{dialect}: the gateway answered {status}"));
        }
    }
    measured(&rt, &gateway, n, request)
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
