//! How callers of a dialect authenticate: the credential forms it accepts and the OAuth2 token
//! endpoint its SDK may need, with the body the gateway answers that endpoint with.

use serde_json::{Map, Value};

/// How callers of this dialect authenticate.
#[derive(Debug, Clone)]
pub struct Auth {
    /// Accepted forms, in preference order; the first is sent upstream.
    pub accept: Vec<Credential>,
    /// Vendor-only headers forwarded to an upstream of the same dialect.
    pub forward_same_dialect: Vec<String>,
    /// The OAuth2 client-credentials endpoint, if the vendor's SDK needs one.
    pub token_endpoint: Option<TokenEndpoint>,
}

/// One credential form.
#[derive(Debug, Clone)]
pub struct Credential {
    /// Lower-case header name.
    pub header: String,
    /// Auth scheme (`Bearer`), if any.
    pub scheme: Option<String>,
    /// Callers may leave the scheme out.
    pub scheme_optional: bool,
}

/// An OAuth2 client-credentials token endpoint.
#[derive(Debug, Clone)]
pub struct TokenEndpoint {
    /// Path of the endpoint.
    pub path: String,
    /// Lifetime of issued tokens, in seconds.
    pub expires_in: u64,
    /// Body template.
    pub body: Value,
    /// How the client authenticates at it.
    pub client_auth: ClientAuth,
}

/// How a client authenticates at a token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body (Elastic Path).
    #[default]
    Form,
    /// The client id and secret as HTTP Basic credentials (`Authorization: Basic
    /// base64(id:secret)`); the form body carries `grant_type` and `scope` only (commercetools).
    Basic,
}

/// Fills the token endpoint's body template for a token issued by the gateway: `$access_token`,
/// `$expires_in` (its lifetime in seconds, as the gateway enforces it) and `$expires` (the Unix
/// epoch second it stops working).
pub fn token_body(
    endpoint: &TokenEndpoint,
    access_token: &str,
    expires_in: u64,
    expires_epoch: u64,
) -> Value {
    token_body_with_scope(endpoint, access_token, (expires_in, expires_epoch), None)
}

/// [`token_body`], with `scope` the scope the client asked for (`{scope}`; left out when absent).
pub fn token_body_with_scope(
    endpoint: &TokenEndpoint,
    access_token: &str,
    (expires_in, expires_epoch): (u64, u64),
    scope: Option<&str>,
) -> Value {
    let mut vars = Map::new();
    if let Some(scope) = scope {
        vars.insert("scope".into(), Value::String(scope.to_owned()));
    }
    vars.insert("access_token".into(), Value::String(access_token.to_owned()));
    vars.insert("expires".into(), Value::from(expires_epoch));
    vars.insert("expires_in".into(), Value::from(expires_in));
    crate::render::fill_token(&endpoint.body, &vars)
}
