//! `dialectgate`: the command line. Offline translation and validation for CI, the fidelity
//! matrix, and the gateway server.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use dialectgate_dialect::{Endpoint, Mode, Registry, Source, parse_strict};

mod telemetry;

/// mimalloc instead of the system allocator: a request allocates and frees many small JSON
/// nodes, and glibc malloc/free were a third of all instructions per request (BENCHMARKS.md).
/// Built (Cargo.toml) as mimalloc v2 without transparent huge pages: with THP its heap grew in
/// 2 MiB pages (60 of 105 MiB at 1,000 connections), and v3 keeps freed memory for 1 s where
/// v2 returns it after 10 ms, which raised the peak when connections are replaced.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// An API gateway that speaks five commerce vendors' "update a customer" dialects.
#[derive(Debug, Parser)]
#[command(name = "dialectgate", version, about)]
struct Cli {
    /// Directory of dialect definition files replacing the built-in ones (dialects.dir; default:
    /// the definitions built into the binary). Every command honours it: `serve` and
    /// `check-config` over the configuration file.
    #[arg(long, global = true, env = "DIALECTGATE__DIALECTS__DIR")]
    dialects_dir: Option<PathBuf>,
    /// Directory of JSON Schemas, `canonical/` and one folder per dialect, replacing the built-in
    /// ones (dialects.schemas; default: built in). Every command honours it, as `--dialects-dir`.
    #[arg(long, global = true, env = "DIALECTGATE__DIALECTS__SCHEMAS")]
    schemas_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Translate a request body from one dialect (or `canonical`) to another.
    Translate {
        /// Source: a dialect id or `canonical`.
        #[arg(long)]
        from: String,
        /// Target: a dialect id or `canonical`.
        #[arg(long)]
        to: String,
        /// The customer id, when the source carries it in the path.
        #[arg(long)]
        id: Option<String>,
        /// Print the whole target request (method, path, headers, body) instead of the body.
        #[arg(long)]
        request: bool,
        /// `strict` refuses lossy translations; `lenient` reports them.
        #[arg(long, default_value = "strict")]
        mode: Mode,
        /// Print errors and reports as JSON.
        #[arg(long)]
        json: bool,
        /// The body (`-` or nothing for standard input).
        file: Option<PathBuf>,
    },
    /// Validate a request body against a dialect's schema.
    Validate {
        /// A dialect id or `canonical`.
        #[arg(long)]
        dialect: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// The body (`-` or nothing for standard input).
        file: Option<PathBuf>,
    },
    /// The fidelity matrix: for every source → target pair, what is carried, derived, lost.
    Matrix {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the gateway.
    Serve {
        #[command(flatten)]
        server: ServerArgs,
        /// Human-readable log lines instead of JSON.
        #[arg(long)]
        human_logs: bool,
    },
    /// Load and check a configuration and every dialect and schema it names; exit non-zero
    /// with a precise message when anything is wrong.
    CheckConfig {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Print an OpenAPI 3.1 document of every inbound operation, generated from the loaded
    /// dialects and schemas.
    Openapi,
    /// The loaded dialects, their routes, and where each definition came from (`embedded` or
    /// its file).
    Dialects {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Configuration flags shared by `serve` and `check-config`.
#[derive(Debug, Clone, clap::Args)]
struct ServerArgs {
    /// The configuration file; without it, the built-in default (`config/dialectgate.toml` as
    /// shipped). The `DIALECTGATE__*` variables and these flags apply on top of either.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on (server.listen).
    #[arg(long)]
    listen: Option<String>,
    /// Address of the admin listener: /metrics, /healthz, /readyz, POST /admin/reload
    /// (admin.listen; an empty string disables it).
    #[arg(long)]
    admin_listen: Option<String>,
    /// Upstream base URL (upstream.url); none: the embedded backend.
    #[arg(long)]
    upstream: Option<String>,
    /// What the upstream speaks: `canonical` or a dialect id (upstream.dialect).
    #[arg(long)]
    upstream_dialect: Option<String>,
    /// `static` or `passthrough` (credentials.mode).
    #[arg(long)]
    credentials: Option<dialectgate_gateway::CredentialMode>,
    /// `strict` or `lenient` (translation.mode).
    #[arg(long)]
    mode: Option<Mode>,
    /// Serve only this dialect (repeatable; server.only).
    #[arg(long)]
    only: Vec<String>,
    /// The global `--dialects-dir` and `--schemas-dir`, handed over after parsing.
    #[arg(skip)]
    dirs: (Option<PathBuf>, Option<PathBuf>),
}

impl ServerArgs {
    fn load(&self) -> Result<dialectgate_gateway::Config> {
        let overrides = dialectgate_gateway::Overrides {
            listen: self.listen.clone(),
            admin_listen: self.admin_listen.clone(),
            upstream: self.upstream.clone(),
            upstream_dialect: self.upstream_dialect.clone(),
            credentials: self.credentials,
            mode: self.mode,
            only: self.only.clone(),
            dialects_dir: self.dirs.0.clone(),
            schemas_dir: self.dirs.1.clone(),
        };
        match &self.config {
            Some(file) => dialectgate_gateway::load(Some(file), None, &overrides)
                .with_context(|| format!("configuration {}", file.display())),
            None => dialectgate_gateway::load_default(None, &overrides)
                .context("the built-in default configuration"),
        }
    }
}

fn main() -> ExitCode {
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

fn read_input(file: Option<&PathBuf>) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    match file {
        Some(path) if path.as_os_str() != "-" => {
            buf = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        }
        _ => {
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read standard input")?;
        }
    }
    Ok(buf)
}

/// Reads and strictly parses the input; `Ok(Err(code))` when it is not JSON (reported).
fn read_json(file: Option<&PathBuf>, json: bool) -> Result<Result<serde_json::Value, ExitCode>> {
    let bytes = read_input(file)?;
    Ok(
        parse_strict(&bytes, dialectgate_dialect::DEFAULT_MAX_DEPTH).map_err(|e| {
            fail(
                json,
                "malformed",
                &format!("the input is not valid JSON: {e}"),
                None,
            )
        }),
    )
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
            let server = ServerArgs {
                dirs,
                ..server.clone()
            };
            return serve(&server, *human_logs);
        }
        Command::CheckConfig { server } => {
            let server = ServerArgs {
                dirs,
                ..server.clone()
            };
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
        _ => {}
    }
    let registry = load(&cli)?;
    match &cli.command {
        Command::Serve { .. } | Command::CheckConfig { .. } => unreachable!("handled above"),
        Command::Translate {
            from,
            to,
            id,
            request,
            mode,
            json,
            file,
        } => {
            let (from, to) = (endpoint(&registry, from)?, endpoint(&registry, to)?);
            let body = match read_json(file.as_ref(), *json)? {
                Ok(body) => body,
                Err(code) => return Ok(code),
            };
            let path_id = id.as_deref();
            match registry.translate(&from, &to, path_id, &body, *mode) {
                Ok(t) => {
                    if !t.fidelity.is_exact() {
                        eprintln!("fidelity: {}", serde_json::to_string(&t.fidelity)?);
                    }
                    let out = if *request {
                        let mut headers = serde_json::Map::new();
                        headers.insert("content-type".into(), t.outbound.content_type.into());
                        serde_json::json!({
                            "method": t.outbound.method,
                            "path": t.outbound.path,
                            "headers": headers,
                            "body": t.outbound.body,
                        })
                    } else {
                        t.outbound.body
                    };
                    out!("{}", serde_json::to_string_pretty(&out)?);
                    Ok(ExitCode::SUCCESS)
                }
                Err(problem) => Ok(fail(
                    *json,
                    problem.kind().as_str(),
                    problem.message(),
                    Some(&problem),
                )),
            }
        }
        Command::Validate { dialect, json, file } => {
            let side = endpoint(&registry, dialect)?;
            let body = match read_json(file.as_ref(), *json)? {
                Ok(body) => body,
                Err(code) => return Ok(code),
            };
            match registry.validate_request(&side, &body) {
                Ok(()) => {
                    if *json {
                        out!("{}", serde_json::json!({"valid": true}));
                    } else {
                        out!("valid {} request", side.id());
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(problem) => Ok(fail(*json, "validation", problem.message(), Some(&problem))),
            }
        }
        Command::Matrix { json } => {
            let matrix = registry.matrix();
            if *json {
                out!("{}", serde_json::to_string_pretty(&matrix)?);
            } else {
                out!(
                    "{:<14} {:<14} {:>7} {:>7} {:>5}  lost",
                    "from",
                    "to",
                    "carried",
                    "derived",
                    "lost"
                );
                for e in &matrix {
                    out!(
                        "{:<14} {:<14} {:>7} {:>7} {:>5}  {}",
                        e.from,
                        e.to,
                        e.carried.len(),
                        e.derived.len(),
                        e.lost.len(),
                        e.lost.join(" ")
                    );
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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
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

/// Reports a refused input on stderr (and as JSON on stdout with `--json`); exit code 1.
fn fail(json: bool, kind: &str, message: &str, problem: Option<&dialectgate_canonical::Problem>) -> ExitCode {
    if json {
        let body = match problem {
            Some(p) => serde_json::to_value(p).unwrap_or_default(),
            None => serde_json::json!({"type": kind, "detail": message}),
        };
        out!("{body}");
    }
    eprintln!("error ({kind}): {message}");
    if let Some(p) = problem {
        for v in &p.errors {
            eprintln!(
                "  {} [{}] {}",
                if v.pointer.is_empty() { "/" } else { &v.pointer },
                v.code,
                v.message
            );
        }
    }
    ExitCode::from(1)
}
