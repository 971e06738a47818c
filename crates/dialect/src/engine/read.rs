//! An upstream's answer read: what a 2xx body says by its shape ([`said`]), and its success body
//! decoded into a canonical Customer ([`response`]). Both read any parsed node (see
//! [`Node`]): the gateway's answers come as a [`crate::doc::Doc`] borrowing the received bytes,
//! the command line and the tests' as a `Value`.

use dialectgate_canonical::{ErrorKind, Problem};
use serde_json::{Map, Value};

use super::decode::Decoder;
use super::node::Node;
use crate::compiled::{Compiled, CompiledMessage};

/// See [`crate::Dialect::decode_response`]; `members` is the index of `d.response`'s rules.
pub(crate) fn response<'b, N: Node<'b>>(
    d: Compiled<'_>,
    members: &MemberIndex,
    body: N,
) -> Result<Value, Problem> {
    let decoder = Decoder {
        dialect: d,
        ignore_empty: false,
        replace: false,
    };
    let m = d.response;
    // An answer often holds few of the members its dialect can send (Medusa's 4 of 12): then
    // only the rules of the members it holds run (a rule whose member is absent decodes to
    // nothing), each found in the index, not each rule's member looked up in the answer. A
    // fuller answer, or a body without an object at the envelope, takes the walk over every
    // rule: there the lookups the index saves cost less than finding the members in it.
    if let Some(root) = body.at(&m.envelope, 0)
        && let Some((len, held)) = root.members()
        && len * 2 < members.named_count()
    {
        let mut out = Map::new();
        for (i, first) in members.present(root, len, held) {
            // The rule's first member was found while indexing: only the rest of its pointer is
            // looked up.
            let rule = &m.rules[i];
            let skip = usize::from(!rule.dialect.is_root());
            if let Some(v) = first.at(&rule.dialect, skip) {
                decoder.found(rule, v, &m.envelope, &mut out)?;
            }
        }
        return Ok(Value::Object(out));
    }
    let (_, doc) = decoder.message(m, body)?;
    Ok(Value::Object(doc))
}

/// The members of an answer's envelope that its rules read, compiled once at load: each rule's
/// first segment, sorted by name, with the rule's index, and the rules that read the envelope
/// itself. Answers are decoded by looking their own members up here.
#[derive(Debug, Clone, Default)]
pub(crate) struct MemberIndex {
    /// (member name, rule index), sorted.
    named: Vec<(String, usize)>,
    /// Rules whose pointer is the envelope itself: they read every answer.
    whole: Vec<usize>,
}

impl MemberIndex {
    /// The index of `message`'s rules.
    pub(crate) fn new(message: &CompiledMessage) -> MemberIndex {
        let mut index = MemberIndex::default();
        for (i, rule) in message.rules.iter().enumerate() {
            match rule.dialect.segments().first() {
                Some(name) => index.named.push((name.clone(), i)),
                None => index.whole.push(i),
            }
        }
        index.named.sort();
        index
    }

    /// How many rules read a named member.
    pub(crate) fn named_count(&self) -> usize {
        self.named.len()
    }

    /// The indexes, in rule order, of the rules that read a member the object `root` has (its
    /// `len` members `held`) or the envelope itself: every rule that can decode anything from
    /// it. Each comes with the value its pointer starts from: the member its first segment
    /// names, or `root`.
    fn present<'b, N: Node<'b>>(
        &self,
        root: N,
        len: usize,
        held: impl Iterator<Item = (&'b str, N)>,
    ) -> Vec<(usize, N)> {
        let mut out = Vec::with_capacity(len + self.whole.len());
        out.extend(self.whole.iter().map(|&i| (i, root)));
        for (key, value) in held {
            let from = self.named.partition_point(|(name, _)| name.as_str() < key);
            out.extend(
                self.named[from..]
                    .iter()
                    .take_while(|(name, _)| name == key)
                    .map(|(_, i)| (*i, value)),
            );
        }
        out.sort_unstable_by_key(|&(i, _)| i);
        out
    }
}

/// What a 2xx answer's body says, by its shape: the dialect's constants, the envelope and its
/// array, each looked at once per answer.
pub(crate) enum Said {
    /// The success shape about one customer.
    Customer,
    /// The success shape with an empty array envelope: the answer names no customer (a read by
    /// a filter that matched none).
    Nobody,
    /// `null` at the envelope where the operation says that means "no such customer"
    /// (`null_means_not_found`: GraphQL's `"customer": null`): the not-found problem. An
    /// answer that is also one of the dialect's error answers by its literal members (an
    /// `ACCESS_DENIED` beside `"customer": null`) is that error instead: `Other`.
    NotFound(Problem),
    /// Anything else: the dialect's error, to classify.
    Other,
}

/// What the 2xx answer `body` says (see [`Said`]); `whole` gives the body as a `Value`, for the
/// one rare look that needs it (an error's literal members beside a `null` envelope).
pub(crate) fn said<'b, N: Node<'b>>(d: Compiled<'_>, body: N, whole: impl FnOnce() -> Value) -> Said {
    let m = d.response;
    if !m
        .constants
        .iter()
        .all(|(p, v)| body.at(p, 0).is_some_and(|n| n.equals(v)))
    {
        return Said::Other;
    }
    let items = m
        .array
        .as_ref()
        .and_then(|list| body.at(list, 0)?.items())
        .map(Iterator::count);
    if items == Some(0) {
        return Said::Nobody;
    }
    let at = body.at(&m.envelope, 0);
    if m.null_means_not_found
        && at.is_some_and(Node::is_null)
        && !crate::render::is_error_by_literals(d.errors, m.status, &whole())
    {
        return Said::NotFound(Problem::new(ErrorKind::NotFound, "the customer does not exist"));
    }
    // An array envelope answers about one customer: several is not an answer to a request
    // about one.
    if at.is_some_and(Node::is_object) && items.is_none_or(|n| n == 1) {
        Said::Customer
    } else {
        Said::Other
    }
}

/// See [`crate::Dialect::is_success_body`].
pub(crate) fn is_success_body(d: Compiled<'_>, body: &Value) -> bool {
    matches!(said(d, body, || body.clone()), Said::Customer)
}
