//! W3C Trace Context: the upstream call continues the caller's trace as a child span.

/// The `traceparent` for the upstream call: the caller's trace id and flags with a new span
/// id, or a new trace when the caller sent none (or an invalid one).
pub fn child_traceparent(incoming: Option<&str>) -> String {
    // Non-zero random ids (W3C Trace Context §3.2.2.3-4); fastrand's per-thread generator is
    // seeded from the OS and costs a few instructions, where a v4 UUID per id cost hundreds.
    let span = fastrand::u64(1..);
    let mut out = String::with_capacity(55);
    out.push_str("00-");
    match incoming.and_then(parse) {
        Some((trace_id, flags)) => {
            out.push_str(trace_id);
            out.push('-');
            push_hex(&mut out, u128::from(span), 16);
            out.push('-');
            out.push_str(flags);
        }
        None => {
            push_hex(&mut out, fastrand::u128(1..), 32);
            out.push('-');
            push_hex(&mut out, u128::from(span), 16);
            out.push_str("-01");
        }
    }
    out
}

/// Appends the low `digits` hex digits of `v`, lower case, zero-padded.
fn push_hex(out: &mut String, v: u128, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        out.push(char::from(HEX[((v >> (4 * i)) & 0xf) as usize]));
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
    fn continues_a_valid_trace_with_a_new_span() {
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let child = child_traceparent(Some(parent));
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
        ] {
            let t = child_traceparent(bad);
            assert_eq!(t.len(), 55, "{t}");
            assert!(parse(&t).is_some(), "{t}");
        }
    }
}
