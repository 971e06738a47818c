//! The token endpoint: where a vendor SDK exchanges its client credentials for an access token.

use base64::Engine as _;
use bytes::Bytes;
use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{ClientAuth, TokenEndpoint};
use http::HeaderMap;
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
    asked: Asked<'_>,
    body: B,
) -> Result<Response<Full<Bytes>>, Failure>
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let bytes = read_body::read_body(body, MAX_FORM_BYTES, config.server.body_read_timeout).await?;
    let mut form: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
    let basic = match endpoint.client_auth {
        ClientAuth::Form => None,
        ClientAuth::Basic => {
            // The parameters may come in the query too (the vendor's API description models
            // them there); one sent in both places is sent twice.
            form.extend(form_urlencoded::parse(asked.query.as_bytes()).into_owned());
            Some(basic_secret(asked.headers, &form)?)
        }
    };
    let scope = single(&form, "scope")?.map(str::to_owned);
    if let Some(scope) = &scope
        && !scope
            .bytes()
            .all(|b| b == b' ' || (b.is_ascii_graphic() && b != b'"' && b != b'\\'))
    {
        // RFC 6749 §3.3: scope tokens are printable ASCII without `"` and `\`.
        return Err(Failure::new(
            Outcome::Validation,
            Problem::new(ErrorKind::Malformed, "scope holds characters a scope cannot"),
        ));
    }
    let grant_type = single(&form, "grant_type")?;
    let (field, secret) = match grant_type {
        Some("client_credentials") if basic.is_some() => ("client_secret", basic.as_deref()),
        Some("client_credentials") => ("client_secret", single(&form, "client_secret")?),
        Some("implicit") if basic.is_some() => {
            return Err(Failure::new(
                Outcome::Validation,
                Problem::new(ErrorKind::Malformed, "grant_type must be client_credentials"),
            ));
        }
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
    let body = dialectgate_dialect::token_body_with_scope(
        endpoint,
        issued.token.expose(),
        (config.credentials.token_ttl.as_secs(), issued.expires_epoch),
        scope.as_deref(),
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

/// What a token request carries besides its body.
pub(crate) struct Asked<'a> {
    pub(crate) headers: &'a HeaderMap,
    /// The request's query string (`""` when none).
    pub(crate) query: &'a str,
}

/// The client secret of HTTP Basic client authentication (RFC 6749 §2.3.1): `Authorization:
/// Basic base64(client_id:client_secret)`, as `@commercetools/ts-client` sends it (the id and
/// secret not form-encoded first). Credentials in the form as well are refused (one method
/// only, RFC 6749 §2.3). No failure names the credential.
fn basic_secret(headers: &HeaderMap, form: &[(String, String)]) -> Result<String, Failure> {
    if form.iter().any(|(k, _)| k == "client_secret" || k == "client_id") {
        return Err(Failure::new(
            Outcome::Validation,
            Problem::new(
                ErrorKind::Malformed,
                "client credentials go in the Authorization header (HTTP Basic), not in the form",
            ),
        ));
    }
    let unauthorized = || {
        Failure::new(
            Outcome::Unauthorized,
            Problem::new(
                ErrorKind::Unauthorized,
                "Please provide valid client credentials using HTTP Basic Authentication.",
            ),
        )
    };
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(unauthorized());
    };
    let value = value.to_str().map_err(|_| unauthorized())?;
    let (scheme, encoded) = value.split_once(' ').ok_or_else(unauthorized)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(unauthorized());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| unauthorized())?;
    let text = String::from_utf8(decoded).map_err(|_| unauthorized())?;
    let (id, secret) = text.split_once(':').ok_or_else(unauthorized)?;
    if id.is_empty() {
        return Err(unauthorized());
    }
    Ok(secret.to_owned())
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
