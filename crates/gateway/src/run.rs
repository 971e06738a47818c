//! The server's wiring, for the binary and the end-to-end tests alike: build the gateway, bind
//! the traffic and admin listeners, serve them, reload on request (SIGHUP, `POST /admin/reload`),
//! and stop with a drain. Logging is not set up here: the binary installs its subscriber, tests
//! their capture.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::live::{Live, Loader};
use crate::service::{Gateway, Shared, StartError};

/// Reads the configuration afresh from its sources (file, environment, flags), for a reload.
pub type ConfigSource = Box<dyn Fn() -> Result<Config, String> + Send + Sync>;

/// How the server runs besides its configuration.
#[derive(Default)]
pub struct Options {
    /// Where a reload reads the configuration; `None`: it is fixed and reloads are refused.
    pub reload: Option<ConfigSource>,
    /// Reload on SIGHUP (the binary; tests share one process and leave the signal alone).
    pub reload_on_sighup: bool,
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration does not make a gateway.
    #[error("cannot start")]
    Start(#[from] StartError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr} ({listener})")]
    Bind {
        addr: SocketAddr,
        listener: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// A running server.
pub struct Running {
    addr: SocketAddr,
    admin: Option<SocketAddr>,
    live: Arc<Live>,
    stop: watch::Sender<bool>,
    done: JoinHandle<bool>,
}

impl Running {
    /// The traffic listener's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin listener's address, when there is one.
    pub fn admin(&self) -> Option<SocketAddr> {
        self.admin
    }

    /// What the gateway in force shares with its successors (store, metrics, per-process token key).
    pub fn shared(&self) -> Shared {
        self.live.current().shared().clone()
    }

    /// Stops accepting connections and asks the open ones to finish.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Waits for the server to stop (after [`Running::stop`]); whether every connection drained
    /// within the grace period.
    pub async fn drained(self) -> bool {
        self.done.await.unwrap_or(false)
    }
}

/// Starts the gateway of `config` on its listeners (`server.listen`, and `admin.listen` when
/// set), each request served on the configuration in force when it arrived.
///
/// # Errors
/// See [`RunError`].
pub async fn run(config: Config, options: Options) -> Result<Running, RunError> {
    let gateway = Gateway::load(config, Shared::default())?;
    let live = Arc::new(match options.reload {
        Some(source) => {
            let loader: Loader = Box::new(move |shared| {
                let config = source()?;
                Gateway::load(config, shared).map_err(|e| chain(&e))
            });
            Live::reloadable(gateway, loader)
        }
        None => Live::fixed(gateway),
    });
    let gateway = live.current();
    let config = gateway.config();
    let listener = bind(config.server.listen, "traffic").await?;
    let addr = local(&listener, config.server.listen);
    let (stop, stopping) = watch::channel(false);
    let admin = match config.admin.listen {
        Some(at) => {
            let admin_listener = bind(at, "admin").await?;
            let admin = local(&admin_listener, at);
            let mut stopping = stopping.clone();
            tokio::spawn(crate::admin::serve_admin(
                admin_listener,
                live.clone(),
                async move {
                    let _ = stopping.wait_for(|stop| *stop).await;
                },
            ));
            Some(admin)
        }
        None => None,
    };
    #[cfg(unix)]
    if options.reload_on_sighup {
        let live = live.clone();
        tokio::spawn(async move {
            let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
                return;
            };
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the configuration.");
                let _ = live.reload().await;
            }
        });
    }
    let ids: Vec<&str> = gateway.registry().dialects().iter().map(|d| d.id()).collect();
    tracing::info!(
        listen = %addr,
        admin = %admin.map_or_else(|| "off".to_owned(), |a| a.to_string()),
        // Whether POST /admin/reload is on (admin.token_env holds a token); never the token.
        admin_reload = if config.admin.token.is_some() { "on" } else { "off" },
        dialects = %ids.join(","),
        // The tokio runtime the binary chose (current-thread when it may use one CPU).
        runtime = match tokio::runtime::Handle::current().runtime_flavor() {
            tokio::runtime::RuntimeFlavor::CurrentThread => "current_thread",
            _ => "multi_thread",
        },
        upstream = config.upstream.url.as_deref().unwrap_or("embedded"),
        upstream_dialect = %config.upstream.dialect,
        credentials = ?config.credentials.mode,
        // Where the caller keys came from and how many, never their values.
        caller_keys = %config.credentials.key_sources.join("; "),
        // Whether tokens work on every replica (a configured key) or on this process only.
        tokens = %config.credentials.token_key_summary(),
        "Gateway listening."
    );
    if config.upstream.url.is_some() {
        for name in proxy_variables_set(|name| std::env::var_os(name)) {
            // The name only: a proxy URL may carry a user and password.
            tracing::warn!(
                variable = name,
                "{name} is set, but the upstream client calls its upstreams directly: no proxy is used."
            );
        }
    }
    drop(gateway);
    // The accept loop runs on a worker thread (not on a `block_on` caller's): each connection
    // is then set up, spawned and served on the same thread, and its memory is allocated and
    // freed by that thread's allocator heap.
    let mut stopping = stopping;
    let done = tokio::spawn(crate::server::serve(listener, live.clone(), async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    }));
    Ok(Running {
        addr,
        admin,
        live,
        stop,
        done,
    })
}

async fn bind(addr: SocketAddr, listener: &'static str) -> Result<TcpListener, RunError> {
    TcpListener::bind(addr).await.map_err(|source| RunError::Bind {
        addr,
        listener,
        source,
    })
}

/// The bound address (the port the system chose for port 0).
fn local(listener: &TcpListener, asked: SocketAddr) -> SocketAddr {
    listener.local_addr().unwrap_or(asked)
}

/// An error and its causes on one line, as a refused reload reports them.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_names_every_cause() {
        let e = RunError::Bind {
            addr: "127.0.0.1:1".parse().unwrap(),
            listener: "admin",
            source: std::io::Error::other("in use"),
        };
        assert_eq!(chain(&e), "cannot listen on 127.0.0.1:1 (admin): in use");
    }
}

/// The proxy variables of the environment (as `lookup` reads it) that reqwest, the upstream
/// client before hyper-util's, would have used and the gateway now leaves alone: said at start,
/// so an operator who relied on one learns it is not followed.
fn proxy_variables_set(lookup: impl Fn(&str) -> Option<std::ffi::OsString>) -> Vec<&'static str> {
    const NAMES: [&str; 6] = [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ];
    NAMES
        .into_iter()
        .filter(|name| lookup(name).is_some_and(|v| !v.is_empty()))
        .collect()
}

#[cfg(test)]
mod proxy_tests {
    use super::proxy_variables_set;

    #[test]
    fn set_proxy_variables_are_named_and_empty_ones_are_not() {
        let env = |name: &str| match name {
            "HTTPS_PROXY" => Some("http://user:secret@proxy:3128".into()),
            "http_proxy" => Some("".into()),
            "ALL_PROXY" => Some("socks5://proxy".into()),
            _ => None,
        };
        assert_eq!(proxy_variables_set(env), ["HTTPS_PROXY", "ALL_PROXY"]);
        assert!(proxy_variables_set(|_| None).is_empty());
    }
}
