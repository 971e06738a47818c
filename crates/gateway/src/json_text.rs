//! JSON text in a vector of exactly its size, for the two bodies the gateway serialises on every
//! request: the upstream call's (`upstream::Payload`) and the caller's answer
//! (`pipeline::answer`). A leaf: it imports nothing of the crate.

use std::cell::RefCell;
use std::io;

use serde::Serialize;

mod escape;
mod value;

pub use escape::escape_with;

/// The most the thread's scratch buffer holds: a longer text is counted, then written once into a
/// vector of its size.
const KEEP_SCRATCH: usize = 16 * 1024;

thread_local! {
    /// Where a worker thread writes its bodies' JSON: grown once, not per body.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// `value` as JSON text, in a vector of exactly its size. A text of up to [`KEEP_SCRATCH`] bytes
/// (every usual body) is written into the thread's scratch buffer and copied out once: a fresh
/// vector would grow by doubling (copying the text at each step), and one with room to spare
/// costs `Bytes` another allocation when it takes it. A longer one is measured first and then
/// written into a vector of its size, so a large body is never held twice over (a scratch grown
/// by doubling beside the copy: BENCHMARKS.md, "Memory near the body"). Empty if `value`
/// cannot be serialised.
pub(crate) fn exact<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let short = SCRATCH.with_borrow_mut(|scratch| {
        scratch.clear();
        serde_json::to_writer(Bounded(scratch), value)
            .ok()
            .map(|()| scratch.to_vec())
    });
    short.unwrap_or_else(|| long(value))
}

/// [`exact`] for a `Value` or a `Doc` tree, written by hand (`json_text/value.rs`): the same
/// text, without serde's calls and a writer's call per token.
pub(crate) fn exact_value<T: value::Tree + Serialize>(value: &T) -> Vec<u8> {
    let short = SCRATCH.with_borrow_mut(|scratch| {
        scratch.clear();
        match value::write(scratch, value, KEEP_SCRATCH) {
            Ok(()) => Some(scratch.to_vec()),
            Err(value::TooLong) => {
                // Never kept grown past the bound (the writer stops just past it).
                scratch.clear();
                scratch.shrink_to(KEEP_SCRATCH);
                None
            }
        }
    });
    short.unwrap_or_else(|| long(value))
}

/// [`exact`] for a text longer than the scratch may hold: counted, then written.
fn long<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut count = Count(0);
    if serde_json::to_writer(&mut count, value).is_err() {
        return Vec::new();
    }
    let mut bytes = Vec::with_capacity(count.0);
    match serde_json::to_writer(&mut bytes, value) {
        Ok(()) => bytes,
        Err(_) => Vec::new(),
    }
}

/// The scratch buffer as a writer that refuses to grow past [`KEEP_SCRATCH`].
struct Bounded<'a>(&'a mut Vec<u8>);

impl io::Write for Bounded<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let needed = self.0.len() + buf.len();
        if needed > KEEP_SCRATCH {
            return Err(io::ErrorKind::FileTooLarge.into());
        }
        if needed > self.0.capacity() {
            // Doubling, but never past the bound.
            let target = needed.max(self.0.capacity() * 2).clamp(128, KEEP_SCRATCH);
            self.0.reserve_exact(target - self.0.len());
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A writer that only counts.
struct Count(usize);

impl io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::exact as body_bytes;
    use super::*;
    use serde_json::Value;

    // Moved unchanged from the answer phase's tests, where this function was born.
    #[test]
    fn an_answer_is_written_as_serde_json_writes_it_at_its_exact_size() {
        let big = "x".repeat(KEEP_SCRATCH * 2);
        let values = [
            json!({"data": {"email": "ada@example.com", "id": "cus_ada", "type": "customer"}}),
            json!({"s": "quote \" backslash \\ control \u{1} and \u{e9}", "n": [1, -2.5, null, true]}),
            json!({"big": big}),
            // Texts of exactly the scratch's bound and one byte more (`{"big":""}` is 10 bytes).
            json!({"big": "x".repeat(KEEP_SCRATCH - 10)}),
            json!({"big": "x".repeat(KEEP_SCRATCH - 9)}),
            json!([]),
            Value::Null,
            json!({"after": "a buffer larger than kept"}),
        ];
        for value in &values {
            let bytes = body_bytes(value);
            assert_eq!(bytes, serde_json::to_vec(value).unwrap());
            assert_eq!(bytes.capacity(), bytes.len());
            let by_hand = exact_value(value);
            assert_eq!(by_hand, bytes);
            assert_eq!(by_hand.capacity(), by_hand.len());
        }
        SCRATCH.with_borrow(|scratch| assert!(scratch.capacity() <= KEEP_SCRATCH));
    }

    #[test]
    fn a_borrowed_document_is_written_as_the_value_it_equals() {
        let big = "x".repeat(KEEP_SCRATCH * 2);
        let values = [
            json!({"customer": {"email": "ada@example.com", "id": "cus_ada", "tags": ["a", "\u{1}"]}}),
            json!({"big": big}),
            json!([{"n": [1, -2.5, null, true]}, {}]),
        ];
        for value in &values {
            let doc = dialectgate_dialect::Doc::borrowing(value);
            let bytes = exact_value(&doc);
            assert_eq!(bytes, serde_json::to_vec(value).unwrap());
            assert_eq!(bytes.capacity(), bytes.len());
        }
    }
}
