//! The inbound request as it arrives: the framing checks hyper leaves to the application (URI
//! length, `Host`), the content type and `Idempotency-Key` checks, and the body reader (a
//! declared oversize is refused at once; otherwise a cap and a deadline).

use std::time::Duration;

use bytes::Bytes;
use dialectgate_canonical::{ErrorKind, Problem};
use http::{HeaderMap, Request, header};
use http_body::Body;
use http_body_util::{BodyExt, Limited};

use crate::outcome::{Failure, Outcome};
use crate::upstream_headers::check_idempotency_key;

/// Longest request URI accepted (path and query); longer gets 414.
const MAX_URI_BYTES: usize = 8 * 1024;

/// Refuses what hyper lets through: an over-long URI, an HTTP/1.1 request without `Host`.
pub(crate) fn check_framing<B>(req: &Request<B>) -> Result<(), Failure> {
    if req.uri().path_and_query().map_or(0, |pq| pq.as_str().len()) > MAX_URI_BYTES {
        let mut problem = Problem::new(ErrorKind::Malformed, "the request URI is too long");
        problem.status = 414;
        return Err(Failure::new(Outcome::UriTooLong, problem));
    }
    if req.version() == http::Version::HTTP_11 && !req.headers().contains_key(header::HOST) {
        let problem = Problem::new(ErrorKind::Malformed, "an HTTP/1.1 request needs a Host header");
        return Err(Failure::new(Outcome::NoHost, problem));
    }
    Ok(())
}

/// Refuses a body that is not JSON, or an `Idempotency-Key` that cannot be passed on.
pub(crate) fn check_headers(headers: &HeaderMap) -> Result<(), Failure> {
    check_content_type(headers).map_err(|p| Failure::new(Outcome::UnsupportedMediaType, p))?;
    check_idempotency_key(headers).map_err(|p| Failure::new(Outcome::BadIdempotencyKey, p))
}

/// Reads a request body of at most `limit` bytes within `deadline`: a declared length over the
/// limit is refused before anything is read.
pub(crate) async fn read_declared<B>(
    headers: &HeaderMap,
    body: B,
    limit: usize,
    deadline: Duration,
) -> Result<Bytes, Failure>
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if declared_length(headers).is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    read_body(body, limit, deadline).await
}

/// The body length a request declares in `Content-Length`, if it does (and it is a number).
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Reads a body with a cap and a deadline: never more than `limit` bytes, never longer than
/// `deadline`.
pub(crate) async fn read_body<B>(body: B, limit: usize, deadline: Duration) -> Result<Bytes, Failure>
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match tokio::time::timeout(deadline, Limited::new(body, limit).collect()).await {
        Err(_) => Err(Failure::new(
            Outcome::BodyTimeout,
            Problem::new(
                ErrorKind::RequestTimeout,
                "the request body was not received in time",
            ),
        )),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large(limit)),
        Ok(Err(_)) => Err(Failure::new(
            Outcome::BodyError,
            Problem::new(ErrorKind::Malformed, "the request body could not be read"),
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

fn too_large(limit: usize) -> Failure {
    Failure::new(
        Outcome::PayloadTooLarge,
        Problem::new(
            ErrorKind::PayloadTooLarge,
            format!("the request body exceeds {limit} bytes"),
        ),
    )
}

fn check_content_type(headers: &HeaderMap) -> Result<(), Problem> {
    let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return Err(Problem::new(
            ErrorKind::UnsupportedMediaType,
            "Content-Type must be application/json",
        ));
    };
    let mut parts = ct.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let json =
        essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"));
    let charset_ok = parts.all(|p| {
        let p = p.trim().to_ascii_lowercase();
        !p.starts_with("charset=")
            || matches!(
                p.trim_start_matches("charset=").trim_matches('"'),
                "utf-8" | "utf8"
            )
    });
    if json && charset_ok {
        Ok(())
    } else {
        Err(Problem::new(
            ErrorKind::UnsupportedMediaType,
            "Content-Type must be application/json (UTF-8)",
        ))
    }
}
