//! A Shopify shop's Admin GraphQL API for customers as Shopify documents it
//! (`docs/vendors/shopify.md`; the `customerUpdate` and `customer` reference pages, the schema
//! dumps):
//!
//! - everything is `POST /admin/api/{version}/graphql.json` with `{"query", "variables"}` and
//!   `X-Shopify-Access-Token`;
//! - `customerUpdate(input: CustomerInput!)`: `variables.input` with the customer's GID; only
//!   the members sent change, `tags` are replaced whole, `metafields` upserted by namespace and
//!   key, `addresses` replaced whole; the answer is `200 {"data": {"customerUpdate": {"customer",
//!   "userErrors"}}}`; an unknown id is the documented user error "Customer does not exist" at 200;
//! - `customer(id:)`: `{"data": {"customer": …}}`, `null` for an unknown id.
//!
//! The stand-in is not a GraphQL engine: it tells the two operations apart by the query text
//! (`customerUpdate` anywhere, else `customer(`) and answers **every stored member** of the
//! customer whatever the selection (plus `defaultEmailAddress`/`defaultPhoneNumber` and
//! `displayName` derived from them, and `metafields` as a connection's `nodes`). Its own choices
//! where the vendor is silent: an input member `CustomerInput` does not have is a top-level error
//! at 200 in graphql-ruby's wording; a duplicate email or phone is the user error "Email has
//! already been taken" / "Phone has already been taken" (REST's wording); a phone is stored in
//! E.164 once spaces, dashes, dots and parentheses are taken out, and one that is not E.164 then
//! (no `+` and country code) is "Phone is invalid"; an id that is not a customer GID is "Customer does not exist";
//! timestamps are left as given; a 401 is REST's documented body.

use serde_json::{Map, Value, json};

use super::{Seen, State, json_reply};
use crate::harness::Reply;

const GID: &str = "gid://shopify/Customer/";

/// `CustomerInput`'s members (2025-07, plus the later `multipassIdentifier`).
const INPUT: [&str; 15] = [
    "id",
    "firstName",
    "lastName",
    "email",
    "phone",
    "note",
    "locale",
    "tags",
    "taxExempt",
    "taxExemptions",
    "metafields",
    "addresses",
    "emailMarketingConsent",
    "smsMarketingConsent",
    "multipassIdentifier",
];

/// The documented user error for an unknown id.
pub fn does_not_exist() -> Value {
    json!({"data": {"customerUpdate": {"customer": null,
                                       "userErrors": [{"field": ["id"], "message": "Customer does not exist"}]}}})
}

/// The 401 body (REST fixtures; the GraphQL endpoint's is not documented).
pub fn unauthorized() -> Value {
    json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
}

/// The cost extension every answer carries (illustrative numbers, the documented shape).
fn cost() -> Value {
    json!({"cost": {"requestedQueryCost": 10, "actualQueryCost": 10,
                    "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0}}})
}

pub(super) fn handle(state: &mut State, req: &Seen) -> Reply {
    let on_route = req
        .path
        .strip_prefix("/admin/api/")
        .and_then(|rest| rest.strip_suffix("/graphql.json"))
        .is_some_and(|version| !version.is_empty() && !version.contains('/'));
    if !on_route || req.method != "POST" {
        return json_reply(404, &json!({"errors": "Not Found"}));
    }
    let query = req.body["query"].as_str().unwrap_or("");
    let compact: String = query.chars().filter(|c| !c.is_whitespace()).collect();
    let update = compact.contains("customerUpdate");
    if !update {
        state.reads += 1;
    }
    if req
        .header("x-shopify-access-token")
        .is_none_or(|t| t.trim().is_empty())
    {
        return json_reply(401, &unauthorized());
    }
    if query.is_empty() {
        return json_reply(
            400,
            &json!({"errors": {"query": "Required parameter missing or invalid"}}),
        );
    }
    if update {
        return customer_update(state, &req.body["variables"]);
    }
    if !compact.contains("customer(") {
        return json_reply(
            200,
            &json!({"errors": [{"message": "this stand-in answers only customerUpdate and customer(id:)"}]}),
        );
    }
    if let Some((status, body)) = &state.failing_reads {
        return json_reply(*status, body);
    }
    let id = match req.body["variables"]["id"].as_str() {
        Some(id) => id.to_owned(),
        // An id written into the query text: `customer(id:"gid://…")`.
        None => compact
            .split_once("customer(id:\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(id, _)| id.to_owned())
            .unwrap_or_default(),
    };
    let customer = key(&id)
        .and_then(|k| state.records.get(&k))
        .map_or(Value::Null, answer);
    json_reply(
        200,
        &json!({"data": {"customer": customer}, "extensions": cost()}),
    )
}

/// The store's key of a customer GID.
fn key(gid: &str) -> Option<String> {
    gid.strip_prefix(GID)
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
}

/// A stored customer as the API answers it (every member, see the module's documentation).
fn answer(record: &Value) -> Value {
    let mut c = record.clone();
    let email = record["email"].clone();
    let phone = record["phone"].clone();
    c["defaultEmailAddress"] = if email.is_string() {
        json!({"emailAddress": email})
    } else {
        Value::Null
    };
    c["defaultPhoneNumber"] = if phone.is_string() {
        json!({"phoneNumber": phone})
    } else {
        Value::Null
    };
    let name = [&record["firstName"], &record["lastName"]]
        .iter()
        .filter_map(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    c["displayName"] = json!(if name.is_empty() {
        email.as_str().or(phone.as_str()).unwrap_or("").to_owned()
    } else {
        name
    });
    c
}

fn user_errors(errors: Vec<(&str, &str)>) -> Reply {
    let errors: Vec<Value> = errors
        .into_iter()
        .map(|(field, message)| json!({"field": [field], "message": message}))
        .collect();
    json_reply(
        200,
        &json!({"data": {"customerUpdate": {"customer": null, "userErrors": errors}}, "extensions": cost()}),
    )
}

fn customer_update(state: &mut State, variables: &Value) -> Reply {
    let Some(Value::Object(input)) = variables.get("input") else {
        return json_reply(
            200,
            &json!({"errors": [{"message": "Variable $input of type CustomerInput! was provided invalid value",
                                "extensions": {"value": null, "problems": [{"path": [], "explanation": "Expected value to not be null"}]}}]}),
        );
    };
    if let Some(unknown) = input.keys().find(|k| !INPUT.contains(&k.as_str())) {
        let explanation = "Field is not defined on CustomerInput";
        return json_reply(
            200,
            &json!({"errors": [{"message": format!("Variable $input of type CustomerInput! was provided invalid value for {unknown} ({explanation})"),
                                "extensions": {"value": input, "problems": [{"path": [unknown], "explanation": explanation}]}}]}),
        );
    }
    let Some(id) = input.get("id").and_then(Value::as_str).and_then(key) else {
        return json_reply(200, &with_cost(does_not_exist()));
    };
    let Some(stored) = state.records.get(&id) else {
        return json_reply(200, &with_cost(does_not_exist()));
    };
    let mut errors = Vec::new();
    let taken = |member: &str, value: &str| {
        state.records.iter().any(|(other, r)| {
            *other != id && r[member].as_str().is_some_and(|v| v.eq_ignore_ascii_case(value))
        })
    };
    if let Some(email) = input.get("email").and_then(Value::as_str) {
        if !email.contains('@') {
            errors.push(("email", "Email is invalid"));
        } else if taken("email", email) {
            errors.push(("email", "Email has already been taken"));
        }
    }
    let phone = input.get("phone").and_then(Value::as_str).map(e164);
    match &phone {
        Some(None) => errors.push(("phone", "Phone is invalid")),
        Some(Some(phone)) if taken("phone", phone) => errors.push(("phone", "Phone has already been taken")),
        _ => {}
    }
    if !errors.is_empty() {
        return user_errors(errors);
    }
    let mut record = stored.clone();
    let Value::Object(r) = &mut record else {
        return user_errors(vec![("id", "Customer does not exist")]);
    };
    for (member, value) in input {
        match member.as_str() {
            "id" => {}
            "tags" => {
                let tags: Vec<Value> = match value {
                    Value::String(s) => s
                        .split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(|t| json!(t))
                        .collect(),
                    Value::Array(list) => list.clone(),
                    _ => Vec::new(),
                };
                r.insert("tags".into(), Value::Array(tags));
            }
            "metafields" => upsert_metafields(r, value),
            "phone" if value.is_string() => {
                r.insert("phone".into(), json!(phone.clone().flatten()));
            }
            _ => {
                r.insert(member.clone(), value.clone());
            }
        }
    }
    if record != *stored {
        state.writes += 1;
        state.records.insert(id, record.clone());
    }
    json_reply(
        200,
        &json!({"data": {"customerUpdate": {"customer": answer(&record), "userErrors": []}}, "extensions": cost()}),
    )
}

/// `phone` in E.164 once spaces, dashes, dots and parentheses are taken out, or `None`.
fn e164(phone: &str) -> Option<String> {
    let kept: String = phone
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let digits = kept.strip_prefix('+')?;
    let valid = (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    valid.then_some(kept)
}

fn with_cost(mut body: Value) -> Value {
    body["extensions"] = cost();
    body
}

/// Metafields are upserted by namespace and key; those not sent stay.
fn upsert_metafields(r: &mut Map<String, Value>, value: &Value) {
    let connection = r.entry("metafields").or_insert_with(|| json!({"nodes": []}));
    if !connection["nodes"].is_array() {
        *connection = json!({"nodes": []});
    }
    let Some(nodes) = connection["nodes"].as_array_mut() else {
        return;
    };
    for m in value.as_array().into_iter().flatten() {
        let same = |n: &&mut Value| n["namespace"] == m["namespace"] && n["key"] == m["key"];
        match nodes.iter_mut().find(same) {
            Some(n) => {
                n["value"] = m["value"].clone();
                if m.get("type").is_some() {
                    n["type"] = m["type"].clone();
                }
            }
            None => nodes.push(m.clone()),
        }
    }
}

/// The customer query page's example customer (Bob Bobsen), keyed by the number of its GID.
pub(super) fn sample() -> (String, Value) {
    (
        "544365967".into(),
        json!({
            "id": "gid://shopify/Customer/544365967", "legacyResourceId": "544365967",
            "firstName": "Bob", "lastName": "Bobsen", "email": "bob@example.com", "phone": null,
            "tags": [], "note": null, "locale": "en", "taxExempt": false, "verifiedEmail": true,
            "state": "ENABLED", "createdAt": "2025-05-12T20:21:18Z", "updatedAt": "2025-05-12T20:21:18Z"
        }),
    )
}

/// The reference page's `customerUpdate` mutation (selection as documented).
pub const UPDATE: &str = "mutation customerUpdate($input: CustomerInput!) {\n  customerUpdate(input: $input) {\n    customer { id firstName lastName email phone tags updatedAt }\n    userErrors { field message }\n  }\n}";

/// The reference notes' `customer(id:)` query.
pub const READ: &str = "query ($id: ID!) { customer(id: $id) { id legacyResourceId firstName lastName\n  defaultEmailAddress { emailAddress } defaultPhoneNumber { phoneNumber } tags note updatedAt } }";

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::{VendorStore, call};
    use super::{READ, UPDATE};

    const TOKEN: [(&str, &str); 1] = [("X-Shopify-Access-Token", "tok")];
    const PATH: &str = "/admin/api/2025-07/graphql.json";

    async fn store() -> (VendorStore, Value) {
        let (id, record) = super::sample();
        let mut tobi = record.clone();
        tobi["id"] = json!("gid://shopify/Customer/1018520244");
        tobi["email"] = json!("tobi@example.com");
        tobi["phone"] = json!("+16465555555");
        let store =
            VendorStore::start("shopify", vec![(id, record.clone()), ("1018520244".into(), tobi)]).await;
        (store, record)
    }

    #[tokio::test]
    async fn shopify_answers_the_customer_query_and_null_for_an_unknown_id() {
        let (store, record) = store().await;
        let read = |id: &str| json!({"query": READ, "variables": {"id": id}});
        let got = call(
            &store,
            "POST",
            PATH,
            &TOKEN,
            Some(&read("gid://shopify/Customer/544365967")),
        )
        .await;
        assert_eq!(got.status, 200);
        let c = got.json()["data"]["customer"].clone();
        assert_eq!(
            (&c["id"], &c["firstName"], &c["lastName"]),
            (&record["id"], &json!("Bob"), &json!("Bobsen"))
        );
        assert_eq!(
            c["defaultEmailAddress"],
            json!({"emailAddress": "bob@example.com"})
        );
        assert_eq!(c["defaultPhoneNumber"], Value::Null);
        let got = call(
            &store,
            "POST",
            PATH,
            &TOKEN,
            Some(&read("gid://shopify/Customer/1")),
        )
        .await;
        assert_eq!(
            (got.status, got.json()["data"].clone()),
            (200, json!({"customer": null}))
        );
        let got = call(&store, "POST", PATH, &[], Some(&read("gid://shopify/Customer/1"))).await;
        assert_eq!((got.status, got.json()), (401, super::unauthorized()));
        assert_eq!((store.reads(), store.writes()), (3, 0));
    }

    #[tokio::test]
    async fn shopify_updates_the_members_sent_and_reports_user_errors_at_200() {
        let (store, record) = store().await;
        let update = |input: Value| json!({"query": UPDATE, "variables": {"input": input}});
        // The reference page's example, literal.
        let got = call(
            &store,
            "POST",
            PATH,
            &TOKEN,
            Some(&update(json!(
            {"id": "gid://shopify/Customer/1018520244", "firstName": "Tobi", "lastName": "Lutke"}))),
        )
        .await;
        assert_eq!(got.status, 200);
        let payload = got.json()["data"]["customerUpdate"].clone();
        assert_eq!(payload["userErrors"], json!([]));
        assert_eq!(
            (
                &payload["customer"]["id"],
                &payload["customer"]["firstName"],
                &payload["customer"]["lastName"]
            ),
            (
                &json!("gid://shopify/Customer/1018520244"),
                &json!("Tobi"),
                &json!("Lutke")
            )
        );
        assert_eq!(store.record("1018520244").unwrap()["email"], "tobi@example.com");
        // Tags replace; metafields upsert.
        for input in [
            json!({"id": "gid://shopify/Customer/544365967", "tags": ["a", "b"], "metafields": [{"namespace": "crm", "key": "tier", "value": "gold", "type": "single_line_text_field"}]}),
            json!({"id": "gid://shopify/Customer/544365967", "tags": "c, d", "metafields": [{"namespace": "crm", "key": "team", "value": "parks", "type": "single_line_text_field"}]}),
        ] {
            assert_eq!(
                call(&store, "POST", PATH, &TOKEN, Some(&update(input)))
                    .await
                    .status,
                200
            );
        }
        let stored = store.record("544365967").unwrap();
        assert_eq!(stored["tags"], json!(["c", "d"]));
        assert_eq!(stored["metafields"]["nodes"].as_array().unwrap().len(), 2);
        // The documented unknown id; a taken email; a phone not in E.164; an unknown member.
        let got = call(
            &store,
            "POST",
            PATH,
            &TOKEN,
            Some(&update(
                json!({"id": "gid://shopify/Customer/1", "firstName": "X"}),
            )),
        )
        .await;
        assert_eq!(
            (got.status, got.json()["data"].clone()),
            (200, super::does_not_exist()["data"].clone())
        );
        for (input, field) in [
            (json!({"id": record["id"], "email": "TOBI@example.com"}), "email"),
            (json!({"id": record["id"], "phone": "555-0100"}), "phone"),
        ] {
            let got = call(&store, "POST", PATH, &TOKEN, Some(&update(input))).await;
            assert_eq!(got.status, 200);
            assert_eq!(
                got.json()["data"]["customerUpdate"]["userErrors"][0]["field"],
                json!([field])
            );
        }
        let got = call(
            &store,
            "POST",
            PATH,
            &TOKEN,
            Some(&update(json!({"id": record["id"], "password": "x"}))),
        )
        .await;
        assert_eq!(got.status, 200);
        assert!(
            got.json()["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("password")
        );
        assert_eq!(store.writes(), 3);
    }
}
