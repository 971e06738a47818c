//! A BigCommerce store as the REST Management API v3 documents its customers
//! (`docs/vendors/bigcommerce.md`; the vendor's `reference/customers.v3.yml` and overview page):
//!
//! - `PUT /stores/{store_hash}/v3/customers` takes a JSON **array** of `customer_Put` items, at
//!   most 10 (more: 413 with the body the catalog spec documents for the same rule); each item
//!   needs its integer `id`; members left out stay as stored (partial update); the answer is
//!   `{"data": [customer…], "meta": {}}`;
//! - `GET /stores/{store_hash}/v3/customers?id:in=1,2` answers
//!   `{"data": [customer…], "meta": {"pagination": …, "cursor_pagination": …}}`, an empty `data`
//!   for unknown ids; an unknown filter is a 422 (the 2018 beta docs' literal body);
//! - the credential is `X-Auth-Token`.
//!
//! The stand-in's own choices where the vendor is silent: a batch is validated whole before
//! anything is written (all or nothing); a validation error is `422` in the `ErrorResponse`
//! envelope with `title` "Update customers failed." (after the documented "Create customers
//! failed.") and `errors` keyed by the item's index and the member (`"0.email"`, the repository's
//! convention); an unknown id in a PUT is such an error on `"<i>.id"`; read-only and unknown
//! members are ignored; `new_password` is never kept; a 401 is `text/plain` "Unauthorized"; the
//! store hash is any non-empty segment (tests check what the store saw); `include` is ignored (an
//! answer carries every stored member); email uniqueness ignores case.

use serde_json::{Map, Value, json};

use super::{Seen, State, json_reply};
use crate::harness::Reply;

/// The `type` of the documented error bodies.
const ERROR_TYPE: &str = "/api-docs/getting-started/api-status-codes";

/// The literal 413 body (catalog spec, the same 10-item rule).
pub fn too_many_items() -> Value {
    json!({"errors": {}, "status": 413,
           "title": "The request payload is too large. The maximum items allowed in the array is 10.",
           "type": ERROR_TYPE})
}

/// The literal 422 for an unknown filter (2018 beta docs), naming `filter`.
pub fn invalid_filter(filter: &str) -> Value {
    json!({"status": 422,
           "title": format!("The filter(s): {filter} are not valid filter parameter(s)."),
           "type": "https://developer.bigcommerce.com/api#api-status-codes", "errors": {}})
}

/// A 422 of a PUT with these keyed errors.
pub fn update_failed(errors: Value) -> Value {
    json!({"status": 422, "title": "Update customers failed.", "type": ERROR_TYPE, "errors": errors})
}

/// Filters `GET /v3/customers` accepts ([spec] query parameters).
const FILTERS: [&str; 21] = [
    "id:in",
    "email:in",
    "name:in",
    "name:like",
    "company:in",
    "customer_group_id:in",
    "phone:in",
    "registration_ip_address:in",
    "date_created",
    "date_created:min",
    "date_created:max",
    "date_modified",
    "date_modified:min",
    "date_modified:max",
    "include",
    "sort",
    "page",
    "limit",
    "before",
    "after",
    "channel_id:in",
];

/// The `customer_Put` string members with their length limits.
const STRINGS: [(&str, usize, usize); 7] = [
    ("email", 3, 255),
    ("first_name", 1, 100),
    ("last_name", 1, 100),
    ("company", 0, 255),
    ("phone", 0, 50),
    ("notes", 0, usize::MAX),
    ("tax_exempt_category", 0, 255),
];

pub(super) fn handle(state: &mut State, req: &Seen) -> Reply {
    let Some(rest) = req.path.strip_prefix("/stores/") else {
        return (404, "text/plain", b"no such route".to_vec());
    };
    let Some((hash, "v3/customers")) = rest.split_once('/') else {
        return (404, "text/plain", b"no such route".to_vec());
    };
    if hash.is_empty() || !matches!(req.method.as_str(), "GET" | "PUT") {
        return (404, "text/plain", b"no such route".to_vec());
    }
    if req.method == "GET" {
        state.reads += 1;
    }
    if req.header("x-auth-token").is_none_or(|t| t.trim().is_empty()) {
        return (401, "text/plain", b"Unauthorized".to_vec());
    }
    if req.method == "GET" {
        if let Some((status, body)) = &state.failing_reads {
            return json_reply(*status, body);
        }
        return read(state, req.query.as_deref().unwrap_or(""));
    }
    update(state, req)
}

fn read(state: &State, query: &str) -> Reply {
    let mut ids: Option<Vec<String>> = None;
    let mut emails: Option<Vec<String>> = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(key);
        let value = decode(value);
        if !FILTERS.contains(&key.as_str()) {
            return json_reply(422, &invalid_filter(&key));
        }
        let list = || value.split(',').map(str::to_owned).collect::<Vec<_>>();
        match key.as_str() {
            "id:in" => {
                let list = list();
                if list.iter().any(|id| id.parse::<u32>().is_err()) {
                    return json_reply(422, &invalid_filter(&key));
                }
                ids = Some(list);
            }
            "email:in" => emails = Some(list()),
            _ => {}
        }
    }
    let data: Vec<Value> = state
        .records
        .iter()
        .filter(|(id, _)| ids.as_ref().is_none_or(|ids| ids.contains(id)))
        .filter(|(_, r)| {
            emails.as_ref().is_none_or(|emails| {
                r["email"]
                    .as_str()
                    .is_some_and(|e| emails.iter().any(|x| x.eq_ignore_ascii_case(e)))
            })
        })
        .map(|(_, r)| r.clone())
        .collect();
    let count = data.len();
    let cursor = |r: Option<&Value>| r.map(|r| base64(format!("id:{}", r["id"]).as_bytes()));
    let meta = json!({
        "pagination": {"total": count, "count": count, "per_page": 50, "current_page": 1,
                       "total_pages": count.div_ceil(50).max(1), "links": {"current": "?page=1&limit=50"}},
        "cursor_pagination": {"count": count, "per_page": 50, "start_cursor": cursor(data.first()),
                              "end_cursor": cursor(data.last()), "links": {}}
    });
    json_reply(200, &json!({"data": data, "meta": meta}))
}

fn decode(s: &str) -> String {
    super::percent_decode(&s.replace('+', " "))
}

/// Standard base64 with padding (the cursors' form: `aWQ6Nw==` is `id:7`).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn update(state: &mut State, req: &Seen) -> Reply {
    let content_type = req.header("content-type").unwrap_or("");
    if content_type.split(';').next().map(str::trim) != Some("application/json") {
        return json_reply(
            415,
            &json!({"status": 415, "title": "Unsupported Media Type", "type": ERROR_TYPE, "errors": {}}),
        );
    }
    let Value::Array(items) = &req.body else {
        return json_reply(
            422,
            &update_failed(json!({".customer_update": "The request body must be an array of customers"})),
        );
    };
    if items.len() > 10 {
        return json_reply(413, &too_many_items());
    }
    if items.is_empty() {
        return json_reply(
            422,
            &update_failed(json!({".customer_update": "The request body must hold at least one customer"})),
        );
    }
    let mut errors = Map::new();
    let mut changes = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match validate(state, i, item, items) {
            Ok(change) => changes.push(change),
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        return json_reply(422, &update_failed(Value::Object(errors)));
    }
    let mut data = Vec::new();
    for (id, members) in changes {
        let Some(Value::Object(record)) = state.records.get_mut(&id) else {
            continue;
        };
        let before = record.clone();
        for (key, value) in members {
            if key == "authentication" {
                // Write-only `new_password`; the record answers `force_password_reset` only.
                let auth = record.entry("authentication").or_insert_with(|| json!({}));
                if let Some(reset) = value.get("force_password_reset") {
                    auth["force_password_reset"] = reset.clone();
                }
                continue;
            }
            record.insert(key, value);
        }
        if *record != before {
            state.writes += 1;
        }
        data.push(Value::Object(record.clone()));
    }
    json_reply(200, &json!({"data": data, "meta": {}}))
}

/// The item's record id and the members it writes, or its keyed errors.
fn validate(
    state: &State,
    i: usize,
    item: &Value,
    items: &[Value],
) -> Result<(String, Map<String, Value>), Map<String, Value>> {
    let mut errors = Map::new();
    let mut error = |member: &str, message: &str| {
        errors.insert(format!("{i}.{member}"), json!(message));
    };
    let Value::Object(item) = item else {
        error("id", "Each customer must be an object with an id");
        return Err(errors);
    };
    let id = match item.get("id") {
        None => {
            error("id", "The customer id is required");
            return Err(errors);
        }
        Some(v) => match v.as_u64().filter(|n| (1..=i32::MAX as u64).contains(n)) {
            Some(n) => n.to_string(),
            None => {
                error("id", "The customer id must be a positive integer");
                return Err(errors);
            }
        },
    };
    if !state.records.contains_key(&id) {
        error("id", "Customer not found");
        return Err(errors);
    }
    let mut members = Map::new();
    for (key, value) in item {
        match key.as_str() {
            "id" | "registration_ip_address" | "origin_channel_id" | "date_created" | "date_modified" => {}
            "customer_group_id" if !value.is_u64() => error(key, "must be an integer"),
            "accepts_product_review_abandoned_cart_emails" if !value.is_boolean() => {
                error(key, "must be a boolean")
            }
            "channel_ids" if !value.as_array().is_some_and(|a| a.iter().all(Value::is_u64)) => {
                error(key, "must be an array of integers")
            }
            "store_credit_amounts"
                if !value
                    .as_array()
                    .is_some_and(|a| a.iter().all(|x| x["amount"].is_number())) =>
            {
                error(key, "must be an array of amounts")
            }
            "form_fields"
                if !value
                    .as_array()
                    .is_some_and(|a| a.iter().all(|f| f["name"].is_string() && !f["value"].is_null())) =>
            {
                error(key, "each form field needs a name and a value")
            }
            "authentication"
                if !value.as_object().is_some_and(|a| {
                    a.get("force_password_reset").is_none_or(Value::is_boolean)
                        && a.get("new_password").is_none_or(Value::is_string)
                }) =>
            {
                error(
                    key,
                    "must be an object with force_password_reset and new_password",
                )
            }
            "customer_group_id"
            | "accepts_product_review_abandoned_cart_emails"
            | "channel_ids"
            | "store_credit_amounts"
            | "form_fields"
            | "authentication" => {
                members.insert(key.clone(), value.clone());
            }
            _ => {
                // Not a customer_Put member: ignored.
                if let Some((_, min, max)) = STRINGS.iter().find(|(name, _, _)| name == key) {
                    match value.as_str() {
                        Some(s) if (*min..=*max).contains(&s.chars().count()) => {
                            members.insert(key.clone(), value.clone());
                        }
                        Some(_) => error(key, &format!("must be between {min} and {max} characters")),
                        None => error(key, "must be a string"),
                    }
                }
            }
        }
    }
    if let Some(email) = members.get("email").and_then(Value::as_str) {
        let taken_by_other = state.records.iter().any(|(other, r)| {
            *other != id && r["email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(email))
        });
        let twice_in_batch = items
            .iter()
            .filter(|x| x["email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(email)))
            .count()
            > 1;
        if taken_by_other || twice_in_batch {
            error("email", "The email address is already in use by another customer");
        }
    }
    if errors.is_empty() {
        Ok((id, members))
    } else {
        Err(errors)
    }
}

/// The spec's `GetCustomerCollectionResponse` customer (with the `"id": 1` the reference notes
/// add), keyed by its id.
pub(super) fn sample() -> (String, Value) {
    (
        "1".into(),
        json!({
            "id": 1, "email": "jane.smith@example.com", "first_name": "Jane", "last_name": "Smith",
            "company": "Acme Corp", "phone": "555-123-4567", "notes": "Preferred customer",
            "tax_exempt_category": "Non-profit", "customer_group_id": 0,
            "addresses": [{"id": 0, "customer_id": 0, "first_name": "Jane", "last_name": "Smith",
                           "address1": "Addr1", "address2": "", "city": "string",
                           "state_or_province": "string", "postal_code": "string",
                           "country_code": "st", "country": "US", "phone": "555-123-4567",
                           "address_type": "residential"}],
            "store_credit_amounts": [{"amount": 43.15}],
            "accepts_product_review_abandoned_cart_emails": true, "channel_ids": [1]
        }),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::{VendorStore, call};

    const TOKEN: [(&str, &str); 1] = [("X-Auth-Token", "tok")];
    const PATH: &str = "/stores/teststore/v3/customers";

    async fn store() -> (VendorStore, Value) {
        let (id, record) = super::sample();
        let (_, mut other) = super::sample();
        other["id"] = json!(12);
        other["email"] = json!("jane.doe.old@example.com");
        let store = VendorStore::start("bigcommerce", vec![(id, record.clone()), ("12".into(), other)]).await;
        (store, record)
    }

    #[tokio::test]
    async fn bigcommerce_reads_by_id_in_and_answers_the_collection_envelope() {
        let (store, record) = store().await;
        let got = call(&store, "GET", &format!("{PATH}?id:in=1"), &TOKEN, None).await;
        assert_eq!(got.status, 200);
        let got = got.json();
        assert_eq!(got["data"], json!([record]));
        assert_eq!(got["meta"]["pagination"]["total"], 1);
        assert_eq!(got["meta"]["cursor_pagination"]["start_cursor"], "aWQ6MQ==");
        // Percent-encoded filter names are the same filter; several ids; unknown ids: none.
        let got = call(&store, "GET", &format!("{PATH}?id%3Ain=12,1,999"), &TOKEN, None).await;
        assert_eq!(got.json()["data"].as_array().unwrap().len(), 2);
        let got = call(&store, "GET", &format!("{PATH}?id:in=999"), &TOKEN, None).await;
        assert_eq!((got.status, got.json()["data"].clone()), (200, json!([])));
        // An unknown filter: the documented 422.
        let got = call(&store, "GET", &format!("{PATH}?customer_id=1"), &TOKEN, None).await;
        assert_eq!(
            (got.status, got.json()),
            (422, super::invalid_filter("customer_id"))
        );
        // No token: 401, not JSON.
        let got = call(&store, "GET", &format!("{PATH}?id:in=1"), &[], None).await;
        assert_eq!(
            (got.status, got.header("content-type")),
            (401, Some("text/plain"))
        );
        assert_eq!(store.reads(), 5);
        let seen = store.seen();
        assert_eq!(seen[0].query.as_deref(), Some("id:in=1"));
    }

    #[tokio::test]
    async fn bigcommerce_updates_an_array_partially_and_answers_every_item() {
        let (store, record) = store().await;
        // The overview's example, literal.
        let example =
            json!([{"id": 12, "email": "janedoe@example.com", "first_name": "Jane", "last_name": "Doe"}]);
        let got = call(&store, "PUT", PATH, &TOKEN, Some(&example)).await;
        assert_eq!(got.status, 200, "{}", String::from_utf8_lossy(&got.body));
        let stored = store.record("12").unwrap();
        assert_eq!(
            (
                &stored["email"],
                &stored["first_name"],
                &stored["last_name"],
                &stored["company"]
            ),
            (
                &json!("janedoe@example.com"),
                &json!("Jane"),
                &json!("Doe"),
                &json!("Acme Corp")
            )
        );
        assert_eq!(got.json(), json!({"data": [stored], "meta": {}}));
        // Two items at once; a new password is never kept; read-only members are ignored.
        let got = call(
            &store,
            "PUT",
            PATH,
            &TOKEN,
            Some(&json!([
                {"id": 1, "phone": "555-000-1111", "authentication": {"force_password_reset": true, "new_password": "s3cret!"}},
                {"id": 12, "notes": "two", "date_created": "2020-01-01T00:00:00Z"}
            ])),
        )
        .await;
        assert_eq!(got.status, 200);
        let data = got.json()["data"].clone();
        assert_eq!(
            (data[0]["id"].clone(), data[1]["id"].clone()),
            (json!(1), json!(12))
        );
        assert_eq!(data[0]["authentication"], json!({"force_password_reset": true}));
        assert!(!String::from_utf8_lossy(&got.body).contains("s3cret!"));
        let mut expected = record.clone();
        expected["phone"] = json!("555-000-1111");
        expected["authentication"] = json!({"force_password_reset": true});
        assert_eq!(store.record("1"), Some(expected));
        assert!(store.record("12").unwrap().get("date_created").is_none());
        assert_eq!(store.writes(), 3);
    }

    #[tokio::test]
    async fn bigcommerce_refuses_eleven_items_and_keys_its_errors_by_item_and_member() {
        let (store, record) = store().await;
        let eleven: Vec<Value> = (0..11).map(|_| json!({"id": 1, "notes": "x"})).collect();
        let got = call(&store, "PUT", PATH, &TOKEN, Some(&Value::Array(eleven))).await;
        assert_eq!((got.status, got.json()), (413, super::too_many_items()));
        // One bad item refuses the batch; each error is keyed "<index>.<member>".
        let got = call(
            &store,
            "PUT",
            PATH,
            &TOKEN,
            Some(&json!([
                {"id": 1, "first_name": "Janet"},
                {"id": "12", "email": "x@example.com"},
                {"id": 1, "email": "jane.doe.old@example.com", "last_name": ""},
                {"first_name": "Nobody"},
                {"id": 999}
            ])),
        )
        .await;
        assert_eq!(got.status, 422);
        let body = got.json();
        assert_eq!(
            (&body["status"], &body["title"]),
            (&json!(422), &json!("Update customers failed."))
        );
        let mut keys: Vec<&String> = body["errors"].as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["1.id", "2.email", "2.last_name", "3.id", "4.id"]);
        assert_eq!(store.record("1"), Some(record));
        assert_eq!(store.writes(), 0);
        // Not an array at all.
        let got = call(&store, "PUT", PATH, &TOKEN, Some(&json!({"id": 1, "notes": "x"}))).await;
        assert_eq!(got.status, 422);
        assert_eq!(store.writes(), 0);
    }
}
