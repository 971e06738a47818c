//! The one placeholder syntax of definition files: `{name}`, in error bodies, error titles and
//! details, message templates and the token endpoint's body (see `docs/dialect-format.md`).
//!
//! A string that is exactly one placeholder (`"{status}"`) is replaced by the value itself, with
//! its JSON type; a member whose value is absent is left out. Anywhere else a placeholder is
//! replaced by its text, or by nothing when the value is absent. A `{` that does not open a
//! placeholder (`{` + letters, digits or `_` + `}`) is ordinary text.

/// The variables of an error body, title or detail.
pub(crate) const ERROR_VARS: &[&str] = &[
    "status",
    "title",
    "detail",
    "kind",
    "id",
    "request_id",
    "messages",
    "joined",
    "pointer",
    "code",
    "message",
    "property",
    "field",
];

/// The variables of an error body that describe one violation: a one-item array whose item
/// mentions one of them is repeated for every violation.
pub(crate) const ITEM_VARS: &[&str] = &["pointer", "code", "message", "property", "field"];

/// The variables of a message template (`[errors.messages]`).
pub(crate) const MESSAGE_VARS: &[&str] = &[
    "code", "pointer", "field", "dotpath", "property", "expected", "limit", "format", "allowed", "target",
];

/// The variables of a token endpoint's body.
pub(crate) const TOKEN_VARS: &[&str] = &["access_token", "expires", "expires_in", "scope"];

/// The name, when `s` is exactly one placeholder.
pub(crate) fn whole(s: &str) -> Option<&str> {
    let name = s.strip_prefix('{')?.strip_suffix('}')?;
    is_name(name).then_some(name)
}

/// Every placeholder name in `s`, in order.
pub(crate) fn names(s: &str) -> impl Iterator<Item = &str> {
    pieces(s).filter_map(|p| match p {
        Piece::Var(name) => Some(name),
        Piece::Text(_) => None,
    })
}

/// `s` with every placeholder replaced by `value(name)` (nothing when it has none).
pub(crate) fn fill(s: &str, mut value: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for piece in pieces(s) {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Var(name) => out.push_str(&value(name).unwrap_or_default()),
        }
    }
    out
}

/// Why `s` is not a valid template for `known` variables (named by `key`), if it is not. The
/// former `$name` spelling is named so an old definition is fixed, not silently sent literally.
pub(crate) fn problems(key: &str, s: &str, known: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = names(s)
        .filter(|name| !known.contains(name))
        .map(|name| {
            format!(
                "{key}: unknown placeholder `{{{name}}}` (known here: {})",
                known.join(", ")
            )
        })
        .collect();
    if let Some(name) = s.strip_prefix('$').filter(|n| is_name(n) && *n != "null") {
        out.push(format!(
            "{key}: `{s}` is the old placeholder spelling; write `{{{name}}}`"
        ));
    }
    out
}

enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Splits `s` into text and placeholders.
fn pieces(s: &str) -> impl Iterator<Item = Piece<'_>> {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut from = 0;
        while let Some(open) = rest[from..].find('{').map(|i| i + from) {
            let after = &rest[open + 1..];
            if let Some(close) = after.find('}')
                && is_name(&after[..close])
            {
                if open > 0 {
                    let text = &rest[..open];
                    rest = &rest[open..];
                    return Some(Piece::Text(text));
                }
                rest = &after[close + 1..];
                return Some(Piece::Var(&after[..close]));
            }
            from = open + 1;
        }
        let text = rest;
        rest = "";
        Some(Piece::Text(text))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "a" => Some("1".into()),
            "b" => Some("two".into()),
            _ => None,
        }
    }

    #[test]
    fn fills_placeholders_and_leaves_other_braces_as_text() {
        assert_eq!(fill("{a} and {b}", vars), "1 and two");
        assert_eq!(fill("x{a}y", vars), "x1y");
        assert_eq!(fill("absent: [{zzz}]", vars), "absent: []");
        assert_eq!(fill("{ a } {} {a b} {", vars), "{ a } {} {a b} {");
        assert_eq!(fill("a{b", vars), "a{b");
        assert_eq!(fill("{{a}}", vars), "{1}");
        assert_eq!(fill("", vars), "");
        assert_eq!(fill("é{a}ü", vars), "é1ü");
    }

    #[test]
    fn a_whole_placeholder_is_recognised_only_alone() {
        assert_eq!(whole("{status}"), Some("status"));
        assert_eq!(whole("{status} "), None);
        assert_eq!(whole("{}"), None);
        assert_eq!(whole("$status"), None);
    }

    #[test]
    fn names_lists_placeholders_in_order() {
        assert_eq!(
            names("p{dotpath}: {property} {x y}").collect::<Vec<_>>(),
            ["dotpath", "property"]
        );
    }

    #[test]
    fn unknown_names_and_the_old_spelling_are_problems() {
        assert!(problems("k", "{field} is required", MESSAGE_VARS).is_empty());
        assert!(problems("k", "$null", ERROR_VARS).is_empty());
        let unknown = problems("k", "{feild} is required", MESSAGE_VARS);
        assert_eq!(unknown.len(), 1);
        assert!(unknown[0].contains("`{feild}`"), "{unknown:?}");
        let old = problems("k", "$detail", ERROR_VARS);
        assert_eq!(
            old,
            ["k: `$detail` is the old placeholder spelling; write `{detail}`"]
        );
    }
}
