//! Loading a dialect: the definition file and its schemas read, checked and compiled at once,
//! every problem reported with the key it concerns.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Dialect;
use crate::auth::{Auth, ClientAuth, Credential, TokenEndpoint};
use crate::compiled::held_places;
use crate::compiled::{self, CompiledErrors, CompiledMessage, Compiler, Schemas, check_message_pointers};
use crate::definition::{RawDefinition, RawOn, RawRoute};
use crate::engine::read::MemberIndex;
use crate::error::DialectError;
use crate::id::IdFormat;
use crate::route::{BodyMatch, PathSegment, Route};
use crate::schema;
use crate::source::Tree;
use crate::validate;

/// Loads the definition `<stem>.toml` (TOML) of the definitions tree and the schemas in
/// `<stem>/` of the schemas tree (`request.json`, `response.json`, `error.json`), checks
/// everything, and compiles it.
///
/// # Errors
/// Every problem found in the definition or its schemas, naming the file and the key.
pub(crate) fn load(
    definitions: Tree<'_>,
    stem: &str,
    schemas: Tree<'_>,
    canonical_schemas: [&Value; 2],
) -> Result<Dialect, DialectError> {
    let name = format!("{stem}.toml");
    let definition = definitions.path(&name);
    let text = definitions.read(&name)?;
    let raw: RawDefinition = toml::from_str(&text).map_err(|e| DialectError::Parse {
        path: definition.clone(),
        message: e.to_string(),
    })?;

    let mut errors = Vec::new();
    let schemas = load_schemas(schemas, stem).map_err(|e| errors.push(e)).ok();

    let mut c = Compiler {
        problems: Vec::new(),
        canonical_schemas,
        id_format: IdFormat::Opaque,
    };
    c.id_format = id_format(&mut c, "route", raw.route.id_format.as_deref()).unwrap_or_default();
    compiled::check_id(&mut c, &raw, stem);
    compiled::check_message_pointers(&mut c, "request", &raw.request);
    compiled::check_message_pointers(&mut c, "response", &raw.response);
    let request = c.message("request", &raw.request, &raw.fields, RawOn::Request);
    let response = c.message("response", &raw.response, &raw.fields, RawOn::Response);
    let (shapes, messages, join) = c.errors(&raw.errors);
    let mut route = compile_route(&mut c, "route", &raw.route, None);
    // In an array body the id is a member of the item (`[{"id": 12, …}]`): `id_in_body` is
    // written relative to it.
    if let (Some(_), Some(p)) = (&request.array, &route.id_in_body) {
        route.id_in_body = Some(request.envelope.join(p));
    }
    let retrieve = raw
        .retrieve
        .as_ref()
        .map(|r| compile_route(&mut c, "retrieve", r, Some(&route.id_format)));
    if route.id_in_query.is_some() {
        c.problems.push(
            "route.id_in_query: only a retrieve call reads the customer id from its query; an update carries it in the path or the body"
                .to_owned(),
        );
    }
    // The gateway sends each call with its declared `method`: an update always has a body, a
    // retrieve call one exactly when the id travels in it. A GET has none.
    if route.method == "GET" {
        c.problems.push(
            "route.method: `GET` cannot carry the update's body; declare the method the vendor documents for updates"
                .to_owned(),
        );
    }
    if let Some(r) = &retrieve {
        if r.method == "GET" && r.id_in_body.is_some() {
            c.problems.push(
                "retrieve.method: a `GET` retrieve call would send the customer id in a body; put `{id}` in `retrieve.path`, or declare the method that takes the body (`GET` may stay in `also_methods` with `query_into_body`)"
                    .to_owned(),
            );
        } else if !r.query_into_body && r.id_in_body.is_some() && r.methods().any(|m| m == "GET") {
            c.problems
                .push("retrieve: a GET cannot carry the customer id in a body".to_owned());
        }
        if route.overlaps(r) {
            check_told_apart(&mut c, &route, r);
        }
    }
    if raw.route.request.is_some() || raw.route.response.is_some() {
        c.problems.push(
            "route: the update's request and answer are the top-level `[request]` and `[response]`; `request` and `response` belong to `[retrieve]` only"
                .to_owned(),
        );
    }
    let (retrieve_request, retrieve_response) = raw
        .retrieve
        .as_ref()
        .map(|r| retrieve_messages(&mut c, r, &raw.fields))
        .unwrap_or_default();
    if raw.response.null_means_not_found || raw.request.null_means_not_found {
        c.problems.push(
            "null_means_not_found: only `[retrieve.response]` may say that a null answer means not found"
                .to_owned(),
        );
    }
    let auth = compile_auth(&mut c, &raw);
    if let Some(expand) = &response.expand
        && !route.query.contains(&expand.query)
    {
        c.problems.push(format!(
            "response.expand.query: `{}` is not a query parameter of the route",
            expand.query
        ));
    }
    // A rule shared by requests and responses is compiled for each: name its problem once.
    let mut seen = std::collections::HashSet::new();
    c.problems.retain(|p| seen.insert(p.clone()));
    if !c.problems.is_empty() {
        errors.push(DialectError::Invalid {
            path: definition,
            problems: c.problems,
        });
    }
    let Some(schemas) = schemas.filter(|_| errors.is_empty()) else {
        return Err(DialectError::all(errors));
    };
    let answer_members = (
        MemberIndex::new(&response),
        retrieve_response.as_ref().map(MemberIndex::new),
    );
    let mut dialect = Dialect {
        id: raw.id.clone(),
        vendor: raw.vendor.clone(),
        docs: raw.docs.clone(),
        decisions: raw.decisions.clone(),
        route,
        retrieve,
        retrieve_request,
        retrieve_response,
        answer_members,
        auth,
        request,
        response,
        errors: CompiledErrors {
            shapes,
            messages: messages.into_iter().collect(),
            join,
        },
        schemas: std::sync::Arc::new(schemas),
        origin: definitions.origin(&name),
        raw,
        sources: crate::dialect::Sources::default(),
        held: held_places::Places::default(),
    };
    dialect.sources = crate::engine::provenance::source_index(dialect.compiled())
        .into_iter()
        .collect();
    let request_schema = &dialect.schemas.request_json;
    dialect.held = held_places::Places {
        as_caller: held_places::caller_places(&dialect.request, &dialect.route, request_schema),
        as_target: held_places::target_places(Some(&dialect.request), request_schema),
    };
    Ok(dialect)
}

/// Reads `<key>.id_format` (see [`IdFormat::parse`]).
fn id_format(c: &mut Compiler<'_>, key: &str, text: Option<&str>) -> Option<IdFormat> {
    match IdFormat::parse(text?) {
        Ok(f) => Some(f),
        Err(e) => {
            c.problems.push(format!("{key}.id_format: {e}"));
            None
        }
    }
}

/// Compiles a route; `inherited` is the update route's id form, which a retrieve route takes
/// unless it gives its own.
fn compile_route(c: &mut Compiler<'_>, key: &str, r: &RawRoute, inherited: Option<&IdFormat>) -> Route {
    let id_format = match &r.id_format {
        Some(text) => id_format(c, key, Some(text)).unwrap_or_default(),
        None => inherited.cloned().unwrap_or_else(|| c.id_format.clone()),
    };
    let mut segments = Vec::new();
    let Some(rest) = r.path.strip_prefix('/') else {
        c.problems
            .push(format!("{key}.path: `{}` must start with `/`", r.path));
        return Route {
            method: r.method.to_ascii_uppercase(),
            also_methods: Vec::new(),
            path: r.path.clone(),
            pieces: Vec::new(),
            segments,
            id_in_body: None,
            query: Vec::new(),
            query_into_body: false,
            id_max_length: crate::id::DEFAULT_ID_MAX_LENGTH,
            id_format,
            id_in_query: None,
            path_params: BTreeMap::new(),
            body_match: Vec::new(),
        };
    };
    for part in rest.split('/') {
        if part == "{id}" {
            segments.push(PathSegment::Id);
        } else if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}'))
            && variable_name(name)
        {
            if segments.contains(&PathSegment::Var(name.to_owned())) {
                c.problems
                    .push(format!("{key}.path: the variable `{{{name}}}` appears twice"));
            }
            segments.push(PathSegment::Var(name.to_owned()));
        } else if part.contains('{') || part.contains('}') {
            c.problems.push(format!(
                "{key}.path: `{part}` is not a path variable: a variable is a whole segment `{{name}}` (letters, digits, `_`, starting with a letter)"
            ));
        } else {
            segments.push(PathSegment::Literal(part.to_owned()));
        }
    }
    let mut path_params = BTreeMap::new();
    for (name, value) in &r.path_params {
        if !segments.contains(&PathSegment::Var(name.clone())) {
            c.problems.push(format!(
                "{key}.path_params.{name}: `{{{name}}}` is not a variable of `{}`",
                r.path
            ));
        } else if value.is_empty() {
            c.problems
                .push(format!("{key}.path_params.{name}: a value cannot be empty"));
        } else {
            path_params.insert(name.clone(), value.clone());
        }
    }
    let ids_in_path = segments.iter().filter(|s| **s == PathSegment::Id).count();
    let id_in_body = r
        .id_in_body
        .as_deref()
        .map(|p| c.pointer(&format!("{key}.id_in_body"), p));
    let id_in_query = r.id_in_query.clone();
    match (ids_in_path, &id_in_body, &id_in_query) {
        (1, None, None) | (0, Some(_), None) | (0, None, Some(_)) => {}
        _ => c.problems.push(format!(
            "{key}: the customer id must travel in exactly one place: the path (`{{id}}`), the body (`id_in_body`) or the query (`id_in_query`)"
        )),
    }
    if let Some(name) = &id_in_query {
        if name.is_empty() {
            c.problems
                .push(format!("{key}.id_in_query: the parameter needs a name"));
        }
        if r.query_into_body {
            c.problems.push(format!(
                "{key}.id_in_query: `query_into_body` reads every parameter as a body member; the id cannot also be a parameter of its own"
            ));
        }
        if r.query.contains(name) {
            c.problems.push(format!(
                "{key}.query: `{name}` is the id's parameter (`id_in_query`); list only the others"
            ));
        }
    }
    let id_max_length = r.id_max_length.unwrap_or(crate::id::DEFAULT_ID_MAX_LENGTH);
    if !(1..=1024).contains(&id_max_length) {
        c.problems.push(format!(
            "{key}.id_max_length: {id_max_length} is not between 1 and 1024"
        ));
    }
    for m in std::iter::once(&r.method).chain(&r.also_methods) {
        if http_method_invalid(m) {
            c.problems
                .push(format!("{key}.method: `{m}` is not an HTTP method"));
        }
    }
    let body_match = r
        .body_match
        .iter()
        .filter_map(|(p, pattern)| {
            let at = c.pointer(&format!("{key}.body_match"), p);
            match regex::Regex::new(pattern) {
                Ok(pattern) => Some(BodyMatch { at, pattern }),
                Err(e) => {
                    c.problems.push(format!(
                        "{key}.body_match.\"{p}\": not a regular expression: {}",
                        e.to_string().lines().last().unwrap_or_default().trim()
                    ));
                    None
                }
            }
        })
        .collect();
    Route {
        method: r.method.to_ascii_uppercase(),
        also_methods: r.also_methods.iter().map(|m| m.to_ascii_uppercase()).collect(),
        path: r.path.clone(),
        pieces: crate::route::pieces(&segments),
        segments,
        id_in_body,
        query: r.query.clone(),
        query_into_body: r.query_into_body,
        id_max_length,
        id_format,
        id_in_query,
        path_params,
        body_match,
    }
}

/// Two operations of one dialect that a request could reach by method and path alike (a
/// GraphQL endpoint's mutation and query) must be told apart by the body: each declares
/// `body_match`, the body is read (no `GET`), and the two do not plainly accept the same
/// bodies (a member in common with a different expression). What the loader cannot see, a
/// body both match, is refused when it comes.
fn check_told_apart(c: &mut Compiler<'_>, route: &Route, retrieve: &Route) {
    if !route.matches_by_body() || !retrieve.matches_by_body() {
        c.problems.push(
            "retrieve: shares a method and path with `route`; tell them apart by the body with `body_match` on both"
                .to_owned(),
        );
        return;
    }
    if retrieve.id_in_body.is_none() || retrieve.methods().any(|m| m == "GET") {
        c.problems.push(
            "retrieve.body_match: a retrieve told apart by its body must carry the id in the body (`id_in_body`) and take no `GET`"
                .to_owned(),
        );
    }
    let differs = route.body_match.iter().any(|a| {
        retrieve
            .body_match
            .iter()
            .any(|b| a.at == b.at && a.pattern.as_str() != b.pattern.as_str())
    });
    if !differs {
        c.problems.push(
            "retrieve.body_match: the same bodies would match `route.body_match`; give a member both name a different expression"
                .to_owned(),
        );
    }
}

/// `[retrieve.request]` and `[retrieve.response]`, compiled: the retrieve call's own fixed
/// members, and its answer's own shape. Keys that speak of an update's body are refused.
fn retrieve_messages(
    c: &mut Compiler<'_>,
    r: &RawRoute,
    fields: &[crate::definition::RawField],
) -> (Option<CompiledMessage>, Option<CompiledMessage>) {
    let request = r.request.as_ref().map(|m| {
        let misused = [
            (!m.envelope.is_empty(), "envelope"),
            (m.status.is_some(), "status"),
            (m.ignore_empty, "ignore_empty"),
            (!m.required.is_empty(), "required"),
            (m.expand.is_some(), "expand"),
            (!m.volatile.is_empty(), "volatile"),
            (!m.read_omits.is_empty(), "read_omits"),
            (m.bag.is_some(), "bag"),
            (m.null_means_not_found, "null_means_not_found"),
        ];
        for (_, k) in misused.iter().filter(|(used, _)| *used) {
            c.problems.push(format!(
                "retrieve.request.{k}: a retrieve call carries the id (`id_in_body`) and fixed members (`constants`, `extra`) only"
            ));
        }
        if r.id_in_body.is_none() {
            c.problems.push(
                "retrieve.request: the retrieve call has no body (its id travels in the path); its fixed members need `id_in_body`"
                    .to_owned(),
            );
        }
        c.message("retrieve.request", m, &[], RawOn::Request)
    });
    let response = r.response.as_ref().map(|m| {
        let misused = [
            (!m.required.is_empty(), "required"),
            (m.ignore_empty, "ignore_empty"),
            (m.bag.is_some(), "bag"),
            (m.expand.is_some(), "expand"),
            (!m.volatile.is_empty(), "volatile"),
            (!m.read_omits.is_empty(), "read_omits"),
        ];
        for (_, k) in misused.iter().filter(|(used, _)| *used) {
            c.problems.push(format!(
                "retrieve.response.{k}: not a key of a read's answer (`expand`, `volatile` and `read_omits` stay in `[response]`)"
            ));
        }
        check_message_pointers(c, "retrieve.response", m);
        if m.null_means_not_found && m.envelope.is_empty() {
            c.problems.push(
                "retrieve.response.null_means_not_found: needs an `envelope` (the member that holds null)"
                    .to_owned(),
            );
        }
        c.message("retrieve.response", m, fields, RawOn::Response)
    });
    (request, response)
}

/// A path variable's name: an ASCII letter, then letters, digits or `_` (`store_hash`,
/// `projectKey`); `id` is the customer id's.
fn variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    name != "id"
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
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
        client_auth: match t.client_auth.as_deref() {
            None | Some("form") => ClientAuth::Form,
            Some("basic") => ClientAuth::Basic,
            Some(other) => {
                c.problems.push(format!(
                    "auth.token_endpoint.client_auth: unknown client authentication `{other}` (known: form, basic)"
                ));
                ClientAuth::Form
            }
        },
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

fn load_schemas(schemas: Tree<'_>, folder: &str) -> Result<Schemas, DialectError> {
    let [
        (request, request_json),
        (response, response_json),
        (error, error_json),
    ] = schema::compile_files(schemas, folder, ["request.json", "response.json", "error.json"])
        .map_err(DialectError::all)?;
    let response_doc = validate::compile_for(&response_json).map_err(|message| DialectError::Schema {
        path: schemas.path(&format!("{folder}/response.json")),
        message,
    })?;
    Ok(Schemas {
        request,
        response,
        response_doc,
        error,
        request_json,
        response_json,
        error_json,
    })
}
