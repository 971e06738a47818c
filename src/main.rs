//! `dialectgate`: the command line. Offline translation and validation for CI, the fidelity
//! matrix, and the gateway server.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use dialectgate_dialect::{Answer, Endpoint, Fill, Mode, Options, Registry, Source, Step, parse_strict};

mod batch;
mod candidate_report;
mod markup;
mod matrix;
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
    /// Translate request bodies from one dialect (or `canonical`) to another.
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
        /// The stored customer, as the target's retrieve call answers it (or a canonical
        /// Customer): prints what the gateway would send after reading it (read-modify-write).
        /// Without it, updates that need a read are refused as `translation.fill = "never"`.
        #[arg(long, value_name = "FILE")]
        current: Option<PathBuf>,
        /// Members the target has no place for go into its extension bag
        /// (`translation.overflow`).
        #[arg(long)]
        overflow: bool,
        /// The prefix of overflow keys (`translation.overflow_prefix`). Overflow on or off, a
        /// caller's bag key starting with it is refused: only the gateway writes them.
        #[arg(long, value_name = "PREFIX", default_value = dialectgate_dialect::DEFAULT_OVERFLOW_PREFIX)]
        overflow_prefix: String,
        /// `text`, `json` (errors and reports as JSON; one line per input when there are
        /// several) or `junit` (JUnit XML, one test case per input).
        #[arg(long, value_enum, default_value = "text")]
        format: batch::Format,
        /// Same as `--format json`.
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// The bodies: files, directories (their `*.json`, in name order), `-` or nothing for
        /// standard input.
        files: Vec<PathBuf>,
    },
    /// Validate request bodies against a dialect's schema.
    Validate {
        /// A dialect id or `canonical`.
        #[arg(long)]
        dialect: String,
        /// `text`, `json` (one line per input when there are several) or `junit` (JUnit XML,
        /// one test case per input).
        #[arg(long, value_enum, default_value = "text")]
        format: batch::Format,
        /// Same as `--format json`.
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// The bodies: files, directories (their `*.json`, in name order), `-` or nothing for
        /// standard input.
        files: Vec<PathBuf>,
    },
    /// The fidelity matrix: for every source → target pair, which request members are carried,
    /// derived, lost. A summary table; `--from` and `--to` for one pair, member by member.
    Matrix {
        /// Only this source, member by member (with `--to`).
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// Only this target (with `--from`).
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// `text`, `json`, or `html`: one self-contained page with a heat map and a per-pair
        /// drill-down (`dialectgate matrix --format html > matrix.html`).
        #[arg(long, value_enum, default_value = "text")]
        format: MatrixFormat,
        /// Same as `--format json`.
        #[arg(long, conflicts_with = "format")]
        json: bool,
    },
    /// Print a shell completion script (install: see the README).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    Man,
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
    /// Sum up a migration candidate's divergence logs (candidate.log), one per replica, as one:
    /// a row per member of the canonical Customer (count, share of compared requests, first and
    /// last seen, two example request ids), and per reason requests could not be compared.
    CandidateReport {
        /// The JSON-lines logs written by `serve` with `--candidate-log` (`-`: standard input).
        #[arg(value_name = "FILE", required = true, num_args = 1..)]
        files: Vec<PathBuf>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
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

/// How `matrix` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum MatrixFormat {
    /// A table for the terminal.
    Text,
    /// JSON, for machines.
    Json,
    /// One self-contained HTML page.
    Html,
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
    /// Migration mode: the candidate upstream's base URL (candidate.url).
    #[arg(long, value_name = "URL")]
    candidate: Option<String>,
    /// What the candidate speaks: `canonical` or a dialect id (candidate.dialect).
    #[arg(long, value_name = "ID")]
    candidate_dialect: Option<String>,
    /// What goes to the candidate: `reads` or `dual-write` (candidate.mode).
    #[arg(long, value_name = "MODE", value_parser = candidate_mode)]
    candidate_mode: Option<dialectgate_gateway::CandidateMode>,
    /// The JSON-lines divergence log (candidate.log); read it with `candidate-report`.
    #[arg(long, value_name = "FILE")]
    candidate_log: Option<PathBuf>,
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
            candidate: self.candidate.clone(),
            candidate_dialect: self.candidate_dialect.clone(),
            candidate_mode: self.candidate_mode,
            candidate_log: self.candidate_log.clone(),
        };
        match &self.config {
            Some(file) => dialectgate_gateway::load(Some(file), None, &overrides)
                .with_context(|| format!("configuration {}", file.display())),
            None => dialectgate_gateway::load_default(None, &overrides)
                .context("the built-in default configuration"),
        }
    }
}

/// `--candidate-mode`: `reads` or `dual-write` (`off` is the configuration's default, not a flag).
fn candidate_mode(s: &str) -> Result<dialectgate_gateway::CandidateMode, String> {
    match s.parse()? {
        dialectgate_gateway::CandidateMode::Off => {
            Err("reads or dual-write (leave the flag out for off)".into())
        }
        mode => Ok(mode),
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

/// `--json` is `--format json`.
fn batch_format(format: batch::Format, json: bool) -> batch::Format {
    if json { batch::Format::Json } else { format }
}

/// Reads and strictly parses one input; a refusal when it is not JSON.
fn read_json(input: &batch::Input) -> Result<serde_json::Value, batch::FileResult> {
    let bytes = input.read()?;
    parse_strict(&bytes, dialectgate_dialect::DEFAULT_MAX_DEPTH).map_err(|e| batch::FileResult::Failed {
        kind: "malformed".into(),
        message: format!("the input is not valid JSON: {e}"),
        problem: None,
    })
}

/// The stored customer of `translate --current`: the target's retrieve answer, or a canonical
/// Customer.
fn stored_customer(
    registry: &Registry,
    to: &Endpoint,
    path: &std::path::Path,
) -> anyhow::Result<serde_json::Value> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read --current {}", path.display()))?;
    if let Answer::Customer(doc) = registry.read_answer(to, 200, &bytes) {
        return Ok(doc);
    }
    let doc = parse_strict(&bytes, dialectgate_dialect::DEFAULT_MAX_DEPTH)
        .map_err(|e| anyhow::anyhow!("--current {}: not valid JSON: {e}", path.display()))?;
    if registry.canonical().is_valid_customer(&doc) {
        return Ok(doc);
    }
    anyhow::bail!(
        "--current {}: neither a {} retrieve answer nor a canonical Customer",
        path.display(),
        to.id()
    )
}

/// Translates one body (reading `current` when the target needs the stored customer); the
/// output is the target body, or with `request` the whole request.
fn translate(
    registry: &Registry,
    (from, to): (&Endpoint, &Endpoint),
    id: Option<&str>,
    body: &serde_json::Value,
    (options, current): (Options<'_>, Option<&serde_json::Value>),
    request: bool,
) -> batch::FileResult {
    let translated = registry
        .plan(from, to, id, body, options)
        .and_then(|step| match (step, current) {
            (Step::Ready(t), _) => Ok(t),
            (Step::Read(pending), Some(stored)) => registry.complete(from, to, pending, stored, options.mode),
            // `Fill::Never` without `--current`: never asked.
            (Step::Read(_), None) => Err(dialectgate_canonical::Problem::new(
                dialectgate_canonical::ErrorKind::Internal,
                "a read was asked for without --current",
            )),
        });
    match translated {
        Ok(t) => {
            let note = (!t.fidelity.is_exact())
                .then(|| serde_json::to_string(&t.fidelity).ok())
                .flatten()
                .map(|f| format!("fidelity: {f}"));
            let out = if request {
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
            batch::FileResult::Passed {
                text: serde_json::to_string_pretty(&out).unwrap_or_default(),
                json: out,
                note,
            }
        }
        Err(problem) => batch::FileResult::refused(problem.kind().as_str(), problem),
    }
}
