//! Credentials: reading a caller's credential in its dialect's header, checking it against the
//! gateway's keys in constant time, and expressing a credential in an upstream's header.

use dialectgate_dialect::{Dialect, Endpoint};
use http::{HeaderMap, HeaderName, HeaderValue};
use subtle::ConstantTimeEq;

use crate::config::Secret;

/// Every header that may carry a credential, in any dialect. Never logged, never forwarded
/// except as the upstream credential.
pub const SENSITIVE_HEADERS: [&str; 6] = [
    "authorization",
    "accesstoken",
    "x-medusa-access-token",
    "x-moltin-customer-token",
    "cookie",
    "proxy-authorization",
];

/// The caller's token, as the dialect's accepted credential forms carry it.
pub fn extract(dialect: &Dialect, headers: &HeaderMap) -> Option<String> {
    for cred in &dialect.auth().accept {
        let Some(value) = headers.get(cred.header.as_str()).and_then(|v| v.to_str().ok()) else {
            continue;
        };
        let value = value.trim();
        let token = match &cred.scheme {
            Some(scheme) => match strip_scheme(value, scheme) {
                Some(t) => Some(t),
                None if cred.scheme_optional => Some(value),
                None => None,
            },
            None => Some(value),
        };
        if let Some(t) = token
            .map(str::trim)
            .filter(|t| !t.is_empty() && !t.contains(char::is_whitespace))
        {
            return Some(t.to_owned());
        }
    }
    None
}

fn strip_scheme<'v>(value: &'v str, scheme: &str) -> Option<&'v str> {
    let (head, rest) = value.split_once(' ')?;
    head.eq_ignore_ascii_case(scheme).then_some(rest)
}

/// True when `token` is one of `keys`. Every key is compared, in constant time for equal
/// lengths, so timing does not tell which key (or which prefix) matched.
pub fn is_known(keys: &[Secret], token: &str) -> bool {
    let mut found = subtle::Choice::from(0);
    for key in keys {
        found |= key.expose().as_bytes().ct_eq(token.as_bytes());
    }
    found.into()
}

/// The header that carries `token` to `upstream`: the first credential form of its dialect,
/// `Authorization: Bearer` for the canonical binding.
pub fn upstream_header(upstream: &Endpoint, token: &str) -> Option<(HeaderName, HeaderValue)> {
    let (name, value) = match upstream.dialect().and_then(|d| d.auth().accept.first()) {
        Some(cred) => {
            let value = match (&cred.scheme, cred.scheme_optional) {
                (Some(scheme), false) => format!("{scheme} {token}"),
                _ => token.to_owned(),
            };
            (cred.header.clone(), value)
        }
        None => ("authorization".to_owned(), format!("Bearer {token}")),
    };
    let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
    let mut value = HeaderValue::from_str(&value).ok()?;
    value.set_sensitive(true);
    Some((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_membership() {
        let keys = vec![Secret::new("alpha"), Secret::new("beta")];
        assert!(is_known(&keys, "beta"));
        assert!(!is_known(&keys, "bet"));
        assert!(!is_known(&keys, ""));
        assert!(!is_known(&[], "alpha"));
    }
}
