//! JSON texts made of a few pieces, some of which the strict parser refuses (a repeated name, a
//! NUL, a number that cannot be kept, an escape): for the property tests of every parse that must
//! refuse and accept what [`super::parse_limited`] does.

use proptest::prelude::*;

/// Texts whose member names are picked from `names` (JSON text, escapes allowed).
pub(crate) fn fragment(names: Vec<&'static str>) -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(vec![
        "0",
        "-1.5",
        "1e400",
        "2.5E-3",
        "true",
        "false",
        "null",
        "\"\"",
        "\"x\"",
        "\"\\u0000\"",
        "\"\\u00e9\"",
        "18446744073709551616",
        "-9223372036854775808",
    ])
    .prop_map(str::to_owned);
    leaf.prop_recursive(5, 40, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec((prop::sample::select(names.clone()), inner), 0..4).prop_map(|members| {
                let members: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
                format!("{{{}}}", members.join(", "))
            }),
        ]
    })
}
