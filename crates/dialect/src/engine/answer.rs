//! Canonical → dialect success answer: a canonical Customer as the dialect's success body,
//! shaped by the answer's view (the upstream's own members passed through when it speaks the
//! caller's dialect, members that speak of an update left out of a read, the caller's pick of
//! relations).

use std::borrow::Cow;
use std::sync::OnceLock;

use dialectgate_canonical::Problem;
use serde_json::{Map, Value};

use super::AnswerView;
use super::encode::encode_message;
use crate::compiled::Compiled;
use crate::doc::{Doc, Sorted};

/// See [`crate::Dialect::encode_response`]; `view` shapes the answer further: the upstream's own
/// members pass through (same dialect on both sides), then the caller's pick of relations. The
/// answer borrows the customer's strings, the upstream's and the definition's; its members are
/// in the order a `Value`'s would be (sorted by name, as they are built), so its text is the same.
pub(crate) fn response<'a>(
    d: Compiled<'a>,
    customer: &'a Value,
    view: &AnswerView<'a>,
) -> Result<Doc<'a>, Problem> {
    static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();
    let doc = customer
        .as_object()
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new));
    let mut body: Doc<'a> = encode_message(d, d.response, doc, None)?;
    if view.read {
        // Members that speak of the update ("Customer updated successfully"), not of a read.
        for p in &d.response.read_omits {
            body.remove(p);
        }
    }
    if let Some(members) = body.object_at_mut(&d.response.envelope) {
        if let Some(upstream) = view.upstream {
            pass_through(d, upstream, members);
        }
        if let Some(expand) = &d.response.expand {
            expand.unpicked(view.query, |relation| members.retain(|(k, _)| k != relation));
        }
    }
    // Its members are in order already: every object was built in order (`Built::set`,
    // `Sorted`), what passed through was inserted in order, and removals keep it.
    Ok(body)
}

/// A not found answered to a caller of an operation whose answer says it with `null` at the
/// envelope (`null_means_not_found`): the success status, the constant and extra members, and
/// `null` at the envelope, or an empty array for an array envelope (BigCommerce's
/// `{"data": [], "meta": {}}`). `None` for any other problem or operation.
pub(crate) fn null_answer(d: Compiled<'_>, problem: &Problem) -> Option<crate::render::Rendered> {
    let m = d.response;
    if !m.null_means_not_found || problem.kind() != dialectgate_canonical::ErrorKind::NotFound {
        return None;
    }
    let mut body = Map::new();
    for (p, v) in m.constants.iter().chain(&m.extra) {
        p.set(&mut body, v.clone());
    }
    match &m.array {
        Some(list) => list.set(&mut body, Value::Array(Vec::new())),
        None => m.envelope.set(&mut body, Value::Null),
    }
    Some(crate::render::Rendered {
        status: m.status,
        content_type: "application/json".to_owned(),
        body: serde_json::to_vec(&body).unwrap_or_default(),
    })
}

/// The upstream speaks the caller's dialect: the members of its answer that no response rule
/// carries (the canonical model has no place for them: Medusa's `orders`, `deleted_at`) but
/// the dialect's response schema names are passed on as the upstream gave them (its answer
/// was checked against that schema when read). Only top-level members of the envelope object;
/// members the rules carry come from the canonical customer, as for any other upstream.
fn pass_through<'a>(d: Compiled<'_>, upstream: &'a Value, members: &mut Vec<(Cow<'a, str>, Doc<'a>)>) {
    let Some(Value::Object(theirs)) = d.response.envelope.get(upstream) else {
        return;
    };
    let mut schema = d.response_schema;
    let item = d.response.array.as_ref().map(|list| list.child("0"));
    for (i, segment) in d.response.envelope.segments().iter().enumerate() {
        // The array envelope's item is described by the array's `items`.
        let is_item = item.as_ref().is_some_and(|p| p.segments().len() == i + 1);
        schema = if is_item {
            &schema["items"]
        } else {
            &schema["properties"][segment]
        };
    }
    let Some(named) = schema["properties"].as_object() else {
        return;
    };
    for (key, value) in theirs {
        let carried = d
            .response
            .rules
            .iter()
            .any(|r| r.dialect.segments().first() == Some(key));
        if !carried && named.contains_key(key) {
            members.set_sorted(Cow::Borrowed(key.as_str()), Doc::borrowing(value));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::registry::Registry;

    fn customer() -> serde_json::Value {
        json!({
            "id": "cus_1",
            "email": "a@example.com",
            "groups": [{"id": "cgrp_1"}],
            "addresses": {
                "billing": {"line1": "1 Road", "city": "Town", "country": "GB"},
                "book": [{"id": "addr_1", "line1": "2 Road", "city": "Town", "country": "GB"}]
            }
        })
    }

    /// A Medusa upstream's answer: members the canonical model has no place for.
    fn medusa_upstream() -> Vec<u8> {
        serde_json::to_vec(&json!({"customer": {
            "id": "cus_1",
            "email": "upstream@example.com",
            "billing_address_id": "addr_9",
            "deleted_at": null,
            "orders": [{"id": "order_1"}],
            "password_hash": "not named by the schema"
        }}))
        .unwrap()
    }

    #[test]
    fn medusa_answers_with_its_default_relations_and_expand_replaces_them() {
        let reg = Registry::embedded().unwrap();
        let medusa = reg.endpoint("medusa").unwrap();
        let (_, body) = reg.encode_answer_to(&medusa, &customer(), "", None).unwrap();
        let c = &body["customer"];
        assert!(c.get("billing_address").is_none(), "{c}");
        assert!(c.get("groups").is_none(), "{c}");
        assert_eq!(c["shipping_addresses"][0]["id"], "addr_1");
        assert_eq!(c["deleted_at"], serde_json::Value::Null);
        assert!(c.get("orders").is_none(), "never invented: {c}");

        let (_, body) = reg
            .encode_answer_to(&medusa, &customer(), "expand=billing_address,%20groups", None)
            .unwrap();
        let c = &body["customer"];
        assert_eq!(c["billing_address"]["address_1"], "1 Road");
        assert_eq!(c["groups"], json!([{"id": "cgrp_1"}]));
        assert!(
            c.get("shipping_addresses").is_none(),
            "expand replaces the default: {c}"
        );

        // `fields` is validated but ignored, as in Medusa's handler; an empty expand picks none.
        let (_, plain) = reg.encode_answer_to(&medusa, &customer(), "", None).unwrap();
        let (_, fields) = reg
            .encode_answer_to(&medusa, &customer(), "fields=email", None)
            .unwrap();
        assert_eq!(plain, fields);
        // A repeated parameter: the last one counts.
        let (_, last) = reg
            .encode_answer_to(&medusa, &customer(), "expand=groups&expand=billing_address", None)
            .unwrap();
        assert!(last["customer"].get("groups").is_none());
        assert!(last["customer"].get("billing_address").is_some());
        let (_, none) = reg
            .encode_answer_to(&medusa, &customer(), "expand=", None)
            .unwrap();
        assert!(none["customer"].get("shipping_addresses").is_none());
    }

    #[test]
    fn a_same_dialect_upstream_passes_on_the_members_its_schema_names() {
        let reg = Registry::embedded().unwrap();
        let medusa = reg.endpoint("medusa").unwrap();
        let up = medusa_upstream();
        let (_, body) = reg
            .encode_answer_to(&medusa, &customer(), "", Some((&medusa, &up)))
            .unwrap();
        let c = &body["customer"];
        assert_eq!(c["orders"], json!([{"id": "order_1"}]));
        assert_eq!(c["billing_address_id"], "addr_9");
        assert!(
            c.get("password_hash").is_none(),
            "not named by the response schema: {c}"
        );
        assert_eq!(
            c["email"], "a@example.com",
            "members a rule carries come from the customer, never from the raw body"
        );

        // The caller's pick still applies to what passed through.
        let (_, body) = reg
            .encode_answer_to(&medusa, &customer(), "expand=groups", Some((&medusa, &up)))
            .unwrap();
        assert!(body["customer"].get("orders").is_none());
        assert_eq!(body["customer"]["billing_address_id"], "addr_9");

        // Another upstream dialect's body is never read for members.
        let other = reg.endpoint("checkoutpage").unwrap();
        let (_, body) = reg
            .encode_answer_to(&medusa, &customer(), "", Some((&other, &up)))
            .unwrap();
        assert!(body["customer"].get("orders").is_none());
        assert!(body["customer"].get("billing_address_id").is_none());
    }
}
