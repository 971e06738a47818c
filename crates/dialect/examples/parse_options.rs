//! Issue #23 item 1, "measure the options side by side": what decoding a caller's body costs in
//! each form the request path could hold it in, and what checking it against its dialect's
//! schema costs in each. The forms:
//!
//! - `value`: `parse_limited`, the shipped strict parser, into a `serde_json::Value` tree (a
//!   B-tree map per object, every string copied);
//! - `value-lax`: `serde_json::from_slice::<Value>` without the strict checks, to show what the
//!   checks themselves cost;
//! - `doc`: [`Doc`], a compact tree that borrows every string without escapes from the body
//!   (objects are vectors of members), with the same strict checks as `parse_limited` (nesting,
//!   value count, duplicate names, NUL) except the rescan for inexact decimals, which runs only
//!   when a body holds one;
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
use std::cell::Cell;
use std::fmt;

use dialectgate_dialect::{Limits, parse_limited};
use jsonschema::JsonType;
use jsonschema::json::{Array, Json, Node, NodeIdentity, Object};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Number, Value};

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

/// A JSON document that borrows its strings from the text where they hold no escape.
#[derive(Debug)]
enum Doc<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Doc<'a>>),
    Object(Vec<(Cow<'a, str>, Doc<'a>)>),
}

/// The strict checks of `parse_limited`, building a [`Doc`].
#[derive(Clone, Copy)]
struct Seed<'c> {
    depth: usize,
    values: &'c Cell<usize>,
}

impl Seed<'_> {
    fn deeper<E: de::Error>(self) -> Result<Self, E> {
        if self.depth >= LIMITS.depth {
            return Err(E::custom("nesting too deep"));
        }
        Ok(Seed {
            depth: self.depth + 1,
            ..self
        })
    }
}

fn no_nul<E: de::Error>(s: &str) -> Result<(), E> {
    if s.contains('\0') {
        return Err(E::custom("NUL in a string"));
    }
    Ok(())
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Doc<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Doc<'de>, D::Error> {
        let n = self.values.get() + 1;
        if n > LIMITS.values {
            return Err(de::Error::custom("too many values"));
        }
        self.values.set(n);
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Doc<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Doc<'de>, E> {
        Ok(Doc::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Doc<'de>, E> {
        Ok(Doc::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Doc<'de>, E> {
        Ok(Doc::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Doc<'de>, E> {
        Ok(Doc::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Doc<'de>, E> {
        Number::from_f64(v)
            .map(Doc::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Doc<'de>, E> {
        no_nul(v)?;
        Ok(Doc::String(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Doc<'de>, E> {
        no_nul(v)?;
        Ok(Doc::String(Cow::Owned(v.to_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Doc<'de>, A::Error> {
        let inner = self.deeper()?;
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(inner)? {
            items.push(v);
        }
        Ok(Doc::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc<'de>, A::Error> {
        let inner = self.deeper()?;
        let mut members: Vec<(Cow<'de, str>, Doc<'de>)> = Vec::new();
        while let Some(name) = map.next_key_seed(Name)? {
            no_nul(&name)?;
            // Most objects are small: a scan beats a set. A large one is checked once, sorted.
            if members.len() < 16 && members.iter().any(|(n, _)| *n == name) {
                return Err(de::Error::custom("duplicate key"));
            }
            members.push((name, map.next_value_seed(inner)?));
        }
        if members.len() >= 16 {
            let mut names: Vec<&str> = members.iter().map(|(n, _)| n.as_ref()).collect();
            names.sort_unstable();
            if names.windows(2).any(|w| w[0] == w[1]) {
                return Err(de::Error::custom("duplicate key"));
            }
        }
        Ok(Doc::Object(members))
    }
}

/// A member name, borrowed when it holds no escape.
struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

fn parse_doc(text: &str) -> Result<Doc<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let values = Cell::new(0);
    let doc = Seed {
        depth: 0,
        values: &values,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(doc)
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
            while let Some(name) = map.next_key_seed(Name)? {
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

/// [`Doc`] as jsonschema's instance representation.
struct DocJson;

impl Json for DocJson {
    type Node<'a> = &'a Doc<'a>;
    type PreparedKey = String;
    type StringBuffer = Option<Doc<'static>>;

    fn prepare_key(key: &str) -> String {
        key.to_owned()
    }

    fn with_string_node<T>(
        buffer: &mut Option<Doc<'static>>,
        string: &str,
        f: impl FnOnce(Self::Node<'_>) -> T,
    ) -> T {
        let node = buffer.insert(Doc::String(Cow::Owned(string.to_owned())));
        f(node)
    }
}

impl<'a> Node<'a, DocJson> for &'a Doc<'a> {
    type Object = &'a [(Cow<'a, str>, Doc<'a>)];
    type Array = &'a [Doc<'a>];
    type Number = &'a Number;

    fn as_object(&self) -> Option<Self::Object> {
        match self {
            Doc::Object(m) => Some(m),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<Self::Array> {
        match self {
            Doc::Array(items) => Some(items),
            _ => None,
        }
    }

    fn as_string(&self) -> Option<Cow<'a, str>> {
        match self {
            Doc::String(s) => Some(Cow::Borrowed(s.as_ref())),
            _ => None,
        }
    }

    fn as_number(&self) -> Option<&'a Number> {
        match self {
            Doc::Number(n) => Some(n),
            _ => None,
        }
    }

    fn as_boolean(&self) -> Option<bool> {
        match self {
            Doc::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, Doc::Null)
    }

    fn json_type(&self) -> JsonType {
        match self {
            Doc::Null => JsonType::Null,
            Doc::Bool(_) => JsonType::Boolean,
            Doc::Number(_) => JsonType::Number,
            Doc::String(_) => JsonType::String,
            Doc::Array(_) => JsonType::Array,
            Doc::Object(_) => JsonType::Object,
        }
    }

    fn to_value(&self) -> Cow<'a, Value> {
        Cow::Owned(to_value(self))
    }

    fn identity(&self) -> Option<NodeIdentity> {
        Some(NodeIdentity::new(std::ptr::from_ref::<Doc<'a>>(*self) as usize))
    }
}

/// The `Value` of `doc`: only for error reports and `const`/`enum` comparisons (cold paths).
fn to_value(doc: &Doc<'_>) -> Value {
    match doc {
        Doc::Null => Value::Null,
        Doc::Bool(b) => Value::Bool(*b),
        Doc::Number(n) => Value::Number(n.clone()),
        Doc::String(s) => Value::String(s.to_string()),
        Doc::Array(items) => Value::Array(items.iter().map(to_value).collect()),
        Doc::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.to_string(), to_value(v))).collect()),
    }
}

struct Members<'a>(std::slice::Iter<'a, (Cow<'a, str>, Doc<'a>)>);

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, &'a Doc<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k.as_ref(), v))
    }
}

impl<'a> Object<'a, DocJson> for &'a [(Cow<'a, str>, Doc<'a>)] {
    type Node = &'a Doc<'a>;
    type MemberName = &'a str;
    type MembersIter = Members<'a>;

    fn len(&self) -> usize {
        <[_]>::len(self)
    }

    fn get(&self, key: &String) -> Option<&'a Doc<'a>> {
        self.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn members(&self) -> Members<'a> {
        Members(self.iter())
    }
}

impl<'a> Array<'a, DocJson> for &'a [Doc<'a>] {
    type Node = &'a Doc<'a>;
    type ElementsIter = std::slice::Iter<'a, Doc<'a>>;

    fn len(&self) -> usize {
        <[_]>::len(self)
    }

    fn elements(&self) -> Self::ElementsIter {
        self.iter()
    }
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
