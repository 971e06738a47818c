//! The gateway: a hyper server that serves every loaded dialect's route, translates each request
//! to the configured upstream (canonical, any dialect, or the embedded backend) and answers in
//! the caller's own dialect.
//!
//! It sits on top of the dialect engine (`dialectgate-dialect`) and the canonical model.
//! [`run`] is the server's wiring (listeners, admin, reloads, stop and drain); the binary calls
//! it with the configuration its command line names, the end-to-end tests with theirs.

mod admin;
mod backend;
mod breaker;
mod candidate;
mod carryover;
mod config;
mod context;
mod date;
mod exchange;
mod fingerprint;
mod json_text;
mod live;
mod metrics;
mod outcome;
mod pipeline;
mod run;
mod server;
mod service;
#[cfg(test)]
mod test_support;
mod token;
mod trace;
mod upstream;

// What the binary (`src/`), the tests (`tests/`) and the benchmarks use, and the types their
// signatures name (errors, `Shared`); nothing else is public.
pub use self::{
    backend::{Backend, fixtures},
    config::{
        CandidateMode, Config, ConfigError, CredentialMode, EnvSource, Overrides, Secret, load, load_default,
    },
    date::civil_from_days,
    json_text::escape_with as json_escape,
    metrics::Metrics,
    pipeline::log::ACCESS_LOG_TARGET,
    run::{Options, RunError, Running, run},
    server::shutdown_signal,
    service::{Gateway, Shared, StartError},
    upstream::install_tls_provider,
};
