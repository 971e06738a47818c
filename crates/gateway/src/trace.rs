//! W3C Trace Context: the upstream call continues the caller's trace as a child span, and
//! carries the caller's `tracestate` only when that trace was continued.

use http::HeaderValue;

/// Most list members a `tracestate` may have (W3C Trace Context §3.3.1.1).
const MAX_TRACESTATE_MEMBERS: usize = 32;
/// Longest `tracestate` passed on, in bytes: the length W3C Trace Context §3.3.1.5 asks every
/// vendor to propagate. A longer one is dropped whole rather than truncated.
const MAX_TRACESTATE_BYTES: usize = 512;

/// The trace context of the upstream call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildTrace {
    /// The `traceparent` header value.
    pub traceparent: String,
    /// True when the caller's trace is continued; false when a new trace was started (no
    /// `traceparent`, or an invalid one), and the caller's `tracestate` must then be dropped.
    pub continued: bool,
}

/// The `traceparent` for the upstream call: the caller's trace id and flags with a new span
/// id, or a new trace when the caller sent none (or an invalid one).
pub fn child_traceparent(incoming: Option<&str>) -> ChildTrace {
    // Non-zero random ids (W3C Trace Context §3.2.2.3-4); fastrand's per-thread generator is
    // seeded from the OS and costs a few instructions, where a v4 UUID per id cost hundreds.
    let span = fastrand::u64(1..);
    // Written into a fixed buffer (version, trace id, span id, flags) and copied once.
    let mut out = *b"00-00000000000000000000000000000000-0000000000000000-01";
    let continued = match incoming.and_then(parse) {
        Some((trace_id, flags)) => {
            // Both checked by `parse`: 32 and 2 lower-case hex digits.
            out[3..35].copy_from_slice(trace_id.as_bytes());
            out[53..55].copy_from_slice(flags.as_bytes());
            true
        }
        None => {
            hex_into(&mut out[3..35], fastrand::u128(1..));
            false
        }
    };
    hex_into(&mut out[36..52], u128::from(span));
    // Every byte is an ASCII hex digit or a dash.
    let out = std::str::from_utf8(&out).map(str::to_owned).unwrap_or_default();
    ChildTrace {
        traceparent: out,
        continued,
    }
}

/// The caller's `tracestate` to pass on with a continued trace: its header lines joined, when
/// together they are a well-formed list of at most 32 members and 512 bytes. Anything else is
/// dropped whole (W3C Trace Context §3.3.1.1 allows discarding an invalid or oversized list).
pub fn tracestate<'a>(mut lines: impl Iterator<Item = &'a HeaderValue>) -> Option<HeaderValue> {
    let first = lines.next()?;
    let Some(second) = lines.next() else {
        // The common case: one line, passed on without copying.
        return valid_tracestate(first.as_bytes()).then(|| first.clone());
    };
    let mut joined = Vec::with_capacity(MAX_TRACESTATE_BYTES);
    for line in [first, second].into_iter().chain(lines) {
        if !joined.is_empty() {
            joined.push(b',');
        }
        joined.extend_from_slice(line.as_bytes());
        if joined.len() > MAX_TRACESTATE_BYTES {
            return None;
        }
    }
    if !valid_tracestate(&joined) {
        return None;
    }
    HeaderValue::from_bytes(&joined).ok()
}

/// `list = list-member 0*31( OWS "," OWS list-member )` with empty members allowed (and not
/// counted), within [`MAX_TRACESTATE_BYTES`].
fn valid_tracestate(v: &[u8]) -> bool {
    if v.len() > MAX_TRACESTATE_BYTES {
        return false;
    }
    let mut members = 0;
    for member in v.split(|&b| b == b',') {
        let member = member.trim_ascii();
        if member.is_empty() {
            continue;
        }
        members += 1;
        if members > MAX_TRACESTATE_MEMBERS || !valid_member(member) {
            return false;
        }
    }
    true
}

/// `key "=" value`: a key of `a-z 0-9 _ - * /` (with one `@` for a multi-tenant key) starting
/// with a letter or digit, at most 256 bytes; a value of 1-256 printable ASCII bytes other than
/// `,` and `=`, not ending in a space.
fn valid_member(member: &[u8]) -> bool {
    let Some(eq) = member.iter().position(|&b| b == b'=') else {
        return false;
    };
    let (key, value) = (&member[..eq], &member[eq + 1..]);
    let key_ok = (1..=256).contains(&key.len())
        && (key[0].is_ascii_lowercase() || key[0].is_ascii_digit())
        && key.iter().filter(|&&b| b == b'@').count() <= 1
        && key.iter().all(|&b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'*' | b'/' | b'@')
        });
    let value_ok = (1..=256).contains(&value.len())
        && value.last() != Some(&b' ')
        && value
            .iter()
            .all(|&b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=');
    key_ok && value_ok
}

/// Writes the low `dst.len()` hex digits of `v` into `dst`, lower case, zero-padded.
fn hex_into(dst: &mut [u8], v: u128) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in dst.iter_mut().rev().enumerate() {
        *b = HEX[((v >> (4 * i)) & 0xf) as usize];
    }
}

/// (trace id, flags) of a valid version-00 `traceparent`.
fn parse(v: &str) -> Option<(&str, &str)> {
    let mut parts = v.trim().split('-');
    let (version, trace_id, parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let valid = version == "00"
        && parts.next().is_none()
        && hex(trace_id, 32)
        && hex(parent, 16)
        && hex(flags, 2)
        && trace_id.bytes().any(|b| b != b'0')
        && parent.bytes().any(|b| b != b'0');
    valid.then_some((trace_id, flags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_digits_are_the_formatters() {
        for v in [
            1u128,
            0xf,
            0x00f0_67aa_0ba9_02b7,
            u128::from(u64::MAX),
            u128::MAX,
            0x4bf9_2f35 << 64,
        ] {
            let mut long = [0u8; 32];
            hex_into(&mut long, v);
            assert_eq!(std::str::from_utf8(&long).unwrap(), format!("{v:032x}"));
            let mut short = [0u8; 16];
            hex_into(&mut short, v);
            assert_eq!(
                std::str::from_utf8(&short).unwrap(),
                format!("{:016x}", v & u128::from(u64::MAX))
            );
        }
    }

    #[test]
    fn continues_a_valid_trace_with_a_new_span() {
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let child = child_traceparent(Some(parent));
        assert!(child.continued);
        let child = child.traceparent;
        assert!(
            child.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
            "{child}"
        );
        assert!(child.ends_with("-01"));
        assert_ne!(child, parent);
        assert_eq!(child.len(), 55);
    }

    #[test]
    fn starts_a_new_trace_for_garbage() {
        for bad in [
            None,
            Some("nope"),
            Some("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"),
            Some("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
        ] {
            let t = child_traceparent(bad);
            assert!(!t.continued, "{bad:?}");
            assert_eq!(t.traceparent.len(), 55, "{t:?}");
            assert!(parse(&t.traceparent).is_some(), "{t:?}");
        }
    }

    fn state(lines: &[&str]) -> Option<String> {
        let values: Vec<HeaderValue> = lines.iter().map(|l| HeaderValue::from_str(l).unwrap()).collect();
        tracestate(values.iter()).map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn a_well_formed_tracestate_is_passed_on_and_lines_are_joined() {
        assert_eq!(state(&[]), None);
        assert_eq!(
            state(&["congo=t61rcWkgMzE"]).as_deref(),
            Some("congo=t61rcWkgMzE")
        );
        assert_eq!(
            state(&["rojo=00f067aa0ba902b7, congo=t61rcWkgMzE", "tenant@vendor=x y"]).as_deref(),
            Some("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE,tenant@vendor=x y")
        );
        // Empty members are allowed (and not counted).
        assert_eq!(state(&["a=1,,b=2"]).as_deref(), Some("a=1,,b=2"));
    }

    #[test]
    fn a_tracestate_over_the_w3c_bounds_is_dropped() {
        let members = |n: usize| (0..n).map(|i| format!("k{i}=v")).collect::<Vec<_>>().join(",");
        assert!(state(&[&members(32)]).is_some());
        assert_eq!(state(&[&members(33)]), None);
        let long = |n: usize| format!("k={}", "v".repeat(n - 2));
        // One member's value is at most 256 bytes; several members fill 512.
        let at_limit = [long(200), long(200), long(110)].join(",");
        assert_eq!(at_limit.len(), 512);
        assert!(state(&[&at_limit]).is_some());
        assert_eq!(state(&[&format!("{at_limit}0")]), None);
        // Split across lines, the joined length counts.
        assert_eq!(state(&[&long(256), &long(256)]), None);
        assert_eq!(state(&[&long(300)]), None);
    }

    #[test]
    fn a_malformed_tracestate_is_dropped() {
        for bad in [
            "novalue",
            "=v",
            "Upper=v",
            "k=",
            "k=a=b",
            "-k=v",
            "a@b@c=v",
            "k=v\tx",
            "k=caf\u{e9}",
        ] {
            let value = HeaderValue::from_bytes(bad.as_bytes()).unwrap();
            assert_eq!(tracestate(std::iter::once(&value)), None, "{bad:?}");
        }
    }
}
