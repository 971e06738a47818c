//! A JSON string's contents escaped exactly as `serde_json` escapes them (`"`, `\` and the
//! control characters; everything else, non-ASCII included, as it is), for the texts the
//! gateway writes by hand: bodies (`json_text::value`) and the access line (the binary's
//! `telemetry::access`).

/// Which bytes `serde_json` escapes in a string: 0 = none, `u` = `\u00XX`, else `\<byte>`.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// The contents of `s` as a JSON string holds them (without the quotes), handed to `put` in
/// pieces: runs of `s` that need no escape, and each escape. A clean string is one piece.
#[inline]
pub fn escape_with(s: &str, mut put: impl FnMut(&str)) {
    let bytes = s.as_bytes();
    // Most strings are short names and values without an escape: a look at each byte, then
    // one piece (the word-at-a-time search pays off on longer ones).
    if bytes.len() < 16 && bytes.iter().all(|&b| ESCAPE[usize::from(b)] == 0) {
        put(s);
        return;
    }
    escape_pieces(s, put);
}

/// [`escape_with`] for a string that may hold escapes.
fn escape_pieces(s: &str, mut put: impl FnMut(&str)) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let mut start = 0;
    while let Some(i) = next_escape(bytes, start) {
        let b = bytes[i];
        // Every escaped byte is ASCII, so `start..i` lies on character boundaries.
        if start < i {
            put(&s[start..i]);
        }
        let escape = ESCAPE[usize::from(b)];
        let written = if escape == b'u' {
            [
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]
        } else {
            [b'\\', escape, 0, 0, 0, 0]
        };
        let len = if escape == b'u' { 6 } else { 2 };
        // ASCII only: always a `str`.
        put(std::str::from_utf8(&written[..len]).unwrap_or_default());
        start = i + 1;
    }
    if start < s.len() {
        put(&s[start..]);
    }
}

/// The index of the first byte at or after `from` that `ESCAPE` escapes. Eight bytes at a time
/// while none of them can be one (a word test that never misses one; a word it flags is then
/// read byte by byte), so a clean string costs about a quarter of a byte loop. The three tests
/// of a word are or-ed into one mask: one branch per word.
fn next_escape(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    // The high bit of a byte of the mask is set where that byte of `x` is below `n` (n <= 0x80)
    // / is zero (and perhaps at a later byte too: only the first flagged word is looked into).
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    let rest = bytes.get(from..)?;
    let mut words = rest.chunks_exact(8);
    let mut clean = 0;
    for word in words.by_ref() {
        let x = u64::from_ne_bytes(word.try_into().ok()?);
        if (below(x, 0x20) | zero(x ^ QUOTES) | zero(x ^ BACKSLASHES)) & HIGH != 0 {
            break;
        }
        clean += 8;
    }
    rest[clean..]
        .iter()
        .position(|&b| ESCAPE[usize::from(b)] != 0)
        .map(|p| from + clean + p)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::escape_with;

    fn escaped(s: &str) -> String {
        let mut out = String::from("\"");
        escape_with(s, |part| out.push_str(part));
        out.push('"');
        out
    }

    #[test]
    fn escapes_as_serde_json_does() {
        let every_ascii: String = (0u8..0x80).map(char::from).collect();
        for s in [
            "",
            "ada@example.com",
            "quote \" backslash \\ slash / tab \t newline \n",
            "\u{0}\u{1}\u{8}\u{b}\u{c}\u{d}\u{1f}\u{7f}",
            "é ü 漢字 🦀 \u{2028}",
            "exactly8",
            "seven7\"",
            every_ascii.as_str(),
        ] {
            assert_eq!(escaped(s), serde_json::to_string(s).unwrap_or_default(), "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn any_string_is_escaped_as_serde_json_escapes_it(s in any::<String>()) {
            prop_assert_eq!(escaped(&s), serde_json::to_string(&s).unwrap_or_default());
        }

        #[test]
        fn strings_rich_in_escapes(s in r#"[a-z"\\\x00-\x1f\x7f é]{0,40}"#) {
            prop_assert_eq!(escaped(&s), serde_json::to_string(&s).unwrap_or_default());
        }
    }
}
