//! The gateway: a hyper server that serves every loaded dialect's route, translates each request
//! to the configured upstream (canonical, any dialect, or the embedded backend) and answers in
//! the caller's own dialect.
//!
//! It sits on top of the dialect engine (`dialectgate-dialect`) and the canonical model; the
//! binary wires it to configuration and signals.

mod backend;
mod config;
mod credentials;
mod server;
mod service;
mod trace;
mod upstream;

pub use self::{
    backend::{Backend, fixtures, now_rfc3339},
    config::{Config, ConfigError, CredentialMode, EnvSource, Overrides, RawConfig, Secret, load},
    credentials::SENSITIVE_HEADERS,
    server::{serve, shutdown_signal},
    service::{Gateway, StartError, X_FIDELITY, X_REQUEST_ID},
    trace::child_traceparent,
    upstream::{HttpUpstream, Upstream, UpstreamError},
};
