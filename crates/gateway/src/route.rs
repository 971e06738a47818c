//! The route phase: which dialect serves a request (by path), whether it is a dialect's OAuth
//! token endpoint instead, and whether the dialect accepts the method. Also the path the access
//! log may show.

use std::sync::Arc;

use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{Dialect, Registry};
use http::{HeaderValue, Method};

use crate::outcome::{Failure, Outcome};

/// Where a request goes.
pub(crate) enum Route {
    /// A dialect's update route, with the customer id its path carries (if any).
    Update {
        dialect: Arc<Dialect>,
        path_id: Option<String>,
    },
    /// A dialect's token endpoint (`POST` only: [`check_token_method`] refuses the others).
    Token(Arc<Dialect>),
}

/// The route for `path`, or "no route".
pub(crate) fn route(registry: &Registry, path: &str) -> Result<Route, Failure> {
    for dialect in registry.dialects() {
        if let Some(path_id) = dialect.match_path(path) {
            return Ok(Route::Update {
                dialect: dialect.clone(),
                path_id,
            });
        }
    }
    if let Some(d) = registry.dialects().iter().find(|d| is_token_path(d, path)) {
        return Ok(Route::Token(d.clone()));
    }
    Err(Failure::new(
        Outcome::NoRoute,
        Problem::new(ErrorKind::NotFound, format!("no dialect serves {path}")),
    ))
}

/// Refuses a method the dialect's route does not accept.
pub(crate) fn check_method(dialect: &Dialect, method: &Method) -> Result<(), Failure> {
    if dialect.accepts_method(method.as_str()) {
        return Ok(());
    }
    Err(method_not_allowed(method))
}

/// Refuses a method other than `POST` at a token endpoint (answered 405 with `Allow: POST`).
pub(crate) fn check_token_method(method: &Method) -> Result<(), Failure> {
    if method == Method::POST {
        return Ok(());
    }
    Err(method_not_allowed(method))
}

fn method_not_allowed(method: &Method) -> Failure {
    Failure::new(
        Outcome::MethodNotAllowed,
        Problem::new(
            ErrorKind::MethodNotAllowed,
            format!("{method} is not allowed here"),
        ),
    )
}

/// The `Allow` header of `dialect`'s route.
pub(crate) fn allow(dialect: &Dialect) -> Option<HeaderValue> {
    let allow = std::iter::once(&dialect.route().method)
        .chain(&dialect.route().also_methods)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    HeaderValue::from_str(&allow).ok()
}

/// The path for the access log: the route template of the dialect that served the request
/// (`/admin/customers/{id}`: customer ids, which can be emails, stay out of logs), or its
/// token endpoint; a path no dialect serves is cut to 128 bytes.
pub(crate) fn logged_path<'a>(registry: &'a Registry, path: &'a str, dialect: &str) -> &'a str {
    match registry.dialect(dialect) {
        Some(d) if is_token_path(d, path) => path,
        Some(d) => &d.route().path,
        None => {
            let mut end = path.len().min(128);
            while !path.is_char_boundary(end) {
                end -= 1;
            }
            &path[..end]
        }
    }
}

fn is_token_path(dialect: &Dialect, path: &str) -> bool {
    dialect
        .auth()
        .token_endpoint
        .as_ref()
        .is_some_and(|t| t.path == path)
}
