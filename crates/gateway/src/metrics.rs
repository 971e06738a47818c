//! Prometheus metrics, served as text on the admin listener. Labels are low-cardinality by
//! construction: dialect ids, upstream kind, outcome names, status classes, schema keywords —
//! never customer ids or paths.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub dialect: String,
    pub upstream: String,
    pub outcome: String,
    pub status_class: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DialectLabels {
    pub dialect: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabels {
    pub upstream: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ValidationLabels {
    pub dialect: String,
    pub keyword: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamErrorLabels {
    pub upstream: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    pub result: String,
}

fn latency() -> Histogram {
    // 50 µs … ~6.5 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 18))
}

/// Every metric the gateway exports. Shared across configuration reloads.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_duration: Family<DialectLabels, Histogram>,
    pub translation_duration: Family<DialectLabels, Histogram>,
    pub upstream_duration: Family<UpstreamLabels, Histogram>,
    pub validation_failures: Family<ValidationLabels, Counter>,
    pub upstream_errors: Family<UpstreamErrorLabels, Counter>,
    pub in_flight: Gauge,
    pub reloads: Family<ReloadLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics { .. }")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("dialectgate");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests handled, by caller dialect, upstream, outcome and status class",
            requests.clone(),
        );
        let request_duration =
            Family::<DialectLabels, Histogram>::new_with_constructor(latency as fn() -> Histogram);
        registry.register(
            "request_duration_seconds",
            "Whole request latency, by caller dialect",
            request_duration.clone(),
        );
        let translation_duration =
            Family::<DialectLabels, Histogram>::new_with_constructor(latency as fn() -> Histogram);
        registry.register(
            "translation_duration_seconds",
            "Validation and translation time (both ways), by caller dialect",
            translation_duration.clone(),
        );
        let upstream_duration =
            Family::<UpstreamLabels, Histogram>::new_with_constructor(latency as fn() -> Histogram);
        registry.register(
            "upstream_duration_seconds",
            "Upstream call latency, by upstream kind",
            upstream_duration.clone(),
        );
        let validation_failures = Family::<ValidationLabels, Counter>::default();
        registry.register(
            "validation_failures",
            "Schema violations in callers' requests, by dialect and JSON Schema keyword",
            validation_failures.clone(),
        );
        let upstream_errors = Family::<UpstreamErrorLabels, Counter>::default();
        registry.register(
            "upstream_errors",
            "Failed upstream calls, by kind (connect, timeout, 5xx, protocol, too_large, circuit_open)",
            upstream_errors.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "in_flight_requests",
            "Requests being handled now",
            in_flight.clone(),
        );
        let reloads = Family::<ReloadLabels, Counter>::default();
        registry.register(
            "config_reloads",
            "Configuration reloads, by result",
            reloads.clone(),
        );
        Metrics {
            registry,
            requests,
            request_duration,
            translation_duration,
            upstream_duration,
            validation_failures,
            upstream_errors,
            in_flight,
            reloads,
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Records one finished request.
    pub fn request(&self, dialect: &str, upstream: &str, outcome: &str, status: u16, elapsed: Duration) {
        let status_class = format!("{}xx", status / 100);
        self.requests
            .get_or_create(&RequestLabels {
                dialect: dialect.to_owned(),
                upstream: upstream.to_owned(),
                outcome: outcome.to_owned(),
                status_class,
            })
            .inc();
        self.request_duration
            .get_or_create(&DialectLabels {
                dialect: dialect.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Records one upstream failure.
    pub fn upstream_error(&self, upstream: &str, kind: &str) {
        self.upstream_errors
            .get_or_create(&UpstreamErrorLabels {
                upstream: upstream.to_owned(),
                kind: kind.to_owned(),
            })
            .inc();
    }
}
