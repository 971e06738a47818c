//! Issue #23 item 1, "measure the options side by side": what decoding a caller's body costs in
//! each form the request path could hold it in, and what checking it against its dialect's
//! schema costs in each. The forms:
//!
//! - `value`: `parse_limited`, the shipped strict parser, into a `serde_json::Value` tree (a
//!   B-tree map per object, every string copied);
//! - `value-lax`: `serde_json::from_slice::<Value>` without the strict checks, to show what the
//!   checks themselves cost;
//! - `doc`: [`Doc`], the library's compact tree that borrows every string without escapes from
//!   the body (objects are vectors of members), with the strict checks of `parse_limited`
//!   (`dialectgate_dialect::parse_doc`: the gateway reads upstream answers with it);
//! - `raw`: the top-level members as `&RawValue` (serde_json's `raw_value`): nothing is built
//!   inside a member, which is only scanned; the floor of "raw where no rule reads inside".
//!
//! and the schema check by jsonschema 0.61 on a `Value` (as shipped) and on a [`Doc`] directly
//! (its `Json` trait validates other representations in place).
//!
//! ```text
//! cargo run --profile profiling -p dialectgate-dialect --example parse_options -- table FILE...
//! cargo run --profile profiling -p dialectgate-dialect --example parse_options -- run FORM SCHEMA FILE N
//! ```
//!
//! `table` prints, per body and form, the resident bytes one decoded copy holds (many copies held
//! at once, under mimalloc, the gateway's allocator). `run` decodes FILE N times in
//! one FORM (`value`, `value-lax`, `doc`, `raw`, `check-value`, `check-doc`: the last two
//! decode and check against SCHEMA), for instructions counted by callgrind
//! (`bench/parse-options.sh`).

use std::borrow::Cow;
use std::fmt;

use dialectgate_dialect::{Doc, DocJson, Limits, parse_limited};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

#[path = "common/held.rs"]
mod held;
use held::{copies, per_copy};

/// The gateway's allocator, so that what a form holds is what the gateway would hold.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The gateway's default request limits (`server.max_json_values`, the nesting depth).
const LIMITS: Limits = Limits {
    depth: 64,
    values: 10_000,
};

/// A member name, borrowed when it holds no escape.
#[derive(serde::Deserialize)]
struct Name<'a>(#[serde(borrow)] Cow<'a, str>);

/// The library's borrowed document, within the gateway's request limits.
fn parse_doc(text: &str) -> Result<Doc<'_>, serde_json::Error> {
    dialectgate_dialect::parse_doc(text.as_bytes(), LIMITS)
}

/// The top-level members (or items), each left as its text.
fn parse_raw(text: &str) -> Result<Vec<(Cow<'_, str>, &RawValue)>, serde_json::Error> {
    struct Members;
    impl<'de> Visitor<'de> for Members {
        type Value = Vec<(Cow<'de, str>, &'de RawValue)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut members = Vec::new();
            while let Some(Name(name)) = map.next_key::<Name<'de>>()? {
                if members.iter().any(|(n, _)| *n == name) {
                    return Err(de::Error::custom("duplicate key"));
                }
                members.push((name, map.next_value::<&RawValue>()?));
            }
            Ok(members)
        }
        /// A top-level array (BigCommerce's batch): its items, unnamed.
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element::<&RawValue>()? {
                items.push((Cow::Borrowed(""), item));
            }
            Ok(items)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let members = de::Deserializer::deserialize_any(&mut de, Members)?;
    de.end()?;
    Ok(members)
}

fn table(files: &[String]) {
    println!("| body | bytes | `value` | `value-lax` | `doc` | `raw` | (resident bytes per copy, × body) |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    let mut kept = Vec::new();
    for file in files {
        // Leaked: the borrowed forms point into the text, which must outlive what is kept.
        let text: &'static str = Box::leak(
            std::fs::read_to_string(file)
                .expect("a readable body")
                .into_boxed_str(),
        );
        let name = std::path::Path::new(file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(file);
        let n = copies(text.len());
        let times = |b: usize| format!("{b} ({:.2}×)", b as f64 / text.len() as f64);
        let value = per_copy(
            n,
            || parse_limited(text.as_bytes(), LIMITS).expect("the body parses"),
            &mut kept,
        );
        let lax = per_copy(
            n,
            || serde_json::from_str::<Value>(text).expect("the body parses"),
            &mut kept,
        );
        let doc = per_copy(n, || parse_doc(text).expect("the body parses"), &mut kept);
        let raw = per_copy(n, || parse_raw(text).expect("the body parses"), &mut kept);
        println!(
            "| {name} | {} | {} | {} | {} | {} | |",
            text.len(),
            times(value),
            times(lax),
            times(doc),
            times(raw)
        );
    }
}

fn run(form: &str, schema: &str, file: &str, n: usize) {
    let text = std::fs::read_to_string(file).expect("a readable body");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(schema).expect("a readable schema"))
        .expect("a JSON schema");
    let on_value = jsonschema::validator_for(&schema).expect("a valid schema");
    let on_doc = jsonschema::options_for::<DocJson>()
        .build(&schema)
        .expect("a valid schema");
    let mut valid = 0usize;
    for _ in 0..n {
        valid += match form {
            "value" => usize::from(parse_limited(text.as_bytes(), LIMITS).is_ok()),
            "value-lax" => usize::from(serde_json::from_str::<Value>(&text).is_ok()),
            "doc" => usize::from(parse_doc(&text).is_ok()),
            "raw" => usize::from(parse_raw(&text).is_ok()),
            "check-value" => {
                let v = parse_limited(text.as_bytes(), LIMITS).expect("the body parses");
                usize::from(on_value.is_valid(&v))
            }
            "check-doc" => {
                let d = parse_doc(&text).expect("the body parses");
                usize::from(on_doc.is_valid(&d))
            }
            other => panic!("unknown form {other}"),
        };
    }
    // Every decode must succeed (and every check pass): a count that is not N is a wrong input.
    assert_eq!(valid, n, "{form} on {file}: {valid} of {n} succeeded");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("table") => table(&args[1..]),
        Some("run") if args.len() == 5 => run(
            &args[1],
            &args[2],
            &args[3],
            args[4].parse().expect("N is a count"),
        ),
        _ => eprintln!("usage: parse_options table FILE... | parse_options run FORM SCHEMA FILE N"),
    }
}
