//! A loaded, compiled dialect: its route, credentials, message plans, error shapes and
//! validators. Built once at load; cheap to share (`Arc<Dialect>`).

use std::collections::HashMap;
use std::path::Path;

use dialectgate_canonical::ErrorKind;
use jsonschema::Validator;
use serde_json::Value;

use crate::definition::{RawDefinition, RawOn};
use crate::error::DialectError;
use crate::plan::{self, Compiler, ErrorShape, MessagePlan};
use crate::pointer::Pointer;
use crate::validate;

/// One vendor dialect, ready to run.
#[derive(Debug)]
pub struct Dialect {
    pub(crate) id: String,
    pub(crate) vendor: String,
    pub(crate) docs: Option<String>,
    pub(crate) decisions: Vec<String>,
    pub(crate) route: Route,
    pub(crate) auth: Auth,
    pub(crate) request: MessagePlan,
    pub(crate) response: MessagePlan,
    pub(crate) errors: ErrorPlan,
    pub(crate) schemas: Schemas,
    pub(crate) raw: RawDefinition,
}

/// Where the operation lives and how its customer id travels.
#[derive(Debug, Clone)]
pub struct Route {
    /// The documented method (upper case).
    pub method: String,
    /// Other methods accepted inbound.
    pub also_methods: Vec<String>,
    /// The path template as written (`/v2/customers/{id}`).
    pub path: String,
    pub(crate) segments: Vec<PathSegment>,
    /// Where the id is, when in the body.
    pub id_in_body: Option<Pointer>,
    /// Accepted query parameters.
    pub query: Vec<String>,
    /// Query parameters are read as body members.
    pub query_into_body: bool,
    /// Longest customer id accepted, in bytes.
    pub id_max_length: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathSegment {
    Literal(String),
    Id,
}

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
}

/// Compiled error rendering.
#[derive(Debug, Clone)]
pub(crate) struct ErrorPlan {
    pub shapes: HashMap<ErrorKind, ErrorShape>,
    pub messages: HashMap<String, String>,
    pub join: String,
}

/// Compiled validators for the three message kinds.
pub(crate) struct Schemas {
    pub request: Validator,
    pub response: Validator,
    pub error: Validator,
    /// The request schema as JSON (for OpenAPI and documentation).
    pub request_json: Value,
    pub response_json: Value,
    pub error_json: Value,
}

impl std::fmt::Debug for Schemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Schemas { .. }")
    }
}

impl Dialect {
    /// Loads `definition` (TOML) and the schemas in `schema_dir` (`request.json`,
    /// `response.json`, `error.json`), checks everything, and compiles it.
    ///
    /// # Errors
    /// Every problem found in the definition or its schemas, naming the file and the key.
    pub(crate) fn load(
        definition: &Path,
        schema_dir: &Path,
        canonical_schemas: [&Value; 2],
    ) -> Result<Dialect, DialectError> {
        let text = std::fs::read_to_string(definition).map_err(|source| DialectError::Read {
            path: definition.to_owned(),
            source,
        })?;
        let raw: RawDefinition = toml::from_str(&text).map_err(|e| DialectError::Parse {
            path: definition.to_owned(),
            message: e.to_string(),
        })?;
        let stem = definition
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();

        let mut errors = Vec::new();
        let schemas = load_schemas(schema_dir).map_err(|e| errors.push(e)).ok();

        let mut c = Compiler {
            problems: Vec::new(),
            canonical_schemas,
        };
        plan::check_id(&mut c, &raw, stem);
        plan::check_message_pointers(&mut c, "request", &raw.request);
        plan::check_message_pointers(&mut c, "response", &raw.response);
        let request = c.message("request", &raw.request, &raw.fields, RawOn::Request);
        let response = c.message("response", &raw.response, &raw.fields, RawOn::Response);
        let (shapes, messages, join) = c.errors(&raw.errors);
        let route = compile_route(&mut c, &raw);
        let auth = compile_auth(&mut c, &raw);
        if !c.problems.is_empty() {
            errors.push(DialectError::Invalid {
                path: definition.to_owned(),
                problems: c.problems,
            });
        }
        let Some(schemas) = schemas.filter(|_| errors.is_empty()) else {
            return Err(if errors.len() == 1 {
                errors.remove(0)
            } else {
                DialectError::Many(errors)
            });
        };
        Ok(Dialect {
            id: raw.id.clone(),
            vendor: raw.vendor.clone(),
            docs: raw.docs.clone(),
            decisions: raw.decisions.clone(),
            route,
            auth,
            request,
            response,
            errors: ErrorPlan {
                shapes,
                messages: messages.into_iter().collect(),
                join,
            },
            schemas,
            raw,
        })
    }

    /// The dialect id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The vendor's name.
    pub fn vendor(&self) -> &str {
        &self.vendor
    }

    /// Where the vendor documents the operation.
    pub fn docs(&self) -> Option<&str> {
        self.docs.as_deref()
    }

    /// The decisions this definition records.
    pub fn decisions(&self) -> &[String] {
        &self.decisions
    }

    /// The route.
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// The credential forms.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The definition as read from disk.
    pub fn definition(&self) -> &RawDefinition {
        &self.raw
    }

    /// The request, success-response and error schemas, as JSON.
    pub fn schema_documents(&self) -> [&Value; 3] {
        [
            &self.schemas.request_json,
            &self.schemas.response_json,
            &self.schemas.error_json,
        ]
    }

    /// True when `body` matches the vendor's error schema.
    pub fn is_valid_error_body(&self, body: &Value) -> bool {
        self.schemas.error.is_valid(body)
    }

    /// True when `body` matches the vendor's success-response schema.
    pub fn is_valid_response_body(&self, body: &Value) -> bool {
        self.schemas.response.is_valid(body)
    }

    /// The HTTP status of a success answer.
    pub fn success_status(&self) -> u16 {
        self.response.status
    }

    /// The media type of this dialect's `kind` errors.
    pub fn error_content_type(&self, kind: ErrorKind) -> &str {
        self.errors
            .shapes
            .get(&kind)
            .map_or("application/json", |s| s.content_type.as_str())
    }

    /// The status this dialect answers `kind` with.
    pub fn error_status(&self, kind: ErrorKind) -> u16 {
        self.errors
            .shapes
            .get(&kind)
            .map_or_else(|| kind.status(), |s| s.status)
    }

    /// Matches a request path against the route; `Some(id)` on a match (`None` inside when the
    /// id travels in the body). The id is percent-decoded.
    pub fn match_path(&self, path: &str) -> Option<Option<String>> {
        let mut parts = path.strip_prefix('/')?.split('/');
        let mut id = None;
        for seg in &self.route.segments {
            let part = parts.next()?;
            match seg {
                PathSegment::Literal(lit) if lit == part => {}
                PathSegment::Literal(_) => return None,
                PathSegment::Id => {
                    let decoded = percent_encoding::percent_decode_str(part).decode_utf8().ok()?;
                    if decoded.is_empty() {
                        return None;
                    }
                    id = Some(decoded.into_owned());
                }
            }
        }
        if parts.next().is_some() {
            return None;
        }
        Some(id)
    }

    /// The path for customer `id` (percent-encoded).
    pub fn path_for(&self, id: &str) -> String {
        let mut out = String::new();
        for seg in &self.route.segments {
            out.push('/');
            match seg {
                PathSegment::Literal(lit) => out.push_str(lit),
                PathSegment::Id => out.extend(crate::id::segment(id)),
            }
        }
        out
    }

    /// True when `method` is accepted inbound.
    pub fn accepts_method(&self, method: &str) -> bool {
        self.route.method.eq_ignore_ascii_case(method)
            || self
                .route
                .also_methods
                .iter()
                .any(|m| m.eq_ignore_ascii_case(method))
    }
}

fn compile_route(c: &mut Compiler<'_>, raw: &RawDefinition) -> Route {
    let r = &raw.route;
    let mut segments = Vec::new();
    let Some(rest) = r.path.strip_prefix('/') else {
        c.problems
            .push(format!("route.path: `{}` must start with `/`", r.path));
        return Route {
            method: r.method.to_ascii_uppercase(),
            also_methods: Vec::new(),
            path: r.path.clone(),
            segments,
            id_in_body: None,
            query: Vec::new(),
            query_into_body: false,
            id_max_length: crate::id::DEFAULT_ID_MAX_LENGTH,
        };
    };
    for part in rest.split('/') {
        if part == "{id}" {
            segments.push(PathSegment::Id);
        } else if part.contains('{') || part.contains('}') {
            c.problems.push(format!(
                "route.path: only `{{id}}` may be a parameter, found `{part}`"
            ));
        } else {
            segments.push(PathSegment::Literal(part.to_owned()));
        }
    }
    let ids_in_path = segments.iter().filter(|s| **s == PathSegment::Id).count();
    let id_in_body = r.id_in_body.as_deref().map(|p| c.pointer("route.id_in_body", p));
    match (ids_in_path, &id_in_body) {
        (1, None) | (0, Some(_)) => {}
        _ => c.problems.push(
            "route: the customer id must travel either in the path (`{id}`) or in the body (`id_in_body`), exactly once"
                .to_owned(),
        ),
    }
    let id_max_length = r.id_max_length.unwrap_or(crate::id::DEFAULT_ID_MAX_LENGTH);
    if !(1..=1024).contains(&id_max_length) {
        c.problems.push(format!(
            "route.id_max_length: {id_max_length} is not between 1 and 1024"
        ));
    }
    for m in std::iter::once(&r.method).chain(&r.also_methods) {
        if http_method_invalid(m) {
            c.problems
                .push(format!("route.method: `{m}` is not an HTTP method"));
        }
    }
    Route {
        method: r.method.to_ascii_uppercase(),
        also_methods: r.also_methods.iter().map(|m| m.to_ascii_uppercase()).collect(),
        path: r.path.clone(),
        segments,
        id_in_body,
        query: r.query.clone(),
        query_into_body: r.query_into_body,
        id_max_length,
    }
}

fn http_method_invalid(m: &str) -> bool {
    !matches!(
        m.to_ascii_uppercase().as_str(),
        "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
    )
}

fn compile_auth(c: &mut Compiler<'_>, raw: &RawDefinition) -> Auth {
    if raw.auth.accept.is_empty() {
        c.problems
            .push("auth.accept: at least one credential form is needed".to_owned());
    }
    let accept = raw
        .auth
        .accept
        .iter()
        .map(|a| Credential {
            header: a.header.to_ascii_lowercase(),
            scheme: a.scheme.clone(),
            scheme_optional: a.scheme_optional,
        })
        .collect();
    let token_endpoint = raw.auth.token_endpoint.as_ref().map(|t| TokenEndpoint {
        path: t.path.clone(),
        expires_in: t.expires_in,
        body: c.token_body(&t.body),
    });
    Auth {
        accept,
        forward_same_dialect: raw
            .auth
            .forward_same_dialect
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        token_endpoint,
    }
}

fn load_schemas(dir: &Path) -> Result<Schemas, DialectError> {
    let mut errors = Vec::new();
    let mut load = |name: &str| -> Option<(Validator, Value)> {
        let path = dir.join(name);
        match validate::compile_file(&path) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(e);
                None
            }
        }
    };
    let request = load("request.json");
    let response = load("response.json");
    let error = load("error.json");
    match (request, response, error) {
        (Some((request, request_json)), Some((response, response_json)), Some((error, error_json))) => {
            Ok(Schemas {
                request,
                response,
                error,
                request_json,
                response_json,
                error_json,
            })
        }
        _ => Err(if errors.len() == 1 {
            errors.remove(0)
        } else {
            DialectError::Many(errors)
        }),
    }
}
