//! Starting a gateway from a configuration: the dialects loaded, the upstream and its layers
//! built, the limits and the breaker taken over from the previous configuration ([`Shared`]),
//! the candidate started. Every check that can refuse a configuration runs before the new
//! gateway takes anything over.

use std::sync::Arc;

use dialectgate_dialect::Registry;
use tower::util::Either;

use super::Gateway;
use crate::backend::Backend;
use crate::candidate::Candidate;
use crate::carryover::Carried;
use crate::config::Config;
use crate::metrics::{Metrics, UpstreamLabels};
use crate::pipeline::admit::Admission;
use crate::pipeline::forward::{Embedded, Forwarder};
use crate::pipeline::route::RouteIndex;
use crate::token::{ProcessKey, TokenKeys};
use crate::upstream::HttpUpstream;

/// What outlives a configuration reload: the embedded store, the metrics, the per-process token
/// key (used when no token key is configured), the admission limits (requests in flight under the
/// old configuration count against the new one) and the upstream's circuit breaker.
#[derive(Debug, Clone)]
pub struct Shared {
    pub backend: Arc<Backend>,
    pub metrics: Arc<Metrics>,
    process_key: Arc<ProcessKey>,
    carried: Arc<Carried>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            backend: Arc::new(Backend::seeded()),
            metrics: Arc::new(Metrics::default()),
            process_key: Arc::default(),
            carried: Arc::default(),
        }
    }
}

/// Why the gateway cannot start with a configuration.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Dialects or schemas could not be loaded.
    #[error("cannot load the dialects")]
    Dialects(#[source] dialectgate_dialect::DialectError),
    /// `upstream.dialect` names no loaded dialect.
    #[error("upstream.dialect `{0}` is not `canonical` nor a loaded dialect")]
    UnknownUpstreamDialect(String),
    /// `server.only` names no loaded dialect.
    #[error("server.only names `{0}`, which is not a loaded dialect")]
    UnknownOnly(String),
    /// `upstream.path_params` or `candidate.path_params` does not fit the dialect's paths.
    #[error("{0}.path_params: {1}")]
    PathParams(&'static str, String),
    /// The upstream client could not be built.
    #[error("cannot set up the upstream")]
    Client(#[source] crate::upstream::BuildError),
    /// The migration candidate cannot be set up.
    #[error("cannot set up the candidate")]
    Candidate(#[source] crate::candidate::CandidateError),
    /// No token key is configured and the random source failed to make one.
    #[error("cannot make a token key")]
    TokenKey(#[source] getrandom::Error),
}

impl Gateway {
    /// Loads dialects and builds the upstream from `config`.
    ///
    /// # Errors
    /// See [`StartError`].
    pub fn new(config: Config) -> Result<Gateway, StartError> {
        Gateway::load(config, Shared::default())
    }

    /// Loads dialects and builds the upstream from `config`, sharing `shared` (a reload).
    ///
    /// # Errors
    /// See [`StartError`].
    pub fn load(config: Config, shared: Shared) -> Result<Gateway, StartError> {
        let registry = Registry::from_sources(
            &config.dialects.dialects_source(),
            &config.dialects.schemas_source(),
        )
        .map_err(StartError::Dialects)?;
        Gateway::with_registry(config, registry, shared)
    }

    /// Builds a gateway from an already loaded registry, sharing `shared`.
    fn with_registry(config: Config, mut registry: Registry, shared: Shared) -> Result<Gateway, StartError> {
        let upstream_endpoint = registry
            .endpoint(&config.upstream.dialect)
            .ok_or_else(|| StartError::UnknownUpstreamDialect(config.upstream.dialect.clone()))?
            .bind_path_params(&config.upstream.path_params)
            .map_err(|problems| StartError::PathParams("upstream", problems.join("; ")))?;
        // Resolved before `server.only` narrows what is served: the candidate may speak a
        // dialect no caller uses (the vendor being moved to).
        let candidate_endpoint = match registry.endpoint(&config.candidate.dialect) {
            Some(e) if config.candidate.mode != crate::config::CandidateMode::Off => Some(
                e.bind_path_params(&config.candidate.path_params)
                    .map_err(|problems| StartError::PathParams("candidate", problems.join("; ")))?,
            ),
            other => other,
        };
        if !config.server.only.is_empty() {
            registry
                .retain(&config.server.only)
                .map_err(StartError::UnknownOnly)?;
        }
        // The configured token keys (read with each configuration), else this process's own.
        let tokens = TokenKeys::configured_or(&config.credentials.token_keys, &shared.process_key)
            .map_err(StartError::TokenKey)?;
        let carried = &shared.carried;
        let (upstream, breaker) = match &config.upstream.url {
            None => (Either::Right(Embedded::new(shared.backend.clone())), None),
            Some(url) => {
                let breaker = carried.breaker.breaker_for(
                    url,
                    config.upstream.breaker_failures,
                    config.upstream.breaker_cooldown,
                );
                let http =
                    HttpUpstream::new(url, &config, &config.upstream.roots).map_err(StartError::Client)?;
                (
                    Either::Left((http, breaker.clone())),
                    Some((url.clone(), breaker)),
                )
            }
        };
        // Nothing below fails: this gateway goes into service, so it takes over the limits.
        carried.breaker.keep(breaker);
        let admission = Admission::take_over(
            carried,
            (
                config.server.max_in_flight.get(),
                config.server.max_working.get(),
                config.server.max_buffered_bytes.get(),
            ),
            &shared.metrics,
        );
        let dialect_metrics = registry
            .dialects()
            .iter()
            .map(|d| {
                let id = d.id().to_owned();
                let handles = shared.metrics.handles(&id, upstream_endpoint.id());
                (id, handles)
            })
            .collect();
        let upstream_duration = shared
            .metrics
            .upstream_duration
            .get_or_create(&UpstreamLabels {
                upstream: upstream_endpoint.id().to_owned(),
            })
            .clone();
        let forwarder = Forwarder::new(
            &config,
            upstream_endpoint,
            (upstream, admission.memory().clone()),
            shared.metrics.clone(),
            upstream_duration,
        );
        let registry = Arc::new(registry);
        let candidate = Candidate::start(
            &config,
            &registry,
            (forwarder.endpoint(), candidate_endpoint),
            &shared.metrics,
        )
        .map_err(StartError::Candidate)?;
        Ok(Gateway {
            routes: RouteIndex::new(&registry),
            registry,
            config,
            admission,
            forwarder,
            dialect_metrics,
            shared,
            tokens,
            candidate,
        })
    }
}
