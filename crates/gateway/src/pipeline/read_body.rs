//! The read-the-body phase ([`read_request`]), and the inbound request as it arrives: the
//! framing checks hyper leaves to the application (URI length, `Host`), the content type and
//! `Idempotency-Key` checks, and the body reader (a declared oversize is refused at once;
//! otherwise a cap and a deadline).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::Operation;
use http::{HeaderMap, HeaderName, Request, header};
use http_body::Body;
use http_body_util::{BodyExt, Limited};

use crate::config::ServerConfig;
use crate::context::Call;
use crate::outcome::{Failure, Outcome};
use crate::pipeline::admit::{Admission, Reserved};

/// The header a caller names a write with, so that it may be repeated safely.
pub(crate) const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Longest `Idempotency-Key` accepted; longer is refused with 400.
const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;
/// Longest request URI accepted (path and query); longer gets 414.
const MAX_URI_BYTES: usize = 8 * 1024;

/// The read-the-body phase of `call`. A body is read when the request has one to speak of: an
/// update's, or a read's whose id travels in the body (a read whose id is in the path has
/// none: vendors ignore a GET's body). Its bytes are reserved from `admission` before it is
/// read (its declared length, or the limit), and the reservation is returned with the bytes.
pub(crate) async fn read_request<B>(
    call: &Call<'_>,
    headers: &HeaderMap,
    body: B,
    server: &ServerConfig,
    admission: &Admission,
) -> Result<(Bytes, Reserved), Failure>
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let has_body = call.operation == Operation::Update
        || call
            .dialect
            .retrieve_route()
            .is_some_and(|r| r.id_in_body.is_some());
    if !has_body {
        return Ok((Bytes::new(), Reserved::default()));
    }
    let max_body = server.max_body_bytes.get();
    let declared = declared_length(headers).map_or(max_body, |n| {
        usize::try_from(n).unwrap_or(usize::MAX).min(max_body)
    });
    let reading = admission.read(declared)?;
    // A read's id may travel in the query alone (MicroBase `GET customer.info?id=`): a request
    // that declares no body needs no JSON content type.
    let declares_body = headers
        .get(header::CONTENT_LENGTH)
        .is_some_and(|n| n.as_bytes() != b"0")
        || headers.contains_key(header::TRANSFER_ENCODING);
    if call.operation == Operation::Update || declares_body {
        check_headers(headers)?;
    }
    let bytes = read_declared(headers, body, max_body, server.body_read_timeout).await?;
    Ok((bytes, reading))
}

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
    let declared = declared_length(headers);
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    // Within the limit: the buffer a body of several frames is gathered in is sized once.
    let expected = declared.map_or(0, |n| usize::try_from(n).unwrap_or(limit));
    read_sized(body, limit, expected, deadline).await
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
    read_sized(body, limit, 0, deadline).await
}

/// [`read_body`], for a body expected to be `expected` bytes long (0: unknown).
async fn read_sized<B>(body: B, limit: usize, expected: usize, deadline: Duration) -> Result<Bytes, Failure>
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match tokio::time::timeout(deadline, gather(Limited::new(body, limit), expected)).await {
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
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

/// The data frames of `body` in one buffer. A body of one frame is that frame, not copied; a
/// body of several is copied into one buffer of `expected` bytes (or more, as it comes), each
/// frame dropped once copied: never the frames and a whole copy at once, as collecting them
/// first and joining them would hold.
async fn gather<B>(body: B, expected: usize) -> Result<Bytes, B::Error>
where
    B: Body<Data = Bytes>,
{
    let mut body = std::pin::pin!(body);
    let mut first: Option<Bytes> = None;
    let mut joined = BytesMut::new();
    while let Some(frame) = body.frame().await {
        // Trailers carry no data.
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        match first.take() {
            None if joined.is_empty() => first = Some(data),
            held => {
                if let Some(held) = held {
                    joined.reserve(expected.max(held.len() + data.len()));
                    joined.extend_from_slice(&held);
                }
                joined.extend_from_slice(&data);
            }
        }
    }
    Ok(first.unwrap_or_else(|| joined.freeze()))
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

/// Refuses a request whose `Idempotency-Key` is not one header of 1 to 255 visible ASCII
/// characters. The message names the header, never its value.
pub(crate) fn check_idempotency_key(headers: &HeaderMap) -> Result<(), Problem> {
    let mut keys = headers.get_all(IDEMPOTENCY_KEY).iter();
    let Some(key) = keys.next() else {
        return Ok(());
    };
    if keys.next().is_some() {
        return Err(Problem::new(
            ErrorKind::Malformed,
            "send at most one Idempotency-Key header",
        ));
    }
    if valid_idempotency_key(key.as_bytes()) {
        Ok(())
    } else {
        Err(Problem::new(
            ErrorKind::Malformed,
            "the Idempotency-Key header must be 1 to 255 visible ASCII characters",
        ))
    }
}

/// Whether `key` is 1 to 255 visible ASCII characters (what a caller's key may be).
pub(crate) fn valid_idempotency_key(key: &[u8]) -> bool {
    (1..=MAX_IDEMPOTENCY_KEY_BYTES).contains(&key.len()) && key.iter().all(u8::is_ascii_graphic)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::headers;

    #[test]
    fn the_idempotency_key_is_one_header_of_visible_ascii_up_to_255() {
        let check = |values: &[&[u8]]| {
            let pairs: Vec<(&str, &[u8])> = values.iter().map(|v| ("idempotency-key", *v)).collect();
            check_idempotency_key(&headers(&pairs))
        };
        assert!(check(&[]).is_ok());
        assert!(check(&[b"9f1c-4e"]).is_ok());
        assert!(check(&[b"!~"]).is_ok());
        assert!(check(&["k".repeat(255).as_bytes()]).is_ok());
        for bad in [
            "k".repeat(256).into_bytes(),
            b"a b".to_vec(),
            b"a\tb".to_vec(),
            "caf\u{e9}".as_bytes().to_vec(),
            Vec::new(),
        ] {
            let problem = check(&[&bad]).unwrap_err();
            assert_eq!(problem.kind(), ErrorKind::Malformed);
            assert_eq!(problem.status, 400);
            assert!(
                problem
                    .detail
                    .as_deref()
                    .unwrap_or_default()
                    .contains("Idempotency-Key"),
                "{problem:?}"
            );
        }
        let problem = check(&[b"a", b"b"]).unwrap_err();
        assert!(
            problem
                .detail
                .as_deref()
                .unwrap_or_default()
                .contains("Idempotency-Key"),
            "{problem:?}"
        );
    }
}
