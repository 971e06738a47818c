//! How long does the dialect engine take per request, per dialect, and where does that time go?
//!
//! For each dialect's vendor example request (`tests/fixtures/<dialect>/request.vendor-example.json`)
//! this measures `parse` (strict JSON parse of the raw bytes), `serialize` (the translated
//! body to bytes), (a) `validate`: the JSON Schema check of the caller's body, (b) `decode`: the
//! body to the canonical request, (c) `encode_canonical` / `encode_other`: the canonical request
//! to a canonical upstream and to one other dialect (including the target-schema check),
//! (d) `translate`: the whole validate + decode + encode of `Registry::translate` to canonical
//! (the target is ≤ 5 µs), and (e) `answer`: reading a canonical upstream's Customer
//! (`read_answer`) and encoding it as the caller's success body (`encode_answer`).
//!
//! Run: `cargo bench -p dialectgate-dialect --bench translate -- --warm-up-time 1 --measurement-time 3`

/// The allocator the `dialectgate` binary ships with, so the figures are the ones it sees.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use dialectgate_dialect::{Answer, Endpoint, Mode, Registry};
use serde_json::Value;

/// The other dialect each source is encoded to in `encode_other`: the next one of the registry
/// (by id, wrapping round) that the source's example encodes to.
fn other(reg: &Registry, id: &str, request: &dialectgate_dialect::CanonicalRequest) -> Endpoint {
    let ids: Vec<&str> = reg.dialects().iter().map(|d| d.id()).collect();
    let at = ids
        .iter()
        .position(|d| *d == id)
        .expect("a dialect of the registry");
    ids.iter()
        .cycle()
        .skip(at + 1)
        .take(ids.len() - 1)
        .filter_map(|d| reg.endpoint(d))
        .find(|to| reg.encode_request(to, request).is_ok())
        .expect("the example encodes to some other dialect")
}

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn fixture(dialect: &str, kind: &str) -> Value {
    let path = repo().join(format!("tests/fixtures/{dialect}/{kind}.vendor-example.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read fixture")).expect("fixture is JSON")
}

fn bench(c: &mut Criterion) {
    let reg =
        Registry::load(&repo().join("config/dialects"), &repo().join("schemas")).expect("definitions load");
    let canonical = Endpoint::Canonical;
    let mut group = c.benchmark_group("dialect");
    for dialect in reg.dialects().to_vec() {
        let id = dialect.id();
        let from = Endpoint::Dialect(dialect.clone());
        let body = fixture(id, "request");
        let path_id = dialect.route().id_in_body.is_none().then_some("cus_123");
        let request = dialect.decode_request(path_id, &body).expect("decodes").request;
        let to_other = other(&reg, id, &request);

        // A canonical upstream's answer carrying what this dialect's own answer carries.
        let response = serde_json::to_vec(&fixture(id, "response")).expect("serialize");
        let Answer::Customer(customer) = reg.read_answer(&from, 200, &response) else {
            panic!("{id}: the example response is not a customer");
        };
        let upstream_answer = serde_json::to_vec(&customer).expect("serialize");
        assert!(matches!(
            reg.read_answer(&canonical, 200, &upstream_answer),
            Answer::Customer(_)
        ));

        let raw = serde_json::to_vec(&body).expect("serialize");
        group.bench_with_input(BenchmarkId::new("parse", id), &raw, |b, raw| {
            b.iter(|| {
                dialectgate_dialect::parse_strict(black_box(raw), dialectgate_dialect::DEFAULT_MAX_DEPTH)
            })
        });
        let outbound = reg
            .translate(&from, &canonical, Some("cus_1"), &body, Mode::Strict)
            .expect("translates")
            .outbound;
        group.bench_with_input(BenchmarkId::new("serialize", id), &outbound.body, |b, out| {
            b.iter(|| serde_json::to_vec(black_box(out)))
        });
        group.bench_with_input(BenchmarkId::new("validate", id), &body, |b, body| {
            b.iter(|| reg.validate_request(black_box(&from), black_box(body)))
        });
        group.bench_with_input(BenchmarkId::new("decode", id), &body, |b, body| {
            b.iter(|| dialect.decode_request(black_box(path_id), black_box(body)))
        });
        group.bench_with_input(
            BenchmarkId::new("encode_canonical", id),
            &request,
            |b, request| b.iter(|| reg.encode_request(black_box(&canonical), black_box(request))),
        );
        group.bench_with_input(BenchmarkId::new("encode_other", id), &request, |b, request| {
            b.iter(|| reg.encode_request(black_box(&to_other), black_box(request)))
        });
        group.bench_with_input(BenchmarkId::new("translate", id), &body, |b, body| {
            b.iter(|| {
                reg.translate(
                    black_box(&from),
                    &canonical,
                    black_box(path_id),
                    black_box(body),
                    Mode::Lenient,
                )
            })
        });
        group.bench_with_input(BenchmarkId::new("answer", id), &upstream_answer, |b, bytes| {
            b.iter(|| match reg.read_answer(&canonical, 200, black_box(bytes)) {
                Answer::Customer(customer) => reg.encode_answer(black_box(&from), &customer).ok(),
                Answer::Problem(_) => None,
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
