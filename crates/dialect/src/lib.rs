//! The dialect engine: loads vendor dialect definitions (`config/dialects/*.toml` plus their JSON
//! Schemas) and runs them, in both directions, with one generic engine.
//!
//! It sits between the HTTP layer and the canonical model: the gateway hands it a caller's body,
//! gets back the canonical update and the upstream's request, and later hands it the upstream's
//! answer to express in the caller's dialect. No code here is specific to any vendor: vendors
//! differ only in their definition files.

mod auth;
mod canonical;
mod compiled;
mod definition;
mod dialect;
mod doc;
mod endpoint;
mod engine;
mod error;
mod held;
pub mod id;
mod matrix;
mod message;
mod openapi;
mod parse;
mod pointer;
mod registry;
mod render;
mod report;
mod route;
mod schema;
mod side;
mod source;
mod template;
mod translate;
mod validate;

pub use self::{
    auth::{Auth, ClientAuth, Credential, TokenEndpoint, token_body, token_body_with_scope},
    canonical::{CANONICAL_VOLATILE, Canonical, VERSION},
    definition::RawDefinition,
    dialect::Dialect,
    doc::{Doc, DocJson, parse_doc},
    endpoint::Endpoint,
    engine::{AnswerView, CanonicalRequest, Decoded, Encoded},
    error::DialectError,
    held::{HELD_MIN_BYTES, HeldText, Writing},
    matrix::{Fate, MatrixEntry, MemberFate},
    message::{
        Answer, DEFAULT_OVERFLOW_PREFIX, Fill, Mode, Options, Outbound, Pending, Step, Translation,
        Understood,
    },
    parse::{
        DEFAULT_MAX_DEPTH, DEFAULT_MAX_VALUES, Footprint, Limits, measure, parse_holding_text, parse_limited,
        parse_strict,
    },
    pointer::Pointer,
    registry::Registry,
    render::{Rendered, problem_json},
    report::{DerivedField, Dropped, Fidelity, FillReason, FilledField, LossReason, Overflowed},
    route::{Operation, Route},
    source::{Origin, Source},
    validate::MAX_VIOLATIONS,
};
