//! The `email` format with a quick path: jsonschema's own check of an address (the
//! `email_address` crate's parse, then its hostname rules) costs about 2,500 instructions for
//! `ada@example.com`, and every update carries an address. The common shape of an address is
//! decided here in one pass over its bytes; whatever this pass does not accept goes to
//! jsonschema's own check, so the answer is jsonschema's for every text.

use std::sync::OnceLock;

use jsonschema::{Draft, Validator};
use serde_json::{Value, json};

/// The check registered for the `email` format: true when jsonschema's own `email` check accepts
/// `text`.
pub(crate) fn is_email(text: &str) -> bool {
    plain(text) || builtin(text)
}

/// jsonschema's own check, through a validator of `{"format": "email"}` compiled once.
fn builtin(text: &str) -> bool {
    static CHECK: OnceLock<Validator> = OnceLock::new();
    CHECK
        .get_or_init(|| {
            jsonschema::options()
                .with_draft(Draft::Draft202012)
                .should_validate_formats(true)
                .build(&json!({"format": "email"}))
                .expect("a constant schema of one format compiles")
        })
        .is_valid(&Value::String(text.to_owned()))
}

/// True for an address of the plain shape, which jsonschema's check accepts too: ASCII, one
/// `@`; before it a dot-atom of 1-64 bytes (letters, digits and the other `atext` characters
/// of RFC 5322, dots only between them); after it a host name of at most 253 bytes whose labels
/// have 1-63 letters, digits and hyphens, start and end with a letter or digit and hold no `--`
/// (jsonschema reads a label with `--` in its third and fourth place as an IDNA A-label and
/// checks it further). False says only "not this shape": the caller asks jsonschema.
fn plain(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    plain_local(local.as_bytes()) && plain_domain(domain.as_bytes())
}

fn plain_local(local: &[u8]) -> bool {
    (1..=64).contains(&local.len())
        && local.first() != Some(&b'.')
        && local.last() != Some(&b'.')
        && !local.windows(2).any(|w| w == b"..")
        && local.iter().all(|&b| b == b'.' || is_atext(b))
}

fn plain_domain(domain: &[u8]) -> bool {
    (1..=253).contains(&domain.len())
        && domain.split(|&b| b == b'.').all(|label| {
            (1..=63).contains(&label.len())
                && label.first().is_some_and(u8::is_ascii_alphanumeric)
                && label.last().is_some_and(u8::is_ascii_alphanumeric)
                && !label.windows(2).any(|w| w == b"--")
                && label.iter().all(|&b| b == b'-' || b.is_ascii_alphanumeric())
        })
}

/// RFC 5322 `atext`, ASCII only.
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{builtin, is_email, plain};

    #[test]
    fn plain_addresses_are_taken_without_the_builtin_check() {
        for text in [
            "ada@example.com",
            "a@b",
            "first.last+tag@sub-domain.example.co.uk",
            "o'brien!#$%&*/=?^_`{|}~-@x1.example",
            "UPPER@EXAMPLE.COM",
            "9@9.9",
        ] {
            assert!(plain(text), "{text}");
            assert!(builtin(text), "jsonschema disagrees on {text}");
        }
    }

    #[test]
    fn other_shapes_are_left_to_the_builtin_check() {
        // Each is outside the plain shape; the answer is jsonschema's own, whatever it is.
        for text in [
            "",
            "ada",
            "@example.com",
            "ada@",
            ".ada@example.com",
            "ada.@example.com",
            "a..da@example.com",
            "ada@example..com",
            "ada@example.com.",
            "ada@-example.com",
            "ada@example-.com",
            "ada@xn--bcher-kva.example",
            "ada@ab--cd.example",
            "\"quoted\"@example.com",
            "\"\"@example.com",
            "a@b@example.com",
            "Ada <ada@example.com>",
            "ada@[127.0.0.1]",
            "ada@[IPv6:::1]",
            "adä@example.com",
            "ada@exämple.com",
            "ada@exa mple.com",
            "ada@exa_mple.com",
        ] {
            assert!(!plain(text), "{text}");
            assert_eq!(is_email(text), builtin(text), "{text}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_label = format!("ada@{}.com", "a".repeat(64));
        let long_domain = format!("ada@{}", ["abcdefghi"; 26].join("."));
        for text in [long_local, long_label, long_domain] {
            assert!(!plain(&text), "{text}");
            assert_eq!(is_email(&text), builtin(&text), "{text}");
        }
        // Just inside the limits: still plain, and jsonschema agrees.
        let local64 = format!("{}@example.com", "a".repeat(64));
        let label63 = format!("ada@{}.com", "a".repeat(63));
        for text in [local64, label63] {
            assert!(plain(&text) && builtin(&text), "{text}");
        }
    }

    proptest! {
        /// The quick path never accepts what jsonschema's own check refuses, and the registered
        /// check always answers as jsonschema does.
        #[test]
        fn agrees_with_jsonschema(text in r"[a-zA-Z0-9.@!#'+_~\-\[\]<>: ]{0,40}") {
            if plain(&text) {
                prop_assert!(builtin(&text), "plain but refused: {text:?}");
            }
            prop_assert_eq!(is_email(&text), builtin(&text));
        }

        #[test]
        fn plain_shaped_addresses_are_accepted_by_jsonschema(
            local in r"[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\.[a-zA-Z0-9_+-]{1,8}){0,3}",
            labels in prop::collection::vec(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?", 1..5),
        ) {
            let text = format!("{local}@{}", labels.join("."));
            if plain(&text) {
                prop_assert!(builtin(&text), "plain but refused: {text:?}");
            }
        }
    }
}
