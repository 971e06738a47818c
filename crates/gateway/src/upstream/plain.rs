//! The client of an `http://` upstream: HTTP/1.1 on hyper's own connection API
//! (`hyper::client::conn::http1`) over TCP, with a pool of idle connections to its one origin.
//!
//! An `http://` upstream is one origin, so its pool needs no map and no key: a stack of idle
//! senders behind a lock. It keeps what hyper-util's pooled client guaranteed (see `client`):
//! - at most `pool_max_idle` idle connections, each dropped after [`POOL_IDLE`] unused (checked
//!   at checkout, and by a task that sweeps the pool every [`POOL_IDLE`] once it holds one);
//! - a connection is checked out only once hyper says it is ready for a request: one whose
//!   peer closed it never carries one;
//! - a request that could not be sent because its pooled connection closed first (hyper gives
//!   it back) is sent once more, on a new connection; nothing else is retried;
//! - a connection goes back to the pool only after its answer's body was read to the end
//!   ([`Lease::release`]) and only if the answer keeps it open (HTTP/1.1 without
//!   `Connection: close`); dropped before, it is closed;
//! - every new connection: `TCP_NODELAY`, TCP keep-alive, `TCP_USER_TIMEOUT` on Linux, and the
//!   connect timeout shared among the host's addresses, as hyper-util's connector set them.
//!
//! The request arrives in origin form with its `Host` header (`HttpUpstream::request`).
//! Chosen by measurement: about 5k instructions per request fewer than hyper-util's pooled
//! client, whose keyed pool hashes its key three times a call and spawns a task to return
//! each connection.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;
use tower::BoxError;

/// How long an unused pooled connection is kept (here and in hyper-util's client).
pub(super) const POOL_IDLE: Duration = Duration::from_secs(60);

/// TCP keep-alive probes on every connection (here and in hyper-util's client; reqwest's
/// defaults, kept): a pooled connection whose peer vanished is found out instead of hanging a call until its timeout.
pub(super) const KEEPALIVE: Duration = Duration::from_secs(15);
pub(super) const KEEPALIVE_RETRIES: u32 = 3;
/// Unacknowledged data older than this drops the connection (Linux's `TCP_USER_TIMEOUT`).
#[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
pub(super) const USER_TIMEOUT: Duration = Duration::from_secs(30);

/// The request a plain client sends.
type Request = http::Request<Full<Bytes>>;
/// A connection's sender.
type Sender = SendRequest<Full<Bytes>>;

/// The answer's head, with the connection that carries its body.
pub(super) type Sending =
    Pin<Box<dyn Future<Output = Result<(http::Response<Incoming>, Lease), BoxError>> + Send>>;

/// The client: cloning it is one reference count.
#[derive(Debug, Clone)]
pub(super) struct Plain(Arc<Pool>);

/// The pool of one origin.
#[derive(Debug)]
struct Pool {
    origin: Origin,
    connect_timeout: Duration,
    max_idle: usize,
    /// Idle connections, the most recently used last (taken first).
    idle: Mutex<Vec<Idle>>,
    /// Whether the sweeping task was started.
    sweeping: AtomicBool,
}

/// An idle connection and since when.
#[derive(Debug)]
struct Idle {
    sender: Sender,
    since: Instant,
}

/// Where connections go: an address, or a name resolved for each new connection.
#[derive(Debug, Clone)]
pub(super) enum Origin {
    Addr(SocketAddr),
    Name(Box<str>, u16),
}

impl Origin {
    /// The origin of an `http://` URL (None without a host).
    pub(super) fn of(url: &url::Url) -> Option<Origin> {
        let port = url.port_or_known_default()?;
        Some(match url.host()? {
            url::Host::Ipv4(ip) => Origin::Addr(SocketAddr::from((ip, port))),
            url::Host::Ipv6(ip) => Origin::Addr(SocketAddr::from((ip, port))),
            url::Host::Domain(name) => Origin::Name(name.into(), port),
        })
    }

    /// Its addresses, in the resolver's order.
    async fn addrs(&self) -> std::io::Result<Vec<SocketAddr>> {
        match self {
            Origin::Addr(addr) => Ok(vec![*addr]),
            Origin::Name(name, port) => Ok(tokio::net::lookup_host((&**name, *port)).await?.collect()),
        }
    }
}

/// A connection could not be made (the name not resolved, refused, timed out, the address
/// unreachable): its cause is the I/O error.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to the upstream")]
pub(super) struct ConnectError(#[source] std::io::Error);

/// The connection an answer's body comes on: given back to the pool by [`Lease::release`]
/// once the body was read to the end; dropped, it is closed.
#[derive(Debug)]
pub(super) struct Lease {
    pool: Arc<Pool>,
    sender: Sender,
}

impl Lease {
    /// The body was read to the end: the connection is idle again (kept if the pool has room).
    pub(super) fn release(self) {
        let Lease { pool, sender } = self;
        if pool.max_idle == 0 || sender.is_closed() {
            return;
        }
        let mut idle = pool.lock();
        if idle.len() < pool.max_idle {
            idle.push(Idle {
                sender,
                since: Instant::now(),
            });
            drop(idle);
            pool.sweep_from_now_on();
        }
    }
}

/// Whether `response` leaves its connection open for another request: HTTP/1.1 and no
/// `Connection: close`.
pub(super) fn keeps_alive(response: &http::Response<Incoming>) -> bool {
    response.version() == http::Version::HTTP_11
        && !response
            .headers()
            .get_all(http::header::CONNECTION)
            .iter()
            .any(|value| {
                value
                    .as_bytes()
                    .split(|&b| b == b',')
                    .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"close"))
            })
}

/// Whether an idle connection from `since` is too old at `now`.
pub(super) fn expired(since: Instant, now: Instant) -> bool {
    now.saturating_duration_since(since) >= POOL_IDLE
}

impl Plain {
    /// The client of `origin`.
    pub(super) fn new(origin: Origin, connect_timeout: Duration, max_idle: usize) -> Plain {
        Plain(Arc::new(Pool {
            origin,
            connect_timeout,
            max_idle,
            idle: Mutex::new(Vec::new()),
            sweeping: AtomicBool::new(false),
        }))
    }

    /// Sends `request` (origin form, with its `Host`); nothing happens until polled.
    pub(super) fn request(&self, request: Request) -> Sending {
        Box::pin(Arc::clone(&self.0).send(request))
    }

    /// How many connections are idle (the tests').
    #[cfg(test)]
    pub(super) fn idle(&self) -> usize {
        self.0.lock().len()
    }

    /// Puts `sender` in the pool as an idle connection (the tests').
    #[cfg(test)]
    pub(super) fn put_idle(&self, sender: Sender) {
        Lease {
            pool: Arc::clone(&self.0),
            sender,
        }
        .release();
    }

    /// Whether every idle connection was closed by its peer (the tests wait for it).
    #[cfg(test)]
    pub(super) fn idle_closed(&self) -> bool {
        self.0.lock().iter().all(|idle| idle.sender.is_closed())
    }
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, Vec<Idle>> {
        // A panic while the lock was held left the list whole (a push or a pop).
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `request` on an idle connection, or a new one; once more on a new one if the idle
    /// one closed before the request left.
    async fn send(self: Arc<Pool>, request: Request) -> Result<(http::Response<Incoming>, Lease), BoxError> {
        let (mut sender, reused) = match self.checkout().await {
            Some(sender) => (sender, true),
            None => (self.connect().await?, false),
        };
        let request = match sender.try_send_request(request).await {
            Ok(response) => return Ok((response, Lease { pool: self, sender })),
            Err(mut e) => match e.take_message() {
                Some(request) if reused => request,
                _ => return Err(e.into_error().into()),
            },
        };
        let mut sender = self.connect().await?;
        match sender.try_send_request(request).await {
            Ok(response) => Ok((response, Lease { pool: self, sender })),
            Err(e) => Err(e.into_error().into()),
        }
    }

    /// The most recently used idle connection that is ready for a request; closed and
    /// expired ones are dropped.
    async fn checkout(&self) -> Option<Sender> {
        loop {
            let Idle { mut sender, .. } = {
                let mut idle = self.lock();
                let last = idle.pop()?;
                if expired(last.since, Instant::now()) {
                    // The others are older still.
                    idle.clear();
                    return None;
                }
                last
            };
            // Ready at once unless its previous exchange is still being wound up; closed: Err.
            if std::future::poll_fn(|cx| sender.poll_ready(cx)).await.is_ok() {
                return Some(sender);
            }
        }
    }

    /// A new connection, its task spawned.
    async fn connect(&self) -> Result<Sender, BoxError> {
        let stream = Box::pin(tcp(&self.origin, self.connect_timeout))
            .await
            .map_err(ConnectError)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "upstream connection ended");
            }
        });
        Ok(sender)
    }

    /// Starts, once, the task that drops expired idle connections every [`POOL_IDLE`] (as
    /// hyper-util's pool did): an unused pool does not hold its connections for ever. It
    /// ends with the pool.
    fn sweep_from_now_on(self: &Arc<Pool>) {
        if self.sweeping.swap(true, Ordering::Relaxed) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        // The first sweep is due from now, not from when the task first runs.
        runtime.spawn(sweep(Arc::downgrade(self), Instant::now() + POOL_IDLE));
    }

    /// Drops the idle connections expired at `now`.
    fn evict(&self, now: Instant) {
        self.lock().retain(|idle| !expired(idle.since, now));
    }
}

/// Sweeps `pool` from `first` on, every [`POOL_IDLE`], while it exists.
async fn sweep(pool: Weak<Pool>, first: Instant) {
    let mut every = tokio::time::interval_at(first, POOL_IDLE);
    loop {
        every.tick().await;
        let Some(pool) = pool.upgrade() else {
            return;
        };
        pool.evict(Instant::now());
    }
}

/// A TCP connection to `origin`: its addresses tried in turn, each with its share of
/// `timeout` (hyper-util's connector's rule); the first error if none answers.
async fn tcp(origin: &Origin, timeout: Duration) -> std::io::Result<TcpStream> {
    let addrs = origin.addrs().await?;
    let each = u32::try_from(addrs.len())
        .ok()
        .and_then(|n| timeout.checked_div(n))
        .unwrap_or(timeout);
    let mut first = None;
    for addr in addrs {
        match tcp_to(addr, each).await {
            Ok(stream) => return Ok(stream),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    Err(first.unwrap_or_else(|| std::io::Error::new(std::io::ErrorKind::NotConnected, "no address")))
}

/// A TCP connection to `addr` with the connection settings, within `timeout` (an error of kind
/// `TimedOut` after it).
async fn tcp_to(addr: SocketAddr, timeout: Duration) -> std::io::Result<TcpStream> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_nodelay(true)?;
    let options = socket2::SockRef::from(&socket);
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(KEEPALIVE)
        .with_interval(KEEPALIVE)
        .with_retries(KEEPALIVE_RETRIES);
    // As hyper-util's connector: a setting the system refuses is logged, not fatal.
    if let Err(e) = options.set_tcp_keepalive(&keepalive) {
        tracing::warn!(error = %e, "tcp keep-alive not set");
    }
    #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
    if let Err(e) = options.set_tcp_user_timeout(Some(USER_TIMEOUT)) {
        tracing::warn!(error = %e, "tcp user timeout not set");
    }
    match tokio::time::timeout(timeout, socket.connect(addr)).await {
        Ok(connected) => connected,
        Err(elapsed) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, elapsed)),
    }
}
