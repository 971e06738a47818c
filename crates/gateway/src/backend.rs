//! The embedded in-memory backend: a canonical commerce backend for trying the gateway out and
//! for CI, seeded with fixture customers. It speaks the canonical binding in process (the
//! gateway calls it directly instead of over HTTP) and applies updates as RFC 7396 merge
//! patches.

use std::collections::BTreeMap;
use std::sync::RwLock;

use dialectgate_canonical::{Customer, ErrorKind, Problem, merge_patch};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The in-memory store.
#[derive(Debug, Default)]
pub struct Backend {
    customers: RwLock<BTreeMap<String, Value>>,
}

impl Backend {
    /// A backend with the fixture customers (ids `cus_ada`, `cus_grace`, `cus_alan`).
    pub fn seeded() -> Backend {
        let backend = Backend::default();
        for doc in fixtures() {
            if let Some(id) = doc.get("id").and_then(Value::as_str) {
                backend.write().insert(id.to_owned(), doc.clone());
            }
        }
        backend
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Value>> {
        // A panic while holding the lock cannot leave a half-applied patch (every update is
        // computed on a copy and swapped in), so a poisoned lock is still consistent.
        self.customers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One customer, if it exists.
    pub fn get(&self, id: &str) -> Option<Value> {
        self.customers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    /// The answer for a customer the store does not hold.
    pub fn not_found(id: &str) -> Problem {
        Problem::new(
            ErrorKind::NotFound,
            format!("Customer with id {id} was not found"),
        )
    }

    /// Applies a canonical merge patch to customer `id` and returns the updated document.
    ///
    /// # Errors
    /// Not found; a duplicate email; a patch that would make an invalid Customer.
    pub fn update(&self, id: &str, patch: &Map<String, Value>) -> Result<Value, Problem> {
        let mut store = self.write();
        let current = store.get(id).ok_or_else(|| Backend::not_found(id))?;
        let mut patch = patch.clone();
        // The version is a precondition, not a member: this demonstration store keeps no
        // version, so it cannot check one (README: the embedded backend).
        patch.remove("version");
        // The password is write-only: the store keeps only whether one is set.
        if let Some(password) = patch.remove("password") {
            patch.insert("has_password".into(), Value::Bool(!password.is_null()));
        }
        normalise_name(current, &mut patch);
        let mut doc = current.clone();
        merge_patch(&mut doc, &Value::Object(patch));
        if let Some(email) = doc.get("email").and_then(Value::as_str) {
            let taken = store.iter().any(|(other, c)| {
                other != id
                    && c.get("email")
                        .and_then(Value::as_str)
                        .is_some_and(|e| e.eq_ignore_ascii_case(email))
            });
            if taken {
                return Err(Problem::new(
                    ErrorKind::Duplicate,
                    "a customer with this email already exists",
                ));
            }
        }
        if let Value::Object(map) = &mut doc {
            map.insert("updated_at".into(), Value::String(crate::date::now_rfc3339()));
        }
        // Checked in place (`&Value` is a deserializer): no copy of the customer for the check.
        if let Err(e) = Customer::deserialize(&doc) {
            return Err(Problem::new(
                ErrorKind::Validation,
                format!("the update would make an invalid customer: {e}"),
            ));
        }
        store.insert(id.to_owned(), doc.clone());
        Ok(doc)
    }
}

/// Keeps `name.full` and `name.given`/`name.family` consistent: whichever side the patch
/// changes, the other is recomputed (split at the first space / joined with one space).
fn normalise_name(current: &Value, patch: &mut Map<String, Value>) {
    let Some(Value::Object(name)) = patch.get_mut("name") else {
        return;
    };
    let cur = |k: &str| {
        current
            .pointer(&format!("/name/{k}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    if let Some(full) = name.get("full").cloned() {
        if !name.contains_key("given") && !name.contains_key("family") {
            let (given, family) = match full.as_str() {
                Some(f) => {
                    let f = f.trim();
                    match f.split_once(char::is_whitespace) {
                        Some((g, rest)) => (json!(g), json!(rest.trim())),
                        None => (json!(f), Value::Null),
                    }
                }
                None => (Value::Null, Value::Null),
            };
            name.insert("given".into(), given);
            name.insert("family".into(), family);
        }
    } else if name.contains_key("given") || name.contains_key("family") {
        let part = |k: &str| match name.get(k) {
            Some(v) => v.as_str().map(str::to_owned),
            None => cur(k),
        };
        let joined = [part("given"), part("family")]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>();
        let full = if joined.is_empty() {
            Value::Null
        } else {
            Value::String(joined.join(" "))
        };
        name.insert("full".into(), full);
    }
}

/// The fixture customers the embedded backend starts with.
pub fn fixtures() -> Vec<Value> {
    vec![
        json!({
            "id": "cus_ada",
            "email": "ada@example.com",
            "name": {"given": "Ada", "family": "Lovelace", "full": "Ada Lovelace"},
            "phone": "+44 20 7946 0001",
            "has_password": true,
            "status": "active",
            "tags": ["vip"],
            "groups": [{"id": "cgrp_vip", "name": "VIP"}],
            "company": {"id": "comp_analytical", "name": "Analytical Engines Ltd"},
            "notes": "Prefers email.",
            "external_ref": "crm-0001",
            "billing_email": "billing@analytical.example",
            "tax": {"id": "GB123456789", "type": "gb_vat"},
            "addresses": {
                "billing": {"line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"},
                "shipping": {"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"},
                "book": [{"id": "addr_ada_1", "label": "Home", "given_name": "Ada", "family_name": "Lovelace",
                          "line1": "12 St James's Square", "city": "London", "region": "London",
                          "postal_code": "SW1Y 4JH", "country": "GB", "phone": "442079460001", "default": true}]
            },
            "metadata": {"source": "fixture"},
            "has_account": true,
            "created_at": "2024-01-10T09:00:00Z",
            "updated_at": "2024-01-10T09:00:00Z"
        }),
        json!({
            "id": "cus_grace",
            "email": "grace@example.com",
            "name": {"given": "Grace", "family": "Hopper", "full": "Grace Hopper"},
            "has_password": false,
            "status": "active",
            "tags": [],
            "metadata": {},
            "has_account": false,
            "created_at": "2024-02-01T12:30:00Z",
            "updated_at": "2024-02-01T12:30:00Z"
        }),
        json!({
            "id": "cus_alan",
            "email": "alan@example.com",
            "name": {"given": "Alan", "family": "Turing", "full": "Alan Turing"},
            "has_password": false,
            "status": "inactive",
            "has_account": false,
            "created_at": "2024-03-15T08:15:00Z",
            "updated_at": "2024-03-15T08:15:00Z"
        }),
        // An id of digits: callers of a dialect whose ids are integers (BigCommerce) can
        // address it.
        json!({
            "id": "1815",
            "email": "augusta@example.com",
            "name": {"given": "Augusta", "family": "King", "full": "Augusta King"},
            "has_password": false,
            "status": "active",
            "has_account": false,
            "created_at": "2024-04-01T10:00:00Z",
            "updated_at": "2024-04-01T10:00:00Z"
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn fixtures_are_valid_customers() {
        for doc in fixtures() {
            serde_json::from_value::<Customer>(doc.clone()).unwrap_or_else(|e| panic!("{doc}: {e}"));
        }
    }

    #[test]
    fn merge_patch_updates_and_clears() {
        let b = Backend::seeded();
        let doc = b
            .update(
                "cus_ada",
                &patch(json!({"phone": null, "tags": ["a"], "metadata": {"source": null, "k": 1}})),
            )
            .unwrap();
        assert!(doc.get("phone").is_none());
        assert_eq!(doc["tags"], json!(["a"]));
        assert_eq!(doc["metadata"], json!({"k": 1}));
        assert_eq!(b.get("cus_ada").unwrap(), doc);
    }

    #[test]
    fn names_stay_consistent_both_ways() {
        let b = Backend::seeded();
        let doc = b
            .update(
                "cus_grace",
                &patch(json!({"name": {"full": "Grace Brewster Hopper"}})),
            )
            .unwrap();
        assert_eq!(
            doc["name"],
            json!({"given": "Grace", "family": "Brewster Hopper", "full": "Grace Brewster Hopper"})
        );
        let doc = b
            .update("cus_grace", &patch(json!({"name": {"family": "Murray"}})))
            .unwrap();
        assert_eq!(doc["name"]["full"], "Grace Murray");
    }

    #[test]
    fn password_is_never_stored() {
        let b = Backend::seeded();
        let doc = b
            .update("cus_alan", &patch(json!({"password": "s3cret"})))
            .unwrap();
        assert_eq!(doc["has_password"], true);
        assert!(!doc.to_string().contains("s3cret"));
    }

    #[test]
    fn not_found_and_duplicate() {
        let b = Backend::seeded();
        assert_eq!(
            b.update("nope", &patch(json!({"notes": "x"})))
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
        let e = b
            .update("cus_alan", &patch(json!({"email": "ADA@example.com"})))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Duplicate);
    }
}
