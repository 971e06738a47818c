//! One side of a translation, the canonical form or a dialect, by name ([`Endpoint`]), and the
//! one dispatch to the interface both present ([`Side`], in `side.rs`).

use std::sync::Arc;

use crate::canonical::Canonical;
use crate::dialect::Dialect;
use crate::side::Side;

/// One side of a translation.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// The canonical form (merge patch in, Customer out, problem details for errors).
    Canonical,
    /// A vendor dialect.
    Dialect(Arc<Dialect>),
}

impl Endpoint {
    /// The endpoint id (`canonical` or the dialect id).
    pub fn id(&self) -> &str {
        match self {
            Endpoint::Canonical => "canonical",
            Endpoint::Dialect(d) => d.id(),
        }
    }

    /// Canonical pointers of the members this side's backends assign themselves (see
    /// `[response] volatile`).
    pub fn volatile(&self) -> Vec<String> {
        match self {
            Endpoint::Canonical => crate::canonical::CANONICAL_VOLATILE
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
            Endpoint::Dialect(d) => d.response.volatile.iter().map(ToString::to_string).collect(),
        }
    }

    /// Whether this side's success answers say which customer they are about: the canonical
    /// Customer has its `id`; a dialect, when a response rule maps the canonical `/id`. The
    /// gateway compares that id with the one it asked for; a side whose answers carry none
    /// cannot be checked.
    pub fn answer_carries_id(&self) -> bool {
        match self {
            Endpoint::Canonical => true,
            Endpoint::Dialect(d) => d.response.rules.iter().any(|r| r.canonical.segments() == ["id"]),
        }
    }

    /// This endpoint with `values` for its path variables (see
    /// [`Dialect::bind_path_params`]). The canonical form has none: any value is refused.
    ///
    /// # Errors
    /// Each name that is not a variable, and each variable left without a value.
    pub fn bind_path_params(
        &self,
        values: &std::collections::BTreeMap<String, String>,
    ) -> Result<Endpoint, Vec<String>> {
        match self {
            Endpoint::Canonical if values.is_empty() => Ok(Endpoint::Canonical),
            Endpoint::Canonical => Err(values
                .keys()
                .map(|name| format!("`{name}` is not a path variable: the canonical form has none"))
                .collect()),
            Endpoint::Dialect(d) => d.bind_path_params(values).map(|d| Endpoint::Dialect(Arc::new(d))),
        }
    }

    /// The dialect, unless canonical.
    pub fn dialect(&self) -> Option<&Arc<Dialect>> {
        match self {
            Endpoint::Canonical => None,
            Endpoint::Dialect(d) => Some(d),
        }
    }

    /// What this endpoint does, the canonical form being `canonical`: the one dispatch.
    pub(crate) fn side<'a>(&'a self, canonical: &'a Canonical) -> &'a dyn Side {
        match self {
            Endpoint::Canonical => canonical,
            Endpoint::Dialect(d) => &**d,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::registry::Registry;
    use crate::source::Source;

    /// The id rule every shipped definition has (vendor docs: each vendor's customer answer
    /// carries the customer's `id`).
    const ID_RULE: &str = "[[fields]]\ndialect = \"/id\"\ncanonical = \"/id\"\non = \"response\"\n";

    #[test]
    fn an_answer_carries_the_id_where_a_response_rule_maps_it() {
        let reg = Registry::embedded().unwrap();
        for id in [
            "canonical",
            "axim",
            "bigcommerce",
            "checkoutpage",
            "elasticpath",
            "medusa",
            "microbase",
        ] {
            assert!(reg.endpoint(id).unwrap().answer_carries_id(), "{id}");
        }
        let dir = std::env::temp_dir().join(format!("dialectgate-noid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/dialects/checkoutpage.toml");
        let text = std::fs::read_to_string(shipped).unwrap();
        assert!(text.contains(ID_RULE));
        // Its `volatile` list names the id's dialect member too.
        let edited = text
            .replacen(ID_RULE, "", 1)
            .replacen(r#"volatile = ["/id", "#, r#"volatile = ["#, 1);
        std::fs::write(dir.join("checkoutpage.toml"), edited).unwrap();
        let reg = Registry::from_sources(&Source::Dir(dir.clone()), &Source::Embedded).unwrap();
        assert!(!reg.endpoint("checkoutpage").unwrap().answer_carries_id());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
