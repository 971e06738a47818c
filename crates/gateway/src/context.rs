//! The request's context: what every phase after routing knows of the request (the [`Call`]),
//! and its request id. A leaf: it imports no phase, so every phase can import it.

use std::net::SocketAddr;
use std::sync::Arc;

use dialectgate_dialect::{Dialect, Endpoint, Operation};
use http::{HeaderMap, HeaderName};

/// The request id header, accepted from callers or generated, and returned on every answer.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A routed request on its way through the phases.
pub(crate) struct Call<'a> {
    pub(crate) dialect: &'a Arc<Dialect>,
    /// What the caller asks of the dialect: an update, or a read.
    pub(crate) operation: Operation,
    /// The caller's side of the translation (its dialect).
    pub(crate) caller: Endpoint,
    /// The customer id in the path, if the route has one.
    pub(crate) path_id: Option<&'a str>,
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) request_id: &'a str,
}

/// The caller's request id when it is usable (visible ASCII, 1 to 128 bytes), else a new UUID.
pub(crate) fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(new_request_id, str::to_owned)
}

/// A new v4 UUID, hyphenated in lower case: encoded into a stack buffer (not through `fmt`)
/// and copied once.
fn new_request_id() -> String {
    let mut buf = uuid::Uuid::encode_buffer();
    uuid::Uuid::new_v4()
        .hyphenated()
        .encode_lower(&mut buf)
        .to_owned()
}
