//! The route phase: which dialect serves a request (by path), whether it is a dialect's OAuth
//! token endpoint instead, and whether the dialect accepts the method. Also the path the access
//! log may show.

use std::sync::Arc;

use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{Dialect, Operation, Registry};
use http::{HeaderValue, Method};

use crate::outcome::{Failure, Outcome};

/// Where a request goes.
pub(crate) enum Route {
    /// A dialect's operation (update or retrieve), with the customer id its path carries (if
    /// any). When the method is not the operation's, [`check_method`] refuses it.
    Operation {
        dialect: Arc<Dialect>,
        operation: Operation,
        path_id: Option<String>,
    },
    /// A dialect's token endpoint (`POST` only: [`check_token_method`] refuses the others).
    Token(Arc<Dialect>),
}

/// The route for `method` and `path`, or "no route". A path one of a dialect's operations
/// serves goes to the operation that accepts `method`, else to the first (refused with 405).
pub(crate) fn route(registry: &Registry, method: &Method, path: &str) -> Result<Route, Failure> {
    for dialect in registry.dialects() {
        let mut first = None;
        for (operation, route) in dialect.routes() {
            if let Some(path_id) = route.match_path(path) {
                if route.accepts_method(method.as_str()) {
                    return Ok(Route::Operation {
                        dialect: dialect.clone(),
                        operation,
                        path_id,
                    });
                }
                first.get_or_insert((operation, path_id));
            }
        }
        if let Some((operation, path_id)) = first {
            return Ok(Route::Operation {
                dialect: dialect.clone(),
                operation,
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

/// The dialect serving `path` (one of its operations or its token endpoint), if any.
pub(crate) fn serving(registry: &Registry, path: &str) -> Option<Arc<Dialect>> {
    registry
        .dialects()
        .iter()
        .find(|d| d.routes().any(|(_, r)| r.match_path(path).is_some()) || is_token_path(d, path))
        .cloned()
}

/// Refuses a method the dialect's `operation` does not accept.
pub(crate) fn check_method(dialect: &Dialect, operation: Operation, method: &Method) -> Result<(), Failure> {
    let accepted = dialect
        .routes()
        .any(|(op, route)| op == operation && route.accepts_method(method.as_str()));
    if accepted {
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

/// The `Allow` header at `path`: the methods of every operation of `dialect` served there.
pub(crate) fn allow(dialect: &Dialect, path: &str) -> Option<HeaderValue> {
    let mut methods: Vec<&str> = Vec::new();
    for (_, route) in dialect.routes() {
        if route.match_path(path).is_some() {
            for m in route.methods() {
                if !methods.contains(&m) {
                    methods.push(m);
                }
            }
        }
    }
    HeaderValue::from_str(&methods.join(", ")).ok()
}

/// The path for the access log: the route template of the dialect operation that served the
/// request (`/admin/customers/{id}`: customer ids, which can be emails, stay out of logs), or
/// its token endpoint; a path no dialect serves is cut to 128 bytes.
pub(crate) fn logged_path<'a>(registry: &'a Registry, path: &'a str, dialect: &str) -> &'a str {
    match registry.dialect(dialect) {
        Some(d) if is_token_path(d, path) => path,
        Some(d) => d
            .routes()
            .find(|(_, r)| r.match_path(path).is_some())
            .map_or(&d.route().path, |(_, r)| &r.path),
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
