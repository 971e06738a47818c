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
    pub outcome: &'static str,
    pub status_class: &'static str,
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
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamReadLabels {
    pub upstream: String,
    /// Why the stored customer was read before a write (`required_on_write`, `derived`,
    /// `replaced`).
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MemoryLabels {
    /// `reading` (bodies being read) or `working` (requests being worked on).
    pub share: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CandidateLabels {
    /// `reads` or `dual-write`.
    pub mode: &'static str,
    /// `match`, `diverged`, `noise`, `status_<error kind>` (`status_ok` when only the candidate
    /// succeeded), `untranslatable`, a transport failure (`connect`, `timeout`, `protocol`,
    /// `too_large`, `unsendable`), `dropped` (queue full) or `log_dropped`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PointerLabels {
    /// A JSON Pointer declared by the canonical Customer schema (`compare.rs`).
    pub pointer: String,
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
    pub upstream_reads: Family<UpstreamReadLabels, Counter>,
    pub in_flight: Gauge,
    /// Bytes of `server.max_buffered_bytes` reserved now, by share (`pipeline::admit`).
    pub memory_reserved: Family<MemoryLabels, Gauge>,
    pub reloads: Family<ReloadLabels, Counter>,
    pub candidate_requests: Family<CandidateLabels, Counter>,
    pub candidate_divergences: Family<PointerLabels, Counter>,
    pub candidate_queue_bytes: Gauge,
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
            "Failed upstream calls, by kind (connect, timeout, 5xx, protocol, too_large, circuit_open, id_mismatch)",
            upstream_errors.clone(),
        );
        let upstream_reads = Family::<UpstreamReadLabels, Counter>::default();
        registry.register(
            "upstream_reads",
            "Reads of the stored customer before a write (read-modify-write), by upstream and the most pressing reason",
            upstream_reads.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "in_flight_requests",
            "Requests being handled now",
            in_flight.clone(),
        );
        let memory_reserved = Family::<MemoryLabels, Gauge>::default();
        registry.register(
            "memory_reserved_bytes",
            "Bytes of server.max_buffered_bytes reserved now: by bodies being read (share=reading) and by requests being worked on (share=working)",
            memory_reserved.clone(),
        );
        let reloads = Family::<ReloadLabels, Counter>::default();
        registry.register(
            "config_reloads",
            "Configuration reloads, by result",
            reloads.clone(),
        );
        let candidate_requests = Family::<CandidateLabels, Counter>::default();
        registry.register(
            "candidate_requests",
            "Requests copied to the migration candidate, by mode and outcome",
            candidate_requests.clone(),
        );
        let candidate_divergences = Family::<PointerLabels, Counter>::default();
        registry.register(
            "candidate_divergences",
            "Members of the canonical Customer where the candidate's answer differed from the primary's",
            candidate_divergences.clone(),
        );
        let candidate_queue_bytes = Gauge::default();
        registry.register(
            "candidate_queue_bytes",
            "Bytes held by copies for the migration candidate (queued, waiting for the noise probe, or being compared); at most candidate.queue_bytes per configuration",
            candidate_queue_bytes.clone(),
        );
        Metrics {
            registry,
            candidate_requests,
            candidate_divergences,
            candidate_queue_bytes,
            requests,
            request_duration,
            translation_duration,
            upstream_duration,
            validation_failures,
            upstream_errors,
            upstream_reads,
            in_flight,
            memory_reserved,
            reloads,
        }
    }
}

/// The series one caller dialect touches on every successful request, resolved once per
/// configuration so the hot path neither builds label sets nor hashes them.
#[derive(Clone, Debug)]
pub struct DialectHandles {
    /// `requests{dialect, upstream, outcome="ok", status_class="2xx"}`.
    pub ok: Counter,
    pub request_duration: Histogram,
    pub translation_duration: Histogram,
}

impl Metrics {
    /// Bytes of `server.max_buffered_bytes` reserved now in `share` (`reading` or `working`).
    pub fn memory_reserved(&self, share: &'static str) -> i64 {
        self.memory_reserved.get_or_create(&MemoryLabels { share }).get()
    }

    /// Resolves the per-dialect series for `dialect` behind `upstream`.
    pub fn handles(&self, dialect: &str, upstream: &str) -> DialectHandles {
        let labels = DialectLabels {
            dialect: dialect.to_owned(),
        };
        DialectHandles {
            ok: self
                .requests
                .get_or_create(&RequestLabels {
                    dialect: dialect.to_owned(),
                    upstream: upstream.to_owned(),
                    outcome: "ok",
                    status_class: "2xx",
                })
                .clone(),
            request_duration: self.request_duration.get_or_create(&labels).clone(),
            translation_duration: self.translation_duration.get_or_create(&labels).clone(),
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Records one finished request.
    /// `handles` are `dialect`'s resolved series, when it has them (not for unrouted requests).
    pub fn request(
        &self,
        handles: Option<&DialectHandles>,
        dialect: &str,
        upstream: &str,
        outcome: &'static str,
        status: u16,
        elapsed: Duration,
    ) {
        if let Some(h) = handles {
            h.request_duration.observe(elapsed.as_secs_f64());
            if outcome == "ok" && (200..300).contains(&status) {
                h.ok.inc();
                return;
            }
        } else {
            self.request_duration
                .get_or_create(&DialectLabels {
                    dialect: dialect.to_owned(),
                })
                .observe(elapsed.as_secs_f64());
        }
        const CLASSES: [&str; 6] = ["0xx", "1xx", "2xx", "3xx", "4xx", "5xx"];
        let status_class = CLASSES.get(usize::from(status / 100)).copied().unwrap_or("other");
        self.requests
            .get_or_create(&RequestLabels {
                dialect: dialect.to_owned(),
                upstream: upstream.to_owned(),
                outcome,
                status_class,
            })
            .inc();
    }

    /// Records one upstream failure.
    /// Counts one read before a write.
    pub fn upstream_read(&self, upstream: &str, reason: &'static str) {
        self.upstream_reads
            .get_or_create(&UpstreamReadLabels {
                upstream: upstream.to_owned(),
                reason,
            })
            .inc();
    }

    pub fn upstream_error(&self, upstream: &str, kind: &'static str) {
        self.upstream_errors
            .get_or_create(&UpstreamErrorLabels {
                upstream: upstream.to_owned(),
                kind,
            })
            .inc();
    }
}
