//! The fidelity matrix: for every source → target pair, which of the source's request members
//! are carried, derived, or lost. Computed from the definitions alone (no request needed). Every
//! member of the source's request schema is counted: one its definition maps nowhere is lost.

use serde_json::Value;

use crate::canonical::Canonical;
use crate::compiled::{Rule, Shape};
use crate::endpoint::Endpoint;
use crate::engine::fill::{FillNeeds, fill_needs};
use crate::pointer::Pointer;
use crate::registry::Registry;
use crate::report::LossReason;

/// One source → target pair.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MatrixEntry {
    pub from: String,
    pub to: String,
    /// Source members (pointers into the source body) carried as they are.
    pub carried: Vec<String>,
    /// Source members the target receives only through a derivation.
    pub derived: Vec<String>,
    /// Source members that reach the target with stored members filled in beside them.
    pub filled: Vec<String>,
    /// Source members that reach the target only in its extension bag (`translation.overflow`).
    pub overflow: Vec<String>,
    /// Source members the target has no place for.
    pub lost: Vec<String>,
    /// Every source member, in source order: its fate and where it lands.
    pub members: Vec<MemberFate>,
}

impl MatrixEntry {
    /// How many source members meet `fate`.
    pub fn count(&self, fate: Fate) -> usize {
        self.members.iter().filter(|m| m.fate == fate).count()
    }
}

/// What becomes of a source member in a target. New fates (filled by a read-modify-write,
/// kept in an overflow bag) are new variants here, and [`Fate::ALL`] carries them to every view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    /// Carried as it is.
    Carried,
    /// The target receives it only through a derivation.
    Derived,
    /// Carried or derived, with members of the stored customer the target needs beside it
    /// (`translation.fill = "read"`: its required members, the rest of an object or map it
    /// replaces in full, the other members a derivation reads).
    Filled,
    /// The target has no place for it but an extension bag, where it travels with
    /// `translation.overflow` (lost otherwise).
    Overflow,
    /// The target has no place for it.
    Lost,
}

impl Fate {
    /// Every fate, in the order views show them.
    pub const ALL: [Fate; 5] = [
        Fate::Carried,
        Fate::Derived,
        Fate::Filled,
        Fate::Overflow,
        Fate::Lost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Fate::Carried => "carried",
            Fate::Derived => "derived",
            Fate::Filled => "filled",
            Fate::Overflow => "overflow",
            Fate::Lost => "lost",
        }
    }
}

/// One source member of a pair.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MemberFate {
    /// Pointer into the source body (`*` for any array index).
    pub member: String,
    pub fate: Fate,
    /// The target members it reaches: carried to, or derived into.
    pub target: Vec<String>,
    /// Why it is lost (lost members only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<LossReason>,
}

/// A canonical leaf, with `*` for any array index, and where the endpoint puts it.
pub(crate) struct Leaf {
    canonical: Pointer,
    /// The member in the endpoint's body (for the canonical form, the canonical member).
    dialect: Pointer,
    source: String,
}

/// A target member computed from a canonical member.
pub(crate) struct DerivedLeaf {
    from: Pointer,
    target: String,
    /// Every member the derivation reads.
    sources: Vec<Pointer>,
}

impl Registry {
    /// The fidelity matrix over `canonical` and every loaded dialect.
    pub fn matrix(&self) -> Vec<MatrixEntry> {
        matrix(self)
    }
}

/// The fidelity matrix over `canonical` and every loaded dialect.
fn matrix(registry: &Registry) -> Vec<MatrixEntry> {
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
            let canonical = registry.canonical();
            out.push(entry(
                &Facts::of(&a, canonical),
                Facts::of(&b, canonical),
                canonical,
            ));
        }
    }
    out
}

/// What the matrix reads of one side's requests.
struct Facts {
    id: String,
    /// The leaves of its request body.
    leaves: Vec<Leaf>,
    /// The canonical members it derives request members from.
    derives: Vec<DerivedLeaf>,
    /// What its requests need from the stored customer.
    needs: FillNeeds,
    /// Members of its request schema that no rule maps (and no constant, extra member or body id
    /// claims): the engine drops them whatever the target, so they are lost everywhere.
    unmapped: Vec<String>,
}

impl Facts {
    /// The facts of `endpoint`, the canonical form being `canonical`.
    fn of(endpoint: &Endpoint, canonical: &Canonical) -> Facts {
        match endpoint {
            Endpoint::Canonical => Facts {
                id: endpoint.id().to_owned(),
                leaves: schema_leaves(&canonical.update_json),
                derives: Vec::new(),
                needs: FillNeeds::default(),
                unmapped: Vec::new(),
            },
            Endpoint::Dialect(d) => {
                // An array envelope's item is written `*`, as the schema walk writes items.
                let envelope = d.request.starred(&d.request.envelope);
                let leaves = dialect_leaves(&d.request.rules, &envelope);
                let claimed: Vec<Pointer> = d
                    .request
                    .constants
                    .iter()
                    .chain(&d.request.extra)
                    .map(|(p, _)| p)
                    .chain(&d.route.id_in_body)
                    .map(|p| d.request.starred(p))
                    .collect();
                let unmapped = schema_leaves(&d.schemas.request_json)
                    .into_iter()
                    .filter(|m| {
                        let mapped =
                            |p: &Pointer| p.is_prefix_of(&m.canonical) || m.canonical.is_prefix_of(p);
                        !leaves.iter().any(|l| mapped(&l.dialect)) && !claimed.iter().any(mapped)
                    })
                    .map(|m| m.source)
                    .collect();
                Facts {
                    id: d.id().to_owned(),
                    derives: derived_sources(&d.request.rules, &envelope),
                    needs: fill_needs(&d.request),
                    leaves,
                    unmapped,
                }
            }
        }
    }
}

fn entry(a: &Facts, b: Facts, canonical: &Canonical) -> MatrixEntry {
    let Facts {
        leaves: targets,
        derives,
        needs,
        ..
    } = b;
    // What the source sends on every write anyway (Axim's names and email).
    let always_sent = &a.needs.required;
    let mut entry = MatrixEntry {
        from: a.id.clone(),
        to: b.id,
        carried: vec![],
        derived: vec![],
        filled: vec![],
        overflow: vec![],
        lost: vec![],
        members: vec![],
    };
    for leaf in &a.leaves {
        let carried: Vec<String> = targets
            .iter()
            .filter(|t| {
                t.canonical.is_prefix_of(&leaf.canonical) || leaf.canonical.is_prefix_of(&t.canonical)
            })
            .map(|t| t.source.clone())
            .collect();
        let derivations: Vec<&DerivedLeaf> = derives.iter().filter(|d| d.from == leaf.canonical).collect();
        let derived: Vec<String> = derivations.iter().map(|d| d.target.clone()).collect();
        // Beside it, the target needs stored members: those it requires on every write (unless
        // this is one of them), the rest of what it replaces in full, the other members a
        // derivation reads.
        let needs_stored = needs.required.iter().any(|r| !r.is_prefix_of(&leaf.canonical))
            || needs.replaced.iter().any(|r| r.is_prefix_of(&leaf.canonical));
        let (fate, target, reason) = if !carried.is_empty() {
            (
                if needs_stored { Fate::Filled } else { Fate::Carried },
                carried,
                None,
            )
        } else if !derived.is_empty() {
            // A derivation reading members the source may leave out needs them stored.
            let partial = derivations.iter().any(|d| {
                d.sources
                    .iter()
                    .any(|s| *s != leaf.canonical && !always_sent.contains(s))
            });
            (
                if needs_stored || partial {
                    Fate::Filled
                } else {
                    Fate::Derived
                },
                derived,
                None,
            )
        } else if canonical.is_secret(&leaf.canonical) {
            (Fate::Lost, vec![], Some(LossReason::Secret))
        } else if let Some(bag) = &needs.bag {
            (Fate::Overflow, vec![bag.clone()], None)
        } else {
            (Fate::Lost, vec![], Some(LossReason::NoTarget))
        };
        let list = match fate {
            Fate::Carried => &mut entry.carried,
            Fate::Derived => &mut entry.derived,
            Fate::Filled => &mut entry.filled,
            Fate::Overflow => &mut entry.overflow,
            Fate::Lost => &mut entry.lost,
        };
        list.push(leaf.source.clone());
        entry.members.push(MemberFate {
            member: leaf.source.clone(),
            fate,
            target,
            reason,
        });
    }
    // What the source's own definition maps nowhere is lost on the way to every target.
    for member in &a.unmapped {
        entry.lost.push(member.clone());
        entry.members.push(MemberFate {
            member: member.clone(),
            fate: Fate::Lost,
            target: vec![],
            reason: Some(LossReason::NoTarget),
        });
    }
    entry
}

/// The leaves of a dialect's request rules (`rules` below `envelope`).
pub(crate) fn dialect_leaves(rules: &[Rule], envelope: &Pointer) -> Vec<Leaf> {
    let mut out = Vec::new();
    rule_leaves(rules, &Pointer::root(), envelope, &mut out);
    out
}

/// The canonical members a dialect's request rules (below `envelope`) derive members from.
pub(crate) fn derived_sources(rules: &[Rule], envelope: &Pointer) -> Vec<DerivedLeaf> {
    let mut out = Vec::new();
    derive_sources(rules, &Pointer::root(), envelope, &mut out);
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
                dialect: d,
            }),
            Shape::Object { rules, .. } => rule_leaves(rules, &c, &d, out),
            Shape::Array { rules } => rule_leaves(rules, &c.child("*"), &d.child("*"), out),
        }
    }
}

fn derive_sources(rules: &[Rule], base: &Pointer, dialect_base: &Pointer, out: &mut Vec<DerivedLeaf>) {
    for rule in rules {
        let d = dialect_base.join(&rule.dialect);
        if let Some(derive) = &rule.derive {
            out.extend(derive.from.iter().map(|f| DerivedLeaf {
                from: base.join(f),
                target: d.to_string(),
                sources: derive.from.iter().map(|f| base.join(f)).collect(),
            }));
        }
        match &rule.shape {
            Shape::Leaf => {}
            Shape::Object { rules, .. } => derive_sources(rules, &base.join(&rule.canonical), &d, out),
            Shape::Array { rules } => {
                derive_sources(rules, &base.join(&rule.canonical).child("*"), &d.child("*"), out);
            }
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
            dialect: at.clone(),
            source: at.to_string(),
        });
    }
}
