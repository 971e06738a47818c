//! A read whose customer id travels in the query (`[retrieve] id_in_query`): BigCommerce reads
//! one customer with `GET …/v3/customers?id:in=12`, a filter over the collection. The gateway
//! reads one customer per request: one id is a retrieve of that id; several are refused naming
//! the limit, never read in part.

use dialectgate_canonical::{ErrorKind, Problem};
use serde_json::Value;

use crate::compiled::Compiled;
use crate::pointer::Pointer;
use crate::route::Route;
use crate::validate::{MessageVars, refusal};

/// How many customers one read asks for at most.
pub(crate) const IDS_PER_READ: usize = 1;

/// The bare customer id of a read at `route`, whose parameter `name` carries it in `query`;
/// `body` must be absent (or empty).
///
/// # Errors
/// A validation problem in the dialect's words: a body with members, a parameter the route
/// does not accept, the id's parameter missing, repeated or listing several ids
/// (`too_many_ids`), or an id not in the route's form (`invalid_id`).
pub(crate) fn read(
    d: Compiled<'_>,
    route: &Route,
    name: &str,
    query: &str,
    body: Option<Value>,
) -> Result<String, Problem> {
    match body {
        None | Some(Value::Null) => {}
        Some(Value::Object(members)) => {
            if let Some(other) = members.keys().next() {
                let vars = MessageVars {
                    property: Some(other.clone()),
                    ..refusal("additionalProperties", Pointer::root().child(other.clone()))
                };
                return Err(d.refuse(ErrorKind::Validation, vars));
            }
        }
        Some(_) => return Err(d.refuse(ErrorKind::Validation, refusal("type", Pointer::root()))),
    }
    let mut ids: Vec<String> = Vec::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key == name {
            ids.extend(value.split(',').filter(|id| !id.is_empty()).map(str::to_owned));
        } else if !route.query.iter().any(|q| *q == key) {
            let vars = MessageVars {
                property: Some(key.into_owned()),
                ..refusal("query", Pointer::root())
            };
            return Err(d.refuse(ErrorKind::Validation, vars));
        }
    }
    let property = Some(name.to_owned());
    match ids.as_slice() {
        [] => Err(d.refuse(
            ErrorKind::Validation,
            MessageVars {
                property,
                ..refusal("required", Pointer::root())
            },
        )),
        [one] => route.id_format.decode_text(one).ok_or_else(|| {
            d.refuse(
                ErrorKind::Validation,
                MessageVars {
                    property,
                    format: route.id_format.describe(),
                    target: Some(d.id.to_owned()),
                    ..refusal("invalid_id", Pointer::root())
                },
            )
        }),
        _ => Err(d.refuse(
            ErrorKind::Validation,
            MessageVars {
                property,
                limit: Some(IDS_PER_READ.to_string()),
                ..refusal("too_many_ids", Pointer::root())
            },
        )),
    }
}
