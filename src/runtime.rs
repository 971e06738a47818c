//! The tokio runtime of `serve`, every driver enabled. When the process may use one CPU
//! (`std::thread::available_parallelism`, which follows the affinity mask and the cgroup CPU
//! quota) and `TOKIO_WORKER_THREADS` is not set, a current-thread runtime: `bench/runtime.sh`
//! measured it at 0.64–0.72× the CPU per request of a one-worker multi-thread runtime on one
//! core, with more requests per second (BENCHMARKS.md, "The runtime on one CPU"). Otherwise
//! multi-threaded, one worker per CPU unless `TOKIO_WORKER_THREADS` says otherwise (tokio
//! reads it).
//!
//! A build with the `bench-runtime` feature (`bench/runtime.sh`, never the shipped binary) also
//! reads scheduler settings from the environment, so they can be measured side by side without
//! a configuration key that nobody should need:
//!
//! | variable | tokio setting | tokio's default |
//! |---|---|---|
//! | `DIALECTGATE_BENCH_RUNTIME=current_thread` or `multi_thread` | that runtime, whatever the CPUs | current-thread on one CPU, else multi-thread |
//! | `DIALECTGATE_BENCH_EVENT_INTERVAL=N` | `event_interval(N)` | 61 |
//! | `DIALECTGATE_BENCH_GLOBAL_QUEUE_INTERVAL=N` | `global_queue_interval(N)` | adaptive (multi-thread), 31 |
//! | `DIALECTGATE_BENCH_MAX_IO_EVENTS=N` | `max_io_events_per_tick(N)` | 1024 |

/// The two runtimes `serve` may run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    CurrentThread,
    MultiThread,
}

/// The runtime for a process that may use `cpus` CPUs (`None`: unknown), given
/// `TOKIO_WORKER_THREADS` (`None`: unset): current-thread on one CPU unless workers were asked
/// for, multi-thread otherwise.
pub fn flavour(cpus: Option<usize>, worker_threads: Option<&str>) -> Flavour {
    match (cpus, worker_threads) {
        (Some(1), None) => Flavour::CurrentThread,
        _ => Flavour::MultiThread,
    }
}

/// The runtime builder `serve` uses (the "Gateway listening." line names its flavour).
///
/// # Errors
/// Only in a `bench-runtime` build: a `DIALECTGATE_BENCH_*` value that is not a positive
/// integer (a run never measures a setting it did not apply).
pub fn builder() -> anyhow::Result<tokio::runtime::Builder> {
    let cpus = std::thread::available_parallelism().ok().map(usize::from);
    let workers = std::env::var("TOKIO_WORKER_THREADS").ok();
    #[cfg_attr(not(feature = "bench-runtime"), allow(unused_mut))]
    let mut chosen = flavour(cpus, workers.as_deref());
    #[cfg(feature = "bench-runtime")]
    match std::env::var("DIALECTGATE_BENCH_RUNTIME").as_deref() {
        Ok("current_thread") => chosen = Flavour::CurrentThread,
        Ok("multi_thread") => chosen = Flavour::MultiThread,
        _ => {}
    }
    let mut builder = match chosen {
        Flavour::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        Flavour::MultiThread => tokio::runtime::Builder::new_multi_thread(),
    };
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

#[cfg(test)]
mod tests {
    use super::{Flavour, flavour};

    #[test]
    fn one_cpu_runs_on_the_current_thread_unless_workers_are_asked_for() {
        assert_eq!(flavour(Some(1), None), Flavour::CurrentThread);
        // TOKIO_WORKER_THREADS is an explicit request for the multi-thread runtime's workers.
        assert_eq!(flavour(Some(1), Some("1")), Flavour::MultiThread);
        assert_eq!(flavour(Some(2), None), Flavour::MultiThread);
        assert_eq!(flavour(Some(64), Some("4")), Flavour::MultiThread);
        // Unknown: tokio's own default.
        assert_eq!(flavour(None, None), Flavour::MultiThread);
    }
}
