//! What the encoder builds a dialect message as: a `serde_json::Value` (an upstream's request,
//! which the pipeline goes on reading and changing), or a [`Doc`] that borrows the canonical
//! object's strings and the definition's names and constants (a caller's answer, checked and
//! written out once): the same rules build either.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::doc::{Doc, Sorted};
use crate::pointer::Pointer;

/// A JSON value the encoder builds, borrowing what lives for `'a`.
pub(crate) trait Built<'a>: Sized {
    /// An object being built.
    type Members: Default;

    /// A copy of (or a reference to) `v`.
    fn of(v: &'a Value) -> Self;
    /// `v`, made for the message (a transform's or a derivation's result).
    fn owned(v: Value) -> Self;
    fn object(members: Self::Members) -> Self;
    fn array(items: Vec<Self>) -> Self;
    /// Sets `v` at `at` inside `object`, through objects made on the way (replacing a member
    /// there that is not one).
    fn set(object: &mut Self::Members, at: &'a Pointer, v: Self);
}

impl<'a> Built<'a> for Value {
    type Members = Map<String, Value>;

    fn of(v: &'a Value) -> Self {
        v.clone()
    }

    fn owned(v: Value) -> Self {
        v
    }

    fn object(members: Self::Members) -> Self {
        Value::Object(members)
    }

    fn array(items: Vec<Self>) -> Self {
        Value::Array(items)
    }

    fn set(object: &mut Self::Members, at: &'a Pointer, v: Self) {
        at.set(object, v);
    }
}

impl<'a> Built<'a> for Doc<'a> {
    type Members = Vec<(Cow<'a, str>, Doc<'a>)>;

    fn of(v: &'a Value) -> Self {
        Doc::borrowing(v)
    }

    fn owned(v: Value) -> Self {
        Doc::from(v)
    }

    fn object(members: Self::Members) -> Self {
        Doc::Object(members)
    }

    fn array(items: Vec<Self>) -> Self {
        Doc::Array(items)
    }

    /// Members are inserted in name order (see [`Sorted`]): the caller's answer needs no sort.
    fn set(object: &mut Self::Members, at: &'a Pointer, v: Self) {
        let Some((last, parents)) = at.segments().split_last() else {
            if let Doc::Object(members) = v {
                *object = members;
            }
            return;
        };
        let mut cur = object;
        for segment in parents {
            let slot = cur.slot_sorted(segment, || Doc::Object(Vec::new()));
            if !matches!(slot, Doc::Object(_)) {
                *slot = Doc::Object(Vec::new());
            }
            let Doc::Object(next) = slot else { return };
            cur = next;
        }
        cur.set_sorted(Cow::Borrowed(last.as_str()), v);
    }
}
