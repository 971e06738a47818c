//! The canonical update: an RFC 7396 JSON Merge Patch of the [`Customer`](crate::Customer)
//! document, typed so that "absent", "null (clear)" and "value" stay distinct for every member
//! (`schemas/canonical/update.json`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::Address;

/// One member of a merge patch: the field mask of the canonical update.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Patch<T> {
    /// Not mentioned: the stored value is left as it is.
    #[default]
    Absent,
    /// `null`: the stored value is cleared.
    Clear,
    /// A new value (objects merge, everything else replaces).
    Set(T),
}

impl<T> Patch<T> {
    /// True when the member was not mentioned at all.
    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }

    /// The new value, if one is set.
    pub fn as_set(&self) -> Option<&T> {
        match self {
            Patch::Set(v) => Some(v),
            Patch::Absent | Patch::Clear => None,
        }
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // `skip_serializing_if = "Patch::is_absent"` keeps absent members out; should one
            // reach here anyway, `null` would wrongly clear it, so refuse.
            Patch::Absent => Err(serde::ser::Error::custom(
                "an absent patch member must be skipped, not serialized",
            )),
            Patch::Clear => serializer.serialize_none(),
            Patch::Set(v) => v.serialize(serializer),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Called only when the member is present (`#[serde(default)]` covers absence).
        Ok(match Option::<T>::deserialize(deserializer)? {
            None => Patch::Clear,
            Some(v) => Patch::Set(v),
        })
    }
}

macro_rules! patch_struct {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(default, skip_serializing_if = "Patch::is_absent")]
                pub $field: Patch<$ty>,
            )*
        }
    };
}

patch_struct!(
    /// A merge patch of the canonical Customer. Read-only members (`id`, `has_password`,
    /// `has_account`, timestamps) are not part of it, so they cannot be written.
    CustomerPatch {
        email: String,
        name: NamePatch,
        phone: String,
        /// Write-only: never echoed back.
        password: String,
        status: String,
        tags: Vec<String>,
        groups: Vec<crate::Group>,
        company: CompanyPatch,
        notes: String,
        external_ref: String,
        billing_email: String,
        tax: TaxPatch,
        addresses: AddressesPatch,
        /// Merged key by key; a `null` value deletes that key.
        metadata: Map<String, Value>,
        extensions: Map<String, Value>,
    }
);

patch_struct!(
    /// A merge patch of [`Name`](crate::Name).
    NamePatch { given: String, family: String, full: String }
);

patch_struct!(
    /// A merge patch of [`Company`](crate::Company).
    CompanyPatch { id: String, name: String }
);

patch_struct!(
    /// A merge patch of [`Tax`](crate::Tax).
    TaxPatch {
        id: String,
        #[serde(rename = "type")]
        kind: String,
    }
);

patch_struct!(
    /// A merge patch of [`Addresses`](crate::Addresses); the address book is replaced whole.
    AddressesPatch { billing: AddressPatch, shipping: AddressPatch, book: Vec<Address> }
);

patch_struct!(
    /// A merge patch of one [`Address`].
    AddressPatch {
        id: String,
        label: String,
        given_name: String,
        family_name: String,
        name: String,
        company: String,
        line1: String,
        line2: String,
        city: String,
        region: String,
        postal_code: String,
        country: String,
        phone: String,
        instructions: String,
        default: bool,
    }
);

/// Applies an RFC 7396 merge patch to `target` in place.
///
/// Objects merge member by member, `null` removes a member, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_null_and_value_stay_distinct() {
        let patch: CustomerPatch = serde_json::from_value(json!({"email": "a@b.c", "phone": null})).unwrap();
        assert_eq!(patch.email, Patch::Set("a@b.c".to_owned()));
        assert_eq!(patch.phone, Patch::Clear);
        assert_eq!(patch.notes, Patch::Absent);
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            json!({"email": "a@b.c", "phone": null})
        );
    }

    #[test]
    fn nested_masks_survive_a_round_trip() {
        let v = json!({"name": {"given": "Ann", "family": null}, "addresses": {"billing": null}});
        let patch: CustomerPatch = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&patch).unwrap(), v);
    }

    #[test]
    fn read_only_members_are_not_writable() {
        for member in ["id", "has_password", "has_account", "created_at", "updated_at"] {
            let v = json!({ member: "x" });
            assert!(serde_json::from_value::<CustomerPatch>(v).is_err(), "{member}");
        }
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        // The example from RFC 7396 §3.
        let mut doc = json!({"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"},
            "tags": ["example", "sample"], "content": "This will be unchanged"});
        let patch = json!({"title": "Hello!", "phoneNumber": "+01-123-456-7890",
            "author": {"familyName": null}, "tags": ["example"]});
        merge_patch(&mut doc, &patch);
        assert_eq!(
            doc,
            json!({"title": "Hello!", "author": {"givenName": "John"},
            "tags": ["example"], "content": "This will be unchanged", "phoneNumber": "+01-123-456-7890"})
        );
    }
}
