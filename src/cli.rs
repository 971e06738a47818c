//! The command line's grammar: the subcommands and their flags (clap), and the configuration
//! flags `serve` and `check-config` share, which load the gateway's configuration.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use dialectgate_dialect::Mode;

use crate::batch;

/// An API gateway that speaks five commerce vendors' "update a customer" dialects.
#[derive(Debug, Parser)]
#[command(name = "dialectgate", version, about)]
pub(crate) struct Cli {
    /// Directory of dialect definition files replacing the built-in ones (dialects.dir; default:
    /// the definitions built into the binary). Every command honours it: `serve` and
    /// `check-config` over the configuration file.
    #[arg(long, global = true, env = "DIALECTGATE__DIALECTS__DIR")]
    pub(crate) dialects_dir: Option<PathBuf>,
    /// Directory of JSON Schemas, `canonical/` and one folder per dialect, replacing the built-in
    /// ones (dialects.schemas; default: built in). Every command honours it, as `--dialects-dir`.
    #[arg(long, global = true, env = "DIALECTGATE__DIALECTS__SCHEMAS")]
    pub(crate) schemas_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
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
pub(crate) enum MatrixFormat {
    /// A table for the terminal.
    Text,
    /// JSON, for machines.
    Json,
    /// One self-contained HTML page.
    Html,
}

/// Configuration flags shared by `serve` and `check-config`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ServerArgs {
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
    /// A value for a path variable of the upstream's dialect, `NAME=VALUE` (repeatable;
    /// upstream.path_params): `--upstream-path-param store_hash=abc123`.
    #[arg(long, value_name = "NAME=VALUE", value_parser = path_param)]
    upstream_path_param: Vec<(String, String)>,
    /// A value for a path variable of the candidate's dialect, `NAME=VALUE` (repeatable;
    /// candidate.path_params).
    #[arg(long, value_name = "NAME=VALUE", value_parser = path_param)]
    candidate_path_param: Vec<(String, String)>,
    /// The global `--dialects-dir` and `--schemas-dir`, handed over after parsing.
    #[arg(skip)]
    pub(crate) dirs: (Option<PathBuf>, Option<PathBuf>),
}

impl ServerArgs {
    /// These flags with the global `--dialects-dir` and `--schemas-dir` (`dirs`).
    pub(crate) fn with_dirs(&self, dirs: (Option<PathBuf>, Option<PathBuf>)) -> ServerArgs {
        ServerArgs { dirs, ..self.clone() }
    }

    pub(crate) fn load(&self) -> Result<dialectgate_gateway::Config> {
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
            upstream_path_params: self.upstream_path_param.clone(),
            candidate_path_params: self.candidate_path_param.clone(),
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

/// `NAME=VALUE` of `--upstream-path-param` and `--candidate-path-param`.
fn path_param(arg: &str) -> std::result::Result<(String, String), String> {
    match arg.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err("expected NAME=VALUE, as store_hash=abc123".to_owned()),
    }
}
