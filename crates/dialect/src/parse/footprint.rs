//! How much memory a JSON document takes once parsed into a `serde_json::Value` tree, bounded
//! from its bytes before it is parsed: the gateway reserves it (`server.max_buffered_bytes`)
//! before it lets a body or an upstream answer be parsed.
//!
//! The model, per parsed tree, from the layout of `Value` (32 bytes) and `serde_json::Map` (a
//! B-tree whose leaf node holds 11 members in about 640 bytes), checked against peak RSS by
//! `bench/memory.sh` for the worst shapes:
//! - every value and every member name: [`PER_VALUE`] bytes (its slot, and a vector's growth);
//! - every object with members: [`PER_OBJECT`] bytes (its first node);
//! - the text: twice the document's bytes (strings and names copied, allocation rounding).
//!
//! The count stops at the parser's limit: past it the parse is refused before more is built.

/// Bytes counted for each value and member name.
pub const PER_VALUE: usize = 64;
/// Bytes counted for each object with at least one member.
pub const PER_OBJECT: usize = 640;

/// What [`measure`] counts in a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Footprint {
    /// The document's length.
    pub bytes: usize,
    /// Values and member names (each string token, number, literal, array and object).
    pub tokens: usize,
    /// Objects with at least one member.
    pub objects: usize,
}

impl Footprint {
    /// Bytes one parsed tree of the document takes at most, counting at most `max_values`
    /// values (the parser refuses the document at the next one).
    pub fn tree_bytes(&self, max_values: usize) -> usize {
        // A value may come with its member name: at most two tokens per counted value.
        let tokens = self.tokens.min(max_values.saturating_mul(2));
        let objects = self.objects.min(max_values);
        self.bytes
            .saturating_mul(2)
            .saturating_add(tokens.saturating_mul(PER_VALUE))
            .saturating_add(objects.saturating_mul(PER_OBJECT))
    }
}

/// Counts the tokens and non-empty objects of `bytes` in one pass, without parsing it. Any
/// input is accepted (invalid JSON is the parser's to refuse); the counts are then an upper
/// bound of what a parse could build before it fails.
pub fn measure(bytes: &[u8]) -> Footprint {
    let mut f = Footprint {
        bytes: bytes.len(),
        ..Footprint::default()
    };
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                f.tokens += 1;
                i = string_end(bytes, i + 1);
            }
            b'{' => {
                f.tokens += 1;
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                if bytes.get(i) != Some(&b'}') {
                    f.objects += 1;
                }
            }
            b'[' => {
                f.tokens += 1;
                i += 1;
            }
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                f.tokens += 1;
                i += 1;
                while i < bytes.len()
                    && matches!(bytes[i], b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'+' | b'-')
                {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    f
}

/// Words (eight bytes) of a string's text looked at one at a time before a vector search: most
/// strings (names, values) are shorter, and a search's call and dispatch cost more than two
/// words.
const SHORT_WORDS: usize = 2;

/// Where the string whose text starts at `i` ends: just after its closing quote (`bytes.len()`
/// when it has none). Most of a document's bytes are inside strings: the text is skipped to its
/// next quote or backslash at once, eight bytes at a time (a word's bytes compared together,
/// without a call) and past [`SHORT_WORDS`] words with `memchr`; an escape skips one more byte.
fn string_end(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_le_bytes([b'"'; 8]);
    const BACKSLASHES: u64 = u64::from_le_bytes([b'\\'; 8]);
    // The high bit of each byte of `x` that is zero: exact for the lowest such byte (a borrow
    // can only mark bytes above it), which is the one looked for.
    let zeros = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut words = 0;
    loop {
        let word = bytes.get(i..i + 8).map(<[u8; 8]>::try_from);
        let stop = if words < SHORT_WORDS
            && let Some(Ok(word)) = word
        {
            let word = u64::from_le_bytes(word);
            let found = zeros(word ^ QUOTES) | zeros(word ^ BACKSLASHES);
            if found == 0 {
                i += 8;
                words += 1;
                continue;
            }
            i + (found.trailing_zeros() / 8) as usize
        } else {
            match bytes.get(i..).and_then(|rest| memchr::memchr2(b'"', b'\\', rest)) {
                Some(at) => i + at,
                None => return bytes.len(),
            }
        };
        if bytes.get(stop) == Some(&b'"') {
            return stop + 1;
        }
        i = stop + 2;
        words = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_values_names_and_objects_with_members() {
        let f = measure(br#"{"a": [1, -2.5e3, "x\"y", null, true, {}, { }, {"b": false}]}"#);
        // Tokens: the outer object, "a", the array, 1, -2.5e3, "x\"y", null, true, {}, { },
        // the last object, "b", false.
        assert_eq!((f.tokens, f.objects), (13, 2));
        assert_eq!(f.bytes, 61);
    }

    #[test]
    fn brackets_and_quotes_inside_strings_are_text() {
        let f = measure(br#"["{[\\", "\\\"{", "]}"]"#);
        assert_eq!((f.tokens, f.objects), (4, 0));
    }

    #[test]
    fn the_tree_bound_stops_at_the_value_limit() {
        let doc = format!("[{}]", vec![r#"{"a":0}"#; 1000].join(","));
        let f = measure(doc.as_bytes());
        assert_eq!((f.tokens, f.objects), (3001, 1000));
        let all = f.tree_bytes(usize::MAX);
        assert_eq!(all, 2 * doc.len() + 3001 * PER_VALUE + 1000 * PER_OBJECT);
        let capped = f.tree_bytes(100);
        assert_eq!(capped, 2 * doc.len() + 200 * PER_VALUE + 100 * PER_OBJECT);
    }

    /// The byte-at-a-time count `measure` replaced, for the equivalence test below.
    fn measure_bytewise(bytes: &[u8]) -> (usize, usize) {
        let (mut tokens, mut objects, mut i) = (0, 0, 0);
        while i < bytes.len() {
            match bytes[i] {
                b'"' => {
                    tokens += 1;
                    i += 1;
                    while i < bytes.len() {
                        match bytes[i] {
                            b'\\' => i += 2,
                            b'"' => break,
                            _ => i += 1,
                        }
                    }
                    i += 1;
                }
                b'{' => {
                    tokens += 1;
                    i += 1;
                    while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                        i += 1;
                    }
                    if bytes.get(i) != Some(&b'}') {
                        objects += 1;
                    }
                }
                b'[' => {
                    tokens += 1;
                    i += 1;
                }
                b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                    tokens += 1;
                    i += 1;
                    while i < bytes.len()
                        && matches!(bytes[i], b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'+' | b'-')
                    {
                        i += 1;
                    }
                }
                _ => i += 1,
            }
        }
        (tokens, objects)
    }

    proptest::proptest! {
        /// Skipping a string's text at once counts exactly what the byte-at-a-time scan
        /// counted, for any bytes (quotes, escapes, a backslash at the end, unclosed strings).
        #[test]
        fn skipping_strings_at_once_counts_as_byte_at_a_time(
            doc in proptest::collection::vec(proptest::sample::select(
                b"\"\\{}[] :,-1tfnaxe.".to_vec()), 0..200),
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
        ) {
            for bytes in [&doc[..], &raw[..]] {
                let f = measure(bytes);
                proptest::prop_assert_eq!((f.tokens, f.objects), measure_bytewise(bytes));
            }
        }
    }

    #[test]
    fn long_strings_with_escapes_count_once() {
        let text = format!(
            r#"{{"{}":"{}\"{}\\","b":[1]}}"#,
            "k".repeat(40),
            "v".repeat(70),
            "w".repeat(33)
        );
        let f = measure(text.as_bytes());
        assert_eq!((f.tokens, f.objects), (6, 1));
        assert_eq!((f.tokens, f.objects), measure_bytewise(text.as_bytes()));
    }

    #[test]
    fn strings_end_wherever_their_quote_is() {
        for len in 0..48 {
            for at in 0..=len {
                for stop in [b'"', b'\\'] {
                    // Filler bytes just below and above a quote and a backslash, which are not one.
                    for filler in [b'a', b'#', b']', b'!', b'[', 0x80] {
                        let mut text = vec![filler; len];
                        if at < len {
                            text[at] = stop;
                            if at + 1 < len {
                                text[at + 1] = b'"';
                            }
                        }
                        let end = match text.iter().position(|&b| b == b'"' || b == b'\\') {
                            None => len,
                            Some(i) if text[i] == b'"' => i + 1,
                            // An escape: the byte after it is skipped, then the next quote.
                            Some(i) => text
                                .iter()
                                .skip(i + 2)
                                .position(|&b| b == b'"')
                                .map_or(len, |j| i + 2 + j + 1),
                        };
                        assert_eq!(string_end(&text, 0), end, "{len} {at} {stop} {filler}");
                    }
                }
                let doc = format!(
                    "[\"{}\\\"{}\", {}]",
                    "x".repeat(at),
                    "y".repeat(len),
                    "1".repeat(len % 3 + 1)
                );
                let f = measure(doc.as_bytes());
                assert_eq!((f.tokens, f.objects), measure_bytewise(doc.as_bytes()), "{doc}");
            }
        }
    }

    #[test]
    fn any_input_is_measured_without_panicking() {
        for doc in [&b""[..], b"\"", b"\\", b"{", b"\"\\", b"{ ", b"\xff\xfe", b"-"] {
            let f = measure(doc);
            assert_eq!(f.bytes, doc.len());
        }
    }
}
