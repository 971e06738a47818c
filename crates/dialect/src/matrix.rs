//! The fidelity matrix: for every source → target pair, which of the source's request members
//! are carried, derived, or lost. Computed from the definitions alone (no request needed).

use serde_json::Value;

use crate::endpoint::Side;
use crate::plan::{Rule, Shape};
use crate::pointer::Pointer;
use crate::registry::Registry;

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
pub(crate) struct Leaf {
    canonical: Pointer,
    source: String,
}

/// The fidelity matrix over `canonical` and every loaded dialect.
pub(crate) fn matrix(registry: &Registry) -> Vec<MatrixEntry> {
    let mut ids = vec!["canonical".to_owned()];
    ids.extend(registry.dialects().iter().map(|d| d.id().to_owned()));
    let mut out = Vec::new();
    for from in &ids {
        for to in &ids {
            if from == to {
                continue;
            }
            let (Some(a), Some(b)) = (registry.endpoint(from), registry.endpoint(to)) else {
                continue;
            };
            out.push(entry(a.side(registry), b.side(registry)));
        }
    }
    out
}

fn entry(a: &dyn Side, b: &dyn Side) -> MatrixEntry {
    let targets = b.request_leaves();
    let derives = b.derived_sources();
    let mut entry = MatrixEntry {
        from: a.id().to_owned(),
        to: b.id().to_owned(),
        carried: vec![],
        derived: vec![],
        lost: vec![],
    };
    for leaf in a.request_leaves() {
        if targets
            .iter()
            .any(|t| t.canonical.is_prefix_of(&leaf.canonical) || leaf.canonical.is_prefix_of(&t.canonical))
        {
            entry.carried.push(leaf.source);
        } else if derives.contains(&leaf.canonical) {
            entry.derived.push(leaf.source);
        } else {
            entry.lost.push(leaf.source);
        }
    }
    entry
}

/// The leaves of a dialect's request rules (`rules` below `envelope`).
pub(crate) fn dialect_leaves(rules: &[Rule], envelope: &Pointer) -> Vec<Leaf> {
    let mut out = Vec::new();
    rule_leaves(rules, &Pointer::root(), envelope, &mut out);
    out
}

/// The canonical members a dialect's request rules derive members from.
pub(crate) fn derived_sources(rules: &[Rule]) -> Vec<Pointer> {
    let mut out = Vec::new();
    derive_sources(rules, &Pointer::root(), &mut out);
    out
}

/// The leaves of the canonical update schema.
pub(crate) fn schema_leaves(schema: &Value) -> Vec<Leaf> {
    let mut out = Vec::new();
    schema_walk(schema, schema, &Pointer::root(), &mut out);
    out
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

fn schema_walk(root: &Value, node: &Value, at: &Pointer, out: &mut Vec<Leaf>) {
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
            schema_walk(root, v, &at.child(k.clone()), out);
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
        schema_walk(root, items, &at.child("*"), out);
    } else {
        out.push(Leaf {
            canonical: at.clone(),
            source: at.to_string(),
        });
    }
}
