//! [`RawConfig`] → [`Config`]: one function per section, each checking its values and adding
//! what is wrong to one list, so that every problem is reported at once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZero;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use self::candidate::candidate;
use super::{
    AdminConfig, Config, ConfigError, DialectsConfig, Overrides, RawAdmin, RawConfig, RawServer, RawUpstream,
    Secret, ServerConfig, TelemetryConfig, TranslationConfig, UpstreamConfig,
};

mod candidate;

/// Shortest admin token accepted: the token guards a remote reload, so it must not be guessable.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;

/// The demo key the README prints. Public by definition: it opens the embedded backend only,
/// even when it is not in `credentials.demo_keys_file`.
pub const PUBLIC_DEMO_KEY: &str = "dg_demo_key";

/// Most connections `server.max_connections` may allow (each costs a file descriptor).
const MAX_CONNECTIONS_LIMIT: usize = 1_000_000;

/// Deepest nesting `server.max_depth` may allow (serde_json's own recursion limit).
const MAX_DEPTH_LIMIT: usize = 128;

/// The unsigned integers a setting may require to be non-zero.
trait Positive: Copy {
    type NonZero: Copy;
    const ONE: Self::NonZero;
    fn non_zero(self) -> Option<Self::NonZero>;
}

macro_rules! positive {
    ($($t:ty),*) => {$(
        impl Positive for $t {
            type NonZero = NonZero<$t>;
            const ONE: NonZero<$t> = NonZero::<$t>::MIN;
            fn non_zero(self) -> Option<NonZero<$t>> {
                NonZero::new(self)
            }
        }
    )*};
}

positive!(u32, u64, usize);

mod credentials;

/// What the section builders share: the problems found so far, the environment, and how
/// relative paths resolve.
struct Ctx<'a> {
    problems: Vec<String>,
    env: Option<&'a HashMap<String, String>>,
    base: Option<&'a Path>,
}

impl Ctx<'_> {
    fn problem(&mut self, p: impl Into<String>) {
        self.problems.push(p.into());
    }

    /// `value` as its non-zero type, or a problem naming `key` and 1 in its place, so that
    /// building goes on and finds the other problems.
    fn non_zero<T: Positive>(&mut self, key: &str, value: T) -> T::NonZero {
        value.non_zero().unwrap_or_else(|| {
            self.problem(format!("{key}: must be greater than 0"));
            T::ONE
        })
    }

    /// A duration in milliseconds that must not be zero.
    fn millis(&mut self, key: &str, ms: u64) -> Duration {
        Duration::from_millis(self.non_zero(key, ms).get())
    }

    fn env(&self, name: &str) -> Option<String> {
        match self.env {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }

    /// A relative path as written, or else beside the configuration's folder. Empty (the
    /// built-in copy) stays empty.
    fn resolve(&self, p: &Path) -> PathBuf {
        match self.base {
            Some(b) if !p.as_os_str().is_empty() && p.is_relative() && !p.exists() && b.join(p).exists() => {
                b.join(p)
            }
            _ => p.to_path_buf(),
        }
    }

    /// Keys in a file, one per line (`#` comments and blank lines skipped); an empty path
    /// reads `builtin` instead.
    fn read_keys(&mut self, key: &str, path: &Path, builtin: Option<&str>) -> Vec<Secret> {
        let text = match builtin.filter(|_| path.as_os_str().is_empty()) {
            Some(text) => text.to_owned(),
            None => match std::fs::read_to_string(self.resolve(path)) {
                Ok(text) => text,
                Err(e) => {
                    self.problem(format!("{key}: cannot read {}: {e}", path.display()));
                    return Vec::new();
                }
            },
        };
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(Secret::new)
            .collect()
    }
}

pub(crate) fn from_raw(
    mut raw: RawConfig,
    o: &Overrides,
    env: Option<&HashMap<String, String>>,
    base: Option<&Path>,
) -> Result<Config, ConfigError> {
    apply(&mut raw, o);
    let mut ctx = Ctx {
        problems: Vec::new(),
        env,
        base,
    };
    let server = server(&mut ctx, raw.server);
    let admin = admin(&mut ctx, &raw.admin);
    let upstream = upstream(&mut ctx, raw.upstream);
    let credentials = credentials::credentials(&mut ctx, &raw.credentials, upstream.url.is_some());
    let candidate = candidate(&mut ctx, raw.candidate);
    let dialects = DialectsConfig {
        dir: ctx.resolve(&raw.dialects.dir),
        schemas: ctx.resolve(&raw.dialects.schemas),
    };
    let otlp_endpoint = Some(raw.telemetry.otlp_endpoint.trim().to_owned()).filter(|e| !e.is_empty());
    let prefix = &raw.translation.overflow_prefix;
    if prefix.is_empty() || prefix.len() > 64 || prefix.chars().any(char::is_control) {
        ctx.problem(
            "translation.overflow_prefix: must be 1 to 64 bytes without control characters (the bag's \
             own keys must not be mistaken for overflow)",
        );
    }
    if raw.translation.conflict_retries > super::raw::MAX_CONFLICT_RETRIES {
        ctx.problem(format!(
            "translation.conflict_retries: {} is more than {} (each retry is one more read and one more write)",
            raw.translation.conflict_retries,
            super::raw::MAX_CONFLICT_RETRIES
        ));
    }
    if otlp_endpoint.is_some() && !cfg!(feature = "otlp") {
        ctx.problem("telemetry.otlp_endpoint: this build has no OTLP export (build with `--features otlp`)");
    }
    if !ctx.problems.is_empty() {
        return Err(ConfigError::Invalid(ctx.problems));
    }
    Ok(Config {
        server,
        admin,
        dialects,
        upstream,
        credentials,
        translation: TranslationConfig {
            mode: raw.translation.mode,
            fill: raw.translation.fill,
            overflow: raw.translation.overflow,
            overflow_prefix: raw.translation.overflow_prefix,
            conflict_retries: raw.translation.conflict_retries,
        },
        telemetry: TelemetryConfig { otlp_endpoint },
        candidate,
    })
}

/// Command-line flags win over the file and the environment.
fn apply(raw: &mut RawConfig, o: &Overrides) {
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
    if let Some(v) = &o.dialects_dir {
        raw.dialects.dir.clone_from(v);
    }
    if let Some(v) = &o.schemas_dir {
        raw.dialects.schemas.clone_from(v);
    }
    if let Some(v) = &o.candidate {
        raw.candidate.url.clone_from(v);
    }
    if let Some(v) = &o.candidate_dialect {
        raw.candidate.dialect.clone_from(v);
    }
    if let Some(v) = o.candidate_mode {
        raw.candidate.mode = v;
    }
    if let Some(v) = &o.candidate_log {
        raw.candidate.log.clone_from(v);
    }
    raw.upstream
        .path_params
        .extend(o.upstream_path_params.iter().cloned());
    raw.candidate
        .path_params
        .extend(o.candidate_path_params.iter().cloned());
}

fn server(ctx: &mut Ctx<'_>, raw: RawServer) -> ServerConfig {
    let listen = raw.listen.parse::<SocketAddr>().unwrap_or_else(|_| {
        ctx.problem(format!(
            "server.listen: `{}` is not an address like 127.0.0.1:8080",
            raw.listen
        ));
        SocketAddr::from(([127, 0, 0, 1], 8080))
    });
    let trusted_proxies = raw
        .trusted_proxies
        .iter()
        // A blank entry (an empty environment variable) adds nothing.
        .filter(|entry| !entry.trim().is_empty())
        .filter_map(|entry| {
            let parsed = trusted_proxy(entry);
            if parsed.is_none() {
                ctx.problem(format!(
                    "server.trusted_proxies: `{}` is not an IP address or CIDR range (like 192.0.2.7, 10.0.0.0/8 or 2001:db8::/32)",
                    entry.escape_debug()
                ));
            }
            parsed
        })
        .collect();
    let max_depth = ctx.non_zero("server.max_depth", raw.max_depth);
    if max_depth.get() > MAX_DEPTH_LIMIT {
        ctx.problem(format!(
            "server.max_depth: at most {MAX_DEPTH_LIMIT} (serde_json's own recursion limit)"
        ));
    }
    let max_json_values = ctx.non_zero("server.max_json_values", raw.max_json_values);
    if max_json_values.get() > dialectgate_dialect::DEFAULT_MAX_VALUES {
        ctx.problem(format!(
            "server.max_json_values: at most {} (the limit on upstream answers)",
            dialectgate_dialect::DEFAULT_MAX_VALUES
        ));
    }
    let max_body_bytes = ctx.non_zero("server.max_body_bytes", raw.max_body_bytes);
    let max_buffered_bytes = ctx.non_zero("server.max_buffered_bytes", raw.max_buffered_bytes);
    let largest = crate::pipeline::admit::largest_reservation(max_body_bytes.get(), max_json_values.get());
    let (reading, working) = crate::pipeline::admit::shares(max_buffered_bytes.get());
    if working < largest || reading < max_body_bytes.get() {
        ctx.problem(format!(
            "server.max_buffered_bytes: {} cannot hold one request of server.max_body_bytes ({}) in its costliest shape: a quarter of it reads bodies ({reading}, at least the body limit) and the rest works on them ({working}, at least {largest}); raise it, or lower server.max_body_bytes or server.max_json_values",
            max_buffered_bytes.get(),
            max_body_bytes.get()
        ));
    }
    let max_connections = ctx.non_zero("server.max_connections", raw.max_connections);
    if max_connections.get() > MAX_CONNECTIONS_LIMIT {
        ctx.problem(format!("server.max_connections: at most {MAX_CONNECTIONS_LIMIT}"));
    }
    ServerConfig {
        listen,
        max_body_bytes,
        max_depth,
        max_json_values,
        max_buffered_bytes,
        header_read_timeout: ctx.millis("server.header_read_timeout_ms", raw.header_read_timeout_ms),
        body_read_timeout: ctx.millis("server.body_read_timeout_ms", raw.body_read_timeout_ms),
        idle_timeout: ctx.millis("server.idle_timeout_ms", raw.idle_timeout_ms),
        max_connections,
        http2_max_concurrent_streams: ctx.non_zero(
            "server.http2_max_concurrent_streams",
            raw.http2_max_concurrent_streams,
        ),
        max_in_flight: ctx.non_zero("server.max_in_flight", raw.max_in_flight),
        max_working: ctx.non_zero("server.max_working", raw.max_working),
        grace_period: Duration::from_millis(raw.grace_period_ms),
        only: raw.only,
        trusted_proxies,
    }
}

fn admin(ctx: &mut Ctx<'_>, raw: &RawAdmin) -> AdminConfig {
    let listen = match raw.listen.trim() {
        "" => None,
        addr => match addr.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                ctx.problem(format!(
                    "admin.listen: `{addr}` is not an address like 127.0.0.1:9090"
                ));
                None
            }
        },
    };
    let token_env = raw.token_env.trim().to_owned();
    let token = if token_env.is_empty() || token_env.contains(['=', '\0']) {
        ctx.problem("admin.token_env: must name an environment variable (e.g. DIALECTGATE_ADMIN_TOKEN)");
        None
    } else {
        ctx.env(&token_env)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .map(Secret::new)
    };
    if token
        .as_ref()
        .is_some_and(|t| t.expose().chars().count() < MIN_ADMIN_TOKEN_CHARS)
    {
        ctx.problem(format!(
            "admin.token_env: the token in {token_env} is shorter than {MIN_ADMIN_TOKEN_CHARS} characters \
             (unset it to turn POST /admin/reload off)"
        ));
    }
    AdminConfig {
        listen,
        token_env,
        token,
    }
}

fn upstream(ctx: &mut Ctx<'_>, raw: RawUpstream) -> UpstreamConfig {
    let url = Some(raw.url.trim().trim_end_matches('/').to_owned()).filter(|u| !u.is_empty());
    if let Some(url) = &url {
        if let Some(problem) = upstream_url_problem(url) {
            ctx.problem(format!("upstream.url: {problem}"));
        }
    } else if raw.dialect != "canonical" {
        ctx.problem(format!(
            "upstream.dialect: `{}` needs upstream.url (the embedded backend speaks canonical)",
            raw.dialect
        ));
    }
    UpstreamConfig {
        url,
        dialect: raw.dialect,
        connect_timeout: ctx.millis("upstream.connect_timeout_ms", raw.connect_timeout_ms),
        timeout: ctx.millis("upstream.timeout_ms", raw.timeout_ms),
        pool_max_idle: raw.pool_max_idle,
        max_response_bytes: ctx.non_zero("upstream.max_response_bytes", raw.max_response_bytes),
        retries: raw.retries,
        breaker_failures: raw.breaker_failures,
        breaker_cooldown: Duration::from_millis(raw.breaker_cooldown_ms),
        path_params: path_params(ctx, "upstream", raw.path_params),
        roots: ca_file(ctx, "upstream", &raw.ca_file),
    }
}

/// `<table>.ca_file`: the certificates of a PEM file (at least one), or none when the key is
/// empty.
fn ca_file(ctx: &mut Ctx<'_>, table: &str, file: &Path) -> Vec<CertificateDer<'static>> {
    if file.as_os_str().is_empty() {
        return Vec::new();
    }
    let path = ctx.resolve(file);
    let pem = match std::fs::read(&path) {
        Ok(pem) => pem,
        Err(e) => {
            ctx.problem(format!("{table}.ca_file: cannot read {}: {e}", path.display()));
            return Vec::new();
        }
    };
    match CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>() {
        Ok(roots) if !roots.is_empty() => roots,
        Ok(_) => {
            ctx.problem(format!(
                "{table}.ca_file: {} holds no PEM certificate",
                path.display()
            ));
            Vec::new()
        }
        Err(e) => {
            ctx.problem(format!(
                "{table}.ca_file: {} is not a PEM certificate bundle: {e}",
                path.display()
            ));
            Vec::new()
        }
    }
}

/// Longest path variable value accepted, in bytes.
const MAX_PATH_PARAM: usize = 256;

/// `<table>.path_params`: non-empty values of at most [`MAX_PATH_PARAM`] bytes without control
/// characters (each is written percent-encoded as one path segment). Whether the names are the
/// dialect's variables is checked when the gateway is built.
fn path_params(
    ctx: &mut Ctx<'_>,
    table: &str,
    params: std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    for (name, value) in &params {
        if value.is_empty() || value.len() > MAX_PATH_PARAM || value.chars().any(char::is_control) {
            ctx.problem(format!(
                "{table}.path_params.{name}: a value must be 1 to {MAX_PATH_PARAM} bytes without control characters"
            ));
        }
    }
    params
}

/// Why `url` cannot be the upstream's base URL, if it cannot.
fn upstream_url_problem(url: &str) -> Option<String> {
    let parsed = match url::Url::parse(url) {
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
