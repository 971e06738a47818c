//! An OpenAPI 3.1 document of every inbound operation, generated from the loaded definitions
//! and schemas, so it cannot drift from what the gateway serves.

use std::collections::BTreeMap;

use dialectgate_canonical::ErrorKind;
use serde_json::{Map, Value, json};

use crate::dialect::Dialect;
use crate::registry::Registry;

/// The OpenAPI 3.1 document.
pub(crate) fn document(registry: &Registry) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    let mut security_schemes = Map::new();
    for d in registry.dialects() {
        for (kind, doc) in ["request", "response", "error"].iter().zip(d.schema_documents()) {
            schemas.insert(format!("{}_{kind}", d.id()), strip_schema_keyword(doc));
        }
        let mut alternatives = Vec::new();
        for cred in &d.auth().accept {
            let name = format!("{}_{}", d.id(), cred.header.replace('-', "_"));
            let scheme = match cred.scheme.as_deref() {
                Some(s) if s.eq_ignore_ascii_case("bearer") && cred.header == "authorization" => {
                    json!({"type": "http", "scheme": "bearer", "description": format!("{} credential", d.vendor())})
                }
                Some(s) => json!({"type": "apiKey", "in": "header", "name": cred.header,
                    "description": format!("`{s} <token>`{}", if cred.scheme_optional { " (the scheme may be left out)" } else { "" })}),
                None => json!({"type": "apiKey", "in": "header", "name": cred.header}),
            };
            security_schemes.insert(name.clone(), scheme);
            alternatives.push(json!({ name: [] }));
        }
        let path = d.route().path.clone();
        let item = paths.entry(path).or_insert_with(|| Value::Object(Map::new()));
        let op = operation(d, alternatives);
        if let Value::Object(item) = item {
            for method in std::iter::once(&d.route().method).chain(&d.route().also_methods) {
                item.insert(method.to_ascii_lowercase(), op.clone());
            }
        }
        if let Some(token) = &d.auth().token_endpoint {
            paths.insert(token.path.clone(), token_operation(d, &token.body));
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

fn operation(d: &Dialect, security: Vec<Value>) -> Value {
    let mut parameters = Vec::new();
    if d.route().id_in_body.is_none() {
        parameters.push(
            json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"},
            "description": "The customer id."}),
        );
    }
    for q in &d.route().query {
        parameters.push(json!({"name": q, "in": "query", "required": false, "schema": {"type": "string"}}));
    }
    let error_ref = json!({"$ref": format!("#/components/schemas/{}_error", d.id())});
    // One response per status the dialect answers errors with; kinds sharing a status share it.
    let mut by_status: BTreeMap<u16, (Vec<&str>, String)> = BTreeMap::new();
    for kind in ErrorKind::ALL {
        let status = d.error_status(kind);
        let entry = by_status
            .entry(status)
            .or_insert_with(|| (Vec::new(), d.error_content_type(kind).to_owned()));
        entry.0.push(kind.as_str());
    }
    let mut responses = Map::new();
    let success = json!({"$ref": format!("#/components/schemas/{}_response", d.id())});
    for (status, (kinds, content_type)) in &by_status {
        let schema = if content_type.starts_with("text/") {
            json!({"type": "string"})
        } else {
            error_ref.clone()
        };
        let description = format!("Errors: {}", kinds.join(", "));
        if *status == d.success_status() {
            // MicroBase: business errors share the success status; the body tells them apart.
            responses.insert(
                status.to_string(),
                json!({"description": format!("Success, or (`ok: false`) {description}"),
                       "content": {"application/json": {"schema": {"oneOf": [success.clone(), error_ref.clone()]}}}}),
            );
        } else {
            responses.insert(
                status.to_string(),
                json!({"description": description, "content": {content_type.clone(): {"schema": schema}}}),
            );
        }
    }
    responses
        .entry(d.success_status().to_string())
        .or_insert_with(|| json!({"description": "The updated customer", "content": {"application/json": {"schema": success}}}));
    json!({
        "operationId": format!("{}_update_customer", d.id()),
        "summary": format!("Update a customer ({})", d.vendor()),
        "description": d.docs().map(|u| format!("As documented by the vendor: {u}")).unwrap_or_default(),
        "tags": [d.vendor()],
        "parameters": parameters,
        "security": security,
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}_request", d.id())}}}},
        "responses": responses,
    })
}

fn token_operation(d: &Dialect, body: &Value) -> Value {
    let example = body.clone();
    json!({"post": {
        "operationId": format!("{}_access_token", d.id()),
        "summary": format!("Obtain an access token ({} SDK flow)", d.vendor()),
        "tags": [d.vendor()],
        "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object", "required": ["grant_type"],
            "properties": {"grant_type": {"enum": ["client_credentials", "implicit"]},
                           "client_id": {"type": "string"}, "client_secret": {"type": "string"}}}}}},
        "responses": {
            "200": {"description": "A bearer token", "content": {"application/json": {"schema": {"type": "object"}, "example": example}}},
            "401": {"description": "Unknown client credentials", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}_error", d.id())}}}}
        }
    }})
}

/// `$schema` is not needed inside an OpenAPI document that declares `jsonSchemaDialect`.
fn strip_schema_keyword(doc: &Value) -> Value {
    let mut doc = doc.clone();
    if let Value::Object(map) = &mut doc {
        map.remove("$schema");
    }
    doc
}
