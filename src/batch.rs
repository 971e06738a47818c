//! `validate` and `translate` over several inputs: files, directories (their `*.json`, sorted) or
//! standard input, reported as text, JSON or JUnit XML (one test case per input).
//!
//! Exit codes: 0 when every input passed, 1 when any was refused, 2 when any could not be read.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use dialectgate_canonical::Problem;

/// The largest input read, in bytes: far above any request body a vendor accepts.
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable.
    Text,
    /// JSON (one line per input when there are several).
    Json,
    /// JUnit XML on standard output, one test case per input.
    Junit,
}

/// One input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    /// Its name in reports.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "-".to_owned(),
            Input::File(p) => p.display().to_string(),
        }
    }

    /// Its bytes, at most [`MAX_INPUT_BYTES`].
    pub fn read(&self) -> Result<Vec<u8>, FileResult> {
        let mut buf = Vec::new();
        let read = match self {
            Input::Stdin => std::io::stdin()
                .take(MAX_INPUT_BYTES + 1)
                .read_to_end(&mut buf)
                .map_err(|e| format!("cannot read standard input: {e}")),
            Input::File(p) => std::fs::File::open(p)
                .and_then(|f| f.take(MAX_INPUT_BYTES + 1).read_to_end(&mut buf))
                .map_err(|e| format!("cannot read {}: {e}", p.display())),
        };
        match read {
            Err(e) => Err(FileResult::Error(e)),
            Ok(n) if n as u64 > MAX_INPUT_BYTES => Err(FileResult::Failed {
                kind: "payload_too_large".into(),
                message: format!("the input is larger than {MAX_INPUT_BYTES} bytes"),
                problem: None,
            }),
            Ok(_) => Ok(buf),
        }
    }
}

/// The inputs the arguments name: nothing or `-` is standard input, a directory is its `*.json`
/// files in name order.
///
/// # Errors
/// A directory that cannot be listed or holds no `*.json` file.
pub fn inputs(args: &[PathBuf]) -> Result<Vec<Input>> {
    if args.is_empty() {
        return Ok(vec![Input::Stdin]);
    }
    let mut out = Vec::new();
    for arg in args {
        if arg.as_os_str() == "-" {
            out.push(Input::Stdin);
        } else if arg.is_dir() {
            out.extend(json_files(arg)?.into_iter().map(Input::File));
        } else {
            out.push(Input::File(arg.clone()));
        }
    }
    Ok(out)
}

fn json_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "json") && path.is_file() {
            files.push(path);
        }
    }
    if files.is_empty() {
        bail!("no *.json file in {}", dir.display());
    }
    files.sort();
    Ok(files)
}

/// What became of one input.
#[derive(Debug)]
pub enum FileResult {
    /// Accepted: the text and JSON output, and a note for standard error (a fidelity report).
    Passed {
        text: String,
        json: serde_json::Value,
        note: Option<String>,
    },
    /// Refused (exit code 1).
    Failed {
        kind: String,
        message: String,
        problem: Option<Problem>,
    },
    /// Not read (exit code 2).
    Error(String),
}

impl FileResult {
    /// A refusal from a problem.
    pub fn refused(kind: &str, problem: Problem) -> FileResult {
        FileResult::Failed {
            kind: kind.to_owned(),
            message: problem.message().to_owned(),
            problem: Some(problem),
        }
    }

    /// The problem's violations, one line each.
    fn violations(&self) -> Vec<String> {
        match self {
            FileResult::Failed { problem: Some(p), .. } => p
                .errors
                .iter()
                .map(|v| {
                    let at = if v.pointer.is_empty() { "/" } else { &v.pointer };
                    format!("{at} [{}] {}", v.code, v.message)
                })
                .collect(),
            _ => vec![],
        }
    }
}

/// A value for a terminal line: control characters become `?`.
fn plain(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// Prints the outcomes in `format` (JUnit suite `suite`) and returns the exit code.
pub fn report(format: Format, suite: &str, results: &[(Input, FileResult)]) -> ExitCode {
    match format {
        Format::Junit => out(&junit(suite, results)),
        Format::Json | Format::Text if results.len() == 1 => {
            let (_, outcome) = &results[0];
            single(format == Format::Json, outcome);
        }
        Format::Json => {
            for (input, outcome) in results {
                let line = match outcome {
                    FileResult::Passed { json, .. } => {
                        serde_json::json!({"file": input.name(), "ok": true, "output": json})
                    }
                    FileResult::Failed {
                        kind,
                        message,
                        problem,
                    } => {
                        let problem = problem
                            .as_ref()
                            .and_then(|p| serde_json::to_value(p).ok())
                            .unwrap_or_else(|| serde_json::json!({"type": kind, "detail": message}));
                        serde_json::json!({"file": input.name(), "ok": false, "problem": problem})
                    }
                    FileResult::Error(e) => {
                        serde_json::json!({"file": input.name(), "ok": false, "error": e})
                    }
                };
                out(&format!("{line}\n"));
            }
        }
        Format::Text => {
            for (input, outcome) in results {
                let name = plain(&input.name());
                match outcome {
                    FileResult::Passed { text, note, .. } => {
                        out(&format!("# {name}\n{text}\n"));
                        if let Some(note) = note {
                            eprintln!("{name}: {}", plain(note));
                        }
                    }
                    FileResult::Failed { kind, message, .. } => {
                        eprintln!("{name}: error ({kind}): {}", plain(message));
                        for v in outcome.violations() {
                            eprintln!("  {}", plain(&v));
                        }
                    }
                    FileResult::Error(e) => eprintln!("{name}: error: {}", plain(e)),
                }
            }
            let count = |f: fn(&FileResult) -> bool| results.iter().filter(|(_, o)| f(o)).count();
            eprintln!(
                "{} inputs: {} passed, {} refused, {} not read",
                results.len(),
                count(|o| matches!(o, FileResult::Passed { .. })),
                count(|o| matches!(o, FileResult::Failed { .. })),
                count(|o| matches!(o, FileResult::Error(_))),
            );
        }
    }
    exit_code(results)
}

/// One input, as the commands have always printed it.
fn single(json: bool, outcome: &FileResult) {
    match outcome {
        FileResult::Passed {
            text,
            json: value,
            note,
        } => {
            if let Some(note) = note {
                eprintln!("{}", plain(note));
            }
            // `--json`: the machine form (`validate` prints `{"valid":true}`, not its sentence).
            if json {
                out(&format!("{value}\n"));
            } else {
                out(&format!("{text}\n"));
            }
        }
        FileResult::Failed {
            kind,
            message,
            problem,
        } => {
            if json {
                let body = problem
                    .as_ref()
                    .and_then(|p| serde_json::to_value(p).ok())
                    .unwrap_or_else(|| serde_json::json!({"type": kind, "detail": message}));
                out(&format!("{body}\n"));
            }
            eprintln!("error ({kind}): {}", plain(message));
            for v in outcome.violations() {
                eprintln!("  {}", plain(&v));
            }
        }
        FileResult::Error(e) => eprintln!("error: {}", plain(e)),
    }
}

/// 2 when any input was not read, else 1 when any was refused, else 0.
pub fn exit_code(results: &[(Input, FileResult)]) -> ExitCode {
    if results.iter().any(|(_, o)| matches!(o, FileResult::Error(_))) {
        ExitCode::from(2)
    } else if results
        .iter()
        .any(|(_, o)| matches!(o, FileResult::Failed { .. }))
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes to standard output; a closed pipe is not an error.
fn out(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(text.as_bytes())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write to standard output: {e}");
    }
}

/// The results as a JUnit XML document: one suite, one test case per input.
pub fn junit(suite: &str, results: &[(Input, FileResult)]) -> String {
    let count = |f: fn(&FileResult) -> bool| results.iter().filter(|(_, o)| f(o)).count();
    let failures = count(|o| matches!(o, FileResult::Failed { .. }));
    let errors = count(|o| matches!(o, FileResult::Error(_)));
    let suite = crate::markup::escape(suite);
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"{suite}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">",
        results.len()
    );
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{suite}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\">",
        results.len()
    );
    for (input, outcome) in results {
        let _ = write!(
            xml,
            "    <testcase classname=\"{suite}\" name=\"{}\"",
            crate::markup::escape(&input.name())
        );
        match outcome {
            FileResult::Passed { note: None, .. } => xml.push_str("/>\n"),
            FileResult::Passed { note: Some(note), .. } => {
                let _ = writeln!(
                    xml,
                    ">\n      <system-out>{}</system-out>\n    </testcase>",
                    crate::markup::escape(note)
                );
            }
            FileResult::Failed { kind, message, .. } => {
                let _ = writeln!(
                    xml,
                    ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
                    crate::markup::escape(kind),
                    crate::markup::escape(message),
                    crate::markup::escape(&outcome.violations().join("\n"))
                );
            }
            FileResult::Error(e) => {
                let _ = writeln!(
                    xml,
                    ">\n      <error type=\"unreadable\" message=\"{}\"/>\n    </testcase>",
                    crate::markup::escape(e)
                );
            }
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_counts_cases_failures_and_errors() {
        let results = vec![
            (
                Input::File("ok.json".into()),
                FileResult::Passed {
                    text: String::new(),
                    json: serde_json::Value::Null,
                    note: None,
                },
            ),
            (
                Input::File("bad<1>.json".into()),
                FileResult::Failed {
                    kind: "validation".into(),
                    message: "\"x\" & <y>".into(),
                    problem: None,
                },
            ),
            (
                Input::File("gone.json".into()),
                FileResult::Error("cannot read".into()),
            ),
        ];
        let xml = junit("validate medusa", &results);
        assert!(
            xml.contains("<testsuites name=\"validate medusa\" tests=\"3\" failures=\"1\" errors=\"1\">")
        );
        assert_eq!(xml.matches("<testcase ").count(), 3);
        assert!(xml.contains("name=\"bad&lt;1&gt;.json\""), "{xml}");
        assert!(xml.contains("message=\"&quot;x&quot; &amp; &lt;y&gt;\""), "{xml}");
        assert_eq!(exit_code(&results), ExitCode::from(2));
        assert_eq!(exit_code(&results[..2]), ExitCode::from(1));
        assert_eq!(exit_code(&results[..1]), ExitCode::SUCCESS);
    }

    #[test]
    fn a_directory_is_its_json_files_in_name_order() {
        let dir = std::env::temp_dir().join(format!("dg-batch-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub.json")).unwrap();
        for f in ["b.json", "a.json", "c.txt"] {
            std::fs::write(dir.join(f), "{}").unwrap();
        }
        let got = inputs(&[dir.clone(), "-".into()]).unwrap();
        assert_eq!(
            got,
            [
                Input::File(dir.join("a.json")),
                Input::File(dir.join("b.json")),
                Input::Stdin
            ]
        );
        let empty = dir.join("sub.json");
        assert!(
            inputs(&[empty]).is_err(),
            "a directory without *.json files is a usage error"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
