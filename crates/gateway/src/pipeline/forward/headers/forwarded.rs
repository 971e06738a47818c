//! The `Forwarded` header (RFC 7239) the upstream gets: this hop's element, after a trusted
//! proxy's well-formed elements; every value a token or an escaped quoted-string, `host` only
//! when the `Host` header is a valid authority.

use std::net::{IpAddr, Ipv6Addr};

use http::{HeaderMap, HeaderValue, header};

use super::MAX_HOST_NAME_BYTES;

/// The `Forwarded` header (RFC 7239) for the upstream: this hop's element
/// (`for=<peer>;proto=http[;host=<Host>]`), after the caller's own elements when the peer is a
/// trusted proxy and they are well-formed. `host` is the `Host` header when the request sent
/// exactly one.
pub(super) fn forwarded(
    incoming: &HeaderMap,
    host: Option<&HeaderValue>,
    peer: IpAddr,
    trusted: bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    if trusted {
        let earlier = incoming.get_all(header::FORWARDED);
        if earlier.iter().all(|v| valid_forwarded(v.as_bytes())) {
            for v in earlier {
                out.extend_from_slice(v.as_bytes());
                out.extend_from_slice(b", ");
            }
        }
    }
    match peer {
        // Written by hand: `Display for Ipv4Addr` goes through the formatting machinery and
        // costs about 2% of a whole proxied request.
        IpAddr::V4(ip) => {
            out.extend_from_slice(b"for=");
            for (i, octet) in ip.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_decimal(&mut out, octet);
            }
        }
        // `[` and `:` are not token characters: an IPv6 node is a quoted-string (§6).
        IpAddr::V6(ip) => {
            use std::io::Write as _;
            // Writing into a Vec cannot fail.
            let _ = write!(out, "for=\"[{ip}]\"");
        }
    }
    out.extend_from_slice(b";proto=http");
    if let Some(host) = host.map(HeaderValue::as_bytes)
        && valid_authority(host)
    {
        out.extend_from_slice(b";host=");
        push_value(&mut out, host);
    }
    out
}

fn push_decimal(out: &mut Vec<u8>, n: u8) {
    if n >= 100 {
        out.push(b'0' + n / 100);
    }
    if n >= 10 {
        out.push(b'0' + n / 10 % 10);
    }
    out.push(b'0' + n % 10);
}

/// RFC 7230 `tchar`, by byte: a table lookup where the values are scanned.
static TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    table
};

/// RFC 7230 `tchar`.
fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// Appends `value` as an RFC 7239 value: as a token when it is one, else as a quoted-string
/// with `"` and `\` escaped. Control characters and non-ASCII cannot be carried: nothing is
/// appended and the answer is false.
fn push_value(out: &mut Vec<u8>, value: &[u8]) -> bool {
    // One pass: every byte carriable, and whether all are token characters.
    let mut token = !value.is_empty();
    for &b in value {
        if !(b == b' ' || b.is_ascii_graphic()) {
            return false;
        }
        token &= is_tchar(b);
    }
    if token {
        out.extend_from_slice(value);
        return true;
    }
    // The runs between the bytes to escape are copied whole.
    out.push(b'"');
    let mut rest = value;
    while let Some(at) = rest.iter().position(|&b| b == b'"' || b == b'\\') {
        out.extend_from_slice(&rest[..at]);
        out.push(b'\\');
        out.push(rest[at]);
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
    true
}

/// True for an RFC 3986 authority a `Host` header may carry: `[IPv6]` or a host name / IPv4
/// address, with an optional port. Host names are held to the unreserved characters
/// (letters, digits, `-._~`), which every DNS name fits: percent-encoding and the sub-delims
/// (`,;=!$&'()*+`) that RFC 3986 also allows have no business in a `Host` and only help a
/// forged value look like more `Forwarded` parameters to a careless parser.
fn valid_authority(v: &[u8]) -> bool {
    if let Some(rest) = v.strip_prefix(b"[") {
        let Some(end) = rest.iter().position(|&b| b == b']') else {
            return false;
        };
        let ipv6 = std::str::from_utf8(&rest[..end])
            .ok()
            .is_some_and(|s| s.parse::<Ipv6Addr>().is_ok());
        return ipv6
            && match &rest[end + 1..] {
                [] => true,
                [b':', port @ ..] => valid_port(port),
                _ => false,
            };
    }
    let (name, port) = match v.iter().rposition(|&b| b == b':') {
        Some(colon) => (&v[..colon], Some(&v[colon + 1..])),
        None => (v, None),
    };
    (1..=MAX_HOST_NAME_BYTES).contains(&name.len())
        && name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        && port.is_none_or(valid_port)
}

/// 1 to 5 digits, at most 65535.
fn valid_port(port: &[u8]) -> bool {
    (1..=5).contains(&port.len())
        && port.iter().all(u8::is_ascii_digit)
        && port.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0')) <= 65535
}

/// True for a well-formed `Forwarded` header line (RFC 7239 §4): comma-separated elements of
/// `;`-separated `token=value` pairs, a value being a token or a quoted-string, all ASCII.
/// Optional whitespace is tolerated around `,` and `;`. Only a well-formed line is extended: a
/// dangling quote would swallow the element the gateway appends.
fn valid_forwarded(v: &[u8]) -> bool {
    let skip_ows = |i: &mut usize| {
        while v.get(*i).is_some_and(|&b| b == b' ' || b == b'\t') {
            *i += 1;
        }
    };
    let token = |i: &mut usize| {
        let start = *i;
        while v.get(*i).is_some_and(|&b| is_tchar(b)) {
            *i += 1;
        }
        *i > start
    };
    let mut i = 0;
    let mut pairs = 0;
    loop {
        skip_ows(&mut i);
        match v.get(i) {
            None => return pairs > 0,
            Some(b',' | b';') => {
                i += 1;
                continue;
            }
            Some(_) => {}
        }
        if !token(&mut i) || v.get(i) != Some(&b'=') {
            return false;
        }
        i += 1;
        if v.get(i) == Some(&b'"') {
            i += 1;
            loop {
                match v.get(i) {
                    Some(b'"') => break,
                    Some(b'\\')
                        if v.get(i + 1)
                            .is_some_and(|&b| b == b'\t' || (0x20..0x7f).contains(&b)) =>
                    {
                        i += 2;
                    }
                    Some(&b) if b == b'\t' || ((0x20..0x7f).contains(&b) && b != b'\\') => i += 1,
                    _ => return false,
                }
            }
            i += 1;
        } else if !token(&mut i) {
            return false;
        }
        pairs += 1;
        skip_ows(&mut i);
        if !matches!(v.get(i), None | Some(b',' | b';')) {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::headers;

    fn fwd(incoming: &HeaderMap, peer: &str, trusted: bool) -> String {
        let mut hosts = incoming.get_all(header::HOST).iter();
        let host = hosts.next().filter(|_| hosts.next().is_none());
        String::from_utf8(forwarded(incoming, host, peer.parse().unwrap(), trusted)).unwrap()
    }

    #[test]
    fn forwarded_writes_every_ipv4_octet_like_display() {
        let headers = HeaderMap::new();
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.200.3.255",
            "9.99.100.109",
            "255.255.255.255",
        ] {
            assert_eq!(fwd(&headers, ip, false), format!("for={ip};proto=http"));
        }
    }

    #[test]
    fn forwarded_quotes_ipv6_with_brackets_and_a_host_with_a_port() {
        let h = headers(&[("host", b"shop.example:8080")]);
        assert_eq!(
            fwd(&h, "2001:db8::1", false),
            "for=\"[2001:db8::1]\";proto=http;host=\"shop.example:8080\""
        );
        let h = headers(&[("host", b"shop.example")]);
        assert_eq!(
            fwd(&h, "::1", false),
            "for=\"[::1]\";proto=http;host=shop.example"
        );
        let h = headers(&[("host", b"[2001:db8::7]:443")]);
        assert_eq!(
            fwd(&h, "192.0.2.1", false),
            "for=192.0.2.1;proto=http;host=\"[2001:db8::7]:443\""
        );
    }

    #[test]
    fn a_hostile_host_is_left_out_of_forwarded() {
        let hostile: [&[u8]; 22] = [
            b"gw.example\",for=\"6.6.6.6",
            b"gw.example\"",
            b"gw\\.example",
            b"gw.example,for=6.6.6.6",
            b"gw.example;for=6.6.6.6",
            b"gw.example for=6.6.6.6",
            b"gw.example\tx",
            b"caf\xc3\xa9.example",
            b"\xff",
            b"",
            b":8080",
            b"gw.example:",
            b"gw.example:65536",
            b"gw.example:123456",
            b"gw.example:80:80",
            b"gw.example:8o",
            b"user@gw.example",
            b"gw%2eexample",
            b"[::1",
            b"[not-v6]:80",
            b"[::1]x",
            b"[fe80::1%25eth0]",
        ];
        for host in hostile {
            let h = headers(&[("host", host)]);
            let got = fwd(&h, "127.0.0.1", false);
            assert_eq!(
                got,
                "for=127.0.0.1;proto=http",
                "{:?}",
                String::from_utf8_lossy(host)
            );
        }
        let long = "a".repeat(MAX_HOST_NAME_BYTES + 1);
        let h = headers(&[("host", long.as_bytes())]);
        assert_eq!(fwd(&h, "127.0.0.1", false), "for=127.0.0.1;proto=http");
        // Two Host headers: which one is meant is unknowable.
        let h = headers(&[("host", b"a.example"), ("host", b"b.example")]);
        assert_eq!(fwd(&h, "127.0.0.1", false), "for=127.0.0.1;proto=http");
        // At the limits, still carried.
        let longest = "a".repeat(MAX_HOST_NAME_BYTES);
        let h = headers(&[("host", format!("{longest}:65535").as_bytes())]);
        assert_eq!(
            fwd(&h, "127.0.0.1", false),
            format!("for=127.0.0.1;proto=http;host=\"{longest}:65535\"")
        );
    }

    #[test]
    fn values_are_tokens_or_escaped_quoted_strings() {
        let push = |v: &[u8]| {
            let mut out = Vec::new();
            let ok = push_value(&mut out, v);
            (ok, String::from_utf8(out).unwrap())
        };
        assert_eq!(push(b"gw.example"), (true, "gw.example".into()));
        assert_eq!(push(b"gw.example:80"), (true, "\"gw.example:80\"".into()));
        assert_eq!(push(b"a\"b\\c"), (true, "\"a\\\"b\\\\c\"".into()));
        assert_eq!(push(b"a,b;c d"), (true, "\"a,b;c d\"".into()));
        assert_eq!(push(b""), (true, "\"\"".into()));
        for refused in [&b"a\tb"[..], b"a\rb", b"a\x00", b"a\x7f", b"caf\xc3\xa9"] {
            assert_eq!(push(refused), (false, String::new()), "{refused:?}");
        }
        // Every escaped value reads back as one well-formed pair.
        for v in [&b"x\"y"[..], b"\\", b"\"", b"a, for=1.2.3.4"] {
            let mut out = b"host=".to_vec();
            assert!(push_value(&mut out, v));
            assert!(valid_forwarded(&out), "{}", String::from_utf8_lossy(&out));
        }
    }

    #[test]
    fn the_callers_forwarded_is_kept_only_from_a_trusted_proxy() {
        let h = headers(&[
            ("forwarded", b"for=192.0.2.60;proto=https"),
            ("forwarded", b"for=\"[2001:db8::9]\""),
            ("host", b"shop.example"),
        ]);
        assert_eq!(
            fwd(&h, "10.0.0.2", true),
            "for=192.0.2.60;proto=https, for=\"[2001:db8::9]\", for=10.0.0.2;proto=http;host=shop.example"
        );
        assert_eq!(
            fwd(&h, "10.0.0.2", false),
            "for=10.0.0.2;proto=http;host=shop.example"
        );
    }

    #[test]
    fn a_malformed_forwarded_is_dropped_even_from_a_trusted_proxy() {
        for bad in [
            &b"for=\"1.2.3.4"[..],
            b"for=1.2.3.4\"",
            b"for",
            b"=1.2.3.4",
            b"for=",
            b"for=a b",
            b"for=\"a\\\"",
            b"for=caf\xc3\xa9",
            b"for=\"caf\xc3\xa9\"",
            b", ;",
        ] {
            assert!(!valid_forwarded(bad), "{}", String::from_utf8_lossy(bad));
            let h = headers(&[("forwarded", b"for=192.0.2.60"), ("forwarded", bad)]);
            assert_eq!(fwd(&h, "10.0.0.2", true), "for=10.0.0.2;proto=http");
        }
        for good in [
            &b"for=192.0.2.43"[..],
            b"for=192.0.2.43, for=198.51.100.17",
            b"for=\"_gazonk\"",
            b"For=\"[2001:db8:cafe::17]:4711\"",
            b"for=192.0.2.60;proto=http;by=203.0.113.43",
            b"for=192.0.2.60; proto=http ,, for=unknown",
            b"for=\"a\\\"b\\\\c\";host=\"x,y;z\"",
        ] {
            assert!(valid_forwarded(good), "{}", String::from_utf8_lossy(good));
        }
    }
}
