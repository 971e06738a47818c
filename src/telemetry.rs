//! Logs and traces of the `serve` command: the subscriber is the binary's to install (the
//! gateway library only emits events; tests install their own capture).

use anyhow::Result;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

mod access;
mod batched;

/// Installs the log subscriber: JSON lines (or human lines) on stderr, level from `RUST_LOG`, and
/// with the `otlp` feature an OTLP span exporter when configured. Returns what must be flushed
/// at exit.
pub fn init(human: bool, otlp_endpoint: Option<&str>) -> Result<Telemetry> {
    use tracing_subscriber::fmt;
    use tracing_subscriber::prelude::*;
    // The default hook prints the panic message, which could quote request data; log where it
    // happened instead (the request still gets a 500, see the gateway's server loop).
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(%location, "Panic.");
    }));
    let (level, env_filter) = filter();
    let mut access_log = None;
    let fmt_layer = if human {
        fmt::layer().with_writer(std::io::stderr).boxed()
    } else {
        // The per-request access line is written by `access` (the same line at a tenth of the
        // cost) and handed to `batched`'s writer thread (off the request path, many lines per
        // write under load); every other event by the JSON formatter; span fields are kept by
        // `access::SpanFields` (appended, not re-parsed at each `Span::record`).
        let (sink, flusher) = batched::Batched::start(std::io::stderr())?;
        access_log = Some(flusher);
        access::AccessLog::with_sink(
            fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .fmt_fields(access::SpanFields)
                .with_writer(std::io::stderr),
            sink,
        )
        .boxed()
    };
    let registry = tracing_subscriber::registry().with(fmt_layer);
    #[cfg(feature = "otlp")]
    {
        let (layer, provider) = match otlp_endpoint {
            Some(endpoint) => {
                let (layer, provider) = otlp::layer(endpoint)?;
                (Some(layer), Some(provider))
            }
            None => (None, None),
        };
        registry.with(layer).with(level).with(env_filter).init();
        Ok(Telemetry { provider, access_log })
    }
    #[cfg(not(feature = "otlp"))]
    {
        // The configuration refuses an endpoint in a build without the feature.
        let _ = otlp_endpoint;
        registry.with(level).with(env_filter).init();
        Ok(Telemetry { access_log })
    }
}

/// The filter `RUST_LOG` asks for (`info` when unset or unreadable, as `EnvFilter` reads it): a
/// bare level (`info`, `warn`, ...) as a `LevelFilter`, anything else (targets, spans, fields) as
/// an `EnvFilter`. Both pass the same events for a bare level; the `EnvFilter` also looks up
/// every span it is told of, entered or left (under a lock), to honour span directives, which a
/// bare level has none of: about 0.6k instructions per request (BENCHMARKS.md).
fn filter() -> (Option<LevelFilter>, Option<EnvFilter>) {
    filter_of(std::env::var(EnvFilter::DEFAULT_ENV).ok().as_deref())
}

/// [`filter`] for `RUST_LOG`'s value (`None`: unset or not Unicode).
fn filter_of(directives: Option<&str>) -> (Option<LevelFilter>, Option<EnvFilter>) {
    let Some(directives) = directives else {
        return (Some(LevelFilter::INFO), None);
    };
    if let Ok(level) = directives.trim().parse::<LevelFilter>() {
        return (Some(level), None);
    }
    match EnvFilter::try_new(directives) {
        Ok(filter) => (None, Some(filter)),
        Err(_) => (Some(LevelFilter::INFO), None),
    }
}

/// What to flush before exiting: the access log's writer, and the exporters.
pub struct Telemetry {
    access_log: Option<batched::Flusher>,
    #[cfg(feature = "otlp")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        // Every access line of a request answered before the exit is written.
        if let Some(access_log) = &self.access_log {
            access_log.flush();
        }
        #[cfg(feature = "otlp")]
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
    }
}

#[cfg(feature = "otlp")]
mod otlp {
    use anyhow::{Context, Result};
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::WithExportConfig;
    use opentelemetry_sdk::trace::SdkTracerProvider;

    /// A tracing layer exporting spans to `endpoint` over OTLP/HTTP (protobuf), batched.
    pub fn layer<S>(
        endpoint: &str,
    ) -> Result<(
        tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>,
        SdkTracerProvider,
    )>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(endpoint)
            .build()
            .context("cannot build the OTLP exporter")?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                opentelemetry_sdk::Resource::builder()
                    .with_service_name("dialectgate")
                    .build(),
            )
            .build();
        let tracer = provider.tracer("dialectgate");
        Ok((tracing_opentelemetry::layer().with_tracer(tracer), provider))
    }
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::filter::LevelFilter;

    use super::filter_of;

    #[test]
    fn a_bare_level_is_a_level_filter_and_the_rest_an_env_filter() {
        for (directives, level) in [
            (None, LevelFilter::INFO),
            (Some("info"), LevelFilter::INFO),
            (Some(" WARN "), LevelFilter::WARN),
            (Some("debug"), LevelFilter::DEBUG),
            (Some("off"), LevelFilter::OFF),
            // Unreadable directives: `info`, as before.
            (Some("dialectgate=notalevel"), LevelFilter::INFO),
        ] {
            let (bare, env) = filter_of(directives);
            assert_eq!(bare, Some(level), "{directives:?}");
            assert!(env.is_none(), "{directives:?}");
        }
        for directives in [
            "dialectgate=debug",
            "warn,dialectgate_gateway=trace",
            "[request]=debug",
        ] {
            let (bare, env) = filter_of(Some(directives));
            assert!(bare.is_none(), "{directives}");
            let env = env.map(|f| f.to_string());
            assert!(env.is_some(), "{directives}");
        }
    }
}
