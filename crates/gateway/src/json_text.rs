//! JSON text in a vector of exactly its size, for the two bodies the gateway serialises on every
//! request: the upstream call's (`upstream::Payload`) and the caller's answer
//! (`pipeline::answer`). A leaf: it imports nothing of the crate.

use std::cell::RefCell;

use serde_json::Value;

/// A scratch buffer larger than this is not kept for the next body.
const KEEP_SCRATCH: usize = 16 * 1024;

thread_local! {
    /// Where a worker thread writes its bodies' JSON: grown once, not per body.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// `value` as JSON text, in a vector of exactly its size: written into the thread's scratch
/// buffer, then copied out once. A fresh vector would grow by doubling (copying the text at
/// each step, and holding up to twice its size), and one with room to spare costs `Bytes`
/// another allocation when it takes it. Empty if `value` cannot be serialised.
pub(crate) fn exact(value: &Value) -> Vec<u8> {
    SCRATCH.with_borrow_mut(|scratch| {
        scratch.clear();
        let bytes = match serde_json::to_writer(&mut *scratch, value) {
            Ok(()) => scratch.to_vec(),
            Err(_) => Vec::new(),
        };
        if scratch.capacity() > KEEP_SCRATCH {
            *scratch = Vec::new();
        }
        bytes
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::exact as body_bytes;
    use super::*;

    // Moved unchanged from the answer phase's tests, where this function was born.
    #[test]
    fn an_answer_is_written_as_serde_json_writes_it_at_its_exact_size() {
        let big = "x".repeat(KEEP_SCRATCH * 2);
        let values = [
            json!({"data": {"email": "ada@example.com", "id": "cus_ada", "type": "customer"}}),
            json!({"s": "quote \" backslash \\ control \u{1} and \u{e9}", "n": [1, -2.5, null, true]}),
            json!({"big": big}),
            json!([]),
            Value::Null,
            json!({"after": "a buffer larger than kept"}),
        ];
        for value in &values {
            let bytes = body_bytes(value);
            assert_eq!(bytes, serde_json::to_vec(value).unwrap());
            assert_eq!(bytes.capacity(), bytes.len());
        }
        SCRATCH.with_borrow(|scratch| assert!(scratch.capacity() <= KEEP_SCRATCH));
    }
}
