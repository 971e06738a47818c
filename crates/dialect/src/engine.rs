//! The one engine that runs every dialect definition in both directions: dialect body ⇄
//! canonical merge patch (requests) and dialect body ⇄ canonical Customer (success answers).
//!
//! Its rooms follow the data: [`decode`] (dialect → canonical, faithful by construction: every
//! rule copies or transforms one member), [`encode`] (canonical → dialect, keeping books: every
//! canonical member is carried by a rule, used to derive another member, or reported dropped, so
//! the policy can refuse or report), [`answer`] (a canonical Customer as a dialect's success
//! answer, shaped by the answer's view), [`transform`] (the named value transforms and
//! derivations, both directions side by side), [`provenance`] (which member of the caller's
//! body a canonical member came from, and which members no rule carries), [`fill`] (what a
//! request needs from the stored customer, merged into its patch), [`overflow`] (members with
//! no place in the target, stowed in its extension bag and restored on the way back) and
//! [`actions`] (a request's list of actions laid out as the plain members the rules read, and
//! gathered back into actions on the way out). Every room
//! takes the compiled dialect ([`crate::compiled::Compiled`]), never a `Dialect`.

pub(crate) mod actions;
pub(crate) mod answer;
mod built;
pub(crate) mod decode;
pub(crate) mod encode;
pub(crate) mod fill;
pub(crate) mod node;
pub(crate) mod overflow;
pub(crate) mod provenance;
pub(crate) mod query_id;
pub(crate) mod read;
mod transform;

use serde_json::{Map, Value};

use crate::pointer::Pointer;
use crate::report::{Fidelity, FillReason};

/// The canonical meaning of an update request: which customer, and the merge patch.
#[derive(Debug, Clone, PartialEq)]
pub struct CanonicalRequest {
    pub id: String,
    pub patch: Map<String, Value>,
}

/// A decoded request plus the caller's members no rule carries.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub request: CanonicalRequest,
    /// Pointers (into the caller's body) of members the dialect's schema let through but no rule
    /// maps; they would be lost.
    pub unknown: Vec<String>,
    /// Canonical maps the caller sent whole (its dialect replaces them in full): a target that
    /// replaces them too gets them as they are.
    pub complete: Vec<Pointer>,
    /// Where the members of an action list came from (empty without one).
    pub trail: actions::Trail,
}

/// What shapes a success answer besides the customer.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnswerView<'a> {
    /// The caller's query string (a dialect's `expand` parameter picks relations from it).
    pub query: &'a str,
    /// The upstream's own success body, when the upstream speaks the caller's dialect: members
    /// the canonical model does not carry pass through from it.
    pub upstream: Option<&'a Value>,
    /// The answer to a read (retrieve), not to an update: members that speak of the update
    /// (`[response] read_omits`) are left out.
    pub read: bool,
}

/// An encoded body and its report, in canonical pointers (the encoder never sees the caller's
/// body; the request pipeline restates the report in the caller's terms).
#[derive(Debug, Clone)]
pub struct Encoded {
    pub body: Value,
    pub report: Fidelity,
    /// Canonical members the target needs from the stored customer to take this request as
    /// the caller meant it (read-modify-write).
    pub needs: Vec<Need>,
    /// The refusal of a body that lacks members the target requires on every write.
    pub missing: Option<Box<dialectgate_canonical::Problem>>,
}

/// A canonical member of the stored customer that an encoding needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// Canonical pointer (absolute).
    pub pointer: Pointer,
    pub reason: FillReason,
    /// When the stored customer lacks it: the member it is a part of (a `join_words` target,
    /// the full name), and which of how many words-parts it is. A target that holds only the
    /// whole (Elastic Path's one name) gives the part back: the first word, or the rest.
    pub part_of: Option<(Pointer, usize, usize)>,
}
