//! The messages the engine and its callers exchange: how a translation is asked for
//! ([`Options`]), what it gives ([`Step`], [`Translation`], [`Pending`], [`Outbound`]) and what an
//! upstream's answer is understood as ([`Answer`]). A leaf: every other room may name these
//! types, and this file names none of the rooms.

use dialectgate_canonical::{ErrorKind, Problem};
use serde_json::Value;

use crate::engine::{CanonicalRequest, Need};
use crate::pointer::Pointer;
use crate::report::{Fidelity, FillReason, Overflowed};

/// What to do when a translation would lose data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Refuse, naming the fields (default).
    #[default]
    Strict,
    /// Carry on and report what was derived or dropped.
    Lenient,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "strict" => Ok(Mode::Strict),
            "lenient" => Ok(Mode::Lenient),
            other => Err(format!("unknown mode `{other}` (strict or lenient)")),
        }
    }
}

/// Whether the gateway may read the stored customer to complete a request the target cannot
/// take as a pure patch (`translation.fill`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fill {
    /// Read it with the target's retrieve operation (default).
    #[default]
    Read,
    /// Never read: such requests are refused (strict) or reported (lenient).
    Never,
}

impl std::str::FromStr for Fill {
    type Err = String;
    fn from_str(s: &str) -> Result<Fill, String> {
        match s {
            "read" => Ok(Fill::Read),
            "never" => Ok(Fill::Never),
            other => Err(format!("unknown fill `{other}` (read or never)")),
        }
    }
}

/// The default `translation.overflow_prefix`.
pub const DEFAULT_OVERFLOW_PREFIX: &str = "dialectgate:";

/// How a request translation treats what the target cannot take as it is.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub mode: Mode,
    pub fill: Fill,
    /// Members the target has no place for go into its extension bag (if it declares one)
    /// under keys starting with `overflow_prefix`.
    pub overflow: bool,
    /// The gateway's own keys in every bag start with it, overflow on or off: a caller's bag
    /// key starting with it is refused.
    pub overflow_prefix: &'a str,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            mode: Mode::default(),
            fill: Fill::default(),
            overflow: false,
            overflow_prefix: DEFAULT_OVERFLOW_PREFIX,
        }
    }
}

/// A request as it goes to an upstream.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Outbound {
    pub method: String,
    pub path: String,
    /// The query string, without `?` (empty: none): a read's id where the vendor takes it
    /// there (`id:in=12`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub query: String,
    pub content_type: &'static str,
    /// The body; `null` for a request without one (a `GET`).
    pub body: Value,
    /// The members of `body` held as the caller's text (placeholders in `body`): see
    /// [`crate::HeldText`]. Empty but for the gateway's requests carrying a large bag.
    #[serde(skip)]
    pub held: crate::HeldText,
}

/// A translated request.
#[derive(Debug, Clone)]
pub struct Translation {
    /// The customer id.
    pub id: String,
    /// The request for the target. For a canonical target its body is the canonical merge
    /// patch itself (kept once, not copied).
    pub outbound: Outbound,
    pub fidelity: Fidelity,
}

/// Where a request translation stands.
#[derive(Debug)]
pub enum Step {
    /// Ready to send.
    Ready(Translation),
    /// The target needs members of the stored customer: read it (the target's retrieve
    /// operation, [`crate::Registry::retrieve`]) and [`crate::Registry::complete`] the request.
    Read(Pending),
}

/// A request waiting for the stored customer (read-modify-write).
#[derive(Debug, Clone)]
pub struct Pending {
    pub(crate) request: CanonicalRequest,
    pub(crate) unknown: Vec<String>,
    pub(crate) overflow: Vec<Overflowed>,
    pub(crate) needs: Vec<Need>,
    pub(crate) complete: Vec<Pointer>,
    /// The caller sent the target's bag whole: the stored bag completes it with its keys
    /// starting with this prefix (the gateway's) only.
    pub(crate) reserved: Option<String>,
    /// Where the members of the caller's action list came from.
    pub(crate) trail: crate::engine::actions::Trail,
    /// The caller's preconditions the target cannot check.
    pub(crate) unchecked: Vec<String>,
}

impl Pending {
    /// The customer id.
    pub fn id(&self) -> &str {
        &self.request.id
    }

    /// Why the read is needed, each reason once, most pressing first.
    pub fn reasons(&self) -> Vec<FillReason> {
        let mut reasons: Vec<FillReason> = self.needs.iter().map(|n| n.reason).collect();
        reasons.sort_unstable();
        reasons.dedup();
        reasons
    }
}

/// An upstream's answer, understood.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The updated customer, as a canonical document.
    Customer(Value),
    /// An error, as a canonical problem.
    Problem(Problem),
}

/// An upstream's answer understood once ([`Registry::understand`](crate::Registry::understand)):
/// the customer or the problem, and what the caller's answer needs of it.
#[derive(Debug, Clone)]
pub struct Understood {
    /// The customer (with overflow, the members the upstream keeps in its bag back in place),
    /// or the problem.
    pub answer: Answer,
    /// The upstream's success body as parsed, when the caller speaks the upstream's dialect (its
    /// members the canonical model does not carry pass through to the caller).
    pub body: Option<Value>,
}

/// A fault of the upstream server (its 500) is a bad gateway for our caller, never our own 500.
pub(crate) fn upstream_fault(problem: Problem) -> Problem {
    if problem.kind() == ErrorKind::Internal {
        Problem::new(ErrorKind::BadGateway, problem.message().to_owned())
    } else {
        problem
    }
}

/// An upstream answer that does not say which customer it is.
pub(crate) fn missing_id() -> Problem {
    Problem::new(
        ErrorKind::BadGateway,
        "the upstream's answer does not identify the customer",
    )
}
