//! What a translation did with the members it was given: derived and dropped members, and why.
//!
//! One report type serves two frames: an encoder writes it in canonical pointers (it never sees
//! the caller's body), and the request pipeline restates it in the caller's pointers, which is
//! what the `X-Dialectgate-Fidelity` header and `translate`'s report show.

/// Why a member did not reach the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LossReason {
    /// The target has no member for it.
    NoTarget,
    /// The target cannot clear a member (null or empty is ignored there).
    CannotClear,
    /// The target replaces the enclosing object in full, so this omitted member would be cleared.
    PartialReplace,
}

impl LossReason {
    /// The violation code used when a loss is refused.
    pub fn code(self) -> &'static str {
        match self {
            LossReason::NoTarget => "lossy",
            LossReason::CannotClear => "cannot_clear",
            LossReason::PartialReplace => "partial_replace",
        }
    }
}

/// A member that did not make it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Dropped {
    /// Pointer into the caller's body (canonical, in an encoder's report).
    pub pointer: String,
    pub reason: LossReason,
}

/// A member of the target computed from other members.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DerivedField {
    /// Pointer into the target body.
    pub target: String,
    /// Pointers into the caller's body (canonical, in an encoder's report).
    pub from: Vec<String>,
}

/// What a translation did, in the caller's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Fidelity {
    pub derived: Vec<DerivedField>,
    pub dropped: Vec<Dropped>,
}

impl Fidelity {
    /// True when everything was carried as is.
    pub fn is_exact(&self) -> bool {
        self.derived.is_empty() && self.dropped.is_empty()
    }
}
