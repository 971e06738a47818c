//! Credentials: reading a caller's credential in its dialect's header, checking it against the
//! gateway's keys (in constant time) and the tokens it issued (opened with its token keys), and
//! expressing a credential in an upstream's header.

use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{Dialect, Endpoint};
use http::{HeaderMap, HeaderName, HeaderValue};
use subtle::ConstantTimeEq;

use crate::config::{Config, CredentialMode, Secret};
use crate::outcome::{Failure, Outcome};
use crate::token::{Binding, Fingerprint, Lookup, TokenKeys};

/// The authenticate phase: the caller's credential, read in its dialect's header and checked.
/// `Some` is the credential to pass upstream (passthrough mode: a token's bound secret, never
/// the token); in static mode the gateway's own goes upstream, and this is `None`.
pub(crate) fn check(
    dialect: &Dialect,
    headers: &HeaderMap,
    config: &Config,
    tokens: &TokenKeys,
) -> Result<Option<Secret>, Failure> {
    let unauthorized = |message| {
        Failure::new(
            Outcome::Unauthorized,
            Problem::new(ErrorKind::Unauthorized, message),
        )
    };
    let Some(token) = extract(dialect, headers) else {
        return Err(unauthorized("a valid credential is required"));
    };
    match authenticate(config, tokens, &token) {
        Access::Granted => Ok(None),
        Access::PassOn(secret) => Ok(Some(secret)),
        Access::Refused => Err(unauthorized("the credential is not valid")),
    }
}

/// What a caller's credential allows under the configuration in force.
#[derive(Debug, PartialEq, Eq)]
pub enum Access {
    /// Static mode: a configured key, or a live token bound to one. The gateway's own upstream
    /// credential goes upstream.
    Granted,
    /// Passthrough mode: this credential goes upstream (the secret a token is bound to, or the
    /// caller's own credential when it is not one of our tokens).
    PassOn(Secret),
    /// Not valid: 401.
    Refused,
}

/// Checks `presented` under `config`. A token is valid only in the credential mode it was
/// issued in and, in static mode, only while the key it is bound to is still configured.
pub fn authenticate(config: &Config, tokens: &TokenKeys, presented: &str) -> Access {
    let credentials = &config.credentials;
    let mode = credentials.mode;
    match tokens.resolve(presented) {
        Lookup::Live(Binding::Key(fingerprint))
            if mode == CredentialMode::Static
                && is_known_fingerprint(&credentials.key_fingerprints, &fingerprint) =>
        {
            Access::Granted
        }
        Lookup::Live(Binding::Secret(secret)) if mode == CredentialMode::Passthrough => {
            Access::PassOn(secret)
        }
        Lookup::Live(_) => Access::Refused,
        // One of our tokens, dead: never passed on. In static mode a configured key that merely
        // looks like a token still counts.
        Lookup::Dead if mode == CredentialMode::Passthrough => Access::Refused,
        Lookup::Dead | Lookup::NotAToken => match mode {
            CredentialMode::Static if is_known(&credentials.caller_keys, presented) => Access::Granted,
            CredentialMode::Static => Access::Refused,
            CredentialMode::Passthrough => Access::PassOn(Secret::new(presented)),
        },
    }
}

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

/// The caller's token, as the dialect's accepted credential forms carry it. A header value
/// read by `to_str` is visible ASCII and tabs: its whitespace is ASCII whitespace, trimmed and
/// looked for byte by byte (not decoded as characters).
pub fn extract(dialect: &Dialect, headers: &HeaderMap) -> Option<String> {
    for cred in &dialect.auth().accept {
        let Some(value) = headers.get(cred.header.as_str()).and_then(|v| v.to_str().ok()) else {
            continue;
        };
        let value = value.trim_ascii();
        let token = match &cred.scheme {
            Some(scheme) => match strip_scheme(value, scheme) {
                Some(t) => Some(t),
                None if cred.scheme_optional => Some(value),
                None => None,
            },
            None => Some(value),
        };
        if let Some(t) = token
            .map(str::trim_ascii)
            .filter(|t| !t.is_empty() && !t.bytes().any(|b| b.is_ascii_whitespace()))
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

/// True when `fingerprint` is one of `known`, every one compared in constant time.
fn is_known_fingerprint(known: &[Fingerprint], fingerprint: &Fingerprint) -> bool {
    let mut found = subtle::Choice::from(0);
    for k in known {
        found |= k.ct_eq(fingerprint);
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
    use crate::token::TokenKey;

    #[test]
    fn constant_time_membership() {
        let keys = vec![Secret::new("alpha"), Secret::new("beta")];
        assert!(is_known(&keys, "beta"));
        assert!(!is_known(&keys, "bet"));
        assert!(!is_known(&keys, ""));
        assert!(!is_known(&[], "alpha"));
    }

    fn config(mode: CredentialMode, keys: &[&str]) -> Config {
        let raw = crate::config::RawConfig {
            upstream: crate::config::RawUpstream {
                url: "http://127.0.0.1:1".into(),
                ..Default::default()
            },
            credentials: crate::config::RawCredentials {
                mode,
                keys_env: Some("K".into()),
                upstream_token_env: Some("U".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let env = [("K", keys.join(",")), ("U", "up".to_owned())]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        crate::config::from_raw(raw, &crate::config::Overrides::default(), Some(&env), None).unwrap()
    }

    fn keys() -> TokenKeys {
        TokenKeys::new(TokenKey::derive(b"credentials-tests-token-key-0123456789"), None)
    }

    fn issue(tokens: &TokenKeys, binding: Binding) -> String {
        let issued = tokens
            .issue(&binding, std::time::Duration::from_secs(60))
            .unwrap();
        issued.token.expose().to_owned()
    }

    fn bound_to_key(key: &str) -> Binding {
        Binding::Key(crate::token::fingerprint(key))
    }

    #[test]
    fn static_mode_accepts_keys_and_live_tokens_bound_to_configured_keys() {
        let tokens = keys();
        let both = config(CredentialMode::Static, &["k1", "k2"]);
        let t1 = issue(&tokens, bound_to_key("k1"));
        let t2 = issue(&tokens, bound_to_key("k2"));
        assert_eq!(authenticate(&both, &tokens, "k1"), Access::Granted);
        assert_eq!(authenticate(&both, &tokens, &t1), Access::Granted);
        assert_eq!(authenticate(&both, &tokens, &t2), Access::Granted);
        assert_eq!(authenticate(&both, &tokens, "k3"), Access::Refused);
        // After a reload that removed k1, its token stops working; k2's works.
        let only_k2 = config(CredentialMode::Static, &["k2"]);
        assert_eq!(authenticate(&only_k2, &tokens, &t1), Access::Refused);
        assert_eq!(authenticate(&only_k2, &tokens, &t2), Access::Granted);
        // Put back, the key's tokens work again: nothing was forgotten, nothing is stored.
        assert_eq!(authenticate(&both, &tokens, &t1), Access::Granted);
        // A token issued in passthrough mode means nothing in static mode, even for a key.
        let pt = issue(&tokens, Binding::Secret(Secret::new("k2")));
        assert_eq!(authenticate(&only_k2, &tokens, &pt), Access::Refused);
        // Sealed under another key: dead.
        let foreign = TokenKeys::new(TokenKey::derive(b"another-token-key-0123456789abcdef"), None);
        let other = issue(&foreign, bound_to_key("k2"));
        assert_eq!(authenticate(&only_k2, &tokens, &other), Access::Refused);
    }

    #[test]
    fn passthrough_mode_passes_on_the_bound_secret_never_the_token() {
        let tokens = keys();
        let cfg = config(CredentialMode::Passthrough, &[]);
        let t = issue(&tokens, Binding::Secret(Secret::new("client-secret")));
        assert_eq!(
            authenticate(&cfg, &tokens, &t),
            Access::PassOn(Secret::new("client-secret"))
        );
        // Not one of our tokens: passed on as it is.
        assert_eq!(
            authenticate(&cfg, &tokens, "vendor-token"),
            Access::PassOn(Secret::new("vendor-token"))
        );
        // One of ours but dead (never issued, tampered with): refused, not passed on.
        let dead = format!("{}{}", crate::token::TOKEN_PREFIX, "A".repeat(120));
        assert_eq!(authenticate(&cfg, &tokens, &dead), Access::Refused);
        // A static-mode token is not a passthrough credential.
        let st = issue(&tokens, bound_to_key("k1"));
        assert_eq!(authenticate(&cfg, &tokens, &st), Access::Refused);
    }

    /// The shipped dialects.
    fn registry() -> dialectgate_dialect::Registry {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        dialectgate_dialect::Registry::load(&root.join("config/dialects"), &root.join("schemas")).unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        h
    }

    #[test]
    fn extract_reads_a_required_scheme_case_insensitively_and_nothing_else() {
        let registry = registry();
        let cp = registry.dialect("checkoutpage").unwrap();
        let got = |value: &str| extract(cp, &headers(&[("authorization", value)]));
        assert_eq!(got("Bearer tok").as_deref(), Some("tok"));
        assert_eq!(
            got("bearer  tok ").as_deref(),
            Some("tok"),
            "spaces around the token"
        );
        assert_eq!(got("tok"), None, "the scheme is required");
        assert_eq!(got("Basic tok"), None, "another scheme");
        assert_eq!(got("Bearer "), None, "no token");
        assert_eq!(got("Bearer a b"), None, "a token with whitespace inside");
        assert_eq!(extract(cp, &HeaderMap::new()), None);
        assert_eq!(
            extract(cp, &headers(&[("accesstoken", "Bearer tok")])),
            None,
            "another dialect's header"
        );
    }

    #[test]
    fn extract_takes_an_optional_scheme_either_way() {
        let registry = registry();
        let axim = registry.dialect("axim").unwrap();
        let got = |value: &str| extract(axim, &headers(&[("accesstoken", value)]));
        assert_eq!(got("Bearer tok").as_deref(), Some("tok"));
        assert_eq!(got("tok").as_deref(), Some("tok"));
        assert_eq!(got("   "), None, "blank");
        assert_eq!(got("a\tb"), None, "whitespace inside");
    }

    #[test]
    fn extract_tries_each_accepted_form_in_order() {
        let registry = registry();
        let medusa = registry.dialect("medusa").unwrap();
        let only_bearer = headers(&[("authorization", "Bearer second")]);
        assert_eq!(extract(medusa, &only_bearer).as_deref(), Some("second"));
        let both = headers(&[
            ("authorization", "Bearer second"),
            ("x-medusa-access-token", "first"),
        ]);
        assert_eq!(extract(medusa, &both).as_deref(), Some("first"));
        // An unusable first form does not hide a usable second one.
        let blank_first = headers(&[("x-medusa-access-token", " "), ("authorization", "Bearer second")]);
        assert_eq!(extract(medusa, &blank_first).as_deref(), Some("second"));
    }

    #[test]
    fn upstream_header_speaks_the_upstreams_first_form() {
        let registry = registry();
        let sent = |upstream: &str| {
            let endpoint = registry.endpoint(upstream).unwrap();
            let (name, value) = upstream_header(&endpoint, "tok").unwrap();
            assert!(value.is_sensitive(), "{upstream}: marked sensitive");
            (name.as_str().to_owned(), value.to_str().unwrap().to_owned())
        };
        let pair = |n: &str, v: &str| (n.to_owned(), v.to_owned());
        assert_eq!(sent("canonical"), pair("authorization", "Bearer tok"));
        assert_eq!(sent("checkoutpage"), pair("authorization", "Bearer tok"));
        assert_eq!(
            sent("axim"),
            pair("accesstoken", "tok"),
            "the optional scheme is left out"
        );
        assert_eq!(sent("medusa"), pair("x-medusa-access-token", "tok"));
        // A credential that cannot be a header value is not sent at all.
        let canonical = registry.endpoint("canonical").unwrap();
        assert!(upstream_header(&canonical, "a\nb").is_none());
    }

    #[test]
    fn check_answers_401_without_a_valid_credential() {
        let registry = registry();
        let cp = registry.dialect("checkoutpage").unwrap();
        let tokens = keys();
        let static_mode = config(CredentialMode::Static, &["k1"]);
        let with = |value: &str| headers(&[("authorization", value)]);
        assert_eq!(
            check(cp, &with("Bearer k1"), &static_mode, &tokens).unwrap(),
            None
        );
        for refused in [HeaderMap::new(), with("Bearer k2"), with("k1")] {
            let failure = check(cp, &refused, &static_mode, &tokens).unwrap_err();
            assert_eq!(failure.outcome, Outcome::Unauthorized);
            assert_eq!(failure.problem.kind(), ErrorKind::Unauthorized);
        }
        let passthrough = config(CredentialMode::Passthrough, &[]);
        assert_eq!(
            check(cp, &with("Bearer vendor"), &passthrough, &tokens).unwrap(),
            Some(Secret::new("vendor"))
        );
    }

    #[test]
    fn static_mode_accepts_a_configured_key_that_looks_like_a_dead_token() {
        let tokens = keys();
        let key = format!("{}{}", crate::token::TOKEN_PREFIX, "0f".repeat(32));
        assert_eq!(tokens.resolve(&key), Lookup::Dead);
        let cfg = config(CredentialMode::Static, &[&key]);
        assert_eq!(authenticate(&cfg, &tokens, &key), Access::Granted);
        let other = format!("{}{}", crate::token::TOKEN_PREFIX, "1e".repeat(32));
        assert_eq!(authenticate(&cfg, &tokens, &other), Access::Refused);
    }
}
