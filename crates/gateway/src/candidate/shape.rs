//! The shape of the canonical Customer: which members the candidate compares one by one (the
//! structure the canonical schema declares), each with its node number. A leaf of the
//! candidate: the digests (`digest.rs`) and the comparison (`compare.rs`) both walk it.

use std::collections::BTreeMap;

use serde_json::Value;

/// Deepest nesting of the schema followed (the canonical Customer has three levels).
const MAX_SHAPE_DEPTH: usize = 8;

/// Which members are compared one by one: the structure the canonical Customer schema
/// declares. A shape without children is one member. Each node has its number (depth first, the
/// root 0), by which a `Digest` (`digest.rs`) holds the member.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Shape {
    node: usize,
    children: BTreeMap<String, Shape>,
}

impl Shape {
    /// The shape of `schema` (the canonical Customer schema document; `$ref`s into its own
    /// `$defs` followed).
    pub(crate) fn from_schema(schema: &Value) -> Shape {
        shape_of(schema, schema, 0, &mut 0)
    }

    /// The shape of the shipped canonical Customer schema (the tests' shape).
    #[cfg(test)]
    pub(crate) fn shipped() -> Shape {
        let schema: Value = serde_json::from_str(include_str!("../../../../schemas/canonical/customer.json"))
            .expect("the shipped canonical schema is JSON");
        Shape::from_schema(&schema)
    }

    /// This member's node number.
    pub(crate) fn node(&self) -> usize {
        self.node
    }

    /// The members the schema declares in this one, by name (none: a member compared whole).
    pub(crate) fn children(&self) -> &BTreeMap<String, Shape> {
        &self.children
    }

    /// How many nodes the shape has.
    pub(crate) fn len(&self) -> usize {
        1 + self.children.values().map(Shape::len).sum::<usize>()
    }
}

fn shape_of(node: &Value, root: &Value, depth: usize, next: &mut usize) -> Shape {
    let number = *next;
    *next += 1;
    let leaf = Shape {
        node: number,
        children: BTreeMap::new(),
    };
    if depth > MAX_SHAPE_DEPTH {
        return leaf;
    }
    let node = match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => match reference.strip_prefix('#').and_then(|p| root.pointer(p)) {
            Some(target) => target,
            None => return leaf,
        },
        None => node,
    };
    let children = node
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .map(|(name, schema)| (name.clone(), shape_of(schema, root, depth + 1, next)))
                .collect()
        })
        .unwrap_or_default();
    Shape { children, ..leaf }
}
