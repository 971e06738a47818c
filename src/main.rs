//! `dialectgate`: the command line. Offline translation and validation for CI, the fidelity
//! matrix, and the gateway server.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;
use dialectgate_dialect::{Endpoint, Fill, Options, Registry, Source};

/// Prints a line on stdout; a closed pipe (`dialectgate openapi | head`) is not an error.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        if let Err(e) = writeln!(stdout, $($arg)*) {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                eprintln!("error: cannot write to standard output: {e}");
            }
        }
    }};
}

mod batch;
mod candidate_report;
mod cli;
mod markup;
mod matrix;
mod runtime;
mod telemetry;
mod translate;

use self::cli::{Cli, Command, MatrixFormat, ServerArgs};
use self::translate::{batch_format, read_json, stored_customer, translate};

/// mimalloc instead of the system allocator: a request allocates and frees many small JSON
/// nodes, and glibc malloc/free were a third of all instructions per request (BENCHMARKS.md).
/// Built (Cargo.toml) as mimalloc v2 without transparent huge pages: with THP its heap grew in
/// 2 MiB pages (60 of 105 MiB at 1,000 connections), and v3 keeps freed memory for 1 s where
/// v2 returns it after 10 ms, which raised the peak when connections are replaced. It replaces
/// `malloc` and `free` themselves (the `override` feature), so Rust's default allocator reaches
/// mimalloc through them: for the usual alignments that is `mi_malloc`, where the `MiMalloc`
/// global allocator asks every block of `mi_malloc_aligned`, whose path costs more for a size
/// that is not a power of two (about 2k instructions per request). The `system-alloc` feature
/// (heap profiling only: `bench/memory/attribute.sh`) leaves the crate, and so the override, out.
#[cfg(not(feature = "system-alloc"))]
use mimalloc as _;

fn main() -> ExitCode {
    // Before any HTTPS client is built (the upstream's, the candidate's, the OTLP exporter's).
    dialectgate_gateway::install_tls_provider();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// The dialects of `--dialects-dir` and `--schemas-dir`, each built in when not given.
fn load(cli: &Cli) -> Result<Registry> {
    let dialects = Source::dir_or_embedded(cli.dialects_dir.as_deref());
    let schemas = Source::dir_or_embedded(cli.schemas_dir.as_deref());
    Registry::from_sources(&dialects, &schemas)
        .with_context(|| format!("cannot load dialects from {dialects} with schemas from {schemas}"))
}

fn endpoint(registry: &Registry, id: &str) -> Result<Endpoint> {
    match registry.endpoint(id) {
        Some(e) => Ok(e),
        None => {
            let known: Vec<&str> = registry.dialects().iter().map(|d| d.id()).collect();
            bail!("unknown dialect `{id}` (known: canonical, {})", known.join(", "))
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let dirs = (cli.dialects_dir.clone(), cli.schemas_dir.clone());
    match &cli.command {
        Command::Serve { server, human_logs } => {
            let server = server.with_dirs(dirs);
            return serve(&server, *human_logs);
        }
        Command::CheckConfig { server } => {
            let server = server.with_dirs(dirs);
            let config = server.load()?;
            let gateway =
                dialectgate_gateway::Gateway::new(config).context("the configuration does not start")?;
            let ids: Vec<&str> = gateway.registry().dialects().iter().map(|d| d.id()).collect();
            out!(
                "configuration OK: serving {} on {}",
                ids.join(", "),
                gateway.config().server.listen
            );
            return Ok(ExitCode::SUCCESS);
        }
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut command, "dialectgate", &mut script);
            out!("{}", String::from_utf8_lossy(&script).trim_end());
            return Ok(ExitCode::SUCCESS);
        }
        Command::CandidateReport { files, json } => {
            let report = candidate_report::Report::read_files(files)?;
            if *json {
                out!("{}", report.json());
            } else {
                out!("{}", report.text().trim_end());
            }
            return Ok(ExitCode::SUCCESS);
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut page)
                .context("cannot render the manual page")?;
            out!("{}", String::from_utf8_lossy(&page).trim_end());
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let registry = load(&cli)?;
    match &cli.command {
        Command::Serve { .. }
        | Command::CheckConfig { .. }
        | Command::Completions { .. }
        | Command::CandidateReport { .. }
        | Command::Man => {
            unreachable!("handled above")
        }
        Command::Translate {
            from,
            to,
            id,
            request,
            mode,
            current,
            overflow,
            overflow_prefix,
            format,
            json,
            files,
        } => {
            let (from, to) = (endpoint(&registry, from)?, endpoint(&registry, to)?);
            let current = current
                .as_deref()
                .map(|path| stored_customer(&registry, &to, path))
                .transpose()?;
            let options = Options {
                mode: *mode,
                fill: if current.is_some() {
                    Fill::Read
                } else {
                    Fill::Never
                },
                overflow: *overflow,
                overflow_prefix,
            };
            let inputs = batch::inputs(files)?;
            let results = inputs
                .into_iter()
                .map(|input| {
                    let outcome = match read_json(&input) {
                        Ok(body) => translate(
                            &registry,
                            (&from, &to),
                            id.as_deref(),
                            &body,
                            (options, current.as_ref()),
                            *request,
                        ),
                        Err(outcome) => outcome,
                    };
                    (input, outcome)
                })
                .collect::<Vec<_>>();
            let suite = format!("dialectgate translate {} to {}", from.id(), to.id());
            Ok(batch::report(batch_format(*format, *json), &suite, &results))
        }
        Command::Validate {
            dialect,
            format,
            json,
            files,
        } => {
            let side = endpoint(&registry, dialect)?;
            let inputs = batch::inputs(files)?;
            let results = inputs
                .into_iter()
                .map(|input| {
                    let outcome = match read_json(&input) {
                        Ok(body) => match registry.validate_request(&side, &body) {
                            Ok(()) => batch::FileResult::Passed {
                                text: format!("valid {} request", side.id()),
                                json: serde_json::json!({"valid": true}),
                                note: None,
                            },
                            Err(problem) => batch::FileResult::refused("validation", problem),
                        },
                        Err(outcome) => outcome,
                    };
                    (input, outcome)
                })
                .collect::<Vec<_>>();
            let suite = format!("dialectgate validate {}", side.id());
            Ok(batch::report(batch_format(*format, *json), &suite, &results))
        }
        Command::Matrix {
            from,
            to,
            format,
            json,
        } => {
            let format = if *json { MatrixFormat::Json } else { *format };
            let all = registry.matrix();
            let selected = match (from, to) {
                (Some(from), Some(to)) => {
                    let (from, to) = (endpoint(&registry, from)?, endpoint(&registry, to)?);
                    match matrix::pair(&all, from.id(), to.id()) {
                        Some(e) => Some(e),
                        None => bail!(
                            "no pair {} → {}: a side is its own exact translation",
                            from.id(),
                            to.id()
                        ),
                    }
                }
                _ => None,
            };
            match (format, selected) {
                (MatrixFormat::Text, None) => out!("{}", matrix::summary(&all).trim_end()),
                (MatrixFormat::Text, Some(e)) => out!("{}", matrix::pair_detail(e).trim_end()),
                (MatrixFormat::Json, None) => out!("{}", serde_json::to_string_pretty(&all)?),
                (MatrixFormat::Json, Some(e)) => out!("{}", serde_json::to_string_pretty(e)?),
                (MatrixFormat::Html, e) => {
                    let start = e.map(|e| (e.from.as_str(), e.to.as_str()));
                    out!("{}", matrix::html(&all, start).trim_end());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Openapi => {
            out!("{}", serde_json::to_string_pretty(&registry.openapi())?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Dialects { json } => {
            if *json {
                let list: Vec<_> = registry
                    .dialects()
                    .iter()
                    .map(|d| {
                        serde_json::json!({
                            "id": d.id(),
                            "vendor": d.vendor(),
                            "method": d.route().method,
                            "path": d.route().path,
                            "credentials": d.auth().accept.iter().map(|c| match &c.scheme {
                                Some(s) => format!("{}: {s} <token>", c.header),
                                None => format!("{}: <token>", c.header),
                            }).collect::<Vec<_>>(),
                            "source": d.origin().to_string(),
                        })
                    })
                    .collect();
                out!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for d in registry.dialects() {
                    out!(
                        "{:<14} {:<6} {:<42} {:<36} {}",
                        d.id(),
                        d.route().method,
                        d.route().path,
                        d.vendor(),
                        d.origin()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn serve(args: &ServerArgs, human_logs: bool) -> Result<ExitCode> {
    let config = args.load()?;
    let _telemetry = telemetry::init(human_logs, config.telemetry.otlp_endpoint.as_deref())?;
    // A reload re-reads the same sources: the file, the environment and these flags.
    let sources = args.clone();
    let options = dialectgate_gateway::Options {
        reload: Some(Box::new(move || sources.load().map_err(|e| format!("{e:#}")))),
        reload_on_sighup: true,
    };
    let runtime = runtime::builder()?.build().context("cannot start the runtime")?;
    runtime.block_on(async move {
        let running = dialectgate_gateway::run(config, options).await?;
        dialectgate_gateway::shutdown_signal().await;
        running.stop();
        let drained = running.drained().await;
        tracing::info!(drained, "Gateway stopped.");
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}
