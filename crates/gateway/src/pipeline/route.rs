//! The route phase: which dialect serves a request (by path), whether it is a dialect's OAuth
//! token endpoint instead, and whether the dialect accepts the method. Also the path the access
//! log may show.

use std::borrow::Cow;
use std::sync::Arc;

use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{Dialect, Limits, Operation, Registry};
use http::{HeaderValue, Method};
use serde_json::Value;

use crate::outcome::{Failure, Outcome};

mod index;

pub(crate) use self::index::RouteIndex;

/// Where a request goes.
pub(crate) enum Route {
    /// A dialect's operation (update or retrieve), with the customer id its path carries (if
    /// any). When the method is not the operation's, [`check_method`] refuses it.
    Operation {
        dialect: Arc<Dialect>,
        operation: Operation,
        path_id: Option<String>,
        /// The dialect's route the access log shows (its index in `Dialect::routes`): the
        /// first that matches the path ([`logged_path_of`]), found here once.
        logged: usize,
    },
    /// A dialect's token endpoint (`POST` only: [`check_token_method`] refuses the others).
    Token(Arc<Dialect>),
}

/// The route for `method` and `path`, or "no route". The dialect serving `path` is the one
/// with the most specific matching route ([`RouteIndex::serving`]); within it, the operation
/// that accepts `method`, else the first matching one (refused with 405).
pub(crate) fn route(
    (registry, index): (&Registry, &RouteIndex),
    method: &Method,
    path: &str,
) -> Result<Route, Failure> {
    if let Some(dialect) = index.serving(path) {
        let mut first = None;
        for (i, (operation, route)) in dialect.routes().enumerate() {
            if let Some(path_id) = route.match_path(path) {
                let logged = first.as_ref().map_or(i, |&(_, _, logged)| logged);
                if route.accepts_method(method.as_str()) {
                    return Ok(Route::Operation {
                        dialect: dialect.clone(),
                        operation,
                        path_id,
                        logged,
                    });
                }
                first.get_or_insert((operation, path_id, i));
            }
        }
        if let Some((operation, path_id, logged)) = first {
            return Ok(Route::Operation {
                dialect: dialect.clone(),
                operation,
                path_id,
                logged,
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

/// Whether `dialect`'s operation at `method` and `path` is told apart by the body (two of its
/// operations share them: a GraphQL endpoint's mutation and query). The route phase then
/// routes to the first; [`by_body`] picks the operation once the body is read.
pub(crate) fn told_by_body(dialect: &Dialect, method: &Method, path: &str) -> bool {
    dialect
        .routes()
        .any(|(_, r)| r.matches_by_body() && r.accepts_method(method.as_str()) && r.matches(path))
}

/// The operation of `dialect` at `method` and `path` whose `body_match` the `body` meets, and
/// the body parsed (the operation's phases take it as it is, not parsing it again). A body that
/// is not JSON, or that meets none of them or more than one, is refused (in the caller's
/// dialect, naming what each operation wants).
pub(crate) fn by_body(
    dialect: &Dialect,
    (method, path): (&Method, &str),
    body: &[u8],
    limits: Limits,
) -> Result<(Operation, Value), Failure> {
    let json = crate::pipeline::translate::parse_body(body, limits)?;
    let served = || operations_served(dialect, method, path);
    // Each served operation's body test runs once, and nothing is collected unless the body
    // is refused (a second match already settles that).
    let mut matched = served().filter(|(_, r)| r.matches_body(&json)).map(|(op, _)| op);
    let (first, second) = (matched.next(), matched.next());
    if let (Some(operation), None) = (first, second) {
        return Ok((operation, json));
    }
    let wants: Vec<String> = served()
        .map(|(op, r)| {
            let members: Vec<String> = r
                .body_match
                .iter()
                .map(|m| format!("{} matching `{}`", m.at, m.pattern.as_str()))
                .collect();
            format!("{} wants {}", op.as_str(), members.join(" and "))
        })
        .collect();
    let what = if first.is_some() && second.is_some() {
        "is more than one"
    } else {
        "is none"
    };
    let template = served().next().map_or(path, |(_, r)| r.path.as_str());
    let detail = format!(
        "the body {what} of the operations served at {method} {template}: {}",
        wants.join("; ")
    );
    Err(Failure::new(
        Outcome::Validation,
        Problem::new(ErrorKind::Malformed, detail),
    ))
}

/// The operations of `dialect` served at `method` and `path`, in order. The operations told
/// apart by the body share their path template: a template that matched once is not matched
/// again (the match depends on the template alone).
fn operations_served<'d>(
    dialect: &'d Dialect,
    method: &Method,
    path: &str,
) -> impl Iterator<Item = (Operation, &'d dialectgate_dialect::Route)> {
    let mut matched: Option<&'d str> = None;
    dialect.routes().filter(move |(_, r)| {
        if !r.accepts_method(method.as_str()) {
            return false;
        }
        if matched == Some(r.path.as_str()) {
            return true;
        }
        let serves = r.matches(path);
        if serves {
            matched = Some(&r.path);
        }
        serves
    })
}

/// The dialect serving `path` (one of its operations or its token endpoint), if any.
pub(crate) fn serving((registry, index): (&Registry, &RouteIndex), path: &str) -> Option<Arc<Dialect>> {
    index
        .serving(path)
        .or_else(|| registry.dialects().iter().find(|d| is_token_path(d, path)))
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
        if route.matches(path) {
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
/// its token endpoint; a path no dialect serves is [`redacted`]. `dialect` is the serving
/// dialect's id, or `-` (the request path has the dialect itself: [`logged_path_of`]).
#[cfg(test)]
pub(crate) fn logged_path<'a>(registry: &'a Registry, path: &'a str, dialect: &str) -> Cow<'a, str> {
    logged_path_of(registry, path, registry.dialect(dialect).map(|d| &**d), None)
}

/// [`logged_path`] for the serving dialect itself (`None`: no dialect claimed the request).
/// `logged`: the route the route phase found for the path ([`Route::Operation`]), if it did;
/// else the dialect's routes are matched against the path here.
pub(crate) fn logged_path_of<'a>(
    registry: &Registry,
    path: &'a str,
    dialect: Option<&'a Dialect>,
    logged: Option<usize>,
) -> Cow<'a, str> {
    match dialect {
        Some(d) if is_token_path(d, path) => Cow::Borrowed(path),
        Some(d) => Cow::Borrowed(
            logged
                .and_then(|i| d.routes().nth(i))
                .or_else(|| d.routes().find(|(_, r)| r.matches(path)))
                .map_or(&d.route().path, |(_, r)| &r.path),
        ),
        None => Cow::Owned(redacted(registry, path)),
    }
}

/// What stands for whatever follows the literal prefix of a path no dialect serves.
const REDACTED: &str = "{…}";

/// A path no dialect serves, as the log may show it: the longest run of leading segments that
/// are the literal segments of some route or token endpoint (`/admin/customers`), then `/{…}`
/// for whatever follows. Only the definitions' own literals are written: no byte of a segment
/// that could be an id (an email, a sub-resource's id) or anything else the caller chose.
pub(crate) fn redacted(registry: &Registry, path: &str) -> String {
    let Some(rest) = path.strip_prefix('/') else {
        return REDACTED.to_owned();
    };
    if rest.is_empty() {
        return "/".to_owned();
    }
    let segments = || rest.split('/');
    let total = segments().count();
    let mut best: Vec<&str> = Vec::new();
    for d in registry.dialects() {
        let token = d.auth().token_endpoint.as_ref().map(|t| t.path.as_str());
        let templates = d.routes().map(|(_, r)| r.path.as_str()).chain(token);
        for template in templates {
            let literals = template.strip_prefix('/').unwrap_or(template).split('/');
            let shared: Vec<&str> = literals
                .zip(segments())
                .take_while(|(literal, seg)| !literal.contains('{') && literal == seg)
                .map(|(literal, _)| literal)
                .collect();
            if shared.len() > best.len() {
                best = shared;
            }
        }
    }
    let mut out = String::with_capacity(64);
    for literal in &best {
        out.push('/');
        out.push_str(literal);
    }
    if best.len() < total {
        out.push('/');
        out.push_str(REDACTED);
    }
    out
}

fn is_token_path(dialect: &Dialect, path: &str) -> bool {
    dialect
        .auth()
        .token_endpoint
        .as_ref()
        .is_some_and(|t| t.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Registry {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        Registry::load(&root.join("config/dialects"), &root.join("schemas")).unwrap()
    }

    #[test]
    fn an_unrouted_path_is_logged_as_the_literal_prefix_a_route_shares_then_a_placeholder() {
        let reg = shipped();
        let long = format!("/admin/customers/{}/addresses", "v".repeat(8000));
        for (path, logged) in [
            // The issue's case: a sub-resource the vendor SDKs call.
            (
                "/admin/customers/victim.person@example.com/addresses",
                "/admin/customers/{…}",
            ),
            (
                "/admin/customers/cus_01HX/addresses/addr_9",
                "/admin/customers/{…}",
            ),
            (
                "/v2/customers/3f1c-victim/relationships/addresses",
                "/v2/customers/{…}",
            ),
            (
                "/services/customer/v1/customer.delete",
                "/services/customer/v1/{…}",
            ),
            ("/oauth/access_token/victim", "/oauth/access_token/{…}"),
            (long.as_str(), "/admin/customers/{…}"),
            // Percent-encoded bytes are not the literal they decode to.
            ("/admin/customers/victim%40example.com/x", "/admin/customers/{…}"),
            ("/admin/%63ustomers/victim", "/admin/{…}"),
            (
                "/admin/customers/vic\u{7}tim\r\n{\"forged\":1}/x",
                "/admin/customers/{…}",
            ),
            ("/victim.person@example.com", "/{…}"),
            ("//victim", "/{…}"),
            ("victim", "{…}"),
            ("*", "{…}"),
            // Nothing that could be an id: the definitions' literals only.
            ("/admin/customers", "/admin/customers"),
            ("/admin", "/admin"),
            ("/", "/"),
        ] {
            assert_eq!(logged_path(&reg, path, "-"), logged, "{path:?}");
            assert_eq!(redacted(&reg, path), logged, "{path:?}");
        }
    }

    #[test]
    fn a_graphql_body_picks_the_operation_and_anything_else_is_refused_naming_both() {
        let reg = shipped();
        let shopify = reg.dialect("shopify").unwrap();
        let at = (&Method::POST, "/admin/api/2025-07/graphql.json");
        assert!(told_by_body(shopify, at.0, at.1));
        assert!(!told_by_body(
            reg.dialect("medusa").unwrap(),
            at.0,
            "/admin/customers/c1"
        ));
        let limits = dialectgate_dialect::Limits {
            depth: 32,
            values: 10_000,
        };
        let pick = |body: &str| by_body(shopify, at, body.as_bytes(), limits);
        let update = r#"{"query": "mutation customerUpdate($input: CustomerInput!) { customerUpdate(input: $input) { userErrors { field } } }", "variables": {}}"#;
        let read = r#"{"query": "query ($id: ID!) { customer(id: $id) { id } }", "variables": {}}"#;
        assert_eq!(pick(update).ok().map(|(op, _)| op.as_str()), Some("update"));
        assert_eq!(pick(read).ok().map(|(op, _)| op.as_str()), Some("retrieve"));
        for (body, outcome) in [
            (r#"{"query": "query { shop { name } }"}"#, Outcome::Validation),
            (r#"{"variables": {}}"#, Outcome::Validation),
            (r#"{"query": "#, Outcome::Malformed),
        ] {
            let failure = pick(body).unwrap_err();
            assert_eq!(failure.outcome, outcome, "{body}");
            assert_eq!(failure.problem.kind(), ErrorKind::Malformed, "{body}");
        }
        let failure = pick(r#"{"query": "query { shop { name } }"}"#).unwrap_err();
        let detail = failure.problem.detail.unwrap_or_default();
        assert!(
            detail.starts_with("the body is none of the operations served at POST /admin/api/{version}/graphql.json: update wants /query matching"),
            "{detail}"
        );
        assert!(detail.contains("; retrieve wants /query matching"), "{detail}");
        // A comment may be as short as `#`: this document is read both as a mutation and (past
        // its first line) as a query. Refused, naming both, never one of them taken.
        let both = r##"{"query": "#mutation { customerUpdate(input: {}) }\n{ customer(id: 1) { id } }"}"##;
        let failure = pick(both).unwrap_err();
        assert_eq!(failure.outcome, Outcome::Validation);
        let detail = failure.problem.detail.unwrap_or_default();
        assert!(
            detail.starts_with("the body is more than one of the operations served at POST /admin/api/{version}/graphql.json: update wants /query matching"),
            "{detail}"
        );
        assert!(detail.contains("; retrieve wants /query matching"), "{detail}");
    }

    #[test]
    fn a_served_path_is_logged_as_its_route_template() {
        let reg = shipped();
        for (dialect, path, logged) in [
            (
                "medusa",
                "/admin/customers/victim@example.com",
                "/admin/customers/{id}",
            ),
            ("elasticpath", "/v2/customers/victim", "/v2/customers/{id}"),
            ("elasticpath", "/oauth/access_token", "/oauth/access_token"),
            (
                "microbase",
                "/services/customer/v1/customer.info",
                "/services/customer/v1/customer.info",
            ),
        ] {
            assert_eq!(logged_path(&reg, path, dialect), logged);
        }
        // Refused before routing (no dialect claimed it), a served path is still redacted.
        assert_eq!(
            logged_path(&reg, "/admin/customers/victim@example.com", "-"),
            "/admin/customers/{…}"
        );
    }

    #[test]
    fn the_route_found_by_the_route_phase_logs_the_path_the_scan_would() {
        let reg = shipped();
        let index = RouteIndex::new(&reg);
        let mut paths = vec![
            "/".to_owned(),
            "/admin/customers".to_owned(),
            "/admin/customers/a/b".to_owned(),
            "/v2/customers/../x".to_owned(),
        ];
        for dialect in reg.dialects() {
            for (_, r) in dialect.routes() {
                for id in ["cus_ada", "victim@example.com", "a%2Fb", "..", "1815"] {
                    let path: Vec<String> = r
                        .path
                        .split('/')
                        .map(|seg| {
                            if seg.starts_with('{') {
                                id.to_owned()
                            } else {
                                seg.to_owned()
                            }
                        })
                        .collect();
                    paths.push(path.join("/"));
                }
            }
        }
        let mut routed = 0;
        for path in &paths {
            for method in [
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ] {
                let Ok(Route::Operation { dialect, logged, .. }) = route((&reg, &index), &method, path)
                else {
                    continue;
                };
                routed += 1;
                assert_eq!(
                    logged_path_of(&reg, path, Some(&dialect), Some(logged)),
                    logged_path_of(&reg, path, Some(&dialect), None),
                    "{method} {path}"
                );
            }
        }
        assert!(routed > 50, "{routed}");
    }
}
