//! A dialect's success answers: which members an upstream's answer is decoded from (indexed
//! at load), and a canonical Customer written as this dialect's success answer, checked against
//! the vendor's schema.

use dialectgate_canonical::{ErrorKind, Problem};
use jsonschema::Validator;
use serde_json::Value;

use super::Dialect;
use crate::doc::{Doc, parse_doc};
use crate::engine::read::{self, MemberIndex, Said};
use crate::engine::{AnswerView, answer};
use crate::message::{self, Answer};
use crate::parse::{DEFAULT_MAX_DEPTH, DEFAULT_MAX_VALUES, Limits};
use crate::render;
use crate::route::Operation;

/// What an upstream's answer may hold (as [`crate::parse_strict`] allows).
const ANSWER_LIMITS: Limits = Limits {
    depth: DEFAULT_MAX_DEPTH,
    values: DEFAULT_MAX_VALUES,
};

impl Dialect {
    /// The index of the members the rules of `op`'s answer read (see [`Dialect::compiled_for`]).
    pub(super) fn answer_members_for(&self, op: Operation) -> &MemberIndex {
        match (op, &self.answer_members) {
            (Operation::Retrieve, (_, Some(read))) => read,
            (_, (update, _)) => update,
        }
    }

    /// Understands this dialect's upstream answer to `op` (see [`crate::side::Side::read_answer`]).
    /// The body is parsed once, into a document borrowing its bytes, which is checked against
    /// the response schema and decoded in place; a `Value` of it is made only for an error to
    /// classify and, with `keep`, for a caller of the same dialect.
    pub(super) fn read_upstream_answer(
        &self,
        op: Operation,
        status: u16,
        body: &[u8],
        customer: &Validator,
        keep: bool,
    ) -> (Answer, Option<Value>) {
        let d = self.compiled_for(op);
        let json = parse_doc(body, ANSWER_LIMITS).ok();
        let success = (200..300).contains(&status);
        // The answer is parsed once: an error is classified from the same parse.
        let said = json
            .as_ref()
            .filter(|_| success)
            .map(|j| read::said(d, j, || j.to_value()));
        let doc = match (said, json) {
            (Some(Said::Customer), Some(j)) => j,
            (Some(Said::Nobody), _) => {
                // An empty array envelope names no customer: the read's filter matched none.
                let problem = Problem::new(ErrorKind::NotFound, "the upstream's answer names no customer");
                return (Answer::Problem(problem), None);
            }
            (Some(Said::NotFound(problem)), _) => {
                return (Answer::Problem(message::upstream_fault(problem)), None);
            }
            (_, other) => {
                let other = other.as_ref().map(Doc::to_value);
                let problem = render::classify_parsed(&self.errors, status, other.as_ref());
                return (Answer::Problem(message::upstream_fault(problem)), None);
            }
        };
        let bad_gateway =
            |detail: String| (Answer::Problem(Problem::new(ErrorKind::BadGateway, detail)), None);
        if !self.schemas.response_doc.is_valid(&doc) {
            return bad_gateway(format!(
                "the upstream's answer does not match the {} response schema",
                self.id
            ));
        }
        match read::response(d, self.answer_members_for(op), &doc) {
            // Vendor schemas are looser than the canonical one (free-form dates, country codes):
            // what is passed on must be a canonical Customer.
            Ok(customer_doc) if customer.is_valid(&customer_doc) => {
                (Answer::Customer(customer_doc), keep.then(|| doc.to_value()))
            }
            Ok(_) => bad_gateway(format!(
                "the upstream's {} answer does not make a valid customer",
                self.id
            )),
            Err(_) => bad_gateway("the upstream's answer could not be decoded".to_owned()),
        }
    }

    /// A canonical Customer as this dialect's success answer, shaped by `view`: (status, body).
    /// Never answers a caller with something its own vendor would not send.
    pub(super) fn write_answer<'a>(
        &'a self,
        customer: &'a Value,
        view: &AnswerView<'a>,
    ) -> Result<(u16, Doc<'a>), Problem> {
        let op = if view.read {
            Operation::Retrieve
        } else {
            Operation::Update
        };
        let d = self.compiled_for(op);
        let body = answer::response(d, customer, view)?;
        if !self.schemas.response_doc.is_valid(&body) {
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

    use crate::doc::parse_doc;
    use crate::engine::read::{self as decode, MemberIndex, Said};
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

    /// What [`decode::said`] says, comparable.
    fn said<'b, N: crate::engine::node::Node<'b>>(
        c: crate::compiled::Compiled<'_>,
        body: N,
        whole: impl FnOnce() -> Value,
    ) -> String {
        match decode::said(c, body, whole) {
            Said::Customer => "customer".into(),
            Said::Nobody => "nobody".into(),
            Said::NotFound(p) => format!("not found: {p:?}"),
            Said::Other => "other".into(),
        }
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
                let doc = answer::response(c, &customer, &view).unwrap();
                // Its text is the text of the `Value` it equals: members sorted as a map sorts them.
                let full = doc.to_value();
                assert_eq!(
                    serde_json::to_vec(&doc).unwrap(),
                    serde_json::to_vec(&full).unwrap()
                );
                assert!(doc.is_sorted(), "{} {op:?}: built in order", d.id());
                // Members an upstream of the same dialect passes on and the caller's pick of
                // relations keep that order too (every relation picked, then none).
                for query in [
                    "",
                    "expand=orders,billing_address,groups,shipping_addresses",
                    "expand=",
                ] {
                    let shaped = AnswerView {
                        query,
                        upstream: Some(&example),
                        ..view
                    };
                    let doc = answer::response(c, &customer, &shaped).unwrap();
                    assert!(doc.is_sorted(), "{} {op:?} {query}: {doc:?}", d.id());
                    assert_eq!(
                        serde_json::to_vec(&doc).unwrap(),
                        serde_json::to_vec(&doc.to_value()).unwrap(),
                        "{} {op:?} {query}",
                        d.id()
                    );
                }
                for body in variants(&full, &c.response.envelope) {
                    let fast = decode::response(c, d.answer_members_for(op), &body);
                    let walk = decode::response(c, &MemberIndex::default(), &body);
                    assert_eq!(
                        format!("{fast:?}"),
                        format!("{walk:?}"),
                        "{} {op:?}: {body}",
                        d.id()
                    );
                    // Read from the text as the gateway reads it: the same customer, the same
                    // refusal, the same schema verdict and the same shape.
                    let text = serde_json::to_vec(&body).unwrap();
                    let doc = parse_doc(&text, super::ANSWER_LIMITS).unwrap();
                    for index in [d.answer_members_for(op), &MemberIndex::default()] {
                        let from_doc = decode::response(c, index, &doc);
                        assert_eq!(
                            format!("{from_doc:?}"),
                            format!("{walk:?}"),
                            "{} {op:?}: {body}",
                            d.id()
                        );
                    }
                    assert_eq!(
                        d.schemas.response_doc.is_valid(&doc),
                        d.schemas.response.is_valid(&body),
                        "{} {op:?}: {body}",
                        d.id()
                    );
                    assert_eq!(
                        said(c, &doc, || doc.to_value()),
                        said(c, &body, || body.clone()),
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
