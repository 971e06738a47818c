//! `dialectgate`: the command line. Offline translation and validation for CI, the fidelity
//! matrix, and the gateway server.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use dialectgate_dialect::{Endpoint, Mode, Registry, parse_strict};

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
    /// Directory of dialect definition files.
    #[arg(
        long,
        global = true,
        env = "DIALECTGATE_DIALECTS_DIR",
        default_value = "config/dialects"
    )]
    dialects_dir: PathBuf,
    /// Directory of JSON Schemas (`canonical/` and one folder per dialect).
    #[arg(
        long,
        global = true,
        env = "DIALECTGATE_SCHEMAS_DIR",
        default_value = "schemas"
    )]
    schemas_dir: PathBuf,
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
    /// The loaded dialects and their routes.
    Dialects {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Configuration flags shared by `serve` and `check-config`.
#[derive(Debug, Clone, clap::Args)]
struct ServerArgs {
    /// The configuration file.
    #[arg(long, default_value = "config/dialectgate.toml")]
    config: PathBuf,
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
        };
        dialectgate_gateway::load(Some(&self.config), None, &overrides)
            .with_context(|| format!("configuration {}", self.config.display()))
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

fn load(cli: &Cli) -> Result<Registry> {
    Registry::load(&cli.dialects_dir, &cli.schemas_dir).with_context(|| {
        format!(
            "cannot load dialects from {} with schemas from {}",
            cli.dialects_dir.display(),
            cli.schemas_dir.display()
        )
    })
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
    match &cli.command {
        Command::Serve { server, human_logs } => return serve(server, *human_logs),
        Command::CheckConfig { server } => {
            let config = server.load()?;
            let gateway =
                dialectgate_gateway::Gateway::new(config).context("the configuration does not start")?;
            let ids: Vec<&str> = gateway.registry().dialects().iter().map(|d| d.id()).collect();
            out!(
                "configuration OK: serving {} on {}",
                ids.join(", "),
                gateway.config().listen
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
                        })
                    })
                    .collect();
                out!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for d in registry.dialects() {
                    out!(
                        "{:<14} {:<6} {:<42} {}",
                        d.id(),
                        d.route().method,
                        d.route().path,
                        d.vendor()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn serve(args: &ServerArgs, human_logs: bool) -> Result<ExitCode> {
    use dialectgate_gateway::{Gateway, Live, Shared};
    let config = args.load()?;
    let _telemetry = init_logging(human_logs, config.otlp_endpoint.as_deref())?;
    let gateway = Gateway::new(config).context("cannot start")?;
    // A reload re-reads the same sources: the file, the environment and these flags.
    let loader_args = args.clone();
    let loader: dialectgate_gateway::Loader = Box::new(move |shared: Shared| {
        let config = loader_args.load().map_err(|e| format!("{e:#}"))?;
        let registry = dialectgate_dialect::Registry::load(&config.dialects_dir, &config.schemas_dir)
            .map_err(|e| format!("{e:#}"))?;
        Gateway::with_registry(config, registry, shared).map_err(|e| format!("{:#}", anyhow::Error::from(e)))
    });
    let live = std::sync::Arc::new(Live::reloadable(gateway, loader));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async move {
        let gateway = live.current();
        let addr = gateway.config().listen;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let admin_local = match gateway.config().admin_listen {
            Some(admin) => {
                let admin_listener = tokio::net::TcpListener::bind(admin)
                    .await
                    .with_context(|| format!("cannot listen on {admin} (admin)"))?;
                let admin_local = admin_listener.local_addr()?;
                let mut rx = stop_rx.clone();
                tokio::spawn(dialectgate_gateway::serve_admin(
                    admin_listener,
                    live.clone(),
                    async move {
                        let _ = rx.wait_for(|stop| *stop).await;
                    },
                ));
                Some(admin_local)
            }
            None => None,
        };
        #[cfg(unix)]
        {
            let live = live.clone();
            tokio::spawn(async move {
                let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                else {
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
            listen = %local,
            admin = %admin_local.map_or_else(|| "off".to_owned(), |a| a.to_string()),
            // Whether POST /admin/reload is on (admin.token_env holds a token); never the token.
            admin_reload = if gateway.config().admin_token.is_some() { "on" } else { "off" },
            dialects = %ids.join(","),
            upstream = gateway.config().upstream_url.as_deref().unwrap_or("embedded"),
            upstream_dialect = %gateway.config().upstream_dialect,
            credentials = ?gateway.config().credential_mode,
            // Where the caller keys came from and how many, never their values.
            caller_keys = %gateway.config().key_sources.join("; "),
            "Gateway listening."
        );
        drop(gateway);
        // The accept loop runs on a worker thread, not on this one (`block_on`): each
        // connection is then set up, spawned and served on the same thread, and its memory
        // is allocated and freed by that thread's allocator heap.
        let drained = tokio::spawn(dialectgate_gateway::serve(listener, live, async move {
            dialectgate_gateway::shutdown_signal().await;
            let _ = stop_tx.send(true);
        }))
        .await
        .context("the server task failed")?;
        tracing::info!(drained, "Gateway stopped.");
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Installs the log subscriber: JSON lines (or human lines) on stderr, level from `RUST_LOG`, and
/// with the `otlp` feature an OTLP span exporter when configured. Returns what must be flushed
/// at exit.
fn init_logging(human: bool, otlp_endpoint: Option<&str>) -> Result<Telemetry> {
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::{EnvFilter, fmt};
    // The default hook prints the panic message, which could quote request data; log where it
    // happened instead (the request still gets a 500, see the gateway's server loop).
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(%location, "Panic.");
    }));
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt_layer = if human {
        fmt::layer().with_writer(std::io::stderr).boxed()
    } else {
        fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_writer(std::io::stderr)
            .boxed()
    };
    let registry = tracing_subscriber::registry().with(fmt_layer);
    #[cfg(feature = "otlp")]
    {
        let (layer, provider) = match otlp_endpoint {
            Some(endpoint) => {
                let (layer, provider) = telemetry::layer(endpoint)?;
                (Some(layer), Some(provider))
            }
            None => (None, None),
        };
        registry.with(layer).with(filter).init();
        Ok(Telemetry { provider })
    }
    #[cfg(not(feature = "otlp"))]
    {
        // The configuration refuses an endpoint in a build without the feature.
        let _ = otlp_endpoint;
        registry.with(filter).init();
        Ok(Telemetry {})
    }
}

/// Exporters to flush before exiting.
struct Telemetry {
    #[cfg(feature = "otlp")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        #[cfg(feature = "otlp")]
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
    }
}

#[cfg(feature = "otlp")]
mod telemetry {
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
