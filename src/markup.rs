//! Escaping for the markup the command line writes: JUnit XML (`batch.rs`) and the HTML
//! fidelity matrix (`matrix.rs`). One escaper serves both: what XML 1.0 accepts, HTML does too.

/// Escapes text for XML 1.0 and HTML content and quoted attribute values: markup characters become entities,
/// line breaks and tabs character references (kept in attributes), and characters XML cannot
/// carry (other control characters, U+FFFE, U+FFFF) U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_leaves_no_markup_and_no_character_xml_refuses() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;"
        );
        assert_eq!(escape("a\nb\tc\u{1}d\u{ffff}"), "a&#10;b&#9;c\u{fffd}d\u{fffd}");
        assert_eq!(escape("]]>"), "]]&gt;");
    }
}
