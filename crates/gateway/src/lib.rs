//! The gateway: a hyper server that serves every loaded dialect's route, translates each request
//! to the configured upstream (canonical, any dialect, or the embedded backend) and answers in
//! the caller's own dialect.
//!
//! It sits on top of the dialect engine (`dialectgate-dialect`) and the canonical model; the
//! binary wires it to configuration and signals.

mod admin;
mod backend;
mod carryover;
mod config;
mod credentials;
mod live;
mod metrics;
mod server;
mod service;
mod token;
mod trace;
mod upstream;
mod upstream_headers;

pub use self::{
    admin::serve_admin,
    backend::{Backend, fixtures, now_rfc3339},
    config::{Config, ConfigError, CredentialMode, EnvSource, Overrides, RawConfig, Secret, load},
    credentials::SENSITIVE_HEADERS,
    live::{Live, Loader},
    metrics::Metrics,
    server::{serve, shutdown_signal},
    service::{Gateway, Shared, StartError, X_FIDELITY, X_REQUEST_ID},
    token::{MAX_LIVE_TOKENS, TOKEN_PREFIX, TokenStore},
    trace::{ChildTrace, child_traceparent},
    upstream::{HttpUpstream, Upstream, UpstreamError},
};
