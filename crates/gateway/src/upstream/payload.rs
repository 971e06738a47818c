//! The body of one upstream call, shared by its attempts.

use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use dialectgate_dialect::HeldText;
use serde_json::Value;

use crate::json_text;

/// The body of one call, shared by its attempts (the retry policy copies the request, not the
/// body). It is the translated tree until an HTTP upstream first sends it; from then on only its
/// JSON text is kept, so the tree, several times the text for a body of many small objects, is
/// not held through the upstream's whole wait and any retry (BENCHMARKS.md, "Memory near the
/// body").
#[derive(Debug)]
pub struct Payload(Mutex<Held>);

#[derive(Debug)]
enum Held {
    /// No body (a read).
    Empty,
    /// The tree, and the members of it held as the caller's text (placeholders in the tree).
    Tree(Value, HeldText),
    Text(Bytes),
}

impl Payload {
    /// The body `tree`, with its members `held` as text; `null` is no body.
    pub fn new(tree: Value, held: HeldText) -> Payload {
        Payload(Mutex::new(if tree.is_null() {
            Held::Empty
        } else {
            Held::Tree(tree, held)
        }))
    }

    /// Whether there is a body.
    pub fn is_empty(&self) -> bool {
        matches!(*self.held(), Held::Empty)
    }

    /// `f` of the body as a tree (`null` for none), for an upstream that takes the patch itself
    /// (the embedded backend). Text already sent is read back (never the case on one upstream:
    /// each call has its own payload).
    pub fn with_tree<R>(&self, f: impl FnOnce(&Value) -> R) -> R {
        match &*self.held() {
            Held::Empty => f(&Value::Null),
            Held::Tree(tree, held) if held.is_empty() => f(tree),
            Held::Tree(tree, held) => f(&held.resolve(tree)),
            Held::Text(text) => f(&serde_json::from_slice(text).unwrap_or(Value::Null)),
        }
    }

    /// The body as JSON text, made once (the tree is dropped then); empty for no body.
    pub fn text(&self) -> Bytes {
        let mut held = self.held();
        let text = match &*held {
            Held::Empty => return Bytes::new(),
            Held::Text(text) => return text.clone(),
            // Exactly its size: `Bytes` takes the vector without another allocation, and a
            // large body is not held in a vector grown to twice its size while the upstream
            // answers.
            Held::Tree(tree, held) if held.is_empty() => Bytes::from(json_text::exact_value(tree)),
            Held::Tree(tree, held) => Bytes::from(json_text::exact(&held.writing(tree))),
        };
        *held = Held::Text(text.clone());
        text
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        // A panic while the lock was held left the value whole (every change is one assignment).
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_is_serialised_once_and_then_held_as_text_only() {
        let payload = Payload::new(
            serde_json::json!({"email": "a@example.com", "metadata": {"k": [1, 2]}}),
            HeldText::default(),
        );
        assert!(!payload.is_empty());
        let first = payload.text();
        assert_eq!(&first[..], br#"{"email":"a@example.com","metadata":{"k":[1,2]}}"#);
        // A retry sends the same bytes, not a second serialisation of a tree kept for it.
        let again = payload.text();
        assert_eq!(first.as_ptr(), again.as_ptr());
        assert!(
            matches!(*payload.held(), Held::Text(_)),
            "the tree is dropped once sent"
        );
        // Read back as a tree, it is what was sent.
        let tree = payload.with_tree(serde_json::Value::clone);
        assert_eq!(tree["metadata"]["k"][1], 2);
    }

    #[test]
    fn a_null_payload_is_no_body() {
        let payload = Payload::new(serde_json::Value::Null, HeldText::default());
        assert!(payload.is_empty());
        assert!(payload.text().is_empty());
        assert!(payload.with_tree(serde_json::Value::is_null));
    }
}
