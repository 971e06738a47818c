//! A caller's read at a dialect's retrieve route: which customer it names, from the path, the
//! body or the query (`id_in_query`), in the route's id form.

use dialectgate_canonical::{ErrorKind, Problem};
use serde_json::{Map, Value};

use super::Dialect;
use crate::engine::decode;
use crate::pointer::Pointer;
use crate::side::Side;

impl Dialect {
    /// The customer id of a retrieve request at this dialect's retrieve route: from the path,
    /// or from the body (`body`, with the query applied as the route declares; `None` for no
    /// body), which then carries nothing else.
    ///
    /// # Errors
    /// A validation problem in this dialect's words: no retrieve route, a query parameter it
    /// does not accept, no id, or members besides the id.
    pub fn retrieve_id(
        &self,
        path_id: Option<&str>,
        query: &str,
        body: Option<Value>,
    ) -> Result<String, Problem> {
        let Some(route) = &self.retrieve else {
            return Err(Problem::new(
                ErrorKind::NotFound,
                "this dialect has no retrieve operation",
            ));
        };
        if let Some(name) = &route.id_in_query {
            return crate::engine::query_id::read(self.compiled(), route, name, query, body);
        }
        let mut body = body.unwrap_or_else(|| Value::Object(Map::new()));
        decode::apply_query(self.compiled(), route, query, &mut body)?;
        let Some(at) = &route.id_in_body else {
            return crate::compiled::route_id(&self.errors, &self.id, route, path_id, &body);
        };
        let Value::Object(members) = &body else {
            return Err(self.refuse(
                ErrorKind::Validation,
                crate::validate::refusal("type", Pointer::root()),
            ));
        };
        if let Some(other) = members.keys().find(|k| at.segments().first() != Some(*k)) {
            let vars = crate::validate::MessageVars {
                property: Some(other.clone()),
                ..crate::validate::refusal("additionalProperties", Pointer::root().child(other.clone()))
            };
            return Err(self.refuse(ErrorKind::Validation, vars));
        }
        match at.get(&body) {
            // A string where the dialect's ids are strings: its form decides (an integer where
            // they are numbers).
            Some(v)
                if v.as_str().is_some_and(|s| !s.is_empty())
                    || !route.id_format.is_opaque() && !v.is_null() =>
            {
                crate::compiled::route_id(&self.errors, &self.id, route, None, &body)
            }
            Some(_) => Err(self.refuse(
                ErrorKind::Validation,
                crate::validate::refusal("type", at.clone()),
            )),
            None => {
                let vars = crate::validate::MessageVars {
                    property: at.last().map(str::to_owned),
                    at: Pointer::root(),
                    ..crate::validate::refusal("required", at.clone())
                };
                Err(self.refuse(ErrorKind::Validation, vars))
            }
        }
    }
}
