//! An OpenAPI 3.1 document of every inbound operation, generated from the loaded definitions
//! and schemas, so it cannot drift from what the gateway serves.
//!
//! What tools need from it, and how it is met:
//! - every reference resolves inside the document: each schema's `$defs` move to
//!   `components/schemas` (`{dialect}_{Name}`) and its `#/$defs/…` references are rewritten;
//!   `$id` and `$schema` go, so no reference resolves against a URL outside the document;
//! - every status an operation can answer is documented, as the gateway sends it: one response
//!   per status the dialect gives an error kind, with that kind's media type and the vendor's
//!   error schema, `Retry-After` on 503 (and 429) and `Allow` on 405;
//! - request examples address the embedded backend's fixture customers, encoded by the
//!   dialect's own rules (and checked by its own decoder), so generated requests reach them.

mod bodies;
mod components;

use std::collections::BTreeMap;

use dialectgate_canonical::ErrorKind;
use serde_json::{Map, Value, json};

use self::bodies::{retrieve_body_schema, shared_operation};
use self::components::hoist_definitions;

use crate::auth::{Credential, TokenEndpoint};
use crate::dialect::Dialect;
use crate::engine::CanonicalRequest;
use crate::pointer::Pointer;
use crate::registry::Registry;
use crate::route::{Operation, Route};

/// The embedded backend's fixture customers (id, email, given name, family name): the request
/// examples update each to the name and email it already has, so they succeed on a fresh
/// backend and stay valid however often they run. A test pins these to the backend's fixtures.
pub const EXAMPLE_CUSTOMERS: [(&str, &str, &str, &str); 4] = [
    ("cus_ada", "ada@example.com", "Ada", "Lovelace"),
    ("cus_grace", "grace@example.com", "Grace", "Hopper"),
    ("cus_alan", "alan@example.com", "Alan", "Turing"),
    ("1815", "augusta@example.com", "Augusta", "King"),
];

/// The example customers a route can address (their ids written in its `id_format`).
fn addressable(
    route: &Route,
) -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str, &'static str)> {
    EXAMPLE_CUSTOMERS.iter().filter(|(id, ..)| route.writes_id(id))
}

/// The schema of the customer id as a route writes it in a path or a query.
fn id_schema(route: &Route) -> Value {
    let mut schema = json!({"type": "string", "minLength": 1, "maxLength": route.id_max_length});
    if route.id_format == crate::id::IdFormat::Integer {
        schema["pattern"] = json!("^(0|[1-9][0-9]*)$");
    }
    schema
}

/// The error kinds the token endpoint answers with (besides its 200).
const TOKEN_ERRORS: [ErrorKind; 6] = [
    ErrorKind::Malformed,
    ErrorKind::Unauthorized,
    ErrorKind::MethodNotAllowed,
    ErrorKind::RequestTimeout,
    ErrorKind::PayloadTooLarge,
    ErrorKind::Internal,
];

impl Registry {
    /// The OpenAPI 3.1 document of every inbound operation.
    pub fn openapi(&self) -> Value {
        document(self)
    }
}

/// The OpenAPI 3.1 document.
fn document(registry: &Registry) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    let mut security_schemes = Map::new();
    for d in registry.dialects() {
        for (kind, doc) in ["request", "response", "error"].iter().zip(d.schema_documents()) {
            let schema = hoist_definitions(d.id(), kind, doc, &mut schemas);
            schemas.insert(format!("{}_{kind}", d.id()), schema);
        }
        let mut alternatives = Vec::new();
        for cred in &d.auth().accept {
            let name = format!("{}_{}", d.id(), cred.header.replace('-', "_"));
            security_schemes.insert(name.clone(), security_scheme(d, cred));
            alternatives.push(json!({ name: [] }));
        }
        for (kind, route) in d.routes() {
            let item = paths
                .entry(route.path.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            let op = operation(d, kind, route, alternatives.clone());
            let name = format!("{}_{}_customer", d.id(), kind.as_str());
            if let Value::Object(item) = item {
                // Two operations told apart by the body (`body_match`) share one OpenAPI
                // operation: either body, either answer.
                let op = match item.remove(&route.method.to_ascii_lowercase()) {
                    Some(first) => shared_operation(d, first, op),
                    None => op,
                };
                item.insert(route.method.to_ascii_lowercase(), op.clone());
                // Other accepted methods: the same operation, under an id of its own.
                for method in &route.also_methods {
                    let mut also = op.clone();
                    if method == "GET"
                        && let Some(at) = &route.id_in_body
                    {
                        // A GET carries no body: the id travels in the query, read into the
                        // body (`query_into_body`).
                        if let Value::Object(also) = &mut also {
                            also.remove("requestBody");
                        }
                        let id = json!({"name": at.last().unwrap_or("id"), "in": "query", "required": true,
                            "schema": {"type": "string", "minLength": 1, "maxLength": route.id_max_length},
                            "description": "The customer id."});
                        if let Some(Value::Array(params)) = also.get_mut("parameters") {
                            params.push(id);
                        }
                    }
                    let method = method.to_ascii_lowercase();
                    also["operationId"] = Value::String(format!("{name}_{method}"));
                    item.insert(method, also);
                }
            }
        }
        if let Some(token) = &d.auth().token_endpoint {
            paths.insert(token.path.clone(), token_operation(d, token));
        }
    }
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "dialectgate",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "One gateway, five vendor dialects of \"update a customer\". Each operation is answered exactly as its vendor would, errors included.",
        },
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": security_schemes},
    })
}

fn security_scheme(d: &Dialect, cred: &Credential) -> Value {
    match cred.scheme.as_deref() {
        Some(s) if s.eq_ignore_ascii_case("bearer") && cred.header.eq_ignore_ascii_case("authorization") => {
            json!({"type": "http", "scheme": "bearer", "description": format!("{} credential", d.vendor())})
        }
        Some(s) => json!({"type": "apiKey", "in": "header", "name": cred.header,
            "description": format!("`{s} <token>`{}", if cred.scheme_optional { " (the scheme may be left out)" } else { "" })}),
        None => json!({"type": "apiKey", "in": "header", "name": cred.header}),
    }
}

fn operation(d: &Dialect, kind: Operation, route: &Route, security: Vec<Value>) -> Value {
    let mut parameters = Vec::new();
    let body_examples = match kind {
        Operation::Update => request_examples(d),
        Operation::Retrieve => retrieve_examples(d, route),
    };
    if route.id_in_body.is_none() {
        // The ids of the body examples (all fixtures, unless the bodies carry an email), in the
        // route's form; in the path, or in the query parameter `id_in_query` names.
        let examples: Map<String, Value> = body_examples
            .keys()
            .map(|id| {
                let written = route.id_format.encode_text(id).unwrap_or_else(|| id.clone());
                (id.clone(), json!({ "value": written }))
            })
            .collect();
        let (name, place) = match &route.id_in_query {
            Some(name) => (name.as_str(), "query"),
            None => ("id", "path"),
        };
        parameters.push(json!({
            "name": name, "in": place, "required": true,
            "schema": id_schema(route),
            "description": "The customer id.",
            "examples": examples,
        }));
    }
    for name in route.variables() {
        parameters.push(json!({
            "name": name, "in": "path", "required": true,
            "schema": {"type": "string", "minLength": 1},
            "description": "A path variable of the vendor's: any value is accepted.",
        }));
    }
    for q in &route.query {
        parameters.push(json!({"name": q, "in": "query", "required": false, "schema": {"type": "string"}}));
    }
    let success = json!({"$ref": format!("#/components/schemas/{}_response", d.id())});
    let mut responses = error_responses(d, &ErrorKind::ALL);
    let ok = d.success_status().to_string();
    match responses.get_mut(&ok) {
        // MicroBase: business errors share the success status; the body tells them apart.
        Some(Value::Object(shared)) => {
            let description = shared
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let description = format!("Success, or (`ok: false`) {description}");
            let error = shared
                .get("content")
                .and_then(|c| c.pointer("/application~1json/schema"))
                .cloned()
                .unwrap_or(Value::Null);
            shared.insert("description".into(), Value::String(description));
            shared.insert(
                "content".into(),
                json!({"application/json": {"schema": {"oneOf": [success, error]}}}),
            );
        }
        _ => {
            let what = match kind {
                Operation::Update => "The updated customer",
                Operation::Retrieve => "The customer",
            };
            responses.insert(
                ok,
                json!({"description": what, "content": {"application/json": {"schema": success}}}),
            );
        }
    }
    let schema = match (kind, &route.id_in_body) {
        (Operation::Update, _) => json!({"$ref": format!("#/components/schemas/{}_request", d.id())}),
        (Operation::Retrieve, Some(at)) => retrieve_body_schema(d, route, at),
        (Operation::Retrieve, None) => Value::Null,
    };
    let mut op = json!({
        "operationId": format!("{}_{}_customer", d.id(), kind.as_str()),
        "summary": format!("{} a customer ({})", match kind { Operation::Update => "Update", Operation::Retrieve => "Retrieve" }, d.vendor()),
        "description": d.docs().map(|u| format!("As documented by the vendor: {u}")).unwrap_or_default(),
        "tags": [d.vendor()],
        "parameters": parameters,
        "security": security,
        "responses": responses,
    });
    if !schema.is_null() {
        let mut body = json!({ "schema": schema });
        if !body_examples.is_empty() && (kind == Operation::Update || route.id_in_body.is_some()) {
            body["examples"] = Value::Object(body_examples);
        }
        op["requestBody"] = json!({"required": true, "content": {"application/json": body}});
    }
    op
}

/// The fixture customers as retrieve examples (a body with the id, and the retrieve request's
/// fixed members, where the id travels there; else the keys name the path examples).
fn retrieve_examples(d: &Dialect, route: &Route) -> Map<String, Value> {
    addressable(route)
        .map(|(id, ..)| {
            let value = match &route.id_in_body {
                Some(at) => {
                    let mut body = Map::new();
                    if let Some(fixed) = &d.retrieve_request {
                        for (p, v) in fixed.constants.iter().chain(&fixed.extra) {
                            p.set(&mut body, v.clone());
                        }
                    }
                    at.set(&mut body, json!(id));
                    Value::Object(body)
                }
                None => Value::Null,
            };
            (
                (*id).to_owned(),
                json!({"summary": format!("Retrieve {id}"), "value": value}),
            )
        })
        .collect()
}

/// One response per status the dialect answers `kinds` with; kinds sharing a status share it,
/// each media type with its schema (the vendor's error schema, or a string for text).
fn error_responses(d: &Dialect, kinds: &[ErrorKind]) -> Map<String, Value> {
    let mut by_status: BTreeMap<u16, Vec<ErrorKind>> = BTreeMap::new();
    for &kind in kinds {
        by_status.entry(d.error_status(kind)).or_default().push(kind);
    }
    let error_ref = json!({"$ref": format!("#/components/schemas/{}_error", d.id())});
    let mut responses = Map::new();
    for (status, kinds) in by_status {
        let mut content = Map::new();
        for &kind in &kinds {
            let media_type = d.error_content_type(kind);
            let schema = if media_type.starts_with("text/") {
                json!({"type": "string"})
            } else {
                error_ref.clone()
            };
            content.insert(media_type.to_owned(), json!({ "schema": schema }));
        }
        let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        let mut response =
            json!({"description": format!("Errors: {}", names.join(", ")), "content": content});
        let mut headers = Map::new();
        // The gateway sends `Retry-After: 1` with every overloaded answer (in-flight limit,
        // working slots, open circuit breaker); a rate-limited answer passes on the upstream's.
        if kinds.contains(&ErrorKind::Overloaded) || kinds.contains(&ErrorKind::RateLimited) {
            let always = kinds.iter().all(|k| *k == ErrorKind::Overloaded);
            headers.insert(
                "Retry-After".into(),
                json!({"description": "Seconds to wait before retrying.", "required": always,
                       "schema": {"type": "string"}}),
            );
        }
        if kinds.contains(&ErrorKind::MethodNotAllowed) {
            let always = kinds.iter().all(|k| *k == ErrorKind::MethodNotAllowed);
            headers.insert(
                "Allow".into(),
                json!({"description": "The methods the route accepts.", "required": always,
                       "schema": {"type": "string"}}),
            );
        }
        if !headers.is_empty() {
            response["headers"] = Value::Object(headers);
        }
        responses.insert(status.to_string(), response);
    }
    responses
}

/// Request examples, by fixture id: each renames a fixture customer to the name it already has,
/// in the dialect's own encoding, and only those the dialect's decoder accepts (schema and
/// rules) are offered. A tool may pair any id example with any body example, so bodies carry no
/// unique value: only where the dialect requires the email on every write does the example
/// carry it, and then only the first fixture is offered, so the email can only ever meet its
/// owner (never a duplicate).
fn request_examples(d: &Dialect) -> Map<String, Value> {
    let mut examples = Map::new();
    let customers: Vec<_> = addressable(d.route()).collect();
    for &&(id, _, given, family) in &customers {
        if let Some(body) = example_body(
            d,
            id,
            json!({"name": {"given": given, "family": family, "full": format!("{given} {family}")}}),
        ) {
            examples.insert(
                id.to_owned(),
                json!({"summary": format!("Update {given} {family} ({id})"), "value": body}),
            );
        }
    }
    if examples.len() == customers.len() {
        return examples;
    }
    examples.clear();
    let Some(&&(id, email, given, family)) = customers.first() else {
        return examples;
    };
    let patch = json!({"email": email, "name": {"given": given, "family": family, "full": format!("{given} {family}")}});
    if let Some(body) = example_body(d, id, patch) {
        examples.insert(
            id.to_owned(),
            json!({"summary": format!("Update {given} {family} ({id})"), "value": body}),
        );
    }
    examples
}

/// `patch` for customer `id` as the dialect's request body, if its decoder accepts it. A dialect
/// that carries versions gets version `0`, what its callers read of a customer whose backend
/// keeps none (the embedded backend's).
fn example_body(d: &Dialect, id: &str, patch: Value) -> Option<Value> {
    let Value::Object(mut patch) = patch else {
        return None;
    };
    let version = Pointer::parse(crate::canonical::VERSION).unwrap_or_default();
    if crate::side::Side::carries(d, &version) {
        version.set(&mut patch, Value::String("0".to_owned()));
    }
    let encoded = d
        .encode_request(&CanonicalRequest {
            id: id.to_owned(),
            patch,
        })
        .ok()
        .filter(|e| e.missing.is_none())?;
    let path_id = d.route().id_in_body.is_none().then_some(id);
    d.decode_request(path_id, &encoded.body).ok()?;
    Some(encoded.body)
}

fn token_operation(d: &Dialect, endpoint: &TokenEndpoint) -> Value {
    let token = format!("dgt_{}", "0".repeat(64));
    let body = crate::auth::token_body(endpoint, &token, 3600, 1_700_003_600);
    let mut responses = error_responses(d, &TOKEN_ERRORS);
    responses.insert(
        "200".into(),
        json!({
            "description": "A bearer token (never cached)",
            "headers": {"Cache-Control": {"required": true, "schema": {"const": "no-store"}}},
            "content": {"application/json": {
                "schema": {"type": "object", "required": ["access_token"],
                           "properties": {"access_token": {"type": "string"}}},
                "example": body,
            }},
        }),
    );
    if let Some(Value::Object(bad)) = responses.get_mut("400") {
        bad.insert(
            "description".into(),
            Value::String("grant_type missing, unknown or not enabled, or a parameter sent twice".into()),
        );
    }
    if let Some(Value::Object(unknown)) = responses.get_mut("401") {
        unknown.insert(
            "description".into(),
            Value::String("Unknown client credentials".into()),
        );
    }
    json!({"post": {
        "operationId": format!("{}_access_token", d.id()),
        "summary": format!("Obtain an access token ({} SDK flow)", d.vendor()),
        "tags": [d.vendor()],
        "security": [],
        "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {
            "schema": {
                "type": "object", "required": ["grant_type"],
                "properties": {"grant_type": {"const": "client_credentials",
                                              "description": "`implicit` (with a `client_id` alone) is accepted only where `credentials.implicit_grant = true`; by default it is refused with 400."},
                               "client_id": {"type": "string"}, "client_secret": {"type": "string"}}},
            "examples": {"client_credentials": {
                "summary": "The embedded backend's demo key as the client secret",
                "value": {"grant_type": "client_credentials", "client_id": "dialectgate", "client_secret": "dg_demo_key"},
            }},
        }}},
        "responses": responses,
    }})
}
