//! Finding a caller's or an upstream's secrets in what the engine writes: the strings of
//! `password` members, confirmed with same-length canaries (shared by `checks.rs`).

use serde_json::Value;

/// Secrets are strings longer than this (in chars).
const SECRET_MAX_IGNORED_LEN: usize = 8;

fn is_password_key(key: &str) -> bool {
    key.to_ascii_lowercase().contains("password")
}

/// Free-form customer data (canonical `metadata` and `extensions`): a `password` key in there
/// is the customer's own data, carried like any other.
fn is_free_form(key: &str) -> bool {
    matches!(key.to_ascii_lowercase().as_str(), "metadata" | "extensions")
}

fn is_secret(s: &str) -> bool {
    s.chars().count() > SECRET_MAX_IGNORED_LEN
}

/// Every string of more than 8 chars inside a `password`-named member, anywhere in `v` but in
/// free-form customer data.
pub fn secrets_of(v: &Value) -> Vec<String> {
    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) if is_secret(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
            Value::Object(map) => map.values().for_each(|i| strings(i, out)),
            _ => {}
        }
    }
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => {
                for (k, v) in map {
                    if is_password_key(k) {
                        strings(v, out);
                    } else if !is_free_form(k) {
                        walk(v, out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut out);
    out.sort();
    out.dedup();
    out
}

/// `v` with every secret replaced by a canary of the same length, and the canaries.
pub fn with_canaries(v: &Value) -> (Value, Vec<String>) {
    fn replace(v: &mut Value, canaries: &mut Vec<String>) {
        match v {
            Value::String(s) if is_secret(s) => {
                let len = s.chars().count();
                let mut canary = format!("CANARY{:03}", canaries.len());
                while canary.chars().count() < len {
                    canary.push('Z');
                }
                *s = canary.clone();
                canaries.push(canary);
            }
            Value::Array(items) => items.iter_mut().for_each(|i| replace(i, canaries)),
            Value::Object(map) => map.values_mut().for_each(|i| replace(i, canaries)),
            _ => {}
        }
    }
    fn walk(v: &mut Value, canaries: &mut Vec<String>) {
        match v {
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, canaries)),
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if is_password_key(k) {
                        replace(v, canaries);
                    } else if !is_free_form(k) {
                        walk(v, canaries);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = v.clone();
    let mut canaries = Vec::new();
    walk(&mut out, &mut canaries);
    (out, canaries)
}

/// The secrets that occur in `haystack`, as written or JSON-escaped.
pub fn find_secrets<'a>(haystack: &'a [u8], secrets: &'a [String]) -> impl Iterator<Item = String> + 'a {
    secrets.iter().filter_map(move |s| {
        let quoted = serde_json::to_string(s).unwrap_or_default();
        let escaped = quoted
            .strip_prefix('"')
            .and_then(|q| q.strip_suffix('"'))
            .unwrap_or(&quoted);
        (contains(haystack, s.as_bytes()) || contains(haystack, escaped.as_bytes()))
            .then(|| format!("contains {s:?}"))
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
