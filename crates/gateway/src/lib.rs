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
mod fingerprint;
mod live;
mod metrics;
mod outcome;
mod pipeline;
mod run;
mod server;
mod service;
mod token;
mod trace;
mod upstream;

pub use self::{
    backend::{Backend, civil_from_days, fixtures, now_rfc3339},
    breaker::Breaker,
    config::{
        AdminConfig, CandidateConfig, CandidateMode, Config, ConfigError, CredentialMode, CredentialsConfig,
        DEFAULT_CONFIG, DialectsConfig, EnvSource, Overrides, PUBLIC_DEMO_KEY, RawAdmin, RawCandidate,
        RawConfig, RawCredentials, RawDialects, RawServer, RawTelemetry, RawTranslation, RawUpstream, Secret,
        ServerConfig, TelemetryConfig, TranslationConfig, UpstreamConfig, load, load_default,
    },
    context::X_REQUEST_ID,
    metrics::Metrics,
    pipeline::answer::X_FIDELITY,
    pipeline::authenticate::SENSITIVE_HEADERS,
    pipeline::forward::{Embedded, Guarded, guarded},
    pipeline::log::ACCESS_LOG_TARGET,
    run::{ConfigSource, Options, RunError, Running, run},
    server::shutdown_signal,
    service::{Gateway, Shared, StartError},
    token::{
        Binding, Fingerprint, IssueError, Issued, Lookup, MAX_FORM_SECRET_BYTES, MIN_TOKEN_KEY_BYTES,
        TOKEN_PREFIX, TokenKey, TokenKeys, fingerprint,
    },
    trace::{ChildTrace, child_traceparent},
    upstream::{HttpUpstream, Reply, UpstreamError, UpstreamRequest},
};
