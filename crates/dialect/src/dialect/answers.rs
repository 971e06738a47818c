//! A dialect's success answers: which members an upstream's answer is decoded from (indexed
//! at load), and a canonical Customer written as this dialect's success answer, checked against
//! the vendor's schema.

use dialectgate_canonical::{ErrorKind, Problem};
use serde_json::Value;

use super::Dialect;
use crate::engine::decode::MemberIndex;
use crate::engine::{AnswerView, answer};
use crate::message;
use crate::route::Operation;

impl Dialect {
    /// The index of the members the rules of `op`'s answer read (see [`Dialect::compiled_for`]).
    pub(super) fn answer_members_for(&self, op: Operation) -> &MemberIndex {
        match (op, &self.answer_members) {
            (Operation::Retrieve, (_, Some(read))) => read,
            (_, (update, _)) => update,
        }
    }

    /// A canonical Customer as this dialect's success answer, shaped by `view`: (status, body).
    /// Never answers a caller with something its own vendor would not send.
    pub(super) fn write_answer(
        &self,
        customer: &Value,
        view: &AnswerView<'_>,
    ) -> Result<(u16, Value), Problem> {
        let op = if view.read {
            Operation::Retrieve
        } else {
            Operation::Update
        };
        let d = self.compiled_for(op);
        let body = answer::response(d, customer, view)?;
        if !self.schemas.response.is_valid(&body) {
            return Err(if customer.get("id").is_none() {
                message::missing_id()
            } else {
                Problem::new(
                    ErrorKind::BadGateway,
                    format!(
                        "the upstream's answer cannot be expressed as a {} answer",
                        self.id
                    ),
                )
            });
        }
        Ok((d.response.status, body))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::{Value, json};

    use crate::engine::decode::{self, MemberIndex};
    use crate::engine::{AnswerView, answer};
    use crate::registry::Registry;
    use crate::route::Operation;

    /// `body` and the answers made from it by changing the object at `envelope`: each member
    /// left out, each member alone, each member alone with a value of every type, and members
    /// no rule reads.
    fn variants(body: &Value, envelope: &crate::pointer::Pointer) -> Vec<Value> {
        let Some(Value::Object(held)) = envelope.get(body) else {
            return vec![body.clone()];
        };
        let with = |members: serde_json::Map<String, Value>| {
            let mut b = body.clone();
            if let Some(at) = envelope.get_mut(&mut b) {
                *at = Value::Object(members);
            }
            b
        };
        let mut out = vec![body.clone(), with(serde_json::Map::new())];
        let mut unknown = held.clone();
        unknown.insert("aa_not_read".into(), json!(1));
        unknown.insert("zz_not_read".into(), json!({"a": "b"}));
        out.push(with(unknown));
        for (key, value) in held {
            let mut without = held.clone();
            without.remove(key);
            out.push(with(without));
            let kinds = [
                value.clone(),
                Value::Null,
                json!(7),
                json!("x"),
                json!([1]),
                json!({"a": 1}),
            ];
            for v in kinds {
                let mut alone = serde_json::Map::new();
                alone.insert(key.clone(), v.clone());
                alone.insert("zz_not_read".into(), json!(true));
                out.push(with(alone));
            }
        }
        out
    }

    #[test]
    fn the_member_index_decodes_every_answer_as_the_walk_over_every_rule() {
        let reg = Registry::embedded().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
        let mut indexed = 0;
        for d in reg.dialects() {
            let path = root.join(d.id()).join("response.vendor-example.json");
            let example: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            let customer = d.decode_response(&example).unwrap();
            for op in [Operation::Update, Operation::Retrieve] {
                let c = d.compiled_for(op);
                let view = AnswerView {
                    read: op == Operation::Retrieve,
                    ..AnswerView::default()
                };
                let full = answer::response(c, &customer, &view).unwrap();
                for body in variants(&full, &c.response.envelope) {
                    let fast = decode::response(c, d.answer_members_for(op), &body);
                    let walk = decode::response(c, &MemberIndex::default(), &body);
                    assert_eq!(
                        format!("{fast:?}"),
                        format!("{walk:?}"),
                        "{} {op:?}: {body}",
                        d.id()
                    );
                    indexed += usize::from(
                        c.response
                            .envelope
                            .get(&body)
                            .and_then(Value::as_object)
                            .is_some_and(|m| m.len() * 2 < d.answer_members_for(op).named_count()),
                    );
                }
            }
        }
        assert!(indexed > 100, "the index decoded {indexed} answers");
    }
}
