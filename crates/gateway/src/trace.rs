//! W3C Trace Context: the upstream call continues the caller's trace as a child span.

/// The `traceparent` for the upstream call: the caller's trace id and flags with a new span
/// id, or a new trace when the caller sent none (or an invalid one).
pub fn child_traceparent(incoming: Option<&str>) -> String {
    let span = random_hex(8);
    if let Some((trace_id, flags)) = incoming.and_then(parse) {
        return format!("00-{trace_id}-{span}-{flags}");
    }
    format!("00-{}-{span}-01", random_hex(16))
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

fn random_hex(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes * 2);
    while out.len() < bytes * 2 {
        out.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    out.truncate(bytes * 2);
    out
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
