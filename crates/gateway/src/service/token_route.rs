//! The token route: a dialect's OAuth2 token endpoint (`token.rs` issues the token), its refusals
//! in the dialect's own shape.

use std::sync::Arc;

use bytes::Bytes;
use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{Dialect, Endpoint, Operation};
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;

use super::Gateway;
use crate::outcome::{Failure, Outcome};
use crate::pipeline::answer;
use crate::pipeline::log::{Handled, handled};
use crate::pipeline::route;

impl Gateway {
    /// The OAuth2 token endpoint a vendor SDK calls before its first request (see `token.rs`).
    pub(super) async fn token<B>(
        &self,
        dialect: Arc<Dialect>,
        req: Request<B>,
    ) -> (Response<Full<Bytes>>, Handled)
    where
        B: Body<Data = Bytes> + Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let issued = match (
            &dialect.auth().token_endpoint,
            route::check_token_method(req.method()),
        ) {
            (Some(_), Err(refused)) => Err(refused),
            (Some(endpoint), Ok(())) => {
                let (parts, body) = req.into_parts();
                let asked = crate::token::Asked {
                    headers: &parts.headers,
                    query: parts.uri.query().unwrap_or(""),
                };
                crate::token::endpoint(&self.config, &self.tokens, endpoint, asked, body).await
            }
            (None, _) => Err(Failure::new(
                Outcome::NoRoute,
                Problem::new(ErrorKind::NotFound, "no token endpoint"),
            )),
        };
        let (rsp, outcome) = match issued {
            Ok(rsp) => (rsp, Outcome::Token),
            Err(failure) => {
                let caller = Endpoint::Dialect(dialect.clone());
                let mut rsp = answer::refusal(
                    &self.registry,
                    (&dialect, Operation::Update),
                    &caller,
                    &failure,
                    ("", None),
                );
                if failure.outcome == Outcome::MethodNotAllowed {
                    rsp.headers_mut()
                        .insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
                }
                (rsp, failure.outcome)
            }
        };
        handled(Some(dialect), rsp, outcome)
    }
}
