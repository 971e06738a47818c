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
    /// A secret (a write-only member: the password) the target has no place for; never carried
    /// in an extension bag.
    Secret,
}

impl LossReason {
    /// The violation code used when a loss is refused.
    pub fn code(self) -> &'static str {
        match self {
            LossReason::NoTarget => "lossy",
            LossReason::CannotClear => "cannot_clear",
            LossReason::PartialReplace => "partial_replace",
            LossReason::Secret => "secret",
        }
    }
}

/// Why the gateway read the stored customer before a write (read-modify-write).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FillReason {
    /// The target requires the member on every write.
    RequiredOnWrite,
    /// A member of the target is derived from this one and others the caller sent.
    Derived,
    /// The target replaces the enclosing object or map in full, while the caller's patch merges.
    Replaced,
}

impl FillReason {
    /// The label of `dialectgate_upstream_reads_total` and of the fidelity header.
    pub fn as_str(self) -> &'static str {
        match self {
            FillReason::RequiredOnWrite => "required_on_write",
            FillReason::Derived => "derived",
            FillReason::Replaced => "replaced",
        }
    }
}

/// A member of the stored customer sent with the caller's members (read-modify-write).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FilledField {
    /// Canonical pointer of the member read from the upstream.
    pub pointer: String,
    pub reason: FillReason,
}

/// A member the target has no place for, carried in its extension bag (`translation.overflow`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Overflowed {
    /// Pointer into the caller's body.
    pub pointer: String,
    /// The key in the target's bag.
    pub key: String,
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
    /// Members of the stored customer sent with the caller's (read-modify-write).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filled: Vec<FilledField>,
    /// Members carried in the target's extension bag.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overflow: Vec<Overflowed>,
    /// Preconditions the caller sent that the target cannot check (a version towards a dialect
    /// that keeps none), by pointer into the caller's body: not sent, not stowed, not a loss of
    /// the caller's data; the write is not conditional there.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unchecked: Vec<String>,
}

impl Fidelity {
    /// True when everything was carried as is.
    pub fn is_exact(&self) -> bool {
        self.derived.is_empty()
            && self.dropped.is_empty()
            && self.filled.is_empty()
            && self.overflow.is_empty()
            && self.unchecked.is_empty()
    }
}
