//! What does one request cost the whole gateway pipeline in process, without sockets?
//!
//! `Gateway::handle` on a ready `http::Request` per dialect (its vendor example body and
//! credential) against the embedded canonical backend: routing, admission, credential check,
//! body read, strict parse, validation, translation both ways, the backend's merge, the answer
//! in the caller's dialect, metrics. The difference to `translate` in the dialect crate's bench
//! is the pipeline's own cost.
//!
//! Run: `cargo bench -p dialectgate-gateway --bench pipeline -- --warm-up-time 1 --measurement-time 3`

/// The allocator the `dialectgate` binary ships with, so the figures are the ones it sees.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::path::Path;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use dialectgate_gateway::{Gateway, Overrides};
use http_body_util::Full;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// Method, path and credential header of `dialect`'s call for customer `cus_ada`, from its
/// definition (route and first accepted credential), so a new dialect is measured too.
fn call(dialect: &dialectgate_dialect::Dialect) -> (String, String, (String, String)) {
    let credential = &dialect.auth().accept[0];
    let value = match &credential.scheme {
        Some(scheme) if !credential.scheme_optional => format!("{scheme} dg_demo_key"),
        _ => "dg_demo_key".to_owned(),
    };
    (
        dialect.route().method.clone(),
        dialect.route().path.replace("{id}", "cus_ada"),
        (credential.header.clone(), value),
    )
}

fn pipeline(c: &mut Criterion) {
    let root = repo();
    let overrides = Overrides {
        listen: Some("127.0.0.1:0".into()),
        ..Overrides::default()
    };
    let mut config = dialectgate_gateway::load(
        Some(&root.join("config/dialectgate.toml")),
        Some(Default::default()),
        &overrides,
    )
    .expect("the shipped configuration loads");
    config.dialects.dir = root.join("config/dialects");
    config.dialects.schemas = root.join("schemas");
    let gateway = Gateway::new(config).expect("starts");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("pipeline");
    for d in gateway.registry().dialects() {
        let dialect = d.id();
        let mut body: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                root.join(format!("tests/fixtures/{dialect}/request.vendor-example.json")),
            )
            .expect("fixture"),
        )
        .expect("JSON");
        if let (Some(at), Some(map)) = (&d.route().id_in_body, body.as_object_mut()) {
            at.set(map, "cus_ada".into());
        }
        // Unique emails would be needed for repeated updates of one email across customers;
        // here one customer is updated again and again, which the backend allows.
        let bytes = Bytes::from(serde_json::to_vec(&body).expect("serialize"));
        let (method, path, (header, value)) = call(d);
        let request = || {
            http::Request::builder()
                .method(method.as_str())
                .uri(path.as_str())
                .header("host", "bench")
                .header("content-type", "application/json")
                .header(header.as_str(), value.as_str())
                .body(Full::new(bytes.clone()))
                .expect("request")
        };
        let status = rt.block_on(gateway.handle(request(), None)).status();
        assert!(status.is_success(), "{dialect}: {status}");
        group.bench_function(BenchmarkId::new("handle", dialect), |b| {
            b.iter(|| rt.block_on(gateway.handle(black_box(request()), None)))
        });
    }
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
