//! The request pipeline: one module per phase, in the order a request meets them (the driver,
//! `service.rs`, calls them in this order). A refusal at any phase is a
//! [`Failure`](crate::outcome::Failure) answered in the caller's own dialect.
//!
//! 1. [`route`]: the framing checks (`read_body`), then which dialect serves the path, or its
//!    token endpoint;
//! 2. [`admit`]: requests in flight, then the memory of the body and a working slot;
//! 3. [`authenticate`]: the caller's credential, or a token the gateway issued;
//! 4. [`read_body`]: content type, `Idempotency-Key`, the body with a cap and a deadline;
//! 5. [`translate`]: parse, validate, decode, policy, encode;
//! 6. [`read_modify_write`]: when the upstream needs the stored customer, read it and complete
//!    the request with it;
//! 7. [`forward`]: the upstream's service stack, the headers it gets (`forward/headers.rs`);
//! 8. [`answer`]: the upstream's answer or the failure, in the caller's dialect;
//! 9. [`log`]: the request's metrics and its access line, last.
//!
//! Each phase imports the request's context (`context`) and the leaves it needs, never the
//! driver (`service`): the order lives in one place.

pub(crate) mod admit;
pub(crate) mod answer;
pub(crate) mod authenticate;
pub(crate) mod forward;
pub(crate) mod log;
pub(crate) mod read_body;
pub(crate) mod read_modify_write;
pub(crate) mod route;
pub(crate) mod translate;
