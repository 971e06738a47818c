//! The fidelity matrix: for every source → target pair, which of the source's request members
//! are carried, derived, or lost. Computed from the definitions alone (no request needed).

use serde_json::Value;

use crate::plan::{Rule, Shape};
use crate::pointer::Pointer;
use crate::registry::Registry;
use crate::translate::Endpoint;

/// One source → target pair.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MatrixEntry {
    pub from: String,
    pub to: String,
    /// Source members (pointers into the source body) carried as they are.
    pub carried: Vec<String>,
    /// Source members the target receives only through a derivation.
    pub derived: Vec<String>,
    /// Source members the target has no place for.
    pub lost: Vec<String>,
}

/// A canonical leaf, with `*` for any array index, and where the endpoint puts it.
struct Leaf {
    canonical: Pointer,
    source: String,
}

impl Registry {
    /// The fidelity matrix over `canonical` and every loaded dialect.
    pub fn matrix(&self) -> Vec<MatrixEntry> {
        let mut ids = vec!["canonical".to_owned()];
        ids.extend(self.dialects().iter().map(|d| d.id().to_owned()));
        let mut out = Vec::new();
        for from in &ids {
            for to in &ids {
                if from == to {
                    continue;
                }
                let (Some(a), Some(b)) = (self.endpoint(from), self.endpoint(to)) else {
                    continue;
                };
                out.push(self.entry(&a, &b));
            }
        }
        out
    }

    fn leaves(&self, e: &Endpoint) -> Vec<Leaf> {
        let mut out = Vec::new();
        match e {
            Endpoint::Canonical => {
                let schema = &self.canonical.update_json;
                schema_leaves(schema, schema, &Pointer::root(), &mut out);
            }
            Endpoint::Dialect(d) => {
                rule_leaves(&d.request.rules, &Pointer::root(), &d.request.envelope, &mut out);
            }
        }
        out
    }

    fn entry(&self, a: &Endpoint, b: &Endpoint) -> MatrixEntry {
        let targets = self.leaves(b);
        let derives: Vec<Pointer> = match b {
            Endpoint::Canonical => Vec::new(),
            Endpoint::Dialect(d) => {
                let mut out = Vec::new();
                derive_sources(&d.request.rules, &Pointer::root(), &mut out);
                out
            }
        };
        let mut entry = MatrixEntry {
            from: a.id().to_owned(),
            to: b.id().to_owned(),
            carried: vec![],
            derived: vec![],
            lost: vec![],
        };
        for leaf in self.leaves(a) {
            if targets.iter().any(|t| {
                t.canonical.is_prefix_of(&leaf.canonical) || leaf.canonical.is_prefix_of(&t.canonical)
            }) {
                entry.carried.push(leaf.source);
            } else if derives.contains(&leaf.canonical) {
                entry.derived.push(leaf.source);
            } else {
                entry.lost.push(leaf.source);
            }
        }
        entry
    }
}

fn rule_leaves(rules: &[Rule], canonical_base: &Pointer, dialect_base: &Pointer, out: &mut Vec<Leaf>) {
    for rule in rules {
        let c = canonical_base.join(&rule.canonical);
        let d = dialect_base.join(&rule.dialect);
        match &rule.shape {
            Shape::Leaf => out.push(Leaf {
                canonical: c,
                source: d.to_string(),
            }),
            Shape::Object { rules, .. } => rule_leaves(rules, &c, &d, out),
            Shape::Array { rules } => rule_leaves(rules, &c.child("*"), &d.child("*"), out),
        }
    }
}

fn derive_sources(rules: &[Rule], base: &Pointer, out: &mut Vec<Pointer>) {
    for rule in rules {
        if let Some(d) = &rule.derive {
            out.extend(d.from.iter().map(|f| base.join(f)));
        }
        match &rule.shape {
            Shape::Leaf => {}
            Shape::Object { rules, .. } => derive_sources(rules, &base.join(&rule.canonical), out),
            Shape::Array { rules } => derive_sources(rules, &base.join(&rule.canonical).child("*"), out),
        }
    }
}

fn schema_leaves(root: &Value, node: &Value, at: &Pointer, out: &mut Vec<Leaf>) {
    let node = match node
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
    {
        Some(p) => root.pointer(p).unwrap_or(node),
        None => node,
    };
    // Opaque objects (metadata, extensions) have no declared properties: one leaf.
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            schema_leaves(root, v, &at.child(k.clone()), out);
        }
    } else if let Some(items) = node.get("items").filter(|i| {
        let i = match i
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(p) => root.pointer(p).unwrap_or(i),
            None => i,
        };
        i.get("properties").is_some()
    }) {
        schema_leaves(root, items, &at.child("*"), out);
    } else {
        out.push(Leaf {
            canonical: at.clone(),
            source: at.to_string(),
        });
    }
}
