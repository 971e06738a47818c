//! The gateway in force, swappable at run time. A reload (SIGHUP or `POST /admin/reload`)
//! re-reads the configuration, dialect files and schemas, checks them completely, and swaps the
//! new gateway in atomically: new requests use it, in-flight requests finish on the one they
//! started with. A bad configuration is refused and the old one keeps serving. Admission limits
//! and the upstream breaker carry over (see `carryover`); connection settings (listen addresses,
//! header and idle timeouts, connection and stream limits) take effect only on restart.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::metrics::ReloadLabels;
use crate::service::{Gateway, Shared};

/// Builds a new gateway from the current configuration sources.
pub type Loader = Box<dyn Fn(Shared) -> Result<Gateway, String> + Send + Sync>;

/// The gateway in force and how to build its successor.
pub struct Live {
    current: ArcSwap<Gateway>,
    loader: Option<Loader>,
    /// Serialises reloads: two at once would race to swap.
    reloading: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("reloadable", &self.loader.is_some())
            .finish_non_exhaustive()
    }
}

impl Live {
    /// A fixed gateway (no reload).
    pub fn fixed(gateway: Gateway) -> Live {
        Live {
            current: ArcSwap::from_pointee(gateway),
            loader: None,
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// A gateway that `loader` can rebuild on reload.
    pub fn reloadable(gateway: Gateway, loader: Loader) -> Live {
        Live {
            current: ArcSwap::from_pointee(gateway),
            loader: Some(loader),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// The gateway in force now.
    pub fn current(&self) -> Arc<Gateway> {
        self.current.load_full()
    }

    /// Rebuilds and swaps in a new gateway.
    ///
    /// # Errors
    /// The reason the new configuration was refused (the old one keeps serving).
    pub async fn reload(&self) -> Result<(), String> {
        let _one_at_a_time = self.reloading.lock().await;
        let old = self.current();
        let metrics = old.shared().metrics.clone();
        let result = match &self.loader {
            None => Err("this gateway was started without a configuration file to reload".to_owned()),
            Some(loader) => loader(old.shared().clone()),
        };
        match result {
            Ok(new) => {
                if new.config().server.listen != old.config().server.listen {
                    tracing::warn!(
                        old = %old.config().server.listen,
                        new = %new.config().server.listen,
                        "The listen address changed; it takes effect only on restart."
                    );
                }
                let (o, n) = (old.config(), new.config());
                let connection_settings = |c: &crate::Config| {
                    (
                        c.admin.listen,
                        c.server.header_read_timeout,
                        c.server.idle_timeout,
                        c.server.max_connections,
                        c.server.http2_max_concurrent_streams,
                    )
                };
                if connection_settings(o) != connection_settings(n) {
                    tracing::warn!(
                        "Connection settings changed (admin.listen, server.header_read_timeout_ms, \
                         idle_timeout_ms, max_connections or http2_max_concurrent_streams); \
                         they take effect only on restart."
                    );
                }
                self.current.store(Arc::new(new));
                metrics
                    .reloads
                    .get_or_create(&ReloadLabels { result: "ok".into() })
                    .inc();
                tracing::info!("Configuration reloaded.");
                Ok(())
            }
            Err(reason) => {
                metrics
                    .reloads
                    .get_or_create(&ReloadLabels {
                        result: "refused".into(),
                    })
                    .inc();
                tracing::error!(%reason, "Configuration reload refused; the previous configuration keeps serving.");
                Err(reason)
            }
        }
    }
}
