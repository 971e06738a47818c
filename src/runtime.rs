//! The tokio runtime of `serve`: multi-threaded, one worker per core unless
//! `TOKIO_WORKER_THREADS` says otherwise (tokio reads it), every driver enabled.
//!
//! A build with the `bench-runtime` feature (`bench/runtime.sh`, never the shipped binary) also
//! reads scheduler settings from the environment, so they can be measured side by side without
//! a configuration key that nobody should need:
//!
//! | variable | tokio setting | tokio's default |
//! |---|---|---|
//! | `DIALECTGATE_BENCH_RUNTIME=current_thread` | a current-thread runtime instead | multi-thread |
//! | `DIALECTGATE_BENCH_EVENT_INTERVAL=N` | `event_interval(N)` | 61 |
//! | `DIALECTGATE_BENCH_GLOBAL_QUEUE_INTERVAL=N` | `global_queue_interval(N)` | adaptive (multi-thread), 31 |
//! | `DIALECTGATE_BENCH_MAX_IO_EVENTS=N` | `max_io_events_per_tick(N)` | 1024 |

/// The runtime builder `serve` uses.
///
/// # Errors
/// Only in a `bench-runtime` build: a `DIALECTGATE_BENCH_*` value that is not a positive
/// integer (a run never measures a setting it did not apply).
pub fn builder() -> anyhow::Result<tokio::runtime::Builder> {
    #[cfg(feature = "bench-runtime")]
    let mut builder = match std::env::var("DIALECTGATE_BENCH_RUNTIME").as_deref() {
        Ok("current_thread") => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    #[cfg(not(feature = "bench-runtime"))]
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    #[cfg(feature = "bench-runtime")]
    bench(&mut builder)?;
    Ok(builder)
}

/// The `DIALECTGATE_BENCH_*` settings (see the module's table).
#[cfg(feature = "bench-runtime")]
fn bench(builder: &mut tokio::runtime::Builder) -> anyhow::Result<()> {
    let read = |name: &str| -> anyhow::Result<Option<u32>> {
        let Ok(raw) = std::env::var(name) else {
            return Ok(None);
        };
        match raw.parse::<u32>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => anyhow::bail!("{name}={raw}: expected a positive integer"),
        }
    };
    if let Some(n) = read("DIALECTGATE_BENCH_EVENT_INTERVAL")? {
        builder.event_interval(n);
    }
    if let Some(n) = read("DIALECTGATE_BENCH_GLOBAL_QUEUE_INTERVAL")? {
        builder.global_queue_interval(n);
    }
    if let Some(n) = read("DIALECTGATE_BENCH_MAX_IO_EVENTS")? {
        builder.max_io_events_per_tick(n as usize);
    }
    Ok(())
}
