//! `[credentials]`: caller keys (and the public demo keys), the upstream credential, the token
//! keys and the token lifetime.

use std::time::Duration;

use super::{Ctx, PUBLIC_DEMO_KEY};
use crate::config::{CredentialMode, CredentialsConfig, RawCredentials, Secret};
use crate::token::{MIN_TOKEN_KEY_BYTES, fingerprint};

/// Longest accepted `credentials.token_ttl_s`: one day, as Elastic Path's own customer tokens.
const MAX_TOKEN_TTL_S: u64 = 24 * 60 * 60;

pub(super) fn credentials(ctx: &mut Ctx<'_>, raw: &RawCredentials, has_upstream: bool) -> CredentialsConfig {
    let mut caller_keys = Vec::new();
    let mut key_sources = Vec::new();
    if let Some(name) = &raw.keys_env
        && let Some(v) = ctx.env(name)
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
    if let Some(path) = &raw.keys_file {
        let keys = ctx.read_keys("credentials.keys_file", path, None);
        key_sources.push(format!("file {}: {}", path.display(), keys.len()));
        caller_keys.extend(keys);
    }
    // The demo keys are public (the README prints one): they open the embedded backend, never
    // a real upstream, whatever else is configured.
    let mut demo_keys = vec![Secret::new(PUBLIC_DEMO_KEY)];
    if let Some(path) = &raw.demo_keys_file {
        demo_keys.extend(ctx.read_keys("credentials.demo_keys_file", path, Some(crate::config::DEMO_KEYS)));
    }
    let static_mode = raw.mode == CredentialMode::Static;
    if !has_upstream {
        if let Some(path) = &raw.demo_keys_file {
            let file = if path.as_os_str().is_empty() {
                "built-in".to_owned()
            } else {
                path.display().to_string()
            };
            key_sources.push(format!(
                "demo file {file} (embedded backend only): {}",
                demo_keys.len() - 1
            ));
            caller_keys.extend(demo_keys.into_iter().skip(1));
        }
        if static_mode && caller_keys.is_empty() {
            ctx.problem(
                "credentials: static mode needs caller keys (credentials.keys_env naming a set variable, \
                 credentials.keys_file, or credentials.demo_keys_file for the embedded backend)",
            );
        }
    } else if static_mode {
        if caller_keys.is_empty() {
            ctx.problem(format!(
                "credentials: static mode with an upstream needs caller keys: set the variable {} \
                 (credentials.keys_env) or credentials.keys_file; the demo keys \
                 (credentials.demo_keys_file) open only the embedded backend",
                raw.keys_env.as_deref().unwrap_or("named by credentials.keys_env")
            ));
        } else if caller_keys.iter().any(|k| demo_keys.contains(k)) {
            ctx.problem(
                "credentials: a configured caller key is a public demo key; demo keys open only \
                 the embedded backend: choose another key",
            );
        }
    }
    let mut upstream_token = None;
    if let Some(name) = &raw.upstream_token_env {
        upstream_token = ctx.env(name).filter(|v| !v.is_empty()).map(Secret::new);
    }
    if let Some(path) = &raw.upstream_token_file {
        match std::fs::read_to_string(ctx.resolve(path)) {
            Ok(text) => upstream_token = Some(Secret::new(text.trim())),
            Err(e) => ctx.problem(format!(
                "credentials.upstream_token_file: cannot read {}: {e}",
                path.display()
            )),
        }
    }
    if static_mode && has_upstream && upstream_token.is_none() {
        ctx.problem(
            "credentials: static mode with an upstream needs the gateway's upstream credential \
             (credentials.upstream_token_env naming a set variable, or credentials.upstream_token_file)",
        );
    }
    if raw.mode == CredentialMode::Passthrough && !has_upstream {
        ctx.problem(
            "credentials.mode: passthrough needs an upstream (set upstream.url or --upstream): the \
             embedded backend checks no credential, so any caller string would update its customers; \
             use static mode with caller keys in front of the embedded backend",
        );
    }
    if !(1..=MAX_TOKEN_TTL_S).contains(&raw.token_ttl_s) {
        ctx.problem(format!(
            "credentials.token_ttl_s: must be between 1 and {MAX_TOKEN_TTL_S} seconds"
        ));
    }
    let token_key_env = raw.token_key_env.trim().to_owned();
    let token_keys = token_keys(ctx, &token_key_env);
    CredentialsConfig {
        mode: raw.mode,
        key_fingerprints: caller_keys.iter().map(|k| fingerprint(k.expose())).collect(),
        caller_keys,
        key_sources,
        upstream_token,
        token_ttl: Duration::from_secs(raw.token_ttl_s),
        implicit_grant: raw.implicit_grant,
        token_key_env,
        token_keys,
    }
}

/// The token keys in the variable `name`: `current` or `current,previous`, each at least
/// [`MIN_TOKEN_KEY_BYTES`] bytes. Unset or empty: none (a random key per process). Problems name
/// the variable and lengths, never a key.
fn token_keys(ctx: &mut Ctx<'_>, name: &str) -> Vec<Secret> {
    if name.is_empty() || name.contains(['=', '\0']) {
        ctx.problem(
            "credentials.token_key_env: must name an environment variable (e.g. DIALECTGATE_TOKEN_KEY)",
        );
        return Vec::new();
    }
    let Some(value) = ctx.env(name).filter(|v| !v.trim().is_empty()) else {
        return Vec::new();
    };
    let keys: Vec<&str> = value.split(',').map(str::trim).collect();
    if keys.len() > 2 {
        ctx.problem(format!(
            "credentials.token_key_env: {name} holds {} keys; at most two, comma-separated: the \
             current key, then the previous one",
            keys.len()
        ));
        return Vec::new();
    }
    for (which, key) in ["current", "previous"].into_iter().zip(&keys) {
        if key.len() < MIN_TOKEN_KEY_BYTES {
            ctx.problem(format!(
                "credentials.token_key_env: the {which} key in {name} is {} bytes; at least \
                 {MIN_TOKEN_KEY_BYTES} are needed (e.g. `openssl rand -base64 48`)",
                key.len()
            ));
        }
    }
    keys.into_iter().map(Secret::new).collect()
}
