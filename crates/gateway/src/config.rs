//! Configuration, in one pipeline: the file given with `--config`, or else the built-in copy
//! of `config/dialectgate.toml` ([`DEFAULT_CONFIG`]) → environment
//! (`DIALECTGATE__SECTION__KEY`, the one spelling of every setting) → command-line overrides →
//! [`RawConfig`] (serde, unknown keys refused; `raw.rs`) → [`Config`] (`build.rs`), which checks
//! every value, reports every problem at once, and holds runtime types (`SocketAddr`,
//! `Duration`, `NonZero*`) in sections that mirror the file.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use dialectgate_dialect::{Fill, Mode, Source};
use serde::Deserialize;

mod build;
mod raw;
#[cfg(test)]
mod tests;

pub use self::build::MIN_ADMIN_TOKEN_CHARS;
pub(crate) use self::build::from_raw;
pub use self::raw::{RawAdmin, RawCandidate, RawConfig, RawCredentials, RawServer, RawUpstream};

/// The checked configuration, one section per section of the file.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub admin: AdminConfig,
    pub dialects: DialectsConfig,
    pub upstream: UpstreamConfig,
    pub credentials: CredentialsConfig,
    pub translation: TranslationConfig,
    pub telemetry: TelemetryConfig,
    pub candidate: CandidateConfig,
}

/// `[server]`: the listener and its limits.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub max_body_bytes: NonZeroUsize,
    /// At most 128 (serde_json's own recursion limit).
    pub max_depth: NonZeroUsize,
    /// At most [`dialectgate_dialect::DEFAULT_MAX_VALUES`].
    pub max_json_values: NonZeroUsize,
    /// The memory budget of requests (`pipeline::admit`).
    pub max_buffered_bytes: NonZeroUsize,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: NonZeroUsize,
    pub http2_max_concurrent_streams: NonZeroU32,
    pub max_in_flight: NonZeroUsize,
    pub max_working: NonZeroUsize,
    pub grace_period: Duration,
    /// Serve only these dialects (empty: all).
    pub only: Vec<String>,
    /// Peers whose forwarding headers are believed (`server.trusted_proxies`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl ServerConfig {
    /// What a request body may hold.
    pub fn json_limits(&self) -> dialectgate_dialect::Limits {
        dialectgate_dialect::Limits {
            depth: self.max_depth.get(),
            values: self.max_json_values.get(),
        }
    }
}

/// `[admin]`: the admin listener.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// `None`: no admin listener.
    pub listen: Option<SocketAddr>,
    /// The variable named by `admin.token_env` (named in answers saying how to enable reloads).
    pub token_env: String,
    /// The token `POST /admin/reload` requires; `None`: the endpoint is off.
    pub token: Option<Secret>,
}

/// `[dialects]`: where the definitions and schemas are.
#[derive(Debug, Clone)]
pub struct DialectsConfig {
    /// Empty: the definitions built into the binary.
    pub dir: PathBuf,
    /// Empty: the schemas built into the binary.
    pub schemas: PathBuf,
}

impl DialectsConfig {
    /// Where the definitions are read from.
    pub fn dialects_source(&self) -> Source {
        Source::dir_or_embedded(Some(self.dir.as_path()).filter(|d| !d.as_os_str().is_empty()))
    }

    /// Where the schemas are read from.
    pub fn schemas_source(&self) -> Source {
        Source::dir_or_embedded(Some(self.schemas.as_path()).filter(|d| !d.as_os_str().is_empty()))
    }
}

/// `[upstream]`: where requests go and how.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// `None`: the embedded backend.
    pub url: Option<String>,
    /// `canonical` or a dialect id.
    pub dialect: String,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub pool_max_idle: usize,
    pub max_response_bytes: NonZeroUsize,
    pub retries: u32,
    /// 0: the breaker never opens.
    pub breaker_failures: u32,
    pub breaker_cooldown: Duration,
    /// Values of the upstream dialect's path variables (checked against the dialect at
    /// gateway build).
    pub path_params: BTreeMap<String, String>,
    /// Certificate authorities trusted besides the system's (`upstream.ca_file`).
    pub roots: Vec<rustls::pki_types::CertificateDer<'static>>,
}

/// `[credentials]`, with the secrets read from where the file says.
#[derive(Debug, Clone)]
pub struct CredentialsConfig {
    pub mode: CredentialMode,
    pub caller_keys: Vec<Secret>,
    /// Where the caller keys came from, with counts (never values), for the start-up log.
    pub key_sources: Vec<String>,
    pub upstream_token: Option<Secret>,
    /// Lifetime of issued access tokens.
    pub token_ttl: Duration,
    /// The token endpoint accepts `grant_type=implicit` (a client id alone).
    pub implicit_grant: bool,
    /// The [`fingerprint`](crate::fingerprint::fingerprint) of each caller key, in the same order:
    /// what static-mode tokens are bound to.
    pub key_fingerprints: Vec<crate::fingerprint::Fingerprint>,
    /// The variable named by `credentials.token_key_env`.
    pub token_key_env: String,
    /// The token keys read from it: the current one, then the previous one if given. Empty: a
    /// random key per process.
    pub token_keys: Vec<Secret>,
}

impl CredentialsConfig {
    /// How tokens are sealed, for the start-up line: never a key.
    pub fn token_key_summary(&self) -> String {
        let env = &self.token_key_env;
        match self.token_keys.len() {
            0 => format!("valid on this process only ({env} is not set: a random key per process)"),
            1 => format!("sealed with the key in {env}"),
            _ => format!("sealed with the key in {env}; its previous key is still accepted"),
        }
    }
}

/// `[translation]`.
#[derive(Debug, Clone)]
pub struct TranslationConfig {
    pub mode: Mode,
    /// `read` (default): a request the upstream cannot take as a pure patch is completed from
    /// the stored customer, read with the upstream's retrieve operation; `never`: refused or
    /// reported as lossy.
    pub fill: Fill,
    /// Members the upstream's dialect has no place for go into its extension bag.
    pub overflow: bool,
    /// The prefix of overflow keys in the bag (`dialectgate:` makes `dialectgate:/company/name`).
    pub overflow_prefix: String,
    /// A write whose version the gateway filled (read-modify-write) and that the upstream
    /// answers with a conflict is read again and retried at most this many times (default 2).
    pub conflict_retries: u32,
}

impl TranslationConfig {
    /// The dialect engine's options for a request.
    pub fn options(&self) -> dialectgate_dialect::Options<'_> {
        dialectgate_dialect::Options {
            mode: self.mode,
            fill: self.fill,
            overflow: self.overflow,
            overflow_prefix: &self.overflow_prefix,
        }
    }

    /// With overflow, the prefix of the gateway's keys in an upstream's bag, whose members are
    /// restored from it when its answer is understood; `None` without overflow.
    pub fn restore_prefix(&self) -> Option<&str> {
        self.overflow.then_some(self.overflow_prefix.as_str())
    }
}

/// `[telemetry]`.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// OTLP trace export endpoint, if configured.
    pub otlp_endpoint: Option<String>,
}

/// `[candidate]`: migration mode (`candidate.rs`).
#[derive(Debug, Clone)]
pub struct CandidateConfig {
    pub mode: CandidateMode,
    /// The candidate's base URL; `Some` whenever `mode` is not off.
    pub url: Option<String>,
    /// `canonical` or a dialect id (checked against the loaded dialects at gateway build).
    pub dialect: String,
    /// The gateway's credential for the candidate; `None`: none is sent.
    pub token: Option<Secret>,
    pub timeout: Duration,
    /// Candidate calls waiting at most; more are dropped and counted.
    pub queue: NonZeroUsize,
    /// Bytes the copies (queued or being compared) may hold at most; more are dropped and
    /// counted.
    pub queue_bytes: NonZeroUsize,
    pub noise_probe: bool,
    /// The JSON-lines divergence log; `None`: metrics only.
    pub log: Option<PathBuf>,
    /// Compared values written as they are instead of a keyed hash.
    pub log_values: bool,
    /// Values of the candidate dialect's path variables.
    pub path_params: BTreeMap<String, String>,
    /// Certificate authorities trusted besides the system's (`candidate.ca_file`).
    pub roots: Vec<rustls::pki_types::CertificateDer<'static>>,
}

/// What goes to the candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CandidateMode {
    /// Nothing (default).
    #[default]
    Off,
    /// Retrieve requests.
    Reads,
    /// Retrieve requests and updates (after the primary accepted them).
    DualWrite,
}

impl CandidateMode {
    /// The name used in the configuration and in metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateMode::Off => "off",
            CandidateMode::Reads => "reads",
            CandidateMode::DualWrite => "dual-write",
        }
    }
}

impl std::str::FromStr for CandidateMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(CandidateMode::Off),
            "reads" => Ok(CandidateMode::Reads),
            "dual-write" => Ok(CandidateMode::DualWrite),
            other => Err(format!(
                "unknown candidate mode `{other}` (off, reads or dual-write)"
            )),
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
    pub dialects_dir: Option<PathBuf>,
    pub schemas_dir: Option<PathBuf>,
    pub candidate: Option<String>,
    pub candidate_dialect: Option<String>,
    pub candidate_mode: Option<CandidateMode>,
    pub candidate_log: Option<PathBuf>,
    /// `upstream.path_params` entries (name, value), each replacing the file's.
    pub upstream_path_params: Vec<(String, String)>,
    /// `candidate.path_params` entries (name, value), each replacing the file's.
    pub candidate_path_params: Vec<(String, String)>,
}

/// Where environment variables come from: the process, or a map injected by tests.
pub type EnvSource = Option<std::collections::HashMap<String, String>>;

/// The default configuration built into the binary: `config/dialectgate.toml` as shipped,
/// used when no `--config` is given.
pub const DEFAULT_CONFIG: &str = include_str!("../../../config/dialectgate.toml");

/// The built-in demo keys (`config/demo-keys.txt` as shipped), read when
/// `credentials.demo_keys_file` is empty.
pub(crate) const DEMO_KEYS: &str = include_str!("../../../config/demo-keys.txt");

/// Loads `file` (optional when `None`), the `DIALECTGATE__*` environment, and `overrides`.
///
/// # Errors
/// Unreadable or unknown keys, and every invalid value at once.
pub fn load(file: Option<&Path>, env: EnvSource, overrides: &Overrides) -> Result<Config, ConfigError> {
    let source = file.map(|file| {
        config::File::from(file)
            .format(config::FileFormat::Toml)
            .required(true)
    });
    let base = file
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map(Path::to_path_buf);
    load_from(source, base.as_deref(), env, overrides)
}

/// Loads the built-in `DEFAULT_CONFIG` in place of a file, then the environment and
/// `overrides`, as [`load`]: what `dialectgate serve` runs without `--config`.
///
/// # Errors
/// As [`load`].
pub fn load_default(env: EnvSource, overrides: &Overrides) -> Result<Config, ConfigError> {
    let source = config::File::from_str(DEFAULT_CONFIG, config::FileFormat::Toml);
    load_from(Some(source), None, env, overrides)
}

/// The pipeline: `file` (relative paths also resolved from `base`), the environment,
/// `overrides`.
fn load_from(
    file: Option<impl config::Source + Send + Sync + 'static>,
    base: Option<&Path>,
    env: EnvSource,
    overrides: &Overrides,
) -> Result<Config, ConfigError> {
    let mut builder = config::Config::builder();
    if let Some(file) = file {
        builder = builder.add_source(file);
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
    from_raw(raw, overrides, env.as_ref(), base)
}
