//! `dialectgate candidate-report FILE...`: the migration candidate's divergence logs
//! (`candidate.log`, JSON lines; one per replica, summed as one) summed up per member: how often,
//! what share of the compared requests, first and last seen, two example request ids.
//! Untranslatable requests and failed candidate calls get rows of their own, by reason: the
//! migration's to-do list.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use serde_json::{Value, json};

/// Example request ids kept per row.
const EXAMPLES: usize = 2;
/// Longest text kept from one field of a line (a log is ours, but it is read as input).
const MAX_FIELD_CHARS: usize = 200;

/// One row: a member and how it diverged, or a reason requests were not compared.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub pointer: String,
    pub kind: String,
    /// Statuses (`200 → 404 not_found`) or a reason; empty for member divergences.
    pub detail: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    pub count: u64,
    pub first_seen: String,
    pub last_seen: String,
    pub examples: Vec<String>,
}

/// The whole log, summed up.
#[derive(Debug, Default, PartialEq)]
pub struct Report {
    /// Requests whose two answers were compared (`compared` lines).
    pub compared: u64,
    /// Requests copied to the candidate: compared, untranslatable or failed.
    pub requests: u64,
    /// Lines that were not a log line (not JSON, or no `kind`).
    pub skipped: u64,
    pub rows: BTreeMap<Key, Row>,
}

/// A field of `line` as text, cut to [`MAX_FIELD_CHARS`].
fn field(line: &Value, name: &str) -> String {
    line.get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .chars()
        .take(MAX_FIELD_CHARS)
        .collect()
}

/// Whether a row counts against all copied requests rather than the compared ones.
fn not_compared(kind: &str) -> bool {
    matches!(kind, "untranslatable" | "failed")
}

impl Report {
    /// Adds a log (another replica's) to the report: its lines count as if they were in one log
    /// with those read before; unreadable lines are counted in `skipped`.
    ///
    /// # Errors
    /// When the log cannot be read.
    pub fn add_log(&mut self, input: impl BufRead) -> std::io::Result<()> {
        for line in input.lines() {
            self.add(&line?);
        }
        Ok(())
    }

    /// Reads the logs `files` (`-`: standard input, at most once) as one.
    ///
    /// # Errors
    /// A log cannot be opened or read (naming it), or `-` is given twice.
    pub fn read_files(files: &[PathBuf]) -> anyhow::Result<Report> {
        let mut report = Report::default();
        let stdin = Path::new("-");
        if files.iter().filter(|f| f.as_path() == stdin).count() > 1 {
            bail!("standard input (-) can be read only once");
        }
        for file in files {
            if file.as_path() == stdin {
                report
                    .add_log(std::io::stdin().lock())
                    .context("cannot read standard input")?;
            } else {
                let input =
                    std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
                report
                    .add_log(std::io::BufReader::new(input))
                    .with_context(|| format!("cannot read {}", file.display()))?;
            }
        }
        Ok(report)
    }

    fn add(&mut self, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        let Ok(line) = serde_json::from_str::<Value>(text) else {
            self.skipped += 1;
            return;
        };
        let kind = field(&line, "kind");
        match kind.as_str() {
            "" => {
                self.skipped += 1;
                return;
            }
            "compared" => {
                self.compared += 1;
                self.requests += 1;
                return;
            }
            k if not_compared(k) => self.requests += 1,
            _ => {}
        }
        let detail = match kind.as_str() {
            "status" => format!("{} → {}", field(&line, "primary"), field(&line, "candidate")),
            k if not_compared(k) => field(&line, "reason"),
            _ => String::new(),
        };
        let key = Key {
            pointer: field(&line, "pointer"),
            kind,
            detail,
        };
        let (ts, id) = (field(&line, "ts"), field(&line, "request_id"));
        let row = self.rows.entry(key).or_default();
        row.count += 1;
        if row.first_seen.is_empty() || ts < row.first_seen {
            row.first_seen.clone_from(&ts);
        }
        if ts > row.last_seen {
            row.last_seen = ts;
        }
        if row.examples.len() < EXAMPLES && !row.examples.contains(&id) {
            row.examples.push(id);
        }
    }

    /// The rows, most frequent first.
    pub fn sorted(&self) -> Vec<(&Key, &Row)> {
        let mut rows: Vec<_> = self.rows.iter().collect();
        rows.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(b.0)));
        rows
    }

    /// The share of `row`: of the compared requests, or of all copied ones for requests that
    /// were not compared.
    pub fn share(&self, key: &Key, row: &Row) -> f64 {
        let of = if not_compared(&key.kind) {
            self.requests
        } else {
            self.compared
        };
        if of == 0 {
            0.0
        } else {
            row.count as f64 / of as f64
        }
    }

    /// The report as JSON.
    pub fn json(&self) -> Value {
        let rows: Vec<Value> = self
            .sorted()
            .into_iter()
            .map(|(k, r)| {
                json!({
                    "pointer": k.pointer,
                    "kind": k.kind,
                    "detail": k.detail,
                    "count": r.count,
                    "share": self.share(k, r),
                    "first_seen": r.first_seen,
                    "last_seen": r.last_seen,
                    "examples": r.examples,
                })
            })
            .collect();
        json!({
            "compared": self.compared,
            "requests": self.requests,
            "skipped": self.skipped,
            "rows": rows,
        })
    }

    /// The report as a table; every text from the log is escaped (no control characters).
    pub fn text(&self) -> String {
        let mut out = format!(
            "{} requests copied to the candidate, {} compared",
            self.requests, self.compared
        );
        if self.skipped > 0 {
            out.push_str(&format!(", {} unreadable lines skipped", self.skipped));
        }
        out.push('\n');
        if self.rows.is_empty() {
            out.push_str("no divergence\n");
            return out;
        }
        let table: Vec<[String; 7]> = self
            .sorted()
            .into_iter()
            .map(|(k, r)| {
                let member = if k.detail.is_empty() {
                    k.pointer.clone()
                } else if k.pointer.is_empty() {
                    format!("({})", k.detail)
                } else {
                    format!("{} ({})", k.pointer, k.detail)
                };
                [
                    member,
                    k.kind.clone(),
                    r.count.to_string(),
                    format!("{:.1}%", self.share(k, r) * 100.0),
                    r.first_seen.clone(),
                    r.last_seen.clone(),
                    r.examples.join(" "),
                ]
                .map(|cell| cell.escape_debug().to_string())
            })
            .collect();
        let header = [
            "member",
            "kind",
            "count",
            "share",
            "first seen",
            "last seen",
            "examples",
        ];
        let mut widths = header.map(|h| h.chars().count());
        for row in &table {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in std::iter::once(header.map(str::to_owned)).chain(table) {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(log: &[u8]) -> Report {
        let mut report = Report::default();
        report.add_log(log).unwrap();
        report
    }

    const LOG: &str = r#"{"ts":"2026-01-01T00:00:01Z","request_id":"r1","dialect":"medusa","operation":"update","kind":"compared","outcome":"diverged"}
{"ts":"2026-01-01T00:00:01Z","request_id":"r1","dialect":"medusa","operation":"update","kind":"missing_at_candidate","pointer":"/phone","primary":"h:0123456789ab","candidate":null}
{"ts":"2026-01-01T00:00:02Z","request_id":"r2","dialect":"medusa","operation":"update","kind":"compared","outcome":"match"}
{"ts":"2026-01-01T00:00:03Z","request_id":"r3","dialect":"axim","operation":"update","kind":"compared","outcome":"diverged"}
{"ts":"2026-01-01T00:00:03Z","request_id":"r3","dialect":"axim","operation":"update","kind":"missing_at_candidate","pointer":"/phone","primary":"h:0123456789ab","candidate":null}
{"ts":"2026-01-01T00:00:04Z","request_id":"r4","dialect":"axim","operation":"update","kind":"compared","outcome":"diverged"}
{"ts":"2026-01-01T00:00:04Z","request_id":"r4","dialect":"axim","operation":"update","kind":"missing_at_candidate","pointer":"/phone","primary":"h:0123456789ab","candidate":null}
{"ts":"2026-01-01T00:00:04Z","request_id":"r4","dialect":"axim","operation":"update","kind":"status","pointer":"","primary":"200","candidate":"404 not_found"}
{"ts":"2026-01-01T00:00:05Z","request_id":"r5","dialect":"axim","operation":"update","kind":"untranslatable","reason":"untranslatable; lossy at /x"}
not json
{"ts":"2026-01-01T00:00:06Z","request_id":"r6","dialect":"axim","operation":"update","kind":"failed","reason":"timeout"}
"#;

    #[test]
    fn rows_count_share_first_and_last_seen_and_two_examples() {
        let report = read(LOG.as_bytes());
        assert_eq!(report.compared, 4);
        assert_eq!(report.requests, 6);
        assert_eq!(report.skipped, 1);
        let sorted = report.sorted();
        let (key, row) = sorted[0];
        assert_eq!(
            (key.pointer.as_str(), key.kind.as_str()),
            ("/phone", "missing_at_candidate")
        );
        assert_eq!(row.count, 3);
        assert_eq!(report.share(key, row), 0.75);
        assert_eq!(row.first_seen, "2026-01-01T00:00:01Z");
        assert_eq!(row.last_seen, "2026-01-01T00:00:04Z");
        assert_eq!(row.examples, ["r1", "r3"]);
        let status = report.rows.keys().find(|k| k.kind == "status").unwrap();
        assert_eq!(status.detail, "200 → 404 not_found");
        let failed = report.rows.iter().find(|(k, _)| k.kind == "failed").unwrap();
        assert_eq!(
            report.share(failed.0, failed.1),
            1.0 / 6.0,
            "of all copied requests"
        );
    }

    #[test]
    fn the_table_and_the_json_say_the_same() {
        let report = read(LOG.as_bytes());
        let text = report.text();
        assert!(
            text.starts_with("6 requests copied to the candidate, 4 compared, 1 unreadable lines skipped\n"),
            "{text}"
        );
        let phone = text.lines().find(|l| l.starts_with("/phone")).unwrap();
        for cell in [
            "missing_at_candidate",
            "3",
            "75.0%",
            "2026-01-01T00:00:01Z",
            "2026-01-01T00:00:04Z",
            "r1 r3",
        ] {
            assert!(phone.contains(cell), "{cell}: {phone}");
        }
        assert!(text.contains("(untranslatable; lossy at /x)"), "{text}");
        let json = report.json();
        assert_eq!(json["compared"], 4);
        assert_eq!(json["rows"][0]["pointer"], "/phone");
        assert_eq!(json["rows"][0]["count"], 3);
        assert_eq!(json["rows"][0]["share"], 0.75);
        assert_eq!(json["rows"][0]["examples"], json!(["r1", "r3"]));
    }

    #[test]
    fn several_logs_sum_as_one() {
        // The log split between two replicas, each in time order, the second's lines earlier.
        let lines: Vec<&str> = LOG.lines().collect();
        let (first, second) = (lines[4..].join("\n"), lines[..4].join("\n"));
        let mut report = read(first.as_bytes());
        report.add_log(second.as_bytes()).unwrap();
        let whole = read(LOG.as_bytes());
        assert_eq!((report.compared, report.requests, report.skipped), (4, 6, 1));
        assert_eq!(report.rows.len(), whole.rows.len());
        for (key, row) in &whole.rows {
            let got = &report.rows[key];
            assert_eq!(
                (got.count, &got.first_seen, &got.last_seen),
                (row.count, &row.first_seen, &row.last_seen),
                "{key:?}"
            );
        }
        let phone = report.rows.iter().find(|(k, _)| k.pointer == "/phone").unwrap().1;
        assert_eq!(phone.first_seen, "2026-01-01T00:00:01Z", "from the second log");
        assert_eq!(phone.examples, ["r3", "r4"], "the first two read");
        assert_eq!(report.text().lines().next(), whole.text().lines().next());
    }

    #[test]
    fn an_empty_log_has_no_divergence_and_hostile_text_is_escaped() {
        let report = read(&b""[..]);
        assert_eq!(
            report.text(),
            "0 requests copied to the candidate, 0 compared\nno divergence\n"
        );
        let hostile = "{\"ts\":\"t\",\"request_id\":\"a\\u001b[31m\\nb\",\"kind\":\"differs\",\"pointer\":\"/email\"}\n";
        let text = read(hostile.as_bytes()).text();
        assert!(!text.contains('\u{1b}'), "{text}");
        assert_eq!(text.lines().count(), 3, "{text}");
    }
}
