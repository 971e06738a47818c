//! A commercetools project as its HTTP API documents customers (`docs/vendors/commercetools.md`;
//! the vendor's `customers.raml`, `CustomerUpdate.raml`, `updates/*.raml`, error types):
//!
//! - `POST /{projectKey}/customers/{ID}` with `{"version": n, "actions": [...]}`: the version must
//!   equal the stored one (else `409 ConcurrentModification` with `currentVersion`); the actions
//!   run in order, all or none; the answer is the whole updated Customer, its version one higher;
//! - `GET /{projectKey}/customers/{ID}`: the Customer, or `404 ResourceNotFound`;
//! - `changeEmail` sets `isEmailVerified` to false; a `set…` action without its value removes the
//!   member; `setCustomerNumber` is write-once; a duplicate email is `400 DuplicateField`;
//! - `POST /oauth/token` (client credentials, HTTP Basic client authentication) answers a
//!   `TokenResponse`; calls carry `Authorization: Bearer <token>`.
//!
//! The stand-in's own choices where the vendor is silent: an update that changes nothing keeps
//! the version (unconfirmed); a missing `version` or `actions`, or an action it does not know, is
//! `400 InvalidJsonInput` naming it in `detailedErrorMessage`; `ResourceNotFound` quotes the id as
//! the mock does; a token is checked for presence only; the client credentials for presence only;
//! timestamps are left as given; addresses get ids `addr-<n>`.

use serde_json::{Map, Value, json};

use super::{Seen, State, json_reply};
use crate::harness::Reply;

/// The vendor's error envelope with one error.
fn error(status: u16, code: &str, message: &str, extra: Value) -> Value {
    let mut e = json!({"code": code, "message": message});
    if let (Some(e), Value::Object(extra)) = (e.as_object_mut(), extra) {
        e.extend(extra);
    }
    json!({"statusCode": status, "message": message, "errors": [e]})
}

/// The literal 409 (`ConcurrentModificationError`, the captured body's wording).
pub fn concurrent_modification(id: &str, expected: u64, current: u64) -> Value {
    let message = format!(
        "Object {id} has a different version than expected. Expected: {expected} - Actual: {current}."
    );
    error(
        409,
        "ConcurrentModification",
        &message,
        json!({"currentVersion": current}),
    )
}

/// The 404 `ResourceNotFound` for `id`.
pub fn not_found(id: &str) -> Value {
    error(
        404,
        "ResourceNotFound",
        &format!("The Resource with ID '{id}' was not found."),
        json!({}),
    )
}

/// The 400 `DuplicateField` on email (the documented sign-up message).
pub fn duplicate_email(email: &str) -> Value {
    error(
        400,
        "DuplicateField",
        "There is already an existing customer with the provided email.",
        json!({"field": "email", "duplicateValue": email}),
    )
}

/// The 401 `AuthErrorResponse` (the spec's example).
pub fn invalid_token() -> Value {
    json!({"statusCode": 401, "message": "invalid_token",
           "errors": [{"code": "invalid_token", "message": "invalid_token"}], "error": "invalid_token"})
}

fn invalid_json(detail: &str) -> Value {
    error(
        400,
        "InvalidJsonInput",
        "Request body does not contain valid JSON.",
        json!({"detailedErrorMessage": detail}),
    )
}

fn invalid_operation(message: &str) -> Value {
    error(400, "InvalidOperation", message, json!({}))
}

/// `set…` actions on one optional string member: (action, member).
const SETTERS: [(&str, &str); 11] = [
    ("setFirstName", "firstName"),
    ("setLastName", "lastName"),
    ("setMiddleName", "middleName"),
    ("setTitle", "title"),
    ("setSalutation", "salutation"),
    ("setCompanyName", "companyName"),
    ("setVatId", "vatId"),
    ("setDateOfBirth", "dateOfBirth"),
    ("setExternalId", "externalId"),
    ("setLocale", "locale"),
    ("setKey", "key"),
];

pub(super) fn handle(state: &mut State, req: &Seen) -> Reply {
    if req.path == "/oauth/token" && req.method == "POST" {
        return token(req);
    }
    let parts: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    let [project, "customers", id] = parts[..] else {
        return (404, "text/plain", b"no such route".to_vec());
    };
    if project.is_empty() || id.is_empty() || !matches!(req.method.as_str(), "GET" | "POST") {
        return (404, "text/plain", b"no such route".to_vec());
    }
    let id = super::percent_decode(id);
    if req.method == "GET" {
        state.reads += 1;
    }
    let bearer = req
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| !t.trim().is_empty());
    if !bearer {
        return json_reply(401, &invalid_token());
    }
    if req.method == "GET" {
        if let Some((status, body)) = &state.failing_reads {
            return json_reply(*status, body);
        }
        return match state.records.get(&id) {
            Some(record) => json_reply(200, record),
            None => json_reply(404, &not_found(&id)),
        };
    }
    let Some(expected) = req.body.get("version").and_then(Value::as_u64) else {
        return json_reply(400, &invalid_json("version: Missing required value"));
    };
    let Some(actions) = req.body.get("actions").and_then(Value::as_array) else {
        return json_reply(400, &invalid_json("actions: Missing required value"));
    };
    let Some(stored) = state.records.get(&id) else {
        return json_reply(404, &not_found(&id));
    };
    let current = stored["version"].as_u64().unwrap_or(0);
    if expected != current {
        return json_reply(409, &concurrent_modification(&id, expected, current));
    }
    let mut record = stored.clone();
    for action in actions {
        if let Err(e) = apply(state, &id, &mut record, action) {
            return json_reply(400, &e);
        }
    }
    if record != *stored {
        record["version"] = json!(current + 1);
        state.writes += 1;
        state.records.insert(id, record.clone());
    }
    json_reply(200, &record)
}

/// `POST /oauth/token`: HTTP Basic client credentials, `grant_type=client_credentials` in the
/// query or the form body.
fn token(req: &Seen) -> Reply {
    let basic = req
        .header("authorization")
        .and_then(|v| v.strip_prefix("Basic "))
        .is_some_and(|t| !t.trim().is_empty());
    if !basic {
        return json_reply(
            401,
            &json!({"statusCode": 401, "message": "Please provide valid client credentials using HTTP Basic Authentication.",
                    "errors": [{"code": "invalid_client",
                                "message": "Please provide valid client credentials using HTTP Basic Authentication."}],
                    "error": "invalid_client",
                    "error_description": "Please provide valid client credentials using HTTP Basic Authentication."}),
        );
    }
    json_reply(
        200,
        &json!({"access_token": "ct_store_access_token", "expires_in": 172_800,
                "scope": "manage_customers view_customers", "token_type": "Bearer"}),
    )
}

/// Applies one update action to `record` (a copy of customer `id`).
fn apply(state: &State, id: &str, record: &mut Value, action: &Value) -> Result<(), Value> {
    let name = action["action"].as_str().unwrap_or("");
    let Value::Object(r) = record else {
        return Ok(());
    };
    if let Some((_, member)) = SETTERS.iter().find(|(a, _)| *a == name) {
        match action.get(*member) {
            Some(Value::Null) | None => {
                r.remove(*member);
            }
            Some(v) if v.is_string() => {
                r.insert((*member).into(), v.clone());
            }
            Some(_) => return Err(invalid_json(&format!("actions -> {member}: expected a string"))),
        }
        return Ok(());
    }
    match name {
        "changeEmail" => {
            let Some(email) = action["email"].as_str() else {
                return Err(invalid_json("actions -> email: Missing required value"));
            };
            let taken = state.records.iter().any(|(other, c)| {
                other != id && c["email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(email))
            });
            if taken {
                return Err(duplicate_email(email));
            }
            r.insert("email".into(), json!(email));
            r.insert("isEmailVerified".into(), json!(false));
        }
        "setCustomerNumber" => {
            if r.get("customerNumber").is_some_and(|n| !n.is_null()) {
                return Err(invalid_operation(
                    "The customer number has already been set and cannot be changed.",
                ));
            }
            if let Some(n) = action.get("customerNumber").filter(|n| n.is_string()) {
                r.insert("customerNumber".into(), n.clone());
            }
        }
        "addAddress" => {
            let Some(Value::Object(address)) = action.get("address") else {
                return Err(invalid_json("actions -> address: Missing required value"));
            };
            if !address.get("country").is_some_and(Value::is_string) {
                return Err(invalid_json(
                    "actions -> address -> country: Missing required value",
                ));
            }
            let list = addresses(r);
            let mut address = address.clone();
            address.insert("id".into(), json!(format!("addr-{}", list.len() + 1)));
            list.push(Value::Object(address));
        }
        "changeAddress" | "removeAddress" | "setDefaultShippingAddress" | "setDefaultBillingAddress" => {
            let Some(address_id) = find_address(r, action) else {
                return Err(invalid_operation(
                    "The customer does not contain an address with the given id or key.",
                ));
            };
            match name {
                "changeAddress" => {
                    let Some(Value::Object(new)) = action.get("address") else {
                        return Err(invalid_json("actions -> address: Missing required value"));
                    };
                    let mut new = new.clone();
                    new.insert("id".into(), json!(address_id));
                    for a in addresses(r).iter_mut() {
                        if a["id"] == json!(address_id) {
                            *a = Value::Object(new.clone());
                        }
                    }
                }
                "removeAddress" => {
                    addresses(r).retain(|a| a["id"] != json!(address_id));
                    for list in ["shippingAddressIds", "billingAddressIds"] {
                        if let Some(Value::Array(ids)) = r.get_mut(list) {
                            ids.retain(|x| *x != json!(address_id));
                        }
                    }
                    for default in ["defaultShippingAddressId", "defaultBillingAddressId"] {
                        if r.get(default) == Some(&json!(address_id)) {
                            r.remove(default);
                        }
                    }
                }
                _ => {
                    let (default, list) = if name == "setDefaultShippingAddress" {
                        ("defaultShippingAddressId", "shippingAddressIds")
                    } else {
                        ("defaultBillingAddressId", "billingAddressIds")
                    };
                    r.insert(default.into(), json!(address_id));
                    let ids = r.entry(list).or_insert_with(|| json!([]));
                    if let Value::Array(ids) = ids
                        && !ids.contains(&json!(address_id))
                    {
                        ids.push(json!(address_id));
                    }
                }
            }
        }
        "setCustomType" => match action.get("type") {
            Some(t) if !t.is_null() => {
                let fields = action.get("fields").cloned().unwrap_or_else(|| json!({}));
                r.insert("custom".into(), json!({"type": t, "fields": fields}));
            }
            _ => {
                r.remove("custom");
            }
        },
        "setCustomField" => {
            let Some(field) = action["name"].as_str() else {
                return Err(invalid_json("actions -> name: Missing required value"));
            };
            let Some(Value::Object(fields)) = r.get_mut("custom").and_then(|c| c.get_mut("fields")) else {
                return Err(invalid_operation("The customer has no custom type."));
            };
            match action.get("value") {
                Some(v) if !v.is_null() => {
                    fields.insert(field.into(), v.clone());
                }
                _ => {
                    if fields.remove(field).is_none() {
                        return Err(invalid_operation(&format!(
                            "The custom field '{field}' does not exist."
                        )));
                    }
                }
            }
        }
        other => {
            return Err(invalid_json(&format!(
                "actions -> action: unknown action '{other}'"
            )));
        }
    }
    Ok(())
}

fn addresses(r: &mut Map<String, Value>) -> &mut Vec<Value> {
    let list = r.entry("addresses").or_insert_with(|| json!([]));
    if !list.is_array() {
        *list = json!([]);
    }
    match list {
        Value::Array(list) => list,
        _ => unreachable!("made an array above"),
    }
}

/// The id of the address an action names by `addressId` or `addressKey`, if the customer has it.
fn find_address(r: &mut Map<String, Value>, action: &Value) -> Option<String> {
    let list = addresses(r);
    let found = match (action.get("addressId"), action.get("addressKey")) {
        (Some(id), _) if id.is_string() => list.iter().find(|a| a["id"] == *id),
        (_, Some(key)) if key.is_string() => list.iter().find(|a| a["key"] == *key),
        _ => None,
    };
    found.and_then(|a| a["id"].as_str()).map(str::to_owned)
}

/// The spec's `customer.example.json`, literal, keyed by its id.
pub(super) fn sample() -> (String, Value) {
    let record = json!({
        "id": "3cdcdcc8-80c5-41bb-abb5-ac8772c9cc24",
        "version": 1,
        "createdAt": "2022-09-19T14:34:35.843Z",
        "lastModifiedAt": "2022-09-19T14:34:35.843Z",
        "lastModifiedBy": {"clientId": "P1Xf1NG2YsFqH2LC31oveDWT", "isPlatformClient": false},
        "createdBy": {"clientId": "P1Xf1NG2YsFqH2LC31oveDWT", "isPlatformClient": false},
        "email": "johndoe@example.com",
        "firstName": "John",
        "lastName": "Doe",
        "password": "****aGg=",
        "addresses": [],
        "shippingAddressIds": [],
        "billingAddressIds": [],
        "isEmailVerified": false,
        "stores": [],
        "authenticationMode": "Password",
        "customerGroupAssignments": []
    });
    (record["id"].as_str().unwrap_or_default().to_owned(), record)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::{VendorStore, call};

    const BEARER: [(&str, &str); 1] = [("authorization", "Bearer tok")];

    async fn store() -> (VendorStore, String, Value) {
        let (id, record) = super::sample();
        let other = json!({"id": "other", "version": 1, "email": "taken@example.com"});
        let store = VendorStore::start(
            "commercetools",
            vec![(id.clone(), record.clone()), ("other".into(), other)],
        )
        .await;
        (store, id, record)
    }

    #[tokio::test]
    async fn commercetools_applies_actions_in_order_and_counts_versions() {
        let (store, id, record) = store().await;
        let path = format!("/demo-project/customers/{id}");
        let got = call(&store, "GET", &path, &BEARER, None).await;
        assert_eq!((got.status, got.json()), (200, record.clone()));
        let update = json!({"version": 1, "actions": [
            {"action": "setFirstName", "firstName": "Jane"},
            {"action": "changeEmail", "email": "jane@example.com"},
            {"action": "setFirstName", "firstName": "Janet"},
            {"action": "setLastName"},
            {"action": "addAddress", "address": {"key": "home", "streetName": "Any Street", "streetNumber": "1337",
                                                  "postalCode": "11111", "city": "Any City", "country": "US"}}
        ]});
        let mut verified = record.clone();
        verified["isEmailVerified"] = json!(true);
        let store = VendorStore::start("commercetools", vec![(id.clone(), verified)]).await;
        let got = call(&store, "POST", &path, &BEARER, Some(&update)).await;
        assert_eq!(got.status, 200, "{}", String::from_utf8_lossy(&got.body));
        let after = got.json();
        assert_eq!(
            (
                &after["version"],
                &after["firstName"],
                &after["email"],
                &after["isEmailVerified"]
            ),
            (
                &json!(2),
                &json!("Janet"),
                &json!("jane@example.com"),
                &json!(false)
            )
        );
        assert!(
            after.get("lastName").is_none(),
            "setLastName without a value removes it"
        );
        assert_eq!(after["addresses"][0]["id"], "addr-1");
        assert_eq!(store.record(&id), Some(after));
        // The old version again: the 409 with currentVersion, nothing written.
        let got = call(
            &store,
            "POST",
            &path,
            &BEARER,
            Some(&json!({"version": 1, "actions": [{"action": "setFirstName", "firstName": "X"}]})),
        )
        .await;
        assert_eq!(
            (got.status, got.json()),
            (409, super::concurrent_modification(&id, 1, 2))
        );
        assert_eq!(store.writes(), 1);
    }

    #[tokio::test]
    async fn commercetools_refuses_as_documented_and_changes_nothing() {
        let (store, id, record) = store().await;
        let path = format!("/demo-project/customers/{id}");
        let got = call(&store, "GET", "/demo-project/customers/nobody", &BEARER, None).await;
        assert_eq!((got.status, got.json()), (404, super::not_found("nobody")));
        let got = call(
            &store,
            "POST",
            "/demo-project/customers/nobody",
            &BEARER,
            Some(&json!({"version": 1, "actions": []})),
        )
        .await;
        assert_eq!((got.status, got.json()), (404, super::not_found("nobody")));
        let got = call(&store, "GET", &path, &[], None).await;
        assert_eq!((got.status, got.json()), (401, super::invalid_token()));
        // A duplicate email refuses the whole update, earlier actions included.
        let got = call(
            &store,
            "POST",
            &path,
            &BEARER,
            Some(&json!({"version": 1, "actions": [
                {"action": "setFirstName", "firstName": "Jane"},
                {"action": "changeEmail", "email": "TAKEN@example.com"}
            ]})),
        )
        .await;
        assert_eq!(
            (got.status, got.json()),
            (400, super::duplicate_email("TAKEN@example.com"))
        );
        for body in [
            json!({"actions": []}),
            json!({"version": 1}),
            json!({"version": 1, "actions": [{"action": "setPhone", "phone": "1"}]}),
        ] {
            let got = call(&store, "POST", &path, &BEARER, Some(&body)).await;
            assert_eq!(
                (got.status, got.json()["errors"][0]["code"].clone()),
                (400, json!("InvalidJsonInput")),
                "{body}"
            );
        }
        // Write-once customer number.
        let got = call(
            &store,
            "POST",
            &path,
            &BEARER,
            Some(
                &json!({"version": 1, "actions": [{"action": "setCustomerNumber", "customerNumber": "123"}]}),
            ),
        )
        .await;
        assert_eq!(got.status, 200);
        let got = call(
            &store,
            "POST",
            &path,
            &BEARER,
            Some(
                &json!({"version": 2, "actions": [{"action": "setCustomerNumber", "customerNumber": "456"}]}),
            ),
        )
        .await;
        assert_eq!(
            (got.status, got.json()["errors"][0]["code"].clone()),
            (400, json!("InvalidOperation"))
        );
        let mut expected = record;
        expected["customerNumber"] = json!("123");
        expected["version"] = json!(2);
        assert_eq!(store.record(&id), Some(expected));
    }

    #[tokio::test]
    async fn commercetools_hands_out_a_token_for_basic_client_credentials() {
        let (store, _, _) = store().await;
        let got = call(
            &store,
            "POST",
            "/oauth/token?grant_type=client_credentials",
            &[("authorization", "Basic Y2xpZW50OnNlY3JldA==")],
            None,
        )
        .await;
        assert_eq!(
            (got.status, got.json()["token_type"].clone()),
            (200, json!("Bearer"))
        );
        let got = call(&store, "POST", "/oauth/token", &[], None).await;
        assert_eq!(
            (got.status, got.json()["error"].clone()),
            (401, json!("invalid_client"))
        );
    }
}
