//! The configuration file as written: serde structs with defaults, unknown keys refused. Each
//! field's doc comment is repeated as a comment in `config/dialectgate.toml`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use dialectgate_dialect::{Fill, Mode};
use serde::Deserialize;

use super::{CandidateMode, CredentialMode};

/// The configuration file as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    pub server: RawServer,
    pub admin: RawAdmin,
    pub dialects: RawDialects,
    pub upstream: RawUpstream,
    pub credentials: RawCredentials,
    pub translation: RawTranslation,
    pub telemetry: RawTelemetry,
    pub candidate: RawCandidate,
}

/// `[telemetry]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTelemetry {
    /// OTLP/HTTP endpoint for trace export (e.g. `http://otel-collector:4318/v1/traces`).
    /// Needs a build with the `otlp` cargo feature. Empty: no export (default).
    pub otlp_endpoint: String,
}

/// `[server]`: the listener and its limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    /// Address to listen on. Default `127.0.0.1:8080`.
    pub listen: String,
    /// Largest request body accepted, in bytes. Default 1 MiB.
    pub max_body_bytes: usize,
    /// Deepest JSON nesting accepted. Default 64.
    pub max_depth: usize,
    /// Most JSON values (strings, numbers, booleans, nulls, arrays, objects) in a request body.
    /// Default 10000, at most 65536.
    pub max_json_values: usize,
    /// Bytes the requests being read, parsed, translated and answered may hold at once, by the
    /// estimate each reserves before its body is read and before a body or an answer is parsed.
    /// Default 64 MiB.
    pub max_buffered_bytes: usize,
    /// Time allowed for a client to send its request headers, in ms. Default 10000.
    pub header_read_timeout_ms: u64,
    /// Time allowed for a client to send its request body, in ms. Default 30000.
    pub body_read_timeout_ms: u64,
    /// A connection with no request in flight for this long is closed, in ms (HTTP/1 keep-alive
    /// and HTTP/2 alike). Default 60000.
    pub idle_timeout_ms: u64,
    /// Connections open at once; a connection beyond it is closed as soon as it is accepted.
    /// Default 1024.
    pub max_connections: usize,
    /// Requests (streams) one HTTP/2 connection may have open at once. Default 100.
    pub http2_max_concurrent_streams: u32,
    /// Requests handled at once; more are answered 503 with `Retry-After`. Default 1024.
    pub max_in_flight: usize,
    /// Requests parsed, translated and forwarded at once. The others admitted (up to
    /// `max_in_flight`) wait with only their raw body read, for at most the upstream timeout,
    /// then get 503. Bounds memory and upstream connections. Default 128.
    pub max_working: usize,
    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish, in ms. Default 10000.
    pub grace_period_ms: u64,
    /// Serve only these dialects (empty: all).
    pub only: Vec<String>,
    /// Peers (IP addresses or CIDR ranges) whose `Forwarded` and `X-Forwarded-For`/`-Proto`/
    /// `-Host` headers are passed upstream, the gateway's own `Forwarded` element appended.
    /// From any other peer they are dropped. Default empty: trust no one.
    pub trusted_proxies: Vec<String>,
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            listen: "127.0.0.1:8080".into(),
            max_body_bytes: 1024 * 1024,
            max_depth: 64,
            max_json_values: 10_000,
            max_buffered_bytes: 64 * 1024 * 1024,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            idle_timeout_ms: 60_000,
            max_connections: 1024,
            http2_max_concurrent_streams: 100,
            max_in_flight: 1024,
            max_working: 128,
            grace_period_ms: 10_000,
            only: Vec::new(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// `[admin]`: the admin listener (metrics, health, reload).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAdmin {
    /// Address of the admin listener; empty disables it. Default `127.0.0.1:9090`.
    pub listen: String,
    /// Environment variable holding the token `POST /admin/reload` requires (sent as
    /// `Authorization: Bearer <token>`, at least 16 characters). Unset or empty: the endpoint
    /// is off (SIGHUP still reloads). Default `DIALECTGATE_ADMIN_TOKEN`.
    pub token_env: String,
}

impl Default for RawAdmin {
    fn default() -> Self {
        RawAdmin {
            listen: "127.0.0.1:9090".into(),
            token_env: "DIALECTGATE_ADMIN_TOKEN".into(),
        }
    }
}

/// `[dialects]`: where the definitions and schemas are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDialects {
    /// Directory of `*.toml` dialect definitions, replacing the ones built into the binary.
    /// Default empty: the built-in definitions (`config/dialects/` at build time).
    pub dir: PathBuf,
    /// Directory of JSON Schemas (`canonical/` and one folder per dialect), replacing the
    /// built-in ones. Default empty: the built-in schemas (`schemas/` at build time).
    pub schemas: PathBuf,
}

/// `[upstream]`: where requests go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawUpstream {
    /// Base URL of the upstream. Empty: the embedded in-memory backend.
    pub url: String,
    /// What the upstream speaks: `canonical` or a dialect id. Default `canonical`.
    pub dialect: String,
    /// Connect timeout, in ms. Default 2000.
    pub connect_timeout_ms: u64,
    /// Total timeout of one upstream call, in ms. Default 15000.
    pub timeout_ms: u64,
    /// Idle pooled connections kept per host. Default 1024: as many as callers may hold open, so a
    /// burst of concurrent requests does not end in closing and reopening upstream connections.
    pub pool_max_idle: usize,
    /// Largest upstream answer accepted, in bytes. Default 4 MiB: four times the request limit,
    /// so an upstream that echoes a large accepted update back still fits.
    pub max_response_bytes: usize,
    /// Extra attempts for requests that are safe to repeat (PUT/PATCH upstream methods, or a
    /// request with `Idempotency-Key`) after a connect failure or a 502/503/504. Default 1.
    pub retries: u32,
    /// Consecutive failed calls (unreachable, timeout, broken answer, 5xx) that open the
    /// circuit breaker; 0 disables it. Default 5.
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls before letting one through, in ms. Default 5000.
    pub breaker_cooldown_ms: u64,
    /// Values of the upstream dialect's path variables (`store_hash = "abc123"` for
    /// `/stores/{store_hash}/v3/customers`), winning over the definition's `path_params`.
    pub path_params: BTreeMap<String, String>,
    /// PEM file of certificate authorities trusted for an `https://` upstream besides the
    /// system's (a private CA). Empty: the system's roots only.
    pub ca_file: PathBuf,
}

impl Default for RawUpstream {
    fn default() -> Self {
        RawUpstream {
            url: String::new(),
            dialect: "canonical".into(),
            connect_timeout_ms: 2_000,
            timeout_ms: 15_000,
            pool_max_idle: 1024,
            max_response_bytes: 4 * 1024 * 1024,
            retries: 1,
            breaker_failures: 5,
            breaker_cooldown_ms: 5_000,
            path_params: BTreeMap::new(),
            ca_file: PathBuf::new(),
        }
    }
}

/// `[credentials]`. Secrets are never in this file: only where to read them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCredentials {
    /// `static` (default) or `passthrough`.
    pub mode: CredentialMode,
    /// Environment variable holding caller keys, comma-separated.
    pub keys_env: Option<String>,
    /// File holding caller keys, one per line (`#` comments allowed).
    pub keys_file: Option<PathBuf>,
    /// File holding the public demo keys (same format); empty: the built-in list
    /// (`config/demo-keys.txt` at build time); absent: no demo keys. They open the embedded
    /// backend only: with an upstream URL they are not loaded, and a configured key equal to
    /// one is refused.
    pub demo_keys_file: Option<PathBuf>,
    /// Environment variable holding the gateway's own upstream credential.
    pub upstream_token_env: Option<String>,
    /// File holding the gateway's own upstream credential.
    pub upstream_token_file: Option<PathBuf>,
    /// Lifetime of the access tokens the token endpoint issues, in seconds (1 to 86400).
    /// Default 3600.
    pub token_ttl_s: u64,
    /// Whether the token endpoint accepts `grant_type=implicit`, which authenticates with a
    /// client id alone (a public value) and so treats that id as a secret. Default false.
    pub implicit_grant: bool,
    /// Environment variable holding the key access tokens are sealed with (at least 32 bytes),
    /// optionally followed by a comma and the previous key (still accepted, for rotation).
    /// Unset or empty: a random key per process (tokens work on that process only).
    pub token_key_env: String,
}

impl Default for RawCredentials {
    fn default() -> Self {
        RawCredentials {
            mode: CredentialMode::default(),
            keys_env: None,
            keys_file: None,
            demo_keys_file: None,
            upstream_token_env: None,
            upstream_token_file: None,
            token_ttl_s: 3600,
            implicit_grant: false,
            token_key_env: "DIALECTGATE_TOKEN_KEY".into(),
        }
    }
}

/// `[translation]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTranslation {
    /// `strict` (default): lossy translations are refused. `lenient`: carried out and reported.
    pub mode: Mode,
    /// `read` (default) or `never`: whether to read the stored customer to complete an update.
    pub fill: Fill,
    /// Members without a place in the upstream's dialect go into its extension bag.
    pub overflow: bool,
    /// The prefix of overflow keys; callers' bag keys starting with it are refused, overflow
    /// on or off.
    pub overflow_prefix: String,
}

impl Default for RawTranslation {
    fn default() -> Self {
        RawTranslation {
            mode: Mode::default(),
            fill: Fill::default(),
            overflow: false,
            overflow_prefix: dialectgate_dialect::DEFAULT_OVERFLOW_PREFIX.to_owned(),
        }
    }
}

/// `[candidate]`: migration mode, a second upstream in another dialect that is fed copies of
/// the traffic and compared with the primary, never answering callers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCandidate {
    /// `off` (default), `reads` (retrieve requests also go to the candidate) or `dual-write`
    /// (updates too, after the primary accepted them).
    pub mode: CandidateMode,
    /// Base URL of the candidate. Needed unless `mode = "off"`.
    pub url: String,
    /// What the candidate speaks: `canonical` or a dialect id. Needed unless `mode = "off"`.
    pub dialect: String,
    /// Environment variable holding the gateway's credential for the candidate. Default
    /// `DIALECTGATE_CANDIDATE_TOKEN`; unset: no credential is sent.
    pub token_env: Option<String>,
    /// File holding the gateway's credential for the candidate (wins over `token_env`).
    pub token_file: Option<PathBuf>,
    /// Total timeout of one candidate call, in ms. Default 5000.
    pub timeout_ms: u64,
    /// Candidate calls waiting at most; more are dropped and counted. Default 1024.
    pub queue: usize,
    /// Bytes the copies waiting for or being compared with the candidate may hold at most; a
    /// copy that does not fit is dropped and counted. Default 16 MiB.
    pub queue_bytes: usize,
    /// Reads also go twice to the primary; members that differ between the two primary
    /// answers are reported as noise, not divergence. Default false.
    pub noise_probe: bool,
    /// Path of the JSON-lines divergence log. Empty: no log (metrics only).
    pub log: PathBuf,
    /// Write the compared values into the log. Default false: a short keyed hash instead.
    pub log_values: bool,
    /// Values of the candidate dialect's path variables, as `upstream.path_params`.
    pub path_params: BTreeMap<String, String>,
    /// PEM file of certificate authorities trusted for an `https://` candidate besides the
    /// system's, as `upstream.ca_file`.
    pub ca_file: PathBuf,
}

impl Default for RawCandidate {
    fn default() -> Self {
        RawCandidate {
            mode: CandidateMode::Off,
            url: String::new(),
            dialect: String::new(),
            token_env: Some("DIALECTGATE_CANDIDATE_TOKEN".into()),
            token_file: None,
            timeout_ms: 5_000,
            queue: 1024,
            queue_bytes: 16 * 1024 * 1024,
            noise_probe: false,
            log: PathBuf::new(),
            log_values: false,
            path_params: BTreeMap::new(),
            ca_file: PathBuf::new(),
        }
    }
}
