//! Configuration: `config/dialectgate.toml` → environment (`DIALECTGATE__SECTION__KEY`) →
//! command-line overrides → [`RawConfig`] (serde, unknown keys refused) → [`Config`], which
//! checks everything at once and reports every problem, not just the first.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use dialectgate_dialect::Mode;
use serde::Deserialize;

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
    /// Time allowed for a client to send its request headers, in ms. Default 10000.
    pub header_read_timeout_ms: u64,
    /// Time allowed for a client to send its request body, in ms. Default 30000.
    pub body_read_timeout_ms: u64,
    /// A connection with no request in flight for this long is closed, in ms (HTTP/1 keep-alive
    /// and HTTP/2 alike). Default 60000.
    pub idle_timeout_ms: u64,
    /// Connections open at once; a connection beyond it is closed as soon as it is accepted.
    /// Default 10000.
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
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            idle_timeout_ms: 60_000,
            max_connections: 10_000,
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

/// Shortest admin token accepted: the token guards a remote reload, so it must not be guessable.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;

/// Most connections `server.max_connections` may allow (each costs a file descriptor).
const MAX_CONNECTIONS_LIMIT: usize = 1_000_000;

/// `[dialects]`: where the definitions and schemas are.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawDialects {
    /// Directory of `*.toml` dialect definitions. Default `config/dialects`.
    pub dir: PathBuf,
    /// Directory of JSON Schemas. Default `schemas`.
    pub schemas: PathBuf,
}

impl Default for RawDialects {
    fn default() -> Self {
        RawDialects {
            dir: "config/dialects".into(),
            schemas: "schemas".into(),
        }
    }
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
        }
    }
}

/// How credentials are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialMode {
    /// The gateway checks callers against its own keys and sends its own upstream credential.
    #[default]
    Static,
    /// The caller's credential is re-expressed in the upstream dialect's header.
    Passthrough,
}

impl std::str::FromStr for CredentialMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "static" => Ok(CredentialMode::Static),
            "passthrough" => Ok(CredentialMode::Passthrough),
            other => Err(format!(
                "unknown credentials mode `{other}` (static or passthrough)"
            )),
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
    /// File holding the public demo keys (same format). They open the embedded backend only:
    /// with an upstream URL they are not loaded, and a configured key equal to one is refused.
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
        }
    }
}

/// `[translation]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTranslation {
    /// `strict` (default): lossy translations are refused. `lenient`: carried out and reported.
    pub mode: Mode,
}

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that must send or compare it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Longest accepted `credentials.token_ttl_s`: one day, as Elastic Path's own customer tokens.
const MAX_TOKEN_TTL_S: u64 = 24 * 60 * 60;

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// `None`: no admin listener.
    pub admin_listen: Option<SocketAddr>,
    /// The variable named by `admin.token_env` (named in answers saying how to enable reloads).
    pub admin_token_env: String,
    /// The token `POST /admin/reload` requires; `None`: the endpoint is off.
    pub admin_token: Option<Secret>,
    pub max_body_bytes: usize,
    pub max_depth: usize,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub http2_max_concurrent_streams: u32,
    pub max_in_flight: usize,
    pub max_working: usize,
    pub grace_period: Duration,
    pub only: Vec<String>,
    /// Peers whose forwarding headers are believed (`server.trusted_proxies`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub dialects_dir: PathBuf,
    pub schemas_dir: PathBuf,
    /// `None`: the embedded backend.
    pub upstream_url: Option<String>,
    pub upstream_dialect: String,
    pub connect_timeout: Duration,
    pub upstream_timeout: Duration,
    pub pool_max_idle: usize,
    pub max_response_bytes: usize,
    pub retries: u32,
    pub breaker_failures: u32,
    pub breaker_cooldown: Duration,
    pub credential_mode: CredentialMode,
    pub caller_keys: Vec<Secret>,
    /// Where the caller keys came from, with counts (never values), for the start-up log.
    pub key_sources: Vec<String>,
    pub upstream_token: Option<Secret>,
    /// Lifetime of issued access tokens.
    pub token_ttl: Duration,
    /// The token endpoint accepts `grant_type=implicit` (a client id alone).
    pub implicit_grant: bool,
    pub mode: Mode,
    /// OTLP trace export endpoint, if configured.
    pub otlp_endpoint: Option<String>,
}

/// Configuration that cannot be used; every problem is listed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The sources could not be read or merged (syntax, unknown key, wrong type).
    #[error("cannot load the configuration")]
    Load(#[source] config::ConfigError),
    /// The values do not make a working configuration.
    #[error("invalid configuration:\n  {}", .0.join("\n  "))]
    Invalid(Vec<String>),
}

/// Command-line overrides of the most common keys (for CI jobs).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub admin_listen: Option<String>,
    pub upstream: Option<String>,
    pub upstream_dialect: Option<String>,
    pub credentials: Option<CredentialMode>,
    pub mode: Option<Mode>,
    pub only: Vec<String>,
}

/// Where environment variables come from: the process, or a map injected by tests.
pub type EnvSource = Option<std::collections::HashMap<String, String>>;

/// Loads `file` (optional when `None`), the `DIALECTGATE__*` environment, and `overrides`.
///
/// # Errors
/// Unreadable or unknown keys, and every invalid value at once.
pub fn load(file: Option<&Path>, env: EnvSource, overrides: &Overrides) -> Result<Config, ConfigError> {
    let mut builder = config::Config::builder();
    if let Some(file) = file {
        builder = builder.add_source(
            config::File::from(file)
                .format(config::FileFormat::Toml)
                .required(true),
        );
    }
    let env_source = config::Environment::with_prefix("DIALECTGATE")
        .prefix_separator("__")
        .separator("__")
        .list_separator(",")
        .with_list_parse_key("server.only")
        .with_list_parse_key("server.trusted_proxies")
        .try_parsing(true)
        .source(env.clone());
    builder = builder.add_source(env_source);
    let raw: RawConfig = builder
        .build()
        .and_then(config::Config::try_deserialize)
        .map_err(ConfigError::Load)?;
    let base = file
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map(Path::to_path_buf);
    build(raw, overrides, env.as_ref(), base.as_deref())
}

pub(crate) fn build(
    mut raw: RawConfig,
    o: &Overrides,
    env: Option<&std::collections::HashMap<String, String>>,
    base: Option<&Path>,
) -> Result<Config, ConfigError> {
    if let Some(v) = &o.listen {
        raw.server.listen.clone_from(v);
    }
    if let Some(v) = &o.admin_listen {
        raw.admin.listen.clone_from(v);
    }
    if let Some(v) = &o.upstream {
        raw.upstream.url.clone_from(v);
    }
    if let Some(v) = &o.upstream_dialect {
        raw.upstream.dialect.clone_from(v);
    }
    if let Some(v) = o.credentials {
        raw.credentials.mode = v;
    }
    if let Some(v) = o.mode {
        raw.translation.mode = v;
    }
    if !o.only.is_empty() {
        raw.server.only.clone_from(&o.only);
    }
    let mut problems = Vec::new();
    let listen = raw.server.listen.parse::<SocketAddr>().unwrap_or_else(|_| {
        problems.push(format!(
            "server.listen: `{}` is not an address like 127.0.0.1:8080",
            raw.server.listen
        ));
        SocketAddr::from(([127, 0, 0, 1], 8080))
    });
    let admin_listen = match raw.admin.listen.trim() {
        "" => None,
        addr => match addr.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                problems.push(format!(
                    "admin.listen: `{addr}` is not an address like 127.0.0.1:9090"
                ));
                None
            }
        },
    };
    let trusted_proxies = raw
        .server
        .trusted_proxies
        .iter()
        // A blank entry (an empty environment variable) adds nothing.
        .filter(|entry| !entry.trim().is_empty())
        .filter_map(|entry| {
            let parsed = trusted_proxy(entry);
            if parsed.is_none() {
                problems.push(format!(
                    "server.trusted_proxies: `{}` is not an IP address or CIDR range (like 192.0.2.7, 10.0.0.0/8 or 2001:db8::/32)",
                    entry.escape_debug()
                ));
            }
            parsed
        })
        .collect();
    let positive = |problems: &mut Vec<String>, key: &str, v: u64| {
        if v == 0 {
            problems.push(format!("{key}: must be greater than 0"));
        }
    };
    positive(
        &mut problems,
        "server.max_body_bytes",
        raw.server.max_body_bytes as u64,
    );
    positive(&mut problems, "server.max_depth", raw.server.max_depth as u64);
    positive(
        &mut problems,
        "server.header_read_timeout_ms",
        raw.server.header_read_timeout_ms,
    );
    positive(
        &mut problems,
        "server.body_read_timeout_ms",
        raw.server.body_read_timeout_ms,
    );
    positive(
        &mut problems,
        "server.idle_timeout_ms",
        raw.server.idle_timeout_ms,
    );
    positive(
        &mut problems,
        "server.max_connections",
        raw.server.max_connections as u64,
    );
    if raw.server.max_connections > MAX_CONNECTIONS_LIMIT {
        problems.push(format!("server.max_connections: at most {MAX_CONNECTIONS_LIMIT}"));
    }
    positive(
        &mut problems,
        "server.http2_max_concurrent_streams",
        u64::from(raw.server.http2_max_concurrent_streams),
    );
    positive(
        &mut problems,
        "server.max_in_flight",
        raw.server.max_in_flight as u64,
    );
    positive(&mut problems, "server.max_working", raw.server.max_working as u64);
    positive(
        &mut problems,
        "upstream.connect_timeout_ms",
        raw.upstream.connect_timeout_ms,
    );
    positive(&mut problems, "upstream.timeout_ms", raw.upstream.timeout_ms);
    positive(
        &mut problems,
        "upstream.max_response_bytes",
        raw.upstream.max_response_bytes as u64,
    );
    if raw.server.max_depth > 128 {
        problems.push("server.max_depth: at most 128 (serde_json's own recursion limit)".into());
    }
    let upstream_url =
        Some(raw.upstream.url.trim().trim_end_matches('/').to_owned()).filter(|u| !u.is_empty());
    if let Some(url) = &upstream_url {
        if let Some(problem) = upstream_url_problem(url) {
            problems.push(format!("upstream.url: {problem}"));
        }
    } else if raw.upstream.dialect != "canonical" {
        problems.push(format!(
            "upstream.dialect: `{}` needs upstream.url (the embedded backend speaks canonical)",
            raw.upstream.dialect
        ));
    }
    let read_env = |name: &str| -> Option<String> {
        match env {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    };
    let resolve = |p: &PathBuf| -> PathBuf {
        match base {
            Some(b) if p.is_relative() && !p.exists() && b.join(p).exists() => b.join(p),
            _ => p.clone(),
        }
    };
    let mut caller_keys = Vec::new();
    let mut key_sources = Vec::new();
    if let Some(name) = &raw.credentials.keys_env
        && let Some(v) = read_env(name)
    {
        let keys: Vec<Secret> = v
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(Secret::new)
            .collect();
        key_sources.push(format!("environment {name}: {}", keys.len()));
        caller_keys.extend(keys);
    }
    let read_keys = |key: &str, path: &PathBuf, problems: &mut Vec<String>| -> Vec<Secret> {
        match std::fs::read_to_string(resolve(path)) {
            Ok(text) => text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(Secret::new)
                .collect(),
            Err(e) => {
                problems.push(format!("{key}: cannot read {}: {e}", path.display()));
                Vec::new()
            }
        }
    };
    if let Some(path) = &raw.credentials.keys_file {
        let keys = read_keys("credentials.keys_file", path, &mut problems);
        key_sources.push(format!("file {}: {}", path.display(), keys.len()));
        caller_keys.extend(keys);
    }
    // The demo keys are public (the README prints one): they open the embedded backend, never
    // a real upstream, whatever else is configured.
    let mut demo_keys = vec![Secret::new(PUBLIC_DEMO_KEY)];
    if let Some(path) = &raw.credentials.demo_keys_file {
        demo_keys.extend(read_keys("credentials.demo_keys_file", path, &mut problems));
    }
    let static_mode = raw.credentials.mode == CredentialMode::Static;
    if upstream_url.is_none() {
        if let Some(path) = &raw.credentials.demo_keys_file {
            key_sources.push(format!(
                "demo file {} (embedded backend only): {}",
                path.display(),
                demo_keys.len() - 1
            ));
            caller_keys.extend(demo_keys.into_iter().skip(1));
        }
    } else if static_mode {
        if caller_keys.is_empty() {
            problems.push(format!(
                "credentials: static mode with an upstream needs caller keys: set the variable {} \
                 (credentials.keys_env) or credentials.keys_file; the demo keys \
                 (credentials.demo_keys_file) open only the embedded backend",
                raw.credentials
                    .keys_env
                    .as_deref()
                    .unwrap_or("named by credentials.keys_env")
            ));
        } else if caller_keys.iter().any(|k| demo_keys.contains(k)) {
            problems.push(
                "credentials: a configured caller key is a public demo key; demo keys open only \
                 the embedded backend: choose another key"
                    .into(),
            );
        }
    }
    if static_mode && caller_keys.is_empty() && upstream_url.is_none() {
        problems.push(
            "credentials: static mode needs caller keys (credentials.keys_env naming a set variable, \
             credentials.keys_file, or credentials.demo_keys_file for the embedded backend)"
                .into(),
        );
    }
    let mut upstream_token = None;
    if let Some(name) = &raw.credentials.upstream_token_env {
        upstream_token = read_env(name).filter(|v| !v.is_empty()).map(Secret::new);
    }
    if let Some(path) = &raw.credentials.upstream_token_file {
        match std::fs::read_to_string(resolve(path)) {
            Ok(text) => upstream_token = Some(Secret::new(text.trim())),
            Err(e) => problems.push(format!(
                "credentials.upstream_token_file: cannot read {}: {e}",
                path.display()
            )),
        }
    }
    if raw.credentials.mode == CredentialMode::Static && upstream_url.is_some() && upstream_token.is_none() {
        problems.push(
            "credentials: static mode with an upstream needs the gateway's upstream credential \
             (credentials.upstream_token_env naming a set variable, or credentials.upstream_token_file)"
                .into(),
        );
    }
    if raw.credentials.mode == CredentialMode::Passthrough && upstream_url.is_none() {
        problems.push(
            "credentials.mode: passthrough needs an upstream (set upstream.url or --upstream): the \
             embedded backend checks no credential, so any caller string would update its customers; \
             use static mode with caller keys in front of the embedded backend"
                .into(),
        );
    }
    if !(1..=MAX_TOKEN_TTL_S).contains(&raw.credentials.token_ttl_s) {
        problems.push(format!(
            "credentials.token_ttl_s: must be between 1 and {MAX_TOKEN_TTL_S} seconds"
        ));
    }
    let admin_token_env = raw.admin.token_env.trim().to_owned();
    let admin_token = if admin_token_env.is_empty() || admin_token_env.contains(['=', '\0']) {
        problems
            .push("admin.token_env: must name an environment variable (e.g. DIALECTGATE_ADMIN_TOKEN)".into());
        None
    } else {
        read_env(&admin_token_env)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .map(Secret::new)
    };
    if admin_token
        .as_ref()
        .is_some_and(|t| t.expose().chars().count() < MIN_ADMIN_TOKEN_CHARS)
    {
        problems.push(format!(
            "admin.token_env: the token in {admin_token_env} is shorter than {MIN_ADMIN_TOKEN_CHARS} characters \
             (unset it to turn POST /admin/reload off)"
        ));
    }
    let otlp_endpoint = Some(raw.telemetry.otlp_endpoint.trim().to_owned()).filter(|e| !e.is_empty());
    if otlp_endpoint.is_some() && !cfg!(feature = "otlp") {
        problems.push(
            "telemetry.otlp_endpoint: this build has no OTLP export (build with `--features otlp`)".into(),
        );
    }
    if !problems.is_empty() {
        return Err(ConfigError::Invalid(problems));
    }
    Ok(Config {
        listen,
        admin_listen,
        admin_token_env,
        admin_token,
        max_body_bytes: raw.server.max_body_bytes,
        max_depth: raw.server.max_depth,
        header_read_timeout: Duration::from_millis(raw.server.header_read_timeout_ms),
        body_read_timeout: Duration::from_millis(raw.server.body_read_timeout_ms),
        idle_timeout: Duration::from_millis(raw.server.idle_timeout_ms),
        max_connections: raw.server.max_connections,
        http2_max_concurrent_streams: raw.server.http2_max_concurrent_streams,
        max_in_flight: raw.server.max_in_flight,
        max_working: raw.server.max_working,
        grace_period: Duration::from_millis(raw.server.grace_period_ms),
        only: raw.server.only,
        trusted_proxies,
        dialects_dir: resolve(&raw.dialects.dir),
        schemas_dir: resolve(&raw.dialects.schemas),
        upstream_url,
        upstream_dialect: raw.upstream.dialect,
        connect_timeout: Duration::from_millis(raw.upstream.connect_timeout_ms),
        upstream_timeout: Duration::from_millis(raw.upstream.timeout_ms),
        pool_max_idle: raw.upstream.pool_max_idle,
        max_response_bytes: raw.upstream.max_response_bytes,
        retries: raw.upstream.retries,
        breaker_failures: raw.upstream.breaker_failures,
        breaker_cooldown: Duration::from_millis(raw.upstream.breaker_cooldown_ms),
        credential_mode: raw.credentials.mode,
        caller_keys,
        key_sources,
        upstream_token,
        token_ttl: Duration::from_secs(raw.credentials.token_ttl_s),
        implicit_grant: raw.credentials.implicit_grant,
        mode: raw.translation.mode,
        otlp_endpoint,
    })
}

/// The demo key the README prints. Public by definition: it opens the embedded backend only,
/// even when it is not in `credentials.demo_keys_file`.
pub const PUBLIC_DEMO_KEY: &str = "dg_demo_key";

/// Why `url` cannot be the upstream's base URL, if it cannot.
fn upstream_url_problem(url: &str) -> Option<String> {
    let parsed = match reqwest::Url::parse(url) {
        Ok(parsed) => parsed,
        // Not echoed: a URL that does not parse may still carry a password.
        Err(e) => return Some(format!("not a URL ({e})")),
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Some(format!(
            "`{}` must start with http:// or https://",
            parsed.scheme()
        ));
    }
    if parsed.host().is_none() {
        return Some("the URL has no host".into());
    }
    // The URL is logged and shown; credentials in it would leak (and are never sent).
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Some(
            "the URL must not carry credentials (user:password@); set the upstream credential \
             with credentials.upstream_token_env or credentials.upstream_token_file"
                .into(),
        );
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Some(
            "the URL must not have a query or a fragment: a base URL is scheme, host, port and path".into(),
        );
    }
    None
}

/// One `server.trusted_proxies` entry: an address (one host) or a CIDR range.
fn trusted_proxy(entry: &str) -> Option<ipnet::IpNet> {
    let entry = entry.trim();
    if entry.contains('/') {
        entry.parse().ok()
    } else {
        entry.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> EnvSource {
        Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn environment_overrides_the_file_and_flags_override_both() {
        let dir = std::env::temp_dir().join(format!("dg-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("gw.toml");
        std::fs::write(
            &file,
            "[upstream]\ntimeout_ms = 100\n[credentials]\nkeys_env = \"K\"\n",
        )
        .unwrap();
        let cfg = load(
            Some(&file),
            env(&[("DIALECTGATE__UPSTREAM__TIMEOUT_MS", "250"), ("K", "a, b")]),
            &Overrides {
                listen: Some("127.0.0.1:9999".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(cfg.upstream_timeout, Duration::from_millis(250));
        assert_eq!(cfg.listen.port(), 9999);
        assert_eq!(cfg.caller_keys, vec![Secret::new("a"), Secret::new("b")]);
        assert_eq!(format!("{:?}", cfg.caller_keys), "[Secret(***), Secret(***)]");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = std::env::temp_dir().join(format!("dg-config-typo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("gw.toml");
        std::fs::write(&file, "[server]\nlisten_adr = \"x\"\n").unwrap();
        let err = load(Some(&file), env(&[]), &Overrides::default()).unwrap_err();
        let chain = format!("{:#}", anyhow_like(&err));
        assert!(chain.contains("listen_adr"), "{chain}");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let raw = RawConfig {
            server: RawServer {
                listen: "nope".into(),
                max_in_flight: 0,
                ..RawServer::default()
            },
            upstream: RawUpstream {
                dialect: "medusa".into(),
                ..RawUpstream::default()
            },
            ..RawConfig::default()
        };
        let Err(ConfigError::Invalid(problems)) =
            build(raw, &Overrides::default(), Some(&Default::default()), None)
        else {
            panic!("expected invalid");
        };
        assert!(
            problems.iter().any(|p| p.starts_with("server.listen")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("server.max_in_flight")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("upstream.dialect")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.starts_with("credentials")),
            "{problems:?}"
        );
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges_and_a_bad_entry_is_named() {
        let raw = |entries: &[&str]| RawConfig {
            server: RawServer {
                trusted_proxies: entries.iter().map(|e| (*e).to_owned()).collect(),
                ..RawServer::default()
            },
            credentials: RawCredentials {
                keys_env: Some("K".into()),
                ..RawCredentials::default()
            },
            ..RawConfig::default()
        };
        let env: std::collections::HashMap<String, String> = [("K".to_owned(), "k".to_owned())].into();
        let cfg = build(
            raw(&["127.0.0.1", " 10.0.0.0/8 ", "", "2001:db8::/32", "::1"]),
            &Overrides::default(),
            Some(&env),
            None,
        )
        .unwrap();
        let shown: Vec<String> = cfg.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["127.0.0.1/32", "10.0.0.0/8", "2001:db8::/32", "::1/128"]);
        assert!(RawConfig::default().server.trusted_proxies.is_empty());
        for bad in [
            "proxy.example",
            "10.0.0.0/33",
            "10.0.0.1/",
            "/8",
            "1.2.3.4:80",
            "[::1]",
        ] {
            let Err(ConfigError::Invalid(problems)) =
                build(raw(&["127.0.0.1", bad]), &Overrides::default(), Some(&env), None)
            else {
                panic!("`{bad}` accepted");
            };
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(
                problems[0].starts_with(&format!("server.trusted_proxies: `{bad}`")),
                "{problems:?}"
            );
        }
    }

    #[test]
    fn trusted_proxies_from_the_environment_are_a_list() {
        let with = |proxies: &str| {
            let env = [
                ("DIALECTGATE__SERVER__TRUSTED_PROXIES", proxies),
                ("DIALECTGATE__CREDENTIALS__KEYS_ENV", "K"),
                ("K", "k"),
            ];
            let env = env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            load(None, Some(env), &Overrides::default()).unwrap()
        };
        assert_eq!(with("127.0.0.1,10.0.0.0/8").trusted_proxies.len(), 2);
        assert!(with("").trusted_proxies.is_empty());
    }

    #[test]
    fn passthrough_without_an_upstream_refuses_to_start() {
        let raw = RawConfig {
            credentials: RawCredentials {
                mode: CredentialMode::Passthrough,
                ..RawCredentials::default()
            },
            ..RawConfig::default()
        };
        let Err(ConfigError::Invalid(problems)) = build(
            raw.clone(),
            &Overrides::default(),
            Some(&Default::default()),
            None,
        ) else {
            panic!("expected invalid");
        };
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("credentials.mode: passthrough needs an upstream (set upstream.url")),
            "{problems:?}"
        );
        let with_upstream = RawConfig {
            upstream: RawUpstream {
                url: "http://127.0.0.1:1".into(),
                ..RawUpstream::default()
            },
            ..raw
        };
        assert!(
            build(
                with_upstream,
                &Overrides::default(),
                Some(&Default::default()),
                None
            )
            .is_ok()
        );
    }

    #[test]
    fn token_settings_default_and_are_bounded() {
        let keys: std::collections::HashMap<String, String> =
            [("K".to_owned(), "k".to_owned())].into_iter().collect();
        let with = |token_ttl_s: u64| RawConfig {
            credentials: RawCredentials {
                keys_env: Some("K".into()),
                token_ttl_s,
                ..RawCredentials::default()
            },
            ..RawConfig::default()
        };
        let cfg = build(with(3600), &Overrides::default(), Some(&keys), None).unwrap();
        assert_eq!(cfg.token_ttl, Duration::from_secs(3600));
        assert!(!cfg.implicit_grant);
        assert_eq!(RawCredentials::default().token_ttl_s, 3600);
        for bad in [0, 86_401] {
            let Err(ConfigError::Invalid(problems)) =
                build(with(bad), &Overrides::default(), Some(&keys), None)
            else {
                panic!("{bad} accepted");
            };
            assert!(
                problems.iter().any(|p| p.starts_with("credentials.token_ttl_s")),
                "{problems:?}"
            );
        }
    }

    fn anyhow_like(e: &ConfigError) -> String {
        let mut out = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            out.push_str(": ");
            out.push_str(&s.to_string());
            src = s.source();
        }
        out
    }
}

#[cfg(test)]
mod env_tests {
    use super::*;

    #[test]
    fn small_numbers_from_the_environment() {
        let env: EnvSource = Some(
            [
                ("DIALECTGATE__SERVER__MAX_IN_FLIGHT", "1"),
                ("DIALECTGATE__UPSTREAM__BREAKER_FAILURES", "3"),
                ("K", "k"),
            ]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        );
        let dir = std::env::temp_dir().join(format!("dg-config-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("gw.toml");
        std::fs::write(
            &file,
            "[server]\nmax_in_flight = 1024\n[credentials]\nkeys_env = \"K\"\n",
        )
        .unwrap();
        let cfg = load(Some(&file), env, &Overrides::default()).unwrap();
        assert_eq!(cfg.max_in_flight, 1);
        assert_eq!(cfg.breaker_failures, 3);
    }
}

#[cfg(test)]
mod transport_and_admin_tests {
    use super::*;

    fn with_env(raw: RawConfig, pairs: &[(&str, &str)]) -> Result<Config, Vec<String>> {
        let mut env: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        env.insert("K".into(), "k".into());
        let raw = RawConfig {
            credentials: RawCredentials {
                keys_env: Some("K".into()),
                ..RawCredentials::default()
            },
            ..raw
        };
        match build(raw, &Overrides::default(), Some(&env), None) {
            Ok(c) => Ok(c),
            Err(ConfigError::Invalid(problems)) => Err(problems),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn transport_defaults() {
        let cfg = with_env(RawConfig::default(), &[]).unwrap();
        assert_eq!(cfg.idle_timeout, Duration::from_secs(60));
        assert_eq!(cfg.max_connections, 10_000);
        assert_eq!(cfg.http2_max_concurrent_streams, 100);
        assert_eq!(cfg.admin_token_env, "DIALECTGATE_ADMIN_TOKEN");
        assert!(cfg.admin_token.is_none(), "no variable, no remote reload");
    }

    #[test]
    fn transport_limits_must_be_usable() {
        let raw = RawConfig {
            server: RawServer {
                idle_timeout_ms: 0,
                max_connections: 0,
                http2_max_concurrent_streams: 0,
                ..RawServer::default()
            },
            ..RawConfig::default()
        };
        let problems = with_env(raw, &[]).unwrap_err();
        for key in [
            "server.idle_timeout_ms",
            "server.max_connections",
            "server.http2_max_concurrent_streams",
        ] {
            assert!(problems.iter().any(|p| p.starts_with(key)), "{key}: {problems:?}");
        }
        let raw = RawConfig {
            server: RawServer {
                max_connections: 2_000_000,
                ..RawServer::default()
            },
            ..RawConfig::default()
        };
        let problems = with_env(raw, &[]).unwrap_err();
        assert!(problems.iter().any(|p| p.starts_with("server.max_connections")));
    }

    #[test]
    fn the_admin_token_comes_from_the_named_variable() {
        let token = "0123456789abcdef-admin";
        let cfg = with_env(RawConfig::default(), &[("DIALECTGATE_ADMIN_TOKEN", token)]).unwrap();
        assert_eq!(cfg.admin_token, Some(Secret::new(token)));
        assert_eq!(format!("{:?}", cfg.admin_token), "Some(Secret(***))");
        let raw = RawConfig {
            admin: RawAdmin {
                token_env: "OTHER".into(),
                ..RawAdmin::default()
            },
            ..RawConfig::default()
        };
        let cfg = with_env(
            raw,
            &[
                ("DIALECTGATE_ADMIN_TOKEN", token),
                ("OTHER", "  other-token-0123456789\n"),
            ],
        )
        .unwrap();
        assert_eq!(cfg.admin_token, Some(Secret::new("other-token-0123456789")));
        // Empty means off.
        let cfg = with_env(RawConfig::default(), &[("DIALECTGATE_ADMIN_TOKEN", "")]).unwrap();
        assert!(cfg.admin_token.is_none());
    }

    #[test]
    fn a_short_admin_token_or_a_bad_variable_name_is_refused() {
        let problems =
            with_env(RawConfig::default(), &[("DIALECTGATE_ADMIN_TOKEN", "tiny-tok")]).unwrap_err();
        assert!(
            problems.iter().any(|p| p.starts_with("admin.token_env")),
            "{problems:?}"
        );
        assert!(
            problems.iter().all(|p| !p.contains("tiny-tok")),
            "the token is never quoted: {problems:?}"
        );
        for name in ["", "A=B"] {
            let raw = RawConfig {
                admin: RawAdmin {
                    token_env: name.into(),
                    ..RawAdmin::default()
                },
                ..RawConfig::default()
            };
            let problems = with_env(raw, &[]).unwrap_err();
            assert!(
                problems.iter().any(|p| p.starts_with("admin.token_env")),
                "{problems:?}"
            );
        }
    }
}
