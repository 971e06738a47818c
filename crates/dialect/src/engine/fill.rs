//! Read-modify-write: the members an encoding needs ([`Need`]) taken from the stored customer
//! and added to the caller's patch, so the target gets the caller's members plus the fewest
//! stored ones it cannot do without.

use dialectgate_canonical::merge_patch;
use serde_json::{Map, Value};

use super::Need;
use crate::compiled::{CompiledMessage, Shape};
use crate::pointer::Pointer;
use crate::report::{FillReason, FilledField};

/// What filling did: the members added, and the objects and maps now complete (the stored one
/// with the caller's patch merged in), which the encoder sends whole.
#[derive(Debug, Default)]
pub(crate) struct Filled {
    pub fields: Vec<FilledField>,
    pub complete: Vec<Pointer>,
}

/// Adds to `patch` what `needs` asks of `stored` (a canonical Customer). A member the caller
/// sent is never overwritten; a member the stored customer lacks is not invented (the encoder
/// then refuses or reports as it would without a read).
pub(crate) fn fill(patch: &mut Map<String, Value>, needs: &[Need], stored: &Value) -> Filled {
    let mut filled = Filled::default();
    for need in needs {
        let p = &need.pointer;
        match need.reason {
            FillReason::RequiredOnWrite | FillReason::Derived => {
                if p.get_member(patch).is_some() {
                    continue;
                }
                let part = || {
                    let (whole, i, n) = need.part_of.as_ref()?;
                    // The caller sent the last part (a last name) when no need asks for it.
                    let last_sent = !needs.iter().any(|o| {
                        o.part_of
                            .as_ref()
                            .is_some_and(|(w, j, m)| w == whole && *j + 1 == *m && m == n)
                    });
                    words_part(whole.get(stored)?.as_str()?, *i, *n, last_sent).map(Value::String)
                };
                if let Some(v) = p.get(stored).filter(|v| !v.is_null()).cloned().or_else(part) {
                    p.set(patch, v);
                    filled.fields.push(FilledField {
                        pointer: p.to_string(),
                        reason: need.reason,
                    });
                }
            }
            FillReason::Replaced => {
                let mut whole = match p.get(stored) {
                    Some(v @ Value::Object(_)) => v.clone(),
                    _ => Value::Object(Map::new()),
                };
                if let Some(sent) = p.get_member(patch) {
                    merge_patch(&mut whole, sent);
                }
                p.set(patch, whole);
                filled.complete.push(p.clone());
                filled.fields.push(FilledField {
                    pointer: p.to_string(),
                    reason: need.reason,
                });
            }
        }
    }
    filled
}

/// Part `i` of `n` of a `join_words` whole: the `i`-th word, the last part taking every word
/// left (a full name's first word is the given name, the rest the family name). When the caller
/// sends the last part (`last_sent`), it replaces the whole's last word only: the parts before
/// it are read from the other words, the one before the last taking every word left, so stored
/// middle words survive ("Mary Ann Smith" with a new last name keeps "Mary Ann"), and a
/// one-word whole ("Cher") is the given name. `None` when the whole has no such part.
fn words_part(whole: &str, i: usize, n: usize, last_sent: bool) -> Option<String> {
    let all: Vec<&str> = whole.split_whitespace().collect();
    let (words, n) = match (last_sent, all.len()) {
        (true, 2..) if n > 1 => (&all[..all.len() - 1], n - 1),
        (true, _) if n > 1 => (&all[..], n - 1),
        _ => (&all[..], n),
    };
    if i >= n {
        return None;
    }
    let part = if i + 1 == n {
        words.get(i..).map(|rest| rest.join(" ")).unwrap_or_default()
    } else {
        words.get(i).map(|w| (*w).to_owned()).unwrap_or_default()
    };
    (!part.is_empty()).then_some(part)
}

/// True when the caller's `sent` patch has a member at `p`, or clears an object holding it.
pub(crate) fn sent_by_caller(sent: &Map<String, Value>, p: &Pointer) -> bool {
    let mut cur = sent;
    for (i, seg) in p.segments().iter().enumerate() {
        match cur.get(seg) {
            None => return false,
            Some(Value::Object(inner)) if i + 1 < p.segments().len() => cur = inner,
            Some(_) => return true,
        }
    }
    true
}

/// What a side's requests need from the stored customer, by canonical pointer (the
/// fidelity matrix and the overflow keys a read keeps).
#[derive(Debug, Default)]
pub(crate) struct FillNeeds {
    /// Members required on every write.
    pub required: Vec<Pointer>,
    /// Objects and maps replaced in full.
    pub replaced: Vec<Pointer>,
    /// The extension bag, as the target's pointer (`/metadata`).
    pub bag: Option<String>,
}

/// The [`FillNeeds`] of a dialect's request message.
pub(crate) fn fill_needs(message: &CompiledMessage) -> FillNeeds {
    let mut replaced = Vec::new();
    for rule in &message.rules {
        let whole = match &rule.shape {
            Shape::Object { replace, .. } => *replace,
            Shape::Leaf => rule.replace,
            Shape::Array { .. } => false,
        };
        if whole {
            replaced.push(rule.canonical.clone());
        }
    }
    FillNeeds {
        required: message
            .required
            .iter()
            .filter_map(|p| message.rules.iter().find(|r| &r.dialect == p))
            .map(|r| r.canonical.clone())
            .collect(),
        replaced,
        bag: message.bag.as_ref().and_then(|bag| {
            message
                .rules
                .iter()
                .find(|r| &r.canonical == bag)
                .map(|r| message.envelope.join(&r.dialect).to_string())
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn need(p: &str, reason: FillReason) -> Need {
        Need {
            pointer: Pointer::parse(p).unwrap(),
            reason,
            part_of: None,
        }
    }

    fn stored() -> Value {
        json!({
            "id": "c1",
            "email": "ada@example.com",
            "name": {"given": "Ada", "family": "Lovelace", "full": "Ada Lovelace"},
            "metadata": {"a": 1, "b": 2},
            "addresses": {"billing": {"line1": "1 Road", "city": "Town", "country": "GB"}}
        })
    }

    #[test]
    fn a_missing_member_is_taken_from_the_stored_customer_and_a_sent_one_is_kept() {
        let mut patch = json!({"name": {"given": "Augusta"}})
            .as_object()
            .cloned()
            .unwrap();
        let filled = fill(
            &mut patch,
            &[
                need("/name/family", FillReason::Derived),
                need("/name/given", FillReason::RequiredOnWrite),
                need("/email", FillReason::RequiredOnWrite),
            ],
            &stored(),
        );
        assert_eq!(
            Value::Object(patch),
            json!({"name": {"given": "Augusta", "family": "Lovelace"}, "email": "ada@example.com"})
        );
        let pointers: Vec<_> = filled.fields.iter().map(|f| f.pointer.as_str()).collect();
        assert_eq!(pointers, ["/name/family", "/email"]);
        assert!(filled.complete.is_empty());
    }

    #[test]
    fn a_member_the_stored_customer_lacks_is_not_invented() {
        let mut patch = Map::new();
        let filled = fill(
            &mut patch,
            &[need("/phone", FillReason::RequiredOnWrite)],
            &stored(),
        );
        assert!(patch.is_empty());
        assert!(filled.fields.is_empty());
    }

    #[test]
    fn a_replaced_map_is_the_stored_one_with_the_patch_merged_in() {
        let mut patch = json!({"metadata": {"b": null, "c": 3}})
            .as_object()
            .cloned()
            .unwrap();
        let filled = fill(&mut patch, &[need("/metadata", FillReason::Replaced)], &stored());
        assert_eq!(patch["metadata"], json!({"a": 1, "c": 3}));
        assert_eq!(filled.complete, [Pointer::parse("/metadata").unwrap()]);

        let mut patch = json!({"addresses": {"billing": {"city": "Ville"}}})
            .as_object()
            .cloned()
            .unwrap();
        fill(
            &mut patch,
            &[need("/addresses/billing", FillReason::Replaced)],
            &stored(),
        );
        assert_eq!(
            patch["addresses"]["billing"],
            json!({"line1": "1 Road", "city": "Ville", "country": "GB"})
        );
    }

    #[test]
    fn a_part_of_a_stored_full_name_is_its_word() {
        // An Elastic Path customer holds only the full name.
        let stored = json!({"id": "c1", "name": {"full": "Ron Ulysses Swanson"}});
        let full = Pointer::parse("/name/full").unwrap();
        let mut patch = json!({"name": {"given": "Leslie"}}).as_object().cloned().unwrap();
        let family = Need {
            part_of: Some((full.clone(), 1, 2)),
            ..need("/name/family", FillReason::Derived)
        };
        fill(&mut patch, &[family], &stored);
        assert_eq!(
            patch["name"],
            json!({"given": "Leslie", "family": "Ulysses Swanson"})
        );
        let mut patch = json!({"name": {"family": "Knope"}}).as_object().cloned().unwrap();
        let given = Need {
            part_of: Some((full, 0, 2)),
            ..need("/name/given", FillReason::Derived)
        };
        fill(&mut patch, &[given], &stored);
        // A new last name replaces the last word only: the middle name survives (issue #22).
        assert_eq!(patch["name"], json!({"given": "Ron Ulysses", "family": "Knope"}));
        assert_eq!(words_part("Cher", 1, 2, false), None, "no family name to give");
        assert_eq!(words_part("Cher", 0, 2, true).as_deref(), Some("Cher"));
        assert_eq!(
            words_part("Mary Ann Smith", 0, 2, true).as_deref(),
            Some("Mary Ann")
        );
        assert_eq!(
            words_part("Mary Ann Smith", 1, 2, false).as_deref(),
            Some("Ann Smith")
        );
        assert_eq!(words_part("Mary Ann Smith", 0, 2, false).as_deref(), Some("Mary"));
        assert_eq!(words_part("", 0, 2, true), None);
    }

    #[test]
    fn sent_by_caller_follows_the_patch() {
        let sent = json!({"name": {"given": "A"}, "addresses": null})
            .as_object()
            .cloned()
            .unwrap();
        let p = |s: &str| Pointer::parse(s).unwrap();
        assert!(sent_by_caller(&sent, &p("/name/given")));
        assert!(sent_by_caller(&sent, &p("/name")));
        assert!(!sent_by_caller(&sent, &p("/name/family")));
        assert!(
            sent_by_caller(&sent, &p("/addresses/billing/city")),
            "a cleared ancestor"
        );
        assert!(!sent_by_caller(&sent, &p("/email")));
    }
}
