//! What the decoder reads a dialect body through: a node of a parsed document, either a
//! `serde_json::Value` (a caller's request, which the pipeline also forwards and stores) or a
//! [`Doc`] borrowing the received bytes (an upstream's answer, read once and dropped). The
//! rules run the same over both.

use serde_json::Value;

use super::transform::{self, Direction, LeafError};
use crate::compiled::Rule;
use crate::doc::Doc;
use crate::pointer::Pointer;

/// A node of a parsed JSON document, as the decoder reads it.
pub(crate) trait Node<'v>: Copy {
    /// The member `name` of an object, or the item at index `name` of an array: one step of a
    /// JSON Pointer.
    fn step(self, name: &str) -> Option<Self>;
    fn is_null(self) -> bool;
    fn is_object(self) -> bool;
    fn as_str(self) -> Option<&'v str>;
    /// The items of an array.
    fn items(self) -> Option<impl Iterator<Item = Self>>;
    /// The members of an object, and how many there are.
    fn members(self) -> Option<(usize, impl Iterator<Item = (&'v str, Self)>)>;
    /// Whether the node equals `v`.
    fn equals(self, v: &Value) -> bool;
    /// The node through a leaf `rule`: its enum map or transform.
    fn leaf(self, rule: &Rule, direction: Direction) -> Result<Value, LeafError>;

    /// The node at `pointer` from here, its first `skip` segments already taken.
    fn at(self, pointer: &Pointer, skip: usize) -> Option<Self> {
        let mut at = self;
        for segment in pointer.segments().get(skip..)? {
            at = at.step(segment)?;
        }
        Some(at)
    }

    /// `null` or `""`: what a dialect that ignores empty values reads as "leave as is".
    fn is_blank(self) -> bool {
        self.is_null() || self.as_str() == Some("")
    }
}

impl<'v> Node<'v> for &'v Value {
    fn step(self, name: &str) -> Option<Self> {
        match self {
            Value::Object(map) => map.get(name),
            Value::Array(items) => items.get(name.parse::<usize>().ok()?),
            _ => None,
        }
    }

    fn is_null(self) -> bool {
        Value::is_null(self)
    }

    fn is_object(self) -> bool {
        Value::is_object(self)
    }

    fn as_str(self) -> Option<&'v str> {
        Value::as_str(self)
    }

    fn items(self) -> Option<impl Iterator<Item = Self>> {
        self.as_array().map(|items| items.iter())
    }

    fn members(self) -> Option<(usize, impl Iterator<Item = (&'v str, Self)>)> {
        self.as_object()
            .map(|map| (map.len(), map.iter().map(|(k, v)| (k.as_str(), v))))
    }

    fn equals(self, v: &Value) -> bool {
        self == v
    }

    fn leaf(self, rule: &Rule, direction: Direction) -> Result<Value, LeafError> {
        transform::leaf(rule, self, direction)
    }
}

impl<'v, 'd> Node<'v> for &'v Doc<'d> {
    fn step(self, name: &str) -> Option<Self> {
        match self {
            Doc::Object(_) => self.member(name),
            Doc::Array(items) => items.get(name.parse::<usize>().ok()?),
            _ => None,
        }
    }

    fn is_null(self) -> bool {
        matches!(self, Doc::Null)
    }

    fn is_object(self) -> bool {
        matches!(self, Doc::Object(_))
    }

    fn as_str(self) -> Option<&'v str> {
        Doc::as_str(self)
    }

    fn items(self) -> Option<impl Iterator<Item = Self>> {
        match self {
            Doc::Array(items) => Some(items.iter()),
            _ => None,
        }
    }

    fn members(self) -> Option<(usize, impl Iterator<Item = (&'v str, Self)>)> {
        match self {
            Doc::Object(members) => Some((members.len(), members.iter().map(|(k, v)| (k.as_ref(), v)))),
            _ => None,
        }
    }

    fn equals(self, v: &Value) -> bool {
        Doc::equals(self, v)
    }

    fn leaf(self, rule: &Rule, direction: Direction) -> Result<Value, LeafError> {
        // Copied once: as it is, or into the transform's input (the cold, transformed case).
        if rule.enum_map.is_none() && rule.transform.is_none() {
            return Ok(Doc::to_value(self));
        }
        transform::leaf(rule, &Doc::to_value(self), direction)
    }
}
