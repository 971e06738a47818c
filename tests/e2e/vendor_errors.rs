//! Every error a caller can get, for every caller dialect, compared with a literal table written
//! from the vendors' documentation (`docs/vendors/<id>.md`, with the vendors' sources), never
//! from the dialect definitions: a wrong status or body in a definition file fails here.
//!
//! Upstream error fixtures are the vendors' documented bodies. Statuses a vendor does not
//! document (413, 415, 405, 408, 502, 503, 504 for most) are the HTTP status of the kind, in the
//! vendor's error envelope; those rows say so.

use std::time::Duration;

use dialectgate_gateway::{CredentialMode, Overrides};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::{self, CALLER_KEY, Reply, Upstream};

/// The error kinds a caller can get.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Validation,
    NotFound,
    Unauthorized,
    Forbidden,
    Conflict,
    Duplicate,
    RateLimited,
    PayloadTooLarge,
    UnsupportedMediaType,
    MethodNotAllowed,
    Timeout,
    BadGateway,
    GatewayTimeout,
    Unavailable,
    Internal,
}

/// What a caller must get: the status, and the body as a pattern (see [`matches`]) or a literal
/// text body.
enum Body {
    Json(Value),
    Text(&'static str),
}

struct Row {
    status: u16,
    body: Body,
}

fn json_row(status: u16, body: Value) -> Row {
    Row {
        status,
        body: Body::Json(body),
    }
}

/// Any non-empty string.
const ANY: &str = "*";

/// The literal table of one caller dialect. `id` is the customer the request was about.
fn table(dialect: &str, kind: Kind, id: &str) -> Row {
    use Kind::*;
    match dialect {
        // elasticpath.md#errors: {"errors":[{status (a JSON number), title, detail?, source?}]}.
        "elasticpath" => {
            let e = |status: u16, member: Value| {
                let mut error = json!({"status": status});
                if let (Some(error), Value::Object(extra)) = (error.as_object_mut(), member) {
                    error.extend(extra);
                }
                json_row(status, json!({"errors": [error]}))
            };
            match kind {
                Validation => e(400, json!({"title": ANY, "detail": ANY})),
                // "<Thing> not found", as the documented category/product examples.
                NotFound => e(404, json!({"title": "Customer not found", "detail": ANY})),
                Unauthorized => e(401, json!({"title": "Unable to validate access token"})),
                Forbidden => e(403, json!({"title": "Forbidden"})),
                Conflict => e(
                    409,
                    json!({"title": "Conflict", "detail": "Write conflict detected"}),
                ),
                // GUESS (undocumented): the decision records 409 with title "Duplicate".
                Duplicate => e(409, json!({"title": "Duplicate"})),
                // The documented 429 carries its status only.
                RateLimited => e(429, json!({})),
                // Undocumented: the reason phrase as title, like EP's "Forbidden"/"Conflict".
                PayloadTooLarge => e(413, json!({"title": "Payload Too Large"})),
                UnsupportedMediaType => e(415, json!({"title": "Unsupported Media Type"})),
                MethodNotAllowed => e(405, json!({"title": "Method Not Allowed"})),
                Timeout => e(408, json!({"title": "Request Timeout"})),
                BadGateway => e(502, json!({"title": "Bad Gateway"})),
                GatewayTimeout => e(504, json!({"title": "Gateway Timeout"})),
                Unavailable => e(503, json!({"title": "Service Unavailable"})),
                // GUESS (the docs only say "5xx"): the decision records this body.
                Internal => e(500, json!({"title": "Internal Server Error"})),
            }
        }
        // microbase.md#errors: business errors are HTTP 200 with ok:false; 401 and 5xx keep their
        // status; the final error handler's body has `error` as an object.
        "microbase" => {
            let code = |status: u16, code: &str| json_row(status, json!({"ok": false, "error": code}));
            // utils `genericErrorResponse`: an error carrying a statusCode is sent with that
            // status, and the body repeats it.
            let with_status =
                |status: u16| json_row(status, json!({"ok": false, "error": ANY, "statusCode": status}));
            let thrown = |status: u16| json_row(status, json!({"ok": false, "error": {"message": ANY}}));
            match kind {
                Validation => json_row(
                    200,
                    json!({"ok": false, "error": "validation_error", "data": [ANY]}),
                ),
                NotFound => json_row(
                    200,
                    json!({"ok": false, "error": "customer_not_found", "data": {"id": id}}),
                ),
                Unauthorized => code(401, "invalid_token"),
                Duplicate => json_row(200, json!({"ok": false, "error": "duplicate_key", "data": ANY})),
                // GUESS (no MicroBase equivalent): the decision records 200 ok:false "conflict".
                Conflict => code(200, "conflict"),
                // Not MicroBase answers (only express-jwt's 401 sets a status): the kind's status
                // with a machine-readable code, as errors carrying a statusCode are sent.
                Forbidden => with_status(403),
                RateLimited => with_status(429),
                MethodNotAllowed => with_status(405),
                Timeout => with_status(408),
                // body-parser's errors reach the final handler: {ok:false, error:{message,type,status}}.
                PayloadTooLarge => json_row(
                    413,
                    json!({"ok": false, "error": {"message": ANY, "type": "entity.too.large", "status": 413}}),
                ),
                UnsupportedMediaType => json_row(
                    415,
                    json!({"ok": false, "error": {"message": ANY, "status": 415}}),
                ),
                Internal => thrown(500),
                BadGateway => thrown(502),
                GatewayTimeout => thrown(504),
                Unavailable => thrown(503),
            }
        }
        // axim.md#errors: GUESS body {success:false, message} (the page lists 400/401/404/500, not
        // the body); the decision records it. A duplicate is a 400 (decision: no 409 documented).
        "axim" => {
            let e = |status: u16| json_row(status, json!({"success": false, "message": ANY}));
            match kind {
                Validation | Duplicate => e(400),
                NotFound => e(404),
                Unauthorized => e(401),
                Internal => e(500),
                Forbidden => e(403),
                Conflict => e(409),
                RateLimited => e(429),
                PayloadTooLarge => e(413),
                UnsupportedMediaType => e(415),
                MethodNotAllowed => e(405),
                Timeout => e(408),
                BadGateway => e(502),
                GatewayTimeout => e(504),
                Unavailable => e(503),
            }
        }
        // medusa.md#errors: error-handler.ts, {code?, type, message}; passport's 401 is text/plain.
        "medusa" => {
            let e = |status: u16, body: Value| json_row(status, body);
            let other = |status: u16| e(status, json!({"type": ANY, "message": ANY}));
            match kind {
                Validation => e(400, json!({"type": "invalid_data", "message": ANY})),
                NotFound => e(
                    404,
                    json!({"type": "not_found", "message": format!("Customer with id: {id} was not found")}),
                ),
                Unauthorized => Row {
                    status: 401,
                    body: Body::Text("Unauthorized"),
                },
                // Medusa v1 has no 403: `not_allowed` is its refusal, a 400.
                Forbidden => e(400, json!({"type": "not_allowed", "message": ANY})),
                Conflict => e(
                    409,
                    json!({"code": "invalid_state_error", "type": "conflict", "message": "The request conflicted with another request. You may retry the request with the provided Idempotency-Key."}),
                ),
                Duplicate => e(
                    422,
                    json!({"code": "invalid_request_error", "type": "duplicate_error", "message": ANY}),
                ),
                Internal => e(
                    500,
                    json!({"code": "unknown_error", "type": "unknown_error", "message": "An unknown error occurred."}),
                ),
                RateLimited => other(429),
                PayloadTooLarge => other(413),
                UnsupportedMediaType => other(415),
                MethodNotAllowed => other(405),
                Timeout => other(408),
                BadGateway => other(502),
                GatewayTimeout => other(504),
                Unavailable => other(503),
            }
        }
        // checkoutpage.md#errors: {status:"error", type:"error", message,
        // errors:[{param,message,value}]}; the mapping of the six documented error responses to
        // 400/401/403/404/429/500 is a GUESS the decisions record, as are the 401's extra `error`
        // member and the duplicate's 400.
        "checkoutpage" => {
            let e = |status: u16, message: &str| {
                json_row(
                    status,
                    json!({"status": "error", "type": "error", "message": message, "errors": []}),
                )
            };
            match kind {
                // `param` names the field when the gateway knows it (its own validation, checked
                // below); an upstream's validation error relayed from another dialect does not
                // say which field, and the item then carries the message only.
                Validation => json_row(
                    400,
                    json!({"status": "error", "type": "error", "message": ANY, "errors": [{"message": ANY, "value": null}]}),
                ),
                // GUESS (no 409 documented): the decisions record a 400 in the envelope.
                // An earlier guess also named the email in errors[].param; the gateway does
                // not (a literal "email" would make an upstream's email validation error read
                // back as a duplicate), so the row asks for the envelope only.
                Duplicate => json_row(
                    400,
                    json!({"status": "error", "type": "error", "message": "Bad Request", "errors": [{"message": ANY}]}),
                ),
                Unauthorized => json_row(
                    401,
                    json!({"status": "error", "type": "error", "error": "Unauthorized", "message": "Missing or invalid API key", "errors": []}),
                ),
                // The documented example's message is the status's reason phrase ("Not Found").
                Forbidden => e(403, "Forbidden"),
                NotFound => e(404, "Not Found"),
                RateLimited => e(429, "Too Many Requests"),
                Internal => e(500, "Internal Server Error"),
                Conflict => e(409, "Conflict"),
                PayloadTooLarge => e(413, "Payload Too Large"),
                UnsupportedMediaType => e(415, "Unsupported Media Type"),
                MethodNotAllowed => e(405, "Method Not Allowed"),
                Timeout => e(408, "Request Timeout"),
                BadGateway => e(502, "Bad Gateway"),
                GatewayTimeout => e(504, "Gateway Timeout"),
                Unavailable => e(503, "Service Unavailable"),
            }
        }
        // commercetools.md#errors: {statusCode, message, errors:[{code, message, …}]}, the OAuth
        // members on 401/403; the codes per status are the definition's decisions recorded there
        // (statuses the vendor does not document for this endpoint: General).
        "commercetools" => {
            let e = |status: u16, code: &str| {
                json_row(
                    status,
                    json!({"statusCode": status, "message": ANY, "errors": [{"code": code, "message": ANY}]}),
                )
            };
            match kind {
                Validation => e(400, "InvalidInput"),
                NotFound => {
                    let message = format!("The Resource with ID '{id}' was not found.");
                    json_row(
                        404,
                        json!({"statusCode": 404, "message": message, "errors": [{"code": "ResourceNotFound", "message": message}]}),
                    )
                }
                Unauthorized => json_row(
                    401,
                    json!({"statusCode": 401, "message": "invalid_token", "errors": [{"code": "invalid_token", "message": "invalid_token"}], "error": "invalid_token"}),
                ),
                Forbidden => json_row(
                    403,
                    json!({"statusCode": 403, "message": ANY, "errors": [{"code": "insufficient_scope", "message": ANY}], "error": "insufficient_scope"}),
                ),
                Conflict => e(409, "ConcurrentModification"),
                Duplicate => json_row(
                    400,
                    json!({"statusCode": 400, "message": ANY, "errors": [{"code": "DuplicateField", "message": ANY, "field": "email"}]}),
                ),
                Internal => e(500, "General"),
                Unavailable => e(503, "OverCapacity"),
                RateLimited => e(429, "General"),
                PayloadTooLarge => e(413, "General"),
                UnsupportedMediaType => e(415, "General"),
                MethodNotAllowed => e(405, "General"),
                Timeout => e(408, "General"),
                BadGateway => e(502, "General"),
                GatewayTimeout => e(504, "General"),
            }
        }
        // shopify.md#errors and #the-dialect: GraphQL answers at HTTP 200 (user errors in
        // data.customerUpdate, top-level errors with extensions.code); the transport's 401; the
        // gateway's other errors keep their status in the top-level errors shape.
        "shopify" => {
            let code = |status: u16, code: &str| {
                json_row(
                    status,
                    json!({"errors": [{"message": ANY, "extensions": {"code": code}}]}),
                )
            };
            let plain = |status: u16| json_row(status, json!({"errors": [{"message": ANY}]}));
            let user_error = |error: Value| {
                json_row(
                    200,
                    json!({"data": {"customerUpdate": {"customer": null, "userErrors": [error]}}}),
                )
            };
            match kind {
                // `field` names the input member when the gateway knows it (checked below).
                Validation => user_error(json!({"field": [], "message": ANY})),
                // The documented "update a customer with an ID that doesn't exist" answer.
                NotFound => user_error(json!({"field": ["id"], "message": "Customer does not exist"})),
                Unauthorized => json_row(
                    401,
                    json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}),
                ),
                Forbidden => code(200, "ACCESS_DENIED"),
                RateLimited => json_row(
                    200,
                    json!({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}),
                ),
                Internal => code(200, "INTERNAL_SERVER_ERROR"),
                // GUESS (customerUpdate's user errors have no code): the decision records 409 with
                // customerSet's code TAKEN.
                Duplicate => code(409, "TAKEN"),
                Conflict => plain(409),
                PayloadTooLarge => plain(413),
                UnsupportedMediaType => plain(415),
                MethodNotAllowed => plain(405),
                Timeout => plain(408),
                BadGateway => plain(502),
                GatewayTimeout => plain(504),
                Unavailable => plain(503),
            }
        }
        // bigcommerce.md#errors: ErrorResponse {status, title, type, errors}, `errors` keyed by
        // the violating member; the documented NotFound, 413 and 429 literals; the 401 is text.
        "bigcommerce" => {
            const TYPE: &str = "/api-docs/getting-started/api-status-codes";
            let e = |status: u16, title: &str| {
                json_row(
                    status,
                    json!({"status": status, "title": title, "type": TYPE, "errors": {}}),
                )
            };
            match kind {
                Validation | Duplicate => json_row(422, json!({"status": 422, "title": ANY, "type": TYPE})),
                NotFound => json_row(
                    404,
                    json!({"status": 404, "title": "The resource at that URL is not found.",
                           "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"}),
                ),
                Unauthorized => Row {
                    status: 401,
                    body: Body::Text("Unauthorized"),
                },
                RateLimited => e(429, "Too many requests"),
                PayloadTooLarge => json_row(
                    413,
                    json!({"status": 413, "title": ANY, "type": TYPE, "errors": {}}),
                ),
                Forbidden => e(403, "Forbidden"),
                Conflict => e(409, "Conflict"),
                Internal => e(500, "Internal Server Error"),
                UnsupportedMediaType => e(415, "Unsupported Media Type"),
                MethodNotAllowed => e(405, "Method Not Allowed"),
                Timeout => e(408, "Request Timeout"),
                BadGateway => e(502, "Bad Gateway"),
                GatewayTimeout => e(504, "Gateway Timeout"),
                Unavailable => e(503, "Service Unavailable"),
            }
        }
        // spree.md#errors: Spree's own {error} (422 adds errors, the messages by attribute);
        // the statuses Rails answers itself carry {status, error: <reason phrase>}. Decisions:
        // a taken email is the 422 validation shape, a conflict a 409 {error}. `errors` names
        // the violated attributes when the problem has violations (an upstream's relayed
        // refusal has none), so the row asks for an object.
        "spree" => {
            let rails =
                |status: u16, reason: &str| json_row(status, json!({"status": status, "error": reason}));
            let own = |status: u16, error: &str| json_row(status, json!({"error": error}));
            match kind {
                Validation | Duplicate => json_row(422, json!({"error": ANY, "errors": {}})),
                NotFound => own(404, "The resource you were looking for could not be found."),
                Unauthorized => own(401, "The access token is invalid"),
                Forbidden => own(403, ANY),
                Conflict => own(409, ANY),
                RateLimited => rails(429, "Too Many Requests"),
                PayloadTooLarge => rails(413, "Payload Too Large"),
                UnsupportedMediaType => rails(415, "Unsupported Media Type"),
                MethodNotAllowed => rails(405, "Method Not Allowed"),
                Timeout => rails(408, "Request Timeout"),
                BadGateway => rails(502, "Bad Gateway"),
                GatewayTimeout => rails(504, "Gateway Timeout"),
                Unavailable => rails(503, "Service Unavailable"),
                Internal => rails(500, "Internal Server Error"),
            }
        }
        other => panic!("no table for {other}"),
    }
}

/// Whether `got` matches `pattern`: every member of a pattern object is present and matches;
/// `"*"` is any non-empty string; an empty pattern array is any array, a non-empty one needs as
/// many elements, each matching; anything else is equal.
fn matches(pattern: &Value, got: &Value) -> bool {
    match (pattern, got) {
        (Value::String(p), Value::String(g)) if p == ANY => !g.is_empty(),
        (Value::Object(p), Value::Object(g)) => {
            p.iter().all(|(k, v)| g.get(k).is_some_and(|gv| matches(v, gv)))
        }
        (Value::Array(p), Value::Array(g)) => {
            g.len() >= p.len() && p.iter().zip(g).all(|(pv, gv)| matches(pv, gv))
        }
        (p, g) => p == g,
    }
}

/// Asserts that `answer` is the table's row for `kind` in `caller`.
pub(crate) fn check(caller: &str, kind: Kind, id: &str, answer: &harness::Answer, how: &str) {
    let row = table(caller, kind, id);
    let text = String::from_utf8_lossy(&answer.body);
    let ctx = format!("{caller} {kind:?} ({how}): {} {text}", answer.status);
    assert_eq!(answer.status, row.status, "{ctx}");
    match row.body {
        Body::Text(want) => {
            assert_eq!(text, want, "{ctx}");
            assert!(
                answer
                    .header("content-type")
                    .is_some_and(|c| c.starts_with("text/plain")),
                "{ctx}"
            );
        }
        Body::Json(pattern) => {
            // application/json, or a JSON media type of the vendor's (Spree's
            // application/vnd.api+json).
            let json_type = |c: &str| {
                let essence = c.split(';').next().unwrap_or("").trim();
                essence == "application/json"
                    || (essence.starts_with("application/") && essence.ends_with("+json"))
            };
            assert!(
                answer.header("content-type").is_some_and(json_type),
                "{ctx}: content type {:?}",
                answer.header("content-type")
            );
            let got: Value =
                serde_json::from_slice(&answer.body).unwrap_or_else(|e| panic!("{ctx}: not JSON ({e})"));
            assert!(matches(&pattern, &got), "{ctx}: expected the shape {pattern}");
        }
    }
}

/// Every caller dialect that can name the backends' customers (`cus_ada`, `cus_grace`): the
/// shipped registry's (each needs its literal [`table`]). BigCommerce's ids are integers: its
/// error shapes are pinned in tests/e2e/bigcommerce.rs and crates/dialect/tests/bigcommerce.rs.
pub(crate) fn callers() -> Vec<&'static str> {
    harness::DIALECTS
        .iter()
        .copied()
        .filter(|d| harness::registry_dialect(d).route().writes_id("cus_ada"))
        .collect()
}

/// A request as a caller of `dialect` would send it, with a chosen credential, content type
/// and method.
async fn request(
    gw: &harness::Running,
    dialect: &str,
    id: &str,
    body: Vec<u8>,
    key: Option<&str>,
    content_type: &str,
    method: Option<&str>,
) -> harness::Answer {
    let c = harness::call(dialect, id, key.unwrap_or(CALLER_KEY));
    let method = method.unwrap_or(c.method);
    let mut req = harness::client()
        .request(method.parse().unwrap(), gw.url(&c.path))
        .header("content-type", content_type)
        .body(body);
    if key.is_some() {
        req = req.header(c.auth.0, c.auth.1);
    }
    harness::answer(req.send().await.unwrap()).await
}

fn simple(dialect: &str, id: &str) -> Vec<u8> {
    serde_json::to_vec(&harness::simple_update(dialect, id)).unwrap()
}

/// The simple update with its email replaced by a number: a type error in every dialect.
fn bad_email(dialect: &str, id: &str) -> Vec<u8> {
    fn replace(v: &mut Value) {
        match v {
            Value::Object(map) => map.iter_mut().for_each(|(k, m)| {
                if k == "email" {
                    *m = json!(42);
                } else {
                    replace(m);
                }
            }),
            Value::Array(items) => items.iter_mut().for_each(replace),
            _ => {}
        }
    }
    let mut body = harness::simple_update(dialect, id);
    replace(&mut body);
    serde_json::to_vec(&body).unwrap()
}

async fn gateway(overrides: Overrides, env: &[(&str, &str)]) -> harness::Running {
    harness::start(harness::config(overrides, env)).await
}

async fn gateway_to(
    url: String,
    dialect: &str,
    mode: CredentialMode,
    env: &[(&str, &str)],
) -> harness::Running {
    gateway(
        Overrides {
            upstream: Some(url),
            upstream_dialect: Some(dialect.into()),
            credentials: Some(mode),
            ..Overrides::default()
        },
        env,
    )
    .await
}

#[tokio::test]
async fn caller_errors_on_the_embedded_backend_match_the_vendor_tables() {
    let gw = gateway(
        Overrides::default(),
        &[("DIALECTGATE__SERVER__MAX_BODY_BYTES", "2048")],
    )
    .await;
    for caller in callers() {
        let id = "cus_ada";
        let a = request(
            &gw,
            caller,
            id,
            bad_email(caller, id),
            Some(CALLER_KEY),
            "application/json",
            None,
        )
        .await;
        check(caller, Kind::Validation, id, &a, "email is a number");
        names_the_field(caller, &a.json());

        let a = request(
            &gw,
            caller,
            "cus_missing",
            simple(caller, "cus_missing"),
            Some(CALLER_KEY),
            "application/json",
            None,
        )
        .await;
        check(caller, Kind::NotFound, "cus_missing", &a, "unknown customer");

        let a = request(
            &gw,
            caller,
            id,
            simple(caller, id),
            None,
            "application/json",
            None,
        )
        .await;
        check(caller, Kind::Unauthorized, id, &a, "no credential");
        let a = request(
            &gw,
            caller,
            id,
            simple(caller, id),
            Some("not_a_key"),
            "application/json",
            None,
        )
        .await;
        check(caller, Kind::Unauthorized, id, &a, "wrong credential");

        let mut big = harness::simple_update(caller, id);
        if let Some(obj) = big.as_object_mut() {
            obj.insert("padding".into(), json!("x".repeat(4096)));
        }
        let a = request(
            &gw,
            caller,
            id,
            serde_json::to_vec(&big).unwrap(),
            Some(CALLER_KEY),
            "application/json",
            None,
        )
        .await;
        check(caller, Kind::PayloadTooLarge, id, &a, "body over max_body_bytes");

        let a = request(
            &gw,
            caller,
            id,
            simple(caller, id),
            Some(CALLER_KEY),
            "text/plain",
            None,
        )
        .await;
        check(caller, Kind::UnsupportedMediaType, id, &a, "text/plain");

        let a = request(
            &gw,
            caller,
            id,
            simple(caller, id),
            Some(CALLER_KEY),
            "application/json",
            Some("DELETE"),
        )
        .await;
        check(caller, Kind::MethodNotAllowed, id, &a, "DELETE");
    }
    // A duplicate email on the embedded backend: give Grace the address, then Alan may not take it.
    let taken = |caller: &str, id: &str| {
        let mut body = harness::simple_update(caller, id);
        fn set(v: &mut Value) {
            match v {
                Value::Object(map) => {
                    for (k, m) in map.iter_mut() {
                        if k == "email" {
                            *m = json!("taken@example.com");
                        } else {
                            set(m);
                        }
                    }
                }
                // commercetools' changeEmail action, in its list.
                Value::Array(items) => items.iter_mut().for_each(set),
                _ => {}
            }
        }
        set(&mut body);
        serde_json::to_vec(&body).unwrap()
    };
    let first = request(
        &gw,
        "medusa",
        "cus_grace",
        taken("medusa", "cus_grace"),
        Some(CALLER_KEY),
        "application/json",
        None,
    )
    .await;
    assert_eq!(first.status, 200, "{}", String::from_utf8_lossy(&first.body));
    for caller in callers() {
        let a = request(
            &gw,
            caller,
            "cus_alan",
            taken(caller, "cus_alan"),
            Some(CALLER_KEY),
            "application/json",
            None,
        )
        .await;
        check(caller, Kind::Duplicate, "cus_alan", &a, "email taken");
    }
    gw.stop().await;
}

/// The gateway's own validation error names the bad field where the vendor's format does.
fn names_the_field(caller: &str, body: &Value) {
    let (place, want) = match caller {
        // elasticpath.md#errors: source is the plain field name.
        "elasticpath" => ("/errors/0/source", json!("email")),
        // microbase.md#errors: AJV 4's "payload<dataPath>: <message>".
        "microbase" => ("/data/0", json!("payload.email: should be string")),
        // GUESS body the decision records: errors[{field, message}].
        "axim" => ("/errors/0/field", json!("email")),
        // medusa.md#request: class-validator's message names the property first.
        "medusa" => {
            let message = body["message"].as_str().unwrap_or_default();
            assert!(message.starts_with("email "), "{caller}: {body}");
            return;
        }
        "checkoutpage" => ("/errors/0/param", json!("email")),
        // commercetools.md#errors: the message names the field.
        "commercetools" => {
            let message = body["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(message.contains("email"), "{caller}: {body}");
            return;
        }
        // The decision records the input member's name as the user error's field.
        "shopify" => ("/data/customerUpdate/userErrors/0/field/0", json!("email")),
        // spree.md#errors: the 422's errors are keyed by the attribute, messages in a list.
        "spree" => {
            let messages = body.pointer("/errors/email").and_then(Value::as_array);
            assert!(messages.is_some_and(|m| !m.is_empty()), "{caller}: {body}");
            return;
        }
        other => panic!("no field rule for {other}"),
    };
    assert_eq!(body.pointer(place), Some(&want), "{caller}: {body}");
}

/// Sends the head and half the body of a request, then stalls; the answer as the server sent it.
async fn stalled(gw: &harness::Running, caller: &str) -> harness::Answer {
    let c = harness::call(caller, "cus_ada", CALLER_KEY);
    let body = simple(caller, "cus_ada");
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    let head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n{}: {}\r\nContent-Length: {}\r\n\r\n",
        c.method,
        c.path,
        gw.addr,
        c.auth.0,
        c.auth.1,
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body[..body.len() / 2]).await.unwrap();
    // Generous bound: the server answers after body_read_timeout_ms (300 ms) and closes.
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut raw))
        .await
        .expect("the server answers a stalled body")
        .unwrap();
    parse_raw(&raw)
}

/// A raw HTTP/1.1 answer with a Content-Length body.
fn parse_raw(raw: &[u8]) -> harness::Answer {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let mut headers = reqwest::header::HeaderMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(
                reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()).unwrap(),
                v.trim().parse().unwrap(),
            );
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(raw.len() - split - 4);
    let body = raw[split + 4..split + 4 + len].to_vec();
    harness::Answer {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn a_stalled_body_is_a_408_in_each_vendor_shape() {
    let gw = gateway(
        Overrides::default(),
        &[("DIALECTGATE__SERVER__BODY_READ_TIMEOUT_MS", "300")],
    )
    .await;
    for caller in callers() {
        let a = stalled(&gw, caller).await;
        check(caller, Kind::Timeout, "cus_ada", &a, "body stalls");
    }
    gw.stop().await;
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_in_each_vendor_shape() {
    // A port bound but never listening: refused, and no other test can take it meanwhile.
    let (_reserved, port) = harness::refused_port();
    let gw = gateway_to(
        format!("http://127.0.0.1:{port}"),
        "canonical",
        CredentialMode::Static,
        &[("DIALECTGATE__UPSTREAM__BREAKER_FAILURES", "0")],
    )
    .await;
    for caller in callers() {
        let a = harness::send_simple(&gw, caller, "cus_ada").await;
        check(caller, Kind::BadGateway, "cus_ada", &a, "connection refused");
    }
    gw.stop().await;
}

#[tokio::test]
async fn a_slow_upstream_is_a_504_in_each_vendor_shape() {
    // An upstream that accepts and never answers; it keeps the connections open.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let gw = gateway_to(
        url,
        "canonical",
        CredentialMode::Static,
        &[
            ("DIALECTGATE__UPSTREAM__TIMEOUT_MS", "300"),
            ("DIALECTGATE__UPSTREAM__BREAKER_FAILURES", "0"),
        ],
    )
    .await;
    for caller in callers() {
        let a = harness::send_simple(&gw, caller, "cus_ada").await;
        check(
            caller,
            Kind::GatewayTimeout,
            "cus_ada",
            &a,
            "upstream never answers",
        );
    }
    gw.stop().await;
}

/// Vendor-documented upstream error bodies (the Errors sections of docs/vendors/elasticpath.md,
/// medusa.md and checkoutpage.md), and the caller kind each must become.
fn documented_upstream_errors() -> Vec<(&'static str, Reply, CredentialMode, Kind)> {
    let json = "application/json";
    let body = |v: Value| serde_json::to_vec(&v).unwrap();
    vec![
        // A 403 reaches the caller only in passthrough mode (in static mode it is the
        // gateway's own credential that was refused: a 502).
        (
            "elasticpath",
            (
                403,
                json,
                body(json!({"errors": [{"status": 403, "title": "Forbidden"}]})),
            ),
            CredentialMode::Passthrough,
            Kind::Forbidden,
        ),
        (
            "elasticpath",
            (
                403,
                json,
                body(json!({"errors": [{"status": 403, "title": "Forbidden"}]})),
            ),
            CredentialMode::Static,
            Kind::BadGateway,
        ),
        (
            "elasticpath",
            (
                409,
                json,
                body(
                    json!({"errors": [{"status": 409, "detail": "Write conflict detected", "title": "Conflict"}]}),
                ),
            ),
            CredentialMode::Static,
            Kind::Conflict,
        ),
        (
            "elasticpath",
            (429, json, body(json!({"errors": [{"status": 429}]}))),
            CredentialMode::Static,
            Kind::RateLimited,
        ),
        (
            "medusa",
            (
                409,
                json,
                body(
                    json!({"code": "invalid_state_error", "type": "conflict", "message": "The request conflicted with another request. You may retry the request with the provided Idempotency-Key."}),
                ),
            ),
            CredentialMode::Static,
            Kind::Conflict,
        ),
        (
            "medusa",
            (
                422,
                json,
                body(
                    json!({"code": "invalid_request_error", "type": "duplicate_error", "message": "Customer with email, has_account x@y.com, f already exists."}),
                ),
            ),
            CredentialMode::Static,
            Kind::Duplicate,
        ),
        (
            "checkoutpage",
            (
                429,
                json,
                body(
                    json!({"status": "error", "type": "error", "message": "Too Many Requests", "errors": []}),
                ),
            ),
            CredentialMode::Static,
            Kind::RateLimited,
        ),
        (
            "checkoutpage",
            (
                403,
                json,
                body(json!({"status": "error", "type": "error", "message": "Forbidden", "errors": []})),
            ),
            CredentialMode::Passthrough,
            Kind::Forbidden,
        ),
        (
            "microbase",
            (
                200,
                json,
                body(
                    json!({"ok": false, "error": "duplicate_key", "data": "E11000 duplicate key error index: email_1"}),
                ),
            ),
            CredentialMode::Static,
            Kind::Duplicate,
        ),
        // shopify.md#errors: throttled at HTTP 200 (as a user posted it) and as an HTTP 429.
        (
            "shopify",
            (
                200,
                json,
                body(
                    json!({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}], "extensions": {"cost": {"requestedQueryCost": 752, "actualQueryCost": null, "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 666, "restoreRate": 50.0}}}}),
                ),
            ),
            CredentialMode::Static,
            Kind::RateLimited,
        ),
        (
            "shopify",
            (
                429,
                json,
                body(
                    json!({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}]}),
                ),
            ),
            CredentialMode::Static,
            Kind::RateLimited,
        ),
        // Access denied at HTTP 200 beside `data.customerUpdate: null` (the shape a third-party
        // proxy replays); in passthrough mode it is the caller's own token that lacks the scope.
        (
            "shopify",
            (
                200,
                json,
                body(
                    json!({"errors": [{"message": "Access denied for customerUpdate field. Required access: `write_customers` access scope.", "locations": [{"line": 2, "column": 3}], "path": ["customerUpdate"], "extensions": {"code": "ACCESS_DENIED", "documentation": "https://shopify.dev/api/usage/access-scopes", "requiredAccess": "`write_customers` access scope."}}], "data": {"customerUpdate": null}}),
                ),
            ),
            CredentialMode::Passthrough,
            Kind::Forbidden,
        ),
    ]
}

#[tokio::test]
async fn documented_upstream_errors_reach_each_caller_as_its_vendor_says() {
    for (upstream_dialect, reply, mode, kind) in documented_upstream_errors() {
        let upstream = Upstream::start(move |_| reply.clone()).await;
        let gw = gateway_to(
            upstream.url(),
            upstream_dialect,
            mode,
            &[("DIALECTGATE__UPSTREAM__BREAKER_FAILURES", "0")],
        )
        .await;
        for caller in callers() {
            let a = harness::send_simple(&gw, caller, "cus_ada").await;
            let how = format!("{upstream_dialect} upstream, {mode:?}");
            check(caller, kind, "cus_ada", &a, &how);
        }
        assert_eq!(
            upstream.seen().len(),
            callers().len(),
            "every request reached the upstream"
        );
        gw.stop().await;
    }
}

#[tokio::test]
async fn upstream_server_errors_and_an_open_breaker_are_the_table_s_5xx() {
    let json = "application/json";
    let body = |v: Value| serde_json::to_vec(&v).unwrap();
    // Medusa's documented unknown error, and a 503 (retry-axios retries 501-599).
    let cases: [(Reply, Kind); 2] = [
        (
            (
                500,
                json,
                body(
                    json!({"code": "unknown_error", "type": "unknown_error", "message": "An unknown error occurred."}),
                ),
            ),
            Kind::BadGateway,
        ),
        (
            (
                503,
                json,
                body(
                    json!({"code": "unknown_error", "type": "unknown_error", "message": "An unknown error occurred."}),
                ),
            ),
            Kind::Unavailable,
        ),
    ];
    for (reply, kind) in cases {
        let upstream = Upstream::start(move |_| reply.clone()).await;
        let gw = gateway_to(
            upstream.url(),
            "medusa",
            CredentialMode::Static,
            &[("DIALECTGATE__UPSTREAM__BREAKER_FAILURES", "0")],
        )
        .await;
        for caller in callers() {
            let a = harness::send_simple(&gw, caller, "cus_ada").await;
            check(caller, kind, "cus_ada", &a, "medusa upstream 5xx");
        }
        gw.stop().await;
    }

    // An open breaker answers 503 without calling the upstream.
    let reply: Reply = (
        503,
        json,
        body(json!({"errors": [{"status": 503, "title": "Service Unavailable"}]})),
    );
    let upstream = Upstream::start(move |_| reply.clone()).await;
    let gw = gateway_to(
        upstream.url(),
        "elasticpath",
        CredentialMode::Static,
        &[
            ("DIALECTGATE__UPSTREAM__BREAKER_FAILURES", "1"),
            ("DIALECTGATE__UPSTREAM__BREAKER_COOLDOWN_MS", "600000"),
            ("DIALECTGATE__UPSTREAM__RETRIES", "0"),
        ],
    )
    .await;
    let first = request(
        &gw,
        "elasticpath",
        "cus_ada",
        simple("elasticpath", "cus_ada"),
        Some(CALLER_KEY),
        "application/json",
        None,
    )
    .await;
    check(
        "elasticpath",
        Kind::Unavailable,
        "cus_ada",
        &first,
        "upstream 503",
    );
    for caller in callers() {
        let a = harness::send_simple(&gw, caller, "cus_ada").await;
        check(caller, Kind::Unavailable, "cus_ada", &a, "breaker open");
        assert_eq!(a.header("retry-after"), Some("1"));
    }
    assert_eq!(upstream.seen().len(), 1, "the open breaker called nobody");
    gw.stop().await;
}

/// No request on the update route reaches an `internal` error through the server: an
/// upstream's 500 is the caller's 502 (above), and a handler panic is answered before any
/// dialect is known, in plain problem details. The row is still the vendor's: the definition's
/// rendering of it is compared with the table here.
#[test]
fn the_internal_error_each_definition_renders_matches_the_vendor_tables() {
    for caller in callers() {
        let problem = dialectgate_canonical::Problem::new(
            dialectgate_canonical::ErrorKind::Internal,
            "the gateway failed",
        );
        let rendered = harness::registry_dialect(caller).render_error(&problem, Some("cus_ada"));
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("content-type", rendered.content_type.parse().unwrap());
        let answer = harness::Answer {
            status: rendered.status,
            headers,
            body: rendered.body,
        };
        check(caller, Kind::Internal, "cus_ada", &answer, "rendered");
    }
}
