//! Where a dialect's operations live: a route's method, path template and id, matched against
//! a request's path and filled in for the upstream's.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::pointer::Pointer;

/// Where the operation lives and how its customer id travels.
#[derive(Debug, Clone)]
pub struct Route {
    /// The documented method (upper case).
    pub method: String,
    /// Other methods accepted inbound.
    pub also_methods: Vec<String>,
    /// The path template as written (`/v2/customers/{id}`).
    pub path: String,
    pub(crate) segments: Vec<PathSegment>,
    /// The segments as matched ([`pieces`]), built once with them.
    pub(crate) pieces: Vec<Piece>,
    /// Where the id is, when in the body.
    pub id_in_body: Option<Pointer>,
    /// Accepted query parameters.
    pub query: Vec<String>,
    /// Query parameters are read as body members.
    pub query_into_body: bool,
    /// Longest customer id accepted, in bytes.
    pub id_max_length: usize,
    /// The form of the customer id in this dialect (`id_format`).
    pub id_format: crate::id::IdFormat,
    /// The query parameter carrying the customer id, when it travels there (a read).
    pub id_in_query: Option<String>,
    /// Values of the path variables other than `{id}` for the paths the gateway sends: the
    /// definition's `path_params`, overridden by configuration (`Route::bind`).
    pub path_params: BTreeMap<String, String>,
    /// What a body must hold to be this operation (see [`Route::matches_body`]); empty when
    /// the method and path alone decide.
    pub body_match: Vec<BodyMatch>,
}

/// One condition of a route's `body_match`: the string at `at` matches `pattern`.
#[derive(Debug, Clone)]
pub struct BodyMatch {
    /// The body member, an absolute pointer.
    pub at: Pointer,
    /// The regular expression (searched anywhere in the value unless anchored).
    pub pattern: regex::Regex,
}

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Update a customer (the dialect's `route`).
    Update,
    /// Retrieve a customer (the dialect's `retrieve`).
    Retrieve,
}

impl Operation {
    /// `update` or `retrieve`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Update => "update",
            Operation::Retrieve => "retrieve",
        }
    }
}

impl Route {
    /// Matches a request path; `Some(id)` on a match (`None` inside when the id travels in the
    /// body). The id is percent-decoded.
    pub fn match_path(&self, path: &str) -> Option<Option<String>> {
        self.match_in_place(path).map(|id| id.map(Cow::into_owned))
    }

    /// True when `path` matches, as [`Route::match_path`] says, without copying the id out of
    /// the path (routing asks this of many routes; only the chosen one's id is taken).
    pub fn matches(&self, path: &str) -> bool {
        self.match_in_place(path).is_some()
    }

    /// [`Route::match_path`], the id borrowed from `path` unless percent-decoding changed it.
    fn match_in_place<'p>(&self, path: &'p str) -> Option<Option<Cow<'p, str>>> {
        // Read as bytes by index: `at` is where the next piece starts. A run of literal text
        // (slashes included) is compared in place at once; a variable or the id ends at the
        // next `/` (an ASCII byte, and every text piece is whole UTF-8 text matched byte for
        // byte, so every slice taken here is on a character boundary).
        if self.pieces.is_empty() {
            // A route without segments: no path is one.
            return None;
        }
        let bytes = path.as_bytes();
        let mut at = 0;
        let mut id = None;
        for piece in &self.pieces {
            let rest = bytes.get(at..)?;
            match piece {
                Piece::Text(text) => {
                    if !rest.starts_with(text.as_bytes()) {
                        return None;
                    }
                    at += text.len();
                }
                Piece::Var | Piece::Id => {
                    let len = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
                    if len == 0 {
                        return None;
                    }
                    if let Piece::Id = piece {
                        let part = path.get(at..at + len)?;
                        // An id without `%` is itself decoded (the usual case: no decoder pass).
                        let decoded = if part.contains('%') {
                            percent_encoding::percent_decode_str(part).decode_utf8().ok()?
                        } else {
                            Cow::Borrowed(part)
                        };
                        if decoded.is_empty() {
                            return None;
                        }
                        id = Some(decoded);
                    }
                    at += len;
                }
            }
        }
        (at == bytes.len()).then_some(id)
    }

    /// The path for customer `id` (the bare id, written in the route's `id_format`, then
    /// percent-encoded; an id the form cannot hold is refused before: see
    /// [`Route::writes_id`]), each path variable written with its value (percent-encoded as
    /// one segment). A variable without a value is written as its template (`{store_hash}`):
    /// only offline translation shows such a path; a gateway refuses to start with an upstream
    /// whose variables have no value (`Route::bind`).
    pub fn path_for(&self, id: &str) -> String {
        let written = self.id_format.encode_text(id);
        let id = written.as_deref().unwrap_or(id);
        let mut out = String::with_capacity(self.path.len() + id.len());
        for seg in &self.segments {
            out.push('/');
            match seg {
                PathSegment::Literal(lit) => out.push_str(lit),
                PathSegment::Id => out.extend(crate::id::segment(id)),
                PathSegment::Var(name) => match self.path_params.get(name) {
                    Some(value) => out.extend(crate::id::segment(value)),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                },
            }
        }
        out
    }

    /// The byte a path must hold just after its leading `/` to match, when the route's first
    /// segment is a literal (`v` for `/v2/customers/{id}`): known at load, so that routing turns
    /// most routes away without matching them (as [`Route::matches`] would: its first test).
    pub fn first_byte(&self) -> Option<u8> {
        match self.segments.first() {
            Some(PathSegment::Literal(lit)) => lit.as_bytes().first().copied(),
            _ => None,
        }
    }

    /// True when the route's operation is told apart from another at the same method and path
    /// by the body (`body_match`).
    pub fn matches_by_body(&self) -> bool {
        !self.body_match.is_empty()
    }

    /// True when `body` is this operation's: every `body_match` member is a string its
    /// expression matches (always true without `body_match`).
    pub fn matches_body(&self, body: &serde_json::Value) -> bool {
        self.body_match.iter().all(|m| {
            m.at.get(body)
                .and_then(serde_json::Value::as_str)
                .is_some_and(|s| m.pattern.is_match(s))
        })
    }

    /// True when the bare `id` can be written in this route's id form.
    pub fn writes_id(&self, id: &str) -> bool {
        self.id_format.can_write(id)
    }

    /// The query string that carries customer `id` (`id:in=12`), when the route reads the id
    /// from its query: the parameter's name as written (`:` kept, as the vendors document it),
    /// the id in the route's form, each percent-encoded outside RFC 3986 `unreserved`.
    pub fn query_for(&self, id: &str) -> Option<String> {
        let name = self.id_in_query.as_deref()?;
        let written = self.id_format.encode_text(id);
        let id = written.as_deref().unwrap_or(id);
        Some(format!(
            "{}={}",
            percent_encoding::utf8_percent_encode(name, crate::id::QUERY_NAME),
            crate::id::segment(id)
        ))
    }

    /// The names of the path variables other than `{id}`, in path order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            PathSegment::Var(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// This route with `values` for its path variables (configuration wins over the
    /// definition's `path_params`). Values for names that are not variables of the route are
    /// left out; [`crate::Dialect::bind_path_params`] refuses names no route of the dialect has.
    ///
    /// # Errors
    /// The name of the first variable left without a value.
    pub(crate) fn bind(&self, values: &BTreeMap<String, String>) -> Result<Route, String> {
        let mut bound = self.clone();
        for name in self.variables() {
            if let Some(v) = values.get(name) {
                bound.path_params.insert(name.to_owned(), v.clone());
            } else if !bound.path_params.contains_key(name) {
                return Err(name.to_owned());
            }
        }
        Ok(bound)
    }

    /// How specific the route is, for choosing among routes that match one path: segment by
    /// segment from the left, a literal (`true`) beats a variable or the id.
    pub fn specificity(&self) -> impl Iterator<Item = bool> + '_ {
        self.segments.iter().map(|s| matches!(s, PathSegment::Literal(_)))
    }

    /// True when `method` is accepted inbound.
    pub fn accepts_method(&self, method: &str) -> bool {
        // The documented method first, without the chained iterator: routing asks this of
        // every request, mostly of a route whose documented method it is.
        self.method.eq_ignore_ascii_case(method)
            || self.also_methods.iter().any(|m| m.eq_ignore_ascii_case(method))
    }

    /// The documented method, then the others accepted.
    pub fn methods(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.method.as_str()).chain(self.also_methods.iter().map(String::as_str))
    }
}

/// A route's path as it is matched: runs of literal text (the `/` before each segment
/// included: `/v2/customers/`) and the variables between them, so that a request's path is
/// compared a run at a time rather than a segment at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Text the path holds here as it is.
    Text(String),
    /// A path variable other than the id: a non-empty run of bytes up to the next `/`.
    Var,
    /// The customer id: as a variable, then percent-decoded.
    Id,
}

/// The pieces of a path made of `segments`: each segment is `/` and the segment; consecutive
/// literals make one text, and the `/` before a variable ends the text before it.
pub(crate) fn pieces(segments: &[PathSegment]) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut text = String::new();
    for seg in segments {
        text.push('/');
        match seg {
            PathSegment::Literal(lit) => text.push_str(lit),
            PathSegment::Var(_) => {
                out.push(Piece::Text(std::mem::take(&mut text)));
                out.push(Piece::Var);
            }
            PathSegment::Id => {
                out.push(Piece::Text(std::mem::take(&mut text)));
                out.push(Piece::Id);
            }
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathSegment {
    Literal(String),
    /// The customer id (`{id}`).
    Id,
    /// Another path variable (`{store_hash}`): any non-empty segment inbound, a configured
    /// value outbound.
    Var(String),
}

impl Route {
    /// True when a request could match both routes and neither is more specific: a method in
    /// common, as many segments, literals in the same places, and the same literal wherever
    /// both have one (two dialects on one route would make routing ambiguous). Of two routes
    /// that match one path, routing takes the more specific ([`Route::specificity`]).
    pub(crate) fn overlaps(&self, other: &Route) -> bool {
        let shares_method = other.methods().any(|m| self.accepts_method(m));
        shares_method
            && self.segments.len() == other.segments.len()
            && self.specificity().eq(other.specificity())
            && {
                self.segments
                    .iter()
                    .zip(&other.segments)
                    .all(|(x, y)| match (x, y) {
                        (PathSegment::Literal(x), PathSegment::Literal(y)) => x == y,
                        _ => true,
                    })
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The matcher as first written (split on `/`, segment by segment).
    fn reference(route: &Route, path: &str) -> Option<Option<String>> {
        let mut parts = path.strip_prefix('/')?.split('/');
        let mut id = None;
        for seg in &route.segments {
            let part = parts.next()?;
            match seg {
                PathSegment::Literal(lit) if lit == part => {}
                PathSegment::Literal(_) => return None,
                PathSegment::Var(_) if part.is_empty() => return None,
                PathSegment::Var(_) => {}
                PathSegment::Id => {
                    let decoded = percent_encoding::percent_decode_str(part).decode_utf8().ok()?;
                    if decoded.is_empty() {
                        return None;
                    }
                    id = Some(decoded.into_owned());
                }
            }
        }
        if parts.next().is_some() {
            return None;
        }
        Some(id)
    }

    #[test]
    fn paths_match_as_the_segment_by_segment_reading_does() {
        let route = |segments: Vec<PathSegment>| Route {
            pieces: pieces(&segments),
            method: "PUT".into(),
            also_methods: Vec::new(),
            path: String::new(),
            segments,
            id_in_body: None,
            query: Vec::new(),
            query_into_body: false,
            id_max_length: 64,
            id_format: crate::id::IdFormat::Opaque,
            id_in_query: None,
            path_params: BTreeMap::new(),
            body_match: Vec::new(),
        };
        let lit = |s: &str| PathSegment::Literal(s.into());
        let mut routes = vec![
            route(vec![lit("v2"), lit("customers"), PathSegment::Id]),
            route(vec![lit("customers"), PathSegment::Id, lit("update")]),
            route(vec![
                lit("services"),
                lit("customer"),
                lit("v1"),
                lit("customer.update"),
            ]),
            route(vec![PathSegment::Id]),
            route(vec![lit("")]),
            route(Vec::new()),
            route(vec![PathSegment::Var("a".into()), PathSegment::Id]),
            route(vec![lit("a"), PathSegment::Var("b".into()), lit(""), lit("c")]),
            route(vec![lit("a"), lit(""), lit("")]),
            route(vec![lit("a"), lit(""), PathSegment::Id]),
            route(vec![
                lit("stores"),
                PathSegment::Var("store_hash".into()),
                lit("v3"),
                lit("customers"),
            ]),
            route(vec![
                PathSegment::Var("projectKey".into()),
                lit("customers"),
                PathSegment::Id,
            ]),
        ];
        let reg = crate::registry::Registry::embedded().unwrap();
        for d in reg.dialects() {
            routes.extend(d.routes().map(|(_, r)| r.clone()));
        }
        let paths = [
            "",
            "/",
            "//",
            "/v2",
            "/v2/",
            "/v2/customers",
            "/v2/customers/",
            "/v2/customers/cus_1",
            "/v2/customers/cus_1/",
            "/v2/customers/cus%2F1",
            "/v2/customers/%FF",
            "/v2/customersx/a",
            "/v2x/customers/a",
            "/customers/cus_1/update",
            "/customers/cus_1/updatex",
            "/customers//update",
            "/services/customer/v1/customer.update",
            "/services/customer/v1/customer.update/",
            "/services/customer/v1/customer.updat",
            "/a//x",
            "/a/x/y",
            "/x",
            "/v1/customers/cus_ada",
            "/admin/customers/cus_ada",
            "/customers/cus_ada",
            "/v2/customers/cus_ada",
            "no-slash",
            "/é/ü",
            "/stores/abc/v3/customers",
            "/stores//v3/customers",
            "/stores/abc/v3/customers/",
            "/my-project/customers/c1",
            "//customers/c1",
            "/admin/api/2025-07/graphql.json",
            "/admin/api//graphql.json",
            "/admin/api/2025-07/graphql.jsonx",
            "/admin/api/2025-07/graphql.json/",
            "/v2/customersé/a",
            "/v2/customers/é%C3%A9",
            "/v2/customers/%",
            "/services/customer/v1/customer.updaté",
            "/admin/api/x/graphql.json",
            "/admin/api/graphql.json",
            "/admin/api/x/y/graphql.json",
            "/admin/api/x/graphql.jso",
            "/v2/customers/a/b",
            "/a//",
            "/a/b/",
            "/p/customers/%2F",
            "/p/customers/%00",
            "/p/customers/%",
            "/p/customers/é",
        ];
        for r in &routes {
            for m in [
                "GET", "get", "POST", "Post", "PUT", "PATCH", "DELETE", "", "POSTX",
            ] {
                let reference = r.methods().any(|x| x.eq_ignore_ascii_case(m));
                assert_eq!(r.accepts_method(m), reference, "{m} against {}", r.path);
            }
            for p in paths {
                // A path the first byte turns away is one the route does not match.
                if r.first_byte().is_some_and(|b| p.as_bytes().get(1) != Some(&b)) {
                    assert_eq!(reference(r, p), None, "{p} against {}", r.path);
                }
                assert_eq!(r.match_path(p), reference(r, p), "{p} against {}", r.path);
                assert_eq!(r.matches(p), reference(r, p).is_some(), "{p} against {}", r.path);
            }
        }
    }
}
