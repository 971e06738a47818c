//! The upstream request's headers, part of the forward phase: built fresh for every call from
//! what the gateway knows (its credential, the request id, the trace context, the `Forwarded`
//! element of this hop) and the few caller headers it passes on, each checked and bounded.
//! Hop-by-hop and unlisted caller headers never cross.
//!
//! Forwarding headers (`Forwarded`, `X-Forwarded-For`/`-Proto`/`-Host`) are believed only from a
//! peer in `server.trusted_proxies`; from anyone else they are dropped, and the upstream sees
//! only the gateway's own `Forwarded` element (RFC 7239), whose values are tokens or escaped
//! quoted-strings and whose `host` is the `Host` header only when that is a valid authority.

use std::net::SocketAddr;

use bytes::Bytes;
use dialectgate_dialect::{Dialect, Endpoint, Operation};
use http::{HeaderMap, HeaderName, HeaderValue, header};
use ipnet::IpNet;

use crate::config::{Config, CredentialMode, Secret};
use crate::context::X_REQUEST_ID;
use crate::pipeline::authenticate;
use crate::trace;

mod forwarded;
mod singles;

use self::forwarded::forwarded;
use self::singles::Singles;
use crate::pipeline::read_body::{IDEMPOTENCY_KEY, valid_idempotency_key};

const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
/// The de-facto forwarding headers, passed on from trusted proxies only.
const X_FORWARDED: [HeaderName; 3] = [
    HeaderName::from_static("x-forwarded-for"),
    HeaderName::from_static("x-forwarded-proto"),
    HeaderName::from_static("x-forwarded-host"),
];
/// Longest `Accept-Language` passed on; a longer one is not forwarded.
const MAX_ACCEPT_LANGUAGE_BYTES: usize = 256;
/// Longest host name (without port) put into `Forwarded: host=`.
const MAX_HOST_NAME_BYTES: usize = 255;

/// Builds the headers of every upstream call; made once per configuration.
#[derive(Debug)]
pub(crate) struct UpstreamHeaders {
    upstream: Endpoint,
    credential_mode: CredentialMode,
    /// The header carrying the static upstream token, built once (`None` without a token).
    static_auth: Option<(HeaderName, HeaderValue)>,
    trusted_proxies: Vec<IpNet>,
}

impl UpstreamHeaders {
    pub(crate) fn new(config: &Config, upstream: &Endpoint) -> UpstreamHeaders {
        UpstreamHeaders {
            upstream: upstream.clone(),
            credential_mode: config.credentials.mode,
            static_auth: config
                .credentials
                .upstream_token
                .as_ref()
                .and_then(|t| authenticate::upstream_header(upstream, t.expose())),
            trusted_proxies: config.server.trusted_proxies.clone(),
        }
    }

    /// The headers of the upstream call doing `operation` for a request of `caller` that
    /// arrived with `incoming` from `peer`. `token` is the caller's credential in passthrough
    /// mode. The caller's `Idempotency-Key` goes only with the caller's own write (an update):
    /// the gateway's reads (the stored customer before a write, a caller's read) carry none, so
    /// that an upstream keeping keys never answers the write with the read's answer.
    pub(crate) fn build(
        &self,
        caller: &Dialect,
        incoming: &HeaderMap,
        token: Option<&Secret>,
        peer: Option<SocketAddr>,
        request_id: &str,
        operation: Operation,
    ) -> HeaderMap {
        let mut out = HeaderMap::with_capacity(8);
        let singles = Singles::of(incoming);
        let auth = match (self.credential_mode, token) {
            (CredentialMode::Static, _) => self.static_auth.clone(),
            (CredentialMode::Passthrough, Some(t)) => {
                authenticate::upstream_header(&self.upstream, t.expose())
            }
            (CredentialMode::Passthrough, None) => None,
        };
        if let Some((name, value)) = auth {
            out.insert(name, value);
        }
        if let Ok(v) = HeaderValue::from_str(request_id) {
            out.insert(X_REQUEST_ID, v);
        }
        // Checked by the pipeline already ([`check_idempotency_key`]); checked again so that
        // this function alone never passes on an unchecked key.
        if operation == Operation::Update
            && let Some(v) = singles
                .idempotency_key()
                .filter(|v| valid_idempotency_key(v.as_bytes()))
        {
            out.insert(IDEMPOTENCY_KEY, v.clone());
        }
        if let Some(v) = singles
            .accept_language()
            .filter(|v| v.len() <= MAX_ACCEPT_LANGUAGE_BYTES && v.to_str().is_ok())
        {
            out.insert(header::ACCEPT_LANGUAGE, v.clone());
        }
        // Trace context: the caller's `tracestate` belongs to the caller's trace, so it goes
        // only with a continued one. Several `traceparent` lines are invalid (W3C §3.2).
        let trace = trace::child_traceparent(singles.traceparent().and_then(|v| v.to_str().ok()));
        if trace.continued
            && let Some(state) = trace::tracestate(incoming.get_all(TRACESTATE).iter())
        {
            out.insert(TRACESTATE, state);
        }
        if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(trace.traceparent)) {
            out.insert(TRACEPARENT, v);
        }
        if let Some(peer) = peer {
            // A dual-stack listener reports IPv4 peers as `::ffff:a.b.c.d`.
            let peer = peer.ip().to_canonical();
            let trusted = self.trusted_proxies.iter().any(|net| net.contains(&peer));
            if trusted {
                for name in X_FORWARDED {
                    for v in incoming.get_all(&name) {
                        out.append(name.clone(), v.clone());
                    }
                }
            }
            if let Ok(v) = HeaderValue::from_maybe_shared(Bytes::from(forwarded(
                incoming,
                singles.host(),
                peer,
                trusted,
            ))) {
                out.insert(header::FORWARDED, v);
            }
        }
        // Vendor-only headers (EP's customer token) mean something only to the same vendor.
        if self.upstream.id() == caller.id() && self.credential_mode == CredentialMode::Passthrough {
            for name in &caller.auth().forward_same_dialect {
                if let (Ok(n), Some(v)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    incoming.get(name.as_str()),
                ) {
                    let mut v = v.clone();
                    v.set_sensitive(true);
                    out.insert(n, v);
                }
            }
        }
        out
    }
}

/// Whether an upstream call doing `operation` with `method` and the upstream `headers` built
/// for it may be sent again: a read, a PUT or PATCH, or a write that carries the caller's
/// `Idempotency-Key` (the headers sent, not the caller's: a read carries no key, and is
/// repeatable because it is a read).
pub(crate) fn repeatable(operation: Operation, method: &str, headers: &HeaderMap) -> bool {
    operation == Operation::Retrieve
        || matches!(method, "PUT" | "PATCH")
        || headers.contains_key(IDEMPOTENCY_KEY)
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::test_support::headers;

    /// The shipped dialects, a canonical upstream, and `server.trusted_proxies = trusted`.
    fn room(trusted: &str) -> (UpstreamHeaders, std::sync::Arc<Dialect>) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let registry =
            dialectgate_dialect::Registry::load(&root.join("config/dialects"), &root.join("schemas"))
                .unwrap();
        let env = [
            ("DIALECTGATE__CREDENTIALS__KEYS_ENV", "K"),
            ("K", "k"),
            ("DIALECTGATE__SERVER__TRUSTED_PROXIES", trusted),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let config = crate::config::load(None, Some(env), &crate::config::Overrides::default()).unwrap();
        let upstream = registry.endpoint("canonical").unwrap();
        let caller = registry.dialect("medusa").unwrap().clone();
        (UpstreamHeaders::new(&config, &upstream), caller)
    }

    fn sent(
        room: &(UpstreamHeaders, std::sync::Arc<Dialect>),
        incoming: &HeaderMap,
        peer: &str,
    ) -> HeaderMap {
        sent_for(room, incoming, peer, Operation::Update)
    }

    fn sent_for(
        room: &(UpstreamHeaders, std::sync::Arc<Dialect>),
        incoming: &HeaderMap,
        peer: &str,
        operation: Operation,
    ) -> HeaderMap {
        room.0.build(
            &room.1,
            incoming,
            None,
            Some(peer.parse().unwrap()),
            "req-1",
            operation,
        )
    }

    fn all<'h>(h: &'h HeaderMap, name: &str) -> Vec<&'h str> {
        h.get_all(name).iter().map(|v| v.to_str().unwrap()).collect()
    }

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn forwarding_headers() -> HeaderMap {
        headers(&[
            ("host", b"gw.example"),
            ("forwarded", b"for=192.0.2.60;proto=https"),
            ("x-forwarded-for", b"192.0.2.60, 198.51.100.1"),
            ("x-forwarded-for", b"203.0.113.9"),
            ("x-forwarded-proto", b"https"),
            ("x-forwarded-host", b"shop.example"),
        ])
    }

    #[test]
    fn an_untrusted_peers_forwarding_headers_are_replaced_by_ours() {
        for (trusted, peer) in [
            ("", "127.0.0.1:4000"),
            ("10.0.0.0/8", "127.0.0.1:4000"),
            ("10.0.0.0/8", "[2001:db8::1]:4000"),
            ("10.0.0.0/8", "11.0.0.1:4000"),
        ] {
            let out = sent(&room(trusted), &forwarding_headers(), peer);
            let ip = peer.parse::<SocketAddr>().unwrap().ip();
            let node = match ip {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("\"[{v6}]\""),
            };
            assert_eq!(
                all(&out, "forwarded"),
                [format!("for={node};proto=http;host=gw.example")],
                "{trusted} {peer}"
            );
            for name in X_FORWARDED {
                assert!(!out.contains_key(&name), "{name} from {peer}");
            }
        }
    }

    #[test]
    fn a_trusted_peers_forwarding_headers_are_passed_on_with_our_element_appended() {
        for (trusted, peer) in [
            ("127.0.0.1", "127.0.0.1:4000"),
            ("10.0.0.0/8,127.0.0.0/8", "127.0.0.1:4000"),
            // A dual-stack listener's view of an IPv4 peer.
            ("127.0.0.1", "[::ffff:127.0.0.1]:4000"),
        ] {
            let out = sent(&room(trusted), &forwarding_headers(), peer);
            assert_eq!(
                all(&out, "forwarded"),
                ["for=192.0.2.60;proto=https, for=127.0.0.1;proto=http;host=gw.example"],
                "{trusted} {peer}"
            );
            assert_eq!(
                all(&out, "x-forwarded-for"),
                ["192.0.2.60, 198.51.100.1", "203.0.113.9"]
            );
            assert_eq!(all(&out, "x-forwarded-proto"), ["https"]);
            assert_eq!(all(&out, "x-forwarded-host"), ["shop.example"]);
        }
        let out = sent(&room("2001:db8::/32"), &forwarding_headers(), "[2001:db8::5]:1");
        assert_eq!(
            all(&out, "forwarded"),
            ["for=192.0.2.60;proto=https, for=\"[2001:db8::5]\";proto=http;host=gw.example"]
        );
    }

    #[test]
    fn tracestate_goes_only_with_a_continued_trace() {
        let room = room("");
        let with = |traceparents: &[&[u8]]| {
            let mut pairs: Vec<(&str, &[u8])> = traceparents.iter().map(|t| ("traceparent", *t)).collect();
            pairs.push(("tracestate", b"congo=t61rcWkgMzE"));
            sent(&room, &headers(&pairs), "127.0.0.1:4000")
        };
        let out = with(&[PARENT.as_bytes()]);
        assert_eq!(all(&out, "tracestate"), ["congo=t61rcWkgMzE"]);
        assert!(all(&out, "traceparent")[0].starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        for restarted in [
            &[][..],
            &[&b"garbage"[..]],
            &[PARENT.as_bytes(), PARENT.as_bytes()],
        ] {
            let out = with(restarted);
            assert!(!out.contains_key("tracestate"), "{restarted:?}");
            assert!(!all(&out, "traceparent")[0].contains("4bf92f3577b34da6a3ce929d0e0e4736"));
        }
    }

    #[test]
    fn accept_language_and_idempotency_key_are_passed_on_within_bounds() {
        let room = room("");
        let lang = "de-CH, fr;q=0.9, en;q=0.8";
        let key = "k".repeat(255);
        let out = sent(
            &room,
            &headers(&[
                ("accept-language", lang.as_bytes()),
                ("idempotency-key", key.as_bytes()),
            ]),
            "127.0.0.1:4000",
        );
        assert_eq!(all(&out, "accept-language"), [lang]);
        assert_eq!(all(&out, "idempotency-key"), [key.as_str()]);
        assert_eq!(all(&out, "x-request-id"), ["req-1"]);
        let long_lang = "a".repeat(MAX_ACCEPT_LANGUAGE_BYTES + 1);
        let long_key = "k".repeat(256);
        let out = sent(
            &room,
            &headers(&[
                ("accept-language", long_lang.as_bytes()),
                ("idempotency-key", long_key.as_bytes()),
            ]),
            "127.0.0.1:4000",
        );
        assert!(!out.contains_key("accept-language"));
        assert!(!out.contains_key("idempotency-key"));
        let at_limit = "a".repeat(MAX_ACCEPT_LANGUAGE_BYTES);
        let out = sent(
            &room,
            &headers(&[("accept-language", at_limit.as_bytes())]),
            "127.0.0.1:4000",
        );
        assert_eq!(all(&out, "accept-language"), [at_limit.as_str()]);
        let out = sent(
            &room,
            &headers(&[("accept-language", b"caf\xc3\xa9")]),
            "127.0.0.1:4000",
        );
        assert!(!out.contains_key("accept-language"));
    }

    #[test]
    fn only_the_callers_write_carries_its_idempotency_key() {
        let room = room("");
        let incoming = headers(&[("idempotency-key", b"idem-7f3a")]);
        let write = sent_for(&room, &incoming, "127.0.0.1:4000", Operation::Update);
        assert_eq!(all(&write, "idempotency-key"), ["idem-7f3a"]);
        let read = sent_for(&room, &incoming, "127.0.0.1:4000", Operation::Retrieve);
        assert!(!read.contains_key("idempotency-key"), "{read:?}");
        // Everything else the read needs still goes.
        assert_eq!(all(&read, "x-request-id"), ["req-1"]);
        assert!(read.contains_key("traceparent"));
    }

    #[test]
    fn a_call_is_repeatable_when_a_read_a_put_or_patch_or_a_write_sent_with_a_key() {
        let keyed = headers(&[("idempotency-key", b"idem-7f3a")]);
        let none = HeaderMap::new();
        // Reads are safe to repeat whatever their method (MicroBase reads with POST).
        assert!(repeatable(Operation::Retrieve, "GET", &none));
        assert!(repeatable(Operation::Retrieve, "POST", &none));
        // PUT and PATCH replace: repeating them changes nothing more (RFC 9110 §9.2.2).
        assert!(repeatable(Operation::Update, "PUT", &none));
        assert!(repeatable(Operation::Update, "PATCH", &none));
        assert!(!repeatable(Operation::Update, "POST", &none));
        assert!(!repeatable(Operation::Update, "DELETE", &none));
        // A POST is repeated only when the key actually goes with it.
        assert!(repeatable(Operation::Update, "POST", &keyed));
        let room = room("");
        let caller = headers(&[("idempotency-key", b"idem-7f3a")]);
        let read = sent_for(&room, &caller, "127.0.0.1:4000", Operation::Retrieve);
        let write = sent_for(&room, &caller, "127.0.0.1:4000", Operation::Update);
        assert!(repeatable(Operation::Update, "POST", &write));
        assert!(
            !repeatable(Operation::Update, "POST", &read),
            "the read's headers carry no key"
        );
    }
}
