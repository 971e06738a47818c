//! Helpers the unit tests of several modules share.

use http::{HeaderMap, HeaderName, HeaderValue};

/// A header map of `pairs`, in order (a name may repeat).
pub(crate) fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in pairs {
        h.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_bytes(value).unwrap(),
        );
    }
    h
}
