//! A caller's read at a dialect's retrieve route: which customer it names, from the path, the
//! body or the query (`id_in_query`), in the route's id form, and that a body carries nothing
//! else but the retrieve call's fixed members.

use dialectgate_canonical::{ErrorKind, Problem};
use serde_json::{Map, Value};

use super::Dialect;
use crate::engine::decode;
use crate::pointer::Pointer;
use crate::side::Side;

impl Dialect {
    /// The customer id of a retrieve request at this dialect's retrieve route: from the path,
    /// or from the body (`body`, with the query applied as the route declares; `None` for no
    /// body), which then carries nothing else but the retrieve call's fixed members
    /// (`[retrieve.request]`: its constants, with their values, and its extra members).
    ///
    /// # Errors
    /// A validation problem in this dialect's words: no retrieve route, a query parameter it
    /// does not accept, no id, members besides the id and the fixed ones, or a constant with
    /// another value.
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
        if !body.is_object() {
            return Err(self.refuse(
                ErrorKind::Validation,
                crate::validate::refusal("type", Pointer::root()),
            ));
        }
        let fixed = self.retrieve_request.as_ref();
        let constants = fixed.map_or(&[][..], |m| &m.constants[..]);
        let allowed: Vec<&Pointer> = std::iter::once(at)
            .chain(constants.iter().map(|(p, _)| p))
            .chain(fixed.into_iter().flat_map(|m| m.extra.iter().map(|(p, _)| p)))
            .collect();
        if let Some(other) = crate::engine::decode::member_outside(&body, &Pointer::root(), &allowed) {
            let vars = crate::validate::MessageVars {
                property: other.last().map(str::to_owned),
                at: other.parent().unwrap_or_default(),
                ..crate::validate::refusal("additionalProperties", other.clone())
            };
            return Err(self.refuse(ErrorKind::Validation, vars));
        }
        if let Some((p, v)) = constants.iter().find(|(p, v)| p.get(&body) != Some(v)) {
            let vars = crate::validate::MessageVars {
                allowed: Some(v.to_string()),
                ..crate::validate::refusal("const", p.clone())
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
