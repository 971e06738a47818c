//! The upstream: an HTTP backend reached with one pooled reqwest client, or the embedded
//! in-memory backend called in process.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::Outbound;
use http::HeaderMap;

use crate::backend::Backend;
use crate::config::Config;

/// Where requests go.
#[derive(Debug, Clone)]
pub enum Upstream {
    /// The embedded canonical backend.
    Embedded(Arc<Backend>),
    /// A real backend over HTTP.
    Http(HttpUpstream),
}

/// An HTTP upstream: base URL plus one pooled client, built once.
#[derive(Debug, Clone)]
pub struct HttpUpstream {
    base: String,
    /// `base` parsed once; each request only sets its path.
    base_url: reqwest::Url,
    client: reqwest::Client,
    max_response_bytes: usize,
    retries: u32,
    breaker: Arc<Breaker>,
}

/// A circuit breaker: after `threshold` consecutive failures the upstream is left alone for
/// `cooldown`; then calls go through again, and one success closes it.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    failures: AtomicU32,
    /// Milliseconds since `epoch` until which the breaker is open (0: closed).
    open_until: AtomicU64,
    epoch: Instant,
}

impl Breaker {
    /// A breaker opening after `threshold` failures (0: never).
    pub fn new(threshold: u32, cooldown: Duration) -> Breaker {
        Breaker {
            threshold,
            cooldown,
            failures: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// The breaker for the next configuration of the same upstream: this one if the settings
    /// are unchanged (calls still running under the old configuration keep reporting to it),
    /// else a new one with the new settings that starts from this one's failures and open state.
    pub fn successor(self: &Arc<Self>, threshold: u32, cooldown: Duration) -> Arc<Breaker> {
        if self.threshold == threshold && self.cooldown == cooldown {
            return self.clone();
        }
        Arc::new(Breaker {
            threshold,
            cooldown,
            failures: AtomicU32::new(self.failures.load(Ordering::Relaxed)),
            open_until: AtomicU64::new(self.open_until.load(Ordering::Relaxed)),
            epoch: self.epoch,
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether a call may go out now.
    pub fn allows(&self) -> bool {
        self.now_ms() >= self.open_until.load(Ordering::Relaxed)
    }

    /// Records a call's outcome.
    pub fn record(&self, ok: bool) {
        if ok {
            self.failures.store(0, Ordering::Relaxed);
            self.open_until.store(0, Ordering::Relaxed);
            return;
        }
        let failures = self.failures.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        if self.threshold > 0 && failures >= self.threshold {
            let until = self
                .now_ms()
                .saturating_add(u64::try_from(self.cooldown.as_millis()).unwrap_or(u64::MAX));
            if self.open_until.swap(until, Ordering::Relaxed) < self.now_ms() {
                tracing::warn!(
                    failures,
                    cooldown_ms = self.cooldown.as_millis() as u64,
                    "Upstream circuit breaker opened."
                );
            }
        }
    }

    /// Whether the breaker is open now.
    pub fn is_open(&self) -> bool {
        !self.allows()
    }
}

/// Why an upstream client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The base URL does not parse.
    #[error("upstream.url is not a valid URL: {0}")]
    Url(String),
    /// The HTTP client could not be built.
    #[error("cannot build the upstream client")]
    Client(#[source] reqwest::Error),
}

/// Why an upstream call produced no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The connection could not be made or was reset.
    #[error("cannot reach the upstream")]
    Connect(#[source] reqwest::Error),
    /// No complete answer within the timeout.
    #[error("the upstream did not answer in time")]
    Timeout,
    /// The answer was larger than allowed.
    #[error("the upstream's answer exceeds {limit} bytes")]
    TooLarge { limit: usize },
    /// The answer was cut off or not HTTP.
    #[error("the upstream's answer was broken")]
    Protocol(#[source] reqwest::Error),
    /// The circuit breaker is open: the upstream kept failing and is being left alone.
    #[error("the upstream is failing; calls are paused")]
    CircuitOpen,
    /// The request could not be built as the upstream's URL plus exactly the route: the
    /// caller's input, not the upstream, is at fault. Nothing was sent.
    #[error("the request cannot be sent upstream")]
    Unsendable,
}

impl UpstreamError {
    /// The canonical problem the caller gets (details of the upstream stay in the logs).
    pub fn problem(&self) -> Problem {
        match self {
            UpstreamError::Timeout => {
                Problem::new(ErrorKind::GatewayTimeout, "the upstream did not answer in time")
            }
            UpstreamError::Connect(_) => {
                Problem::new(ErrorKind::BadGateway, "the upstream could not be reached")
            }
            UpstreamError::TooLarge { .. } => {
                Problem::new(ErrorKind::BadGateway, "the upstream's answer is too large")
            }
            UpstreamError::Protocol(_) => {
                Problem::new(ErrorKind::BadGateway, "the upstream's answer was broken")
            }
            UpstreamError::CircuitOpen => {
                Problem::new(ErrorKind::Overloaded, "the upstream is failing; retry shortly")
            }
            UpstreamError::Unsendable => Problem::new(
                ErrorKind::Malformed,
                "the request cannot be sent upstream (check the customer id)",
            ),
        }
    }

    /// Whether this failure tells something about the upstream's health: refused or reset
    /// connections, timeouts and broken answers do. An answer over the size limit does not
    /// (the upstream answered; a caller's large payload echoed back can cause it), nor does a
    /// request that was never sent.
    pub fn is_upstream_health(&self) -> bool {
        matches!(
            self,
            UpstreamError::Connect(_) | UpstreamError::Timeout | UpstreamError::Protocol(_)
        )
    }

    /// A short label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            UpstreamError::Connect(_) => "connect",
            UpstreamError::Timeout => "timeout",
            UpstreamError::TooLarge { .. } => "too_large",
            UpstreamError::Protocol(_) => "protocol",
            UpstreamError::CircuitOpen => "circuit_open",
            UpstreamError::Unsendable => "unsendable",
        }
    }
}

impl HttpUpstream {
    /// Builds the client for `base` (no trailing slash), guarded by `breaker` (handed over
    /// from the previous configuration on a reload).
    ///
    /// # Errors
    /// When the TLS backend cannot be initialised.
    pub fn new(base: &str, config: &Config, breaker: Arc<Breaker>) -> Result<HttpUpstream, BuildError> {
        let base_url = reqwest::Url::parse(base).map_err(|e| BuildError::Url(e.to_string()))?;
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.upstream_timeout)
            .pool_max_idle_per_host(config.pool_max_idle)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            // A gateway answers for its upstream; it does not follow redirects on its behalf.
            .redirect(reqwest::redirect::Policy::none())
            // Retries are ours (`send`: only repeatable requests, with backoff and the breaker).
            // reqwest's own policy (HTTP/2 refusals, which an HTTP/1 upstream never sends)
            // would otherwise copy every request in case it needs a second attempt.
            .retry(reqwest::retry::never().max_retries_per_request(0))
            .build()
            .map_err(BuildError::Client)?;
        Ok(HttpUpstream {
            base: base.to_owned(),
            base_url,
            client,
            max_response_bytes: config.max_response_bytes,
            retries: config.retries,
            breaker,
        })
    }

    /// Sends `outbound` with `headers`, retrying (with backoff, within the retry budget) only
    /// when `repeatable` and the failure is a refused connection or a 502/503/504.
    ///
    /// # Errors
    /// Connect, timeout, size and protocol failures.
    pub async fn send(
        &self,
        outbound: &Outbound,
        mut headers: HeaderMap,
        repeatable: bool,
    ) -> Result<(u16, Bytes), UpstreamError> {
        let url = self.url_for(&outbound.path)?;
        let body = Bytes::from(serde_json::to_vec(&outbound.body).unwrap_or_default());
        let method = reqwest::Method::from_bytes(outbound.method.as_bytes()).unwrap_or(reqwest::Method::POST);
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(outbound.content_type),
        );
        headers.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json"),
        );
        let attempts = if repeatable { self.retries + 1 } else { 1 };
        let mut attempt = 0;
        loop {
            if !self.breaker.allows() {
                return Err(UpstreamError::CircuitOpen);
            }
            attempt += 1;
            // The request is built directly (no builder, no header merge); the last attempt
            // takes the headers instead of copying them.
            let last = attempt >= attempts;
            let mut request = reqwest::Request::new(method.clone(), url.clone());
            *request.headers_mut() = if last {
                std::mem::take(&mut headers)
            } else {
                headers.clone()
            };
            *request.body_mut() = Some(body.clone().into());
            let result = self.once(request).await;
            // The breaker hears only the upstream's health: 5xx and transport failures count,
            // any other answer closes it, and failures that say nothing about the upstream
            // (an answer over the size limit, a request never sent) leave it as it is.
            match &result {
                Ok((status, _)) => self.breaker.record(*status < 500),
                Err(e) if e.is_upstream_health() => self.breaker.record(false),
                Err(_) => {}
            }
            let retry = !last
                && match &result {
                    Err(UpstreamError::Connect(_)) => true,
                    Ok((status, _)) => matches!(status, 502..=504),
                    Err(_) => false,
                };
            if !retry {
                return result;
            }
            tracing::debug!(attempt, "Retrying the upstream call.");
            tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
        }
    }

    /// The configured base URL plus `path` (the route, with the id already encoded as one
    /// segment), checked to be exactly that before anything is sent: same scheme, host and
    /// port, the base path followed by `path` unchanged (no dot segment resolved, no
    /// separator reinterpreted), no query, no fragment.
    ///
    /// # Errors
    /// [`UpstreamError::Unsendable`] when the URL would be anything else.
    pub fn url_for(&self, path: &str) -> Result<reqwest::Url, UpstreamError> {
        let prefix = self.base_url.path().trim_end_matches('/');
        let mut want = String::with_capacity(prefix.len() + path.len());
        want.push_str(prefix);
        want.push_str(path);
        let mut url = self.base_url.clone();
        url.set_path(&want);
        let same_origin = url.scheme() == self.base_url.scheme()
            && url.host() == self.base_url.host()
            && url.port_or_known_default() == self.base_url.port_or_known_default();
        if same_origin && url.path() == want && url.query().is_none() && url.fragment().is_none() {
            Ok(url)
        } else {
            Err(UpstreamError::Unsendable)
        }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The breaker guarding this upstream.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    async fn once(&self, request: reqwest::Request) -> Result<(u16, Bytes), UpstreamError> {
        // The URL (it holds the customer id) never goes into an error that is logged.
        let classify = |e: reqwest::Error| {
            let e = e.without_url();
            if e.is_builder() {
                UpstreamError::Unsendable
            } else if e.is_timeout() {
                UpstreamError::Timeout
            } else if e.is_connect() {
                UpstreamError::Connect(e)
            } else {
                UpstreamError::Protocol(e)
            }
        };
        let mut response = self.client.execute(request).await.map_err(classify)?;
        let status = response.status().as_u16();
        let limit = self.max_response_bytes;
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(UpstreamError::TooLarge { limit });
        }
        let mut buf = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if buf.len() + chunk.len() > limit {
                return Err(UpstreamError::TooLarge { limit });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok((status, Bytes::from(buf)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaker_opens_after_the_threshold_and_closes_on_success() {
        let b = Breaker::new(3, Duration::from_secs(60));
        b.record(false);
        b.record(false);
        assert!(b.allows());
        b.record(false);
        assert!(b.is_open());
        b.record(true);
        assert!(b.allows());
    }

    #[test]
    fn breaker_recovers_after_the_cooldown() {
        let b = Breaker::new(1, Duration::from_millis(0));
        b.record(false);
        assert!(b.allows(), "a zero cooldown lets the next call through");
        let never = Breaker::new(0, Duration::from_secs(60));
        for _ in 0..10 {
            never.record(false);
        }
        assert!(never.allows(), "threshold 0 disables the breaker");
    }
}
