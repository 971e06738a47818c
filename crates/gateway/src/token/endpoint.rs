//! The token endpoint: where a vendor SDK exchanges its client credentials for an access token.

use bytes::Bytes;
use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::TokenEndpoint;
use http::{HeaderValue, Response, header};
use http_body::Body;
use http_body_util::Full;

use super::{Binding, MAX_FORM_SECRET_BYTES, TokenKeys, fingerprint};
use crate::config::{Config, CredentialMode, Secret};
use crate::outcome::{Failure, Outcome};
use crate::pipeline::answer::json_response;
use crate::pipeline::authenticate;
use crate::pipeline::read_body;

/// Largest token request body read.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// The token endpoint: a form-encoded `grant_type=client_credentials&client_id=…&client_secret=…`
/// (or `grant_type=implicit&client_id=…` when `credentials.implicit_grant` allows it) gets a
/// fresh token in the dialect's body template, sealed (see [`super`]). No failure's message names
/// the credential. It needs the configuration in force (`config`: the credential mode, the
/// caller keys, the token lifetime) and the keys tokens are sealed with (`tokens`).
pub(crate) async fn endpoint<B>(
    config: &Config,
    tokens: &TokenKeys,
    endpoint: &TokenEndpoint,
    body: B,
) -> Result<Response<Full<Bytes>>, Failure>
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let bytes = read_body::read_body(body, MAX_FORM_BYTES, config.server.body_read_timeout).await?;
    let form: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
    let grant_type = single(&form, "grant_type")?;
    let (field, secret) = match grant_type {
        Some("client_credentials") => ("client_secret", single(&form, "client_secret")?),
        Some("implicit") if config.credentials.implicit_grant => ("client_id", single(&form, "client_id")?),
        Some("implicit") => {
            return Err(Failure::new(
                Outcome::ImplicitRefused,
                Problem::new(
                    ErrorKind::Malformed,
                    "grant_type implicit is not enabled on this gateway: use client_credentials with a client_secret",
                ),
            ));
        }
        _ => {
            let allowed = if config.credentials.implicit_grant {
                "grant_type must be client_credentials or implicit"
            } else {
                "grant_type must be client_credentials"
            };
            return Err(Failure::new(
                Outcome::Validation,
                Problem::new(ErrorKind::Malformed, allowed),
            ));
        }
    };
    let unauthorized = || {
        Failure::new(
            Outcome::Unauthorized,
            Problem::new(ErrorKind::Unauthorized, "the client credentials are not valid"),
        )
    };
    let secret = secret.filter(|s| !s.is_empty()).ok_or_else(unauthorized)?;
    // In passthrough mode it is sealed into the token and sent upstream as a header value:
    // bounded, and visible ASCII.
    if secret.len() > MAX_FORM_SECRET_BYTES {
        return Err(Failure::new(
            Outcome::Validation,
            Problem::new(
                ErrorKind::Malformed,
                format!("{field} is longer than {MAX_FORM_SECRET_BYTES} bytes"),
            ),
        ));
    }
    if !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(unauthorized());
    }
    if config.credentials.mode == CredentialMode::Static
        && !authenticate::is_known(&config.credentials.caller_keys, secret)
    {
        return Err(unauthorized());
    }
    let binding = match config.credentials.mode {
        CredentialMode::Static => Binding::Key(fingerprint(secret)),
        CredentialMode::Passthrough => Binding::Secret(Secret::new(secret)),
    };
    let issued = tokens
        .issue(&binding, config.credentials.token_ttl)
        .map_err(|e| {
            tracing::error!(error = %e, "No token issued.");
            Failure::new(
                Outcome::Internal,
                Problem::new(ErrorKind::Internal, "the gateway could not issue a token"),
            )
        })?;
    let body = dialectgate_dialect::token_body(
        endpoint,
        issued.token.expose(),
        config.credentials.token_ttl.as_secs(),
        issued.expires_epoch,
    );
    let mut rsp = json_response(
        200,
        "application/json",
        serde_json::to_vec(&body).unwrap_or_default(),
    );
    // RFC 6749 §5.1: a token answer is never cached.
    rsp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    rsp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(rsp)
}

/// The value of a form parameter sent at most once (RFC 6749 §3.2: parameters must not repeat).
fn single<'f>(form: &'f [(String, String)], name: &str) -> Result<Option<&'f str>, Failure> {
    let mut values = form.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let first = values.next();
    if values.next().is_some() {
        return Err(Failure::new(
            Outcome::Validation,
            Problem::new(ErrorKind::Malformed, format!("{name} is sent more than once")),
        ));
    }
    Ok(first)
}
