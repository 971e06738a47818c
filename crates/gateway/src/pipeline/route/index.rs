//! Every loaded dialect's operation routes, indexed once at load: by segment count (a path
//! matches only routes with as many segments as it has), each bucket most specific first. The
//! route phase then tries only the routes that can match, and the first that does is the one
//! the scan of every route of every dialect would have chosen.

use std::sync::Arc;

use dialectgate_dialect::{Dialect, Registry, Route};

/// The routes of a registry's dialects, by segment count, most specific first.
#[derive(Debug)]
pub(crate) struct RouteIndex {
    /// `buckets[n]`: the routes of `n` segments with their dialect, sorted by
    /// [`Route::specificity`] (descending; routes equally specific keep the registry's order:
    /// dialect by dialect, each one's routes in order).
    buckets: Vec<Vec<Entry>>,
}

/// A route of the index, with its dialect and [`Route::first_byte`]: a path whose byte after
/// the leading `/` is another is turned away without a call to match it.
#[derive(Debug)]
struct Entry {
    dialect: Arc<Dialect>,
    route: Route,
    first_byte: Option<u8>,
}

impl RouteIndex {
    /// The index of `registry`'s operation routes.
    pub(crate) fn new(registry: &Registry) -> RouteIndex {
        let mut buckets: Vec<Vec<Entry>> = Vec::new();
        for dialect in registry.dialects() {
            for (_, route) in dialect.routes() {
                let n = route.specificity().count();
                if buckets.len() <= n {
                    buckets.resize_with(n + 1, Vec::new);
                }
                buckets[n].push(Entry {
                    dialect: dialect.clone(),
                    route: route.clone(),
                    first_byte: route.first_byte(),
                });
            }
        }
        for bucket in &mut buckets {
            // Stable: among equally specific routes the first in registry order stays first.
            bucket.sort_by(|a, b| b.route.specificity().cmp(a.route.specificity()));
        }
        RouteIndex { buckets }
    }

    /// The dialect whose operations serve `path`: of the routes matching it, the most specific
    /// (segment by segment from the left, a literal beats a variable), the first in registry
    /// order among equals.
    pub(crate) fn serving(&self, path: &str) -> Option<&Arc<Dialect>> {
        let rest = path.strip_prefix('/')?;
        // One segment per `/`, counting no further than the longest route (a long hostile path
        // is not read to its end).
        let segments = 1 + rest
            .bytes()
            .filter(|&b| b == b'/')
            .take(self.buckets.len())
            .count();
        let first = path.as_bytes().get(1);
        self.buckets
            .get(segments)?
            .iter()
            .find(|e| e.first_byte.is_none_or(|b| first == Some(&b)) && e.route.matches(path))
            .map(|e| &e.dialect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Registry {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        Registry::load(&root.join("config/dialects"), &root.join("schemas")).unwrap()
    }

    /// The scan the index replaces: every route of every dialect, the most specific match
    /// kept (the first of equals).
    fn scan<'a>(registry: &'a Registry, path: &str) -> Option<&'a Arc<Dialect>> {
        let mut best: Option<(&Arc<Dialect>, &Route)> = None;
        for dialect in registry.dialects() {
            for (_, route) in dialect.routes() {
                if route.match_path(path).is_none() {
                    continue;
                }
                if best.is_none_or(|(_, b)| route.specificity().gt(b.specificity())) {
                    best = Some((dialect, route));
                }
            }
        }
        best.map(|(d, _)| d)
    }

    /// Paths made from every shipped route's template (the template itself, its variables
    /// filled with plain and hostile values, a segment more or fewer, a trailing `/`), plus
    /// hostile paths of their own.
    fn paths(registry: &Registry) -> Vec<String> {
        let fills = [
            "cus_ada",
            "",
            "%2F",
            "a%2Fb",
            "..",
            ".",
            "%2e%2e",
            "%FF",
            "victim%40example.com",
            "é",
            "1815",
            "admin",
            "customers",
            "v2",
        ];
        let mut out: Vec<String> = [
            "",
            "/",
            "//",
            "///",
            "*",
            "no-slash",
            "/..",
            "/../admin/customers/x",
            "/admin//customers/x",
            "/admin/customers//",
            "/ADMIN/customers/x",
            "/admin/customers/x?y",
            "/oauth/access_token",
            "/oauth/token",
        ]
        .iter()
        .map(|p| (*p).to_owned())
        .collect();
        out.push(format!("/admin/customers/{}", "v".repeat(8000)));
        out.push("/a".repeat(4000));
        for dialect in registry.dialects() {
            for (_, route) in dialect.routes() {
                let template = route.path.as_str();
                out.push(template.to_owned());
                out.push(format!("{template}/"));
                out.push(format!("{template}/extra"));
                out.push(format!("/x{template}"));
                if let Some((head, _)) = template.rsplit_once('/') {
                    out.push(head.to_owned());
                }
                for fill in fills {
                    let mut path = String::new();
                    for part in template.split('/').skip(1) {
                        path.push('/');
                        path.push_str(if part.starts_with('{') { fill } else { part });
                    }
                    out.push(path);
                }
            }
        }
        out
    }

    #[test]
    fn the_index_serves_every_path_as_the_scan_of_every_route_does() {
        let registry = shipped();
        let index = RouteIndex::new(&registry);
        let paths = paths(&registry);
        let mut served = 0;
        for path in &paths {
            let want = scan(&registry, path).map(|d| d.id());
            assert_eq!(index.serving(path).map(|d| d.id()), want, "{path:?}");
            served += usize::from(want.is_some());
        }
        // Every dialect's routes were reached, not only refusals compared.
        assert!(served > registry.dialects().len() * 4, "{served}");
        for dialect in registry.dialects() {
            assert!(
                paths
                    .iter()
                    .any(|p| index.serving(p).is_some_and(|d| d.id() == dialect.id())),
                "{}",
                dialect.id()
            );
        }
    }

    #[test]
    fn a_literal_route_is_chosen_over_a_variable_one_at_the_same_path() {
        let registry = shipped();
        let index = RouteIndex::new(&registry);
        // commercetools' `/{projectKey}/customers/{id}` matches too; Medusa's literal wins.
        assert_eq!(
            index.serving("/admin/customers/c1").map(|d| d.id()),
            Some("medusa")
        );
        assert_eq!(
            index.serving("/my-project/customers/c1").map(|d| d.id()),
            Some("commercetools")
        );
    }
}
