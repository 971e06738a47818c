//! What a caller's body costs held as bytes and held parsed (a `serde_json::Value` tree, as
//! `parse_strict` builds it): the question behind the candidate's dual-write copy
//! (`crates/gateway/src/candidate.rs`, `dual_write`), which could queue either. Counts the heap
//! bytes the parse leaves allocated with a counting allocator, for every dialect's fixture
//! requests, the bench bodies and two generated large bodies (Medusa metadata of 64-byte string
//! pairs, and of one-digit number lists).
//!
//! ```text
//! cargo run --release -p dialectgate-dialect --example parsed_size
//! ```

use std::path::Path;

use dialectgate_dialect::{DEFAULT_MAX_DEPTH, parse_strict};
use serde_json::Value;

#[path = "common/held.rs"]
mod held;
use held::{copies, per_copy};

/// The resident bytes one copy of `bytes` takes held as text and held parsed, each measured
/// over [`copies`] copies kept alive (into `kept`, so that no freed memory is reused by the
/// next measurement).
fn held(bytes: &[u8], kept: &mut Vec<Box<dyn std::any::Any>>) -> (usize, usize) {
    let n = copies(bytes.len());
    let as_text = per_copy(n, || bytes.to_vec(), kept);
    let as_tree = per_copy(
        n,
        || -> Value { parse_strict(bytes, DEFAULT_MAX_DEPTH).expect("a fixture parses") },
        kept,
    );
    (as_text, as_tree)
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut bodies: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add_dir = |dir: &Path, keep: &dyn Fn(&str) -> bool| {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .expect("the folder exists")
            .map(|e| e.expect("an entry").path())
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(keep))
            .collect();
        names.sort();
        for p in names {
            let name = p.strip_prefix(&root).unwrap_or(&p).display().to_string();
            bodies.push((name, std::fs::read(&p).expect("readable")));
        }
    };
    let fixtures = root.join("tests/fixtures");
    let mut dialects: Vec<_> = std::fs::read_dir(&fixtures)
        .expect("tests/fixtures")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dialects.sort();
    for d in &dialects {
        add_dir(d, &|n| {
            n == "request.simple.json" || n == "request.vendor-example.json"
        });
    }
    add_dir(&root.join("bench/bodies"), &|n| n.ends_with(".json"));
    // The number lists stop below the parser's value limit (`DEFAULT_MAX_VALUES`).
    for (name, pair, sizes) in [
        (
            "generated: medusa metadata, 64-byte string pairs",
            "\"{k}\":\"{v}\"",
            [64 * 1024, 1024 * 1024],
        ),
        (
            "generated: medusa metadata, one-digit number lists",
            "\"{k}\":[1,2,3,4,5,6,7,8,9]",
            [64 * 1024, 256 * 1024],
        ),
    ] {
        for target in sizes {
            let mut body = String::from("{\"first_name\":\"Ada\",\"metadata\":{");
            let mut i = 0;
            while body.len() < target {
                if i > 0 {
                    body.push(',');
                }
                let k = format!("{i:0>64}");
                let v = format!("{:0>64}", i * 7);
                body.push_str(&pair.replace("{k}", &k).replace("{v}", &v));
                i += 1;
            }
            body.push_str("}}");
            bodies.push((format!("{name} ({} KiB)", target / 1024), body.into_bytes()));
        }
    }
    println!("| body | bytes | held as text (RSS per copy) | held parsed (RSS per copy) | parsed / text |");
    println!("|---|---:|---:|---:|---:|");
    let mut ratios = Vec::new();
    let mut kept = Vec::new();
    for (name, bytes) in &bodies {
        let (text, tree) = held(bytes, &mut kept);
        let ratio = tree as f64 / text.max(1) as f64;
        ratios.push(ratio);
        println!("| {name} | {} | {text} | {tree} | {ratio:.1} |", bytes.len());
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "\n{} bodies: parsed / bytes min {:.1}, median {:.1}, max {:.1}",
        ratios.len(),
        ratios[0],
        ratios[ratios.len() / 2],
        ratios[ratios.len() - 1]
    );
}
