//! The JSON-lines divergence log. One thread owns the file and writes through a buffer, fed by
//! a bounded channel the worker never waits on, so that no write blocks the runtime. Each line
//! is one JSON object: `ts`, `request_id`, `dialect` (the caller's), `operation`, `kind`, and
//! where they apply `pointer`, `reason`, `outcome`, `primary`, `candidate`.
//!
//! Kinds: `compared` (one line per request whose two answers were compared, with its `outcome`:
//! the denominator of `candidate-report`'s shares), the divergence kinds of `compare`
//! (`differs`, `missing_at_candidate`, `extra_at_candidate`, `noise` with a `pointer`; `status`
//! with both statuses), `untranslatable` and `failed` (with their `reason`).
//!
//! Values (`primary`, `candidate` of a member) are written only with `candidate.log_values`;
//! otherwise each is a short keyed hash (`h:` and 12 hex digits; SipHash keyed at random once
//! per process, `digest.rs`), so equal values show as equal without being readable. The canonical Customer
//! holds no secret (a password is only ever `has_password`), and no header goes into the log.

use std::io::Write;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

use serde_json::{Map, Value};

use super::digest::Member;

/// Lines waiting for the writer at most; beyond, lines are dropped (and counted).
const LOG_BACKLOG: usize = 16_384;

/// One line of the log, built by the worker.
#[derive(Debug, Default)]
pub(crate) struct Line<'a> {
    pub(crate) request_id: &'a str,
    pub(crate) dialect: &'a str,
    pub(crate) operation: &'a str,
    pub(crate) kind: &'a str,
    pub(crate) pointer: Option<&'a str>,
    pub(crate) outcome: Option<&'a str>,
    pub(crate) reason: Option<&'a str>,
    /// Member values (hashed unless values are logged).
    pub(crate) values: Option<(Option<&'a Member>, Option<&'a Member>)>,
    /// Statuses, written as they are (`200`, `404 not_found`).
    pub(crate) statuses: Option<(String, String)>,
}

impl Line<'_> {
    /// The line as JSON text (no newline), at time `ts`.
    pub(crate) fn render(&self, ts: &str, log_values: bool) -> String {
        let mut m = Map::new();
        m.insert("ts".into(), ts.into());
        m.insert("request_id".into(), self.request_id.into());
        m.insert("dialect".into(), self.dialect.into());
        m.insert("operation".into(), self.operation.into());
        m.insert("kind".into(), self.kind.into());
        if let Some(p) = self.pointer {
            m.insert("pointer".into(), p.into());
        }
        if let Some(o) = self.outcome {
            m.insert("outcome".into(), o.into());
        }
        if let Some(r) = self.reason {
            m.insert("reason".into(), r.into());
        }
        let shown = |m: Option<&Member>| match m {
            None => Value::Null,
            Some(m) => match m.value().filter(|_| log_values) {
                Some(v) => v,
                None => Value::String(m.label()),
            },
        };
        if let Some((primary, candidate)) = self.values {
            m.insert("primary".into(), shown(primary));
            m.insert("candidate".into(), shown(candidate));
        }
        if let Some((primary, candidate)) = &self.statuses {
            m.insert("primary".into(), primary.as_str().into());
            m.insert("candidate".into(), candidate.as_str().into());
        }
        Value::Object(m).to_string()
    }
}

/// The log: lines go to the writer thread, which owns the file.
#[derive(Debug, Clone)]
pub(crate) struct Log {
    lines: SyncSender<String>,
    log_values: bool,
}

impl Log {
    /// Opens `path` for appending (created if missing) and starts its writer thread, which
    /// ends once every [`Log`] is dropped and the lines sent are written.
    ///
    /// # Errors
    /// When the file cannot be opened or the thread not started.
    pub(crate) fn open(path: &Path, log_values: bool) -> std::io::Result<Log> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        let (lines, rx) = std::sync::mpsc::sync_channel(LOG_BACKLOG);
        std::thread::Builder::new()
            .name("candidate-log".into())
            .spawn(move || write_lines(file, &rx))?;
        Ok(Log { lines, log_values })
    }

    /// Sends `line`; `false` when the writer is behind and the line was dropped.
    pub(crate) fn write(&self, line: &Line<'_>) -> bool {
        let text = line.render(&crate::date::now_rfc3339(), self.log_values);
        match self.lines.try_send(text) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }
}

/// The writer thread: writes lines as they come, flushing whenever none is waiting.
fn write_lines(file: std::fs::File, rx: &Receiver<String>) {
    let mut out = std::io::BufWriter::new(file);
    let mut failing = false;
    while let Ok(mut line) = rx.recv() {
        loop {
            line.push('\n');
            let written = out.write_all(line.as_bytes());
            report(&mut failing, written);
            match rx.try_recv() {
                Ok(next) => line = next,
                Err(_) => break,
            }
        }
        let flushed = out.flush();
        report(&mut failing, flushed);
    }
    let _ = out.flush();
}

/// Logs a write failure once (until writes succeed again).
fn report(failing: &mut bool, result: std::io::Result<()>) {
    match result {
        Ok(()) => *failing = false,
        Err(e) if !*failing => {
            *failing = true;
            tracing::warn!(error = %e, "Cannot write the candidate log.");
        }
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_are_hashed_unless_asked_and_equal_values_hash_equal() {
        let email = Member::of(&json!("ada@example.com"), true);
        let other = Member::of(&json!("ada@example.org"), true);
        let line = Line {
            request_id: "r1",
            dialect: "medusa",
            operation: "update",
            kind: "differs",
            pointer: Some("/email"),
            values: Some((Some(&email), Some(&other))),
            ..Line::default()
        };
        let hashed: Value = serde_json::from_str(&line.render("t", false)).unwrap();
        assert!(!hashed.to_string().contains("ada@"), "{hashed}");
        let h = hashed["primary"].as_str().unwrap();
        assert!(h.starts_with("h:") && h.len() == 14, "{h}");
        assert_eq!(h, email.label());
        assert_ne!(hashed["primary"], hashed["candidate"]);
        let plain: Value = serde_json::from_str(&line.render("t", true)).unwrap();
        assert_eq!(plain["primary"], "ada@example.com");
        assert_eq!(plain["candidate"], "ada@example.org");
        // A member digested without its value shows its hash even with values on.
        let hashed_only = Member::of(&json!("ada@example.com"), false);
        let line = Line {
            values: Some((Some(&hashed_only), None)),
            ..line
        };
        let shown: Value = serde_json::from_str(&line.render("t", true)).unwrap();
        assert_eq!(shown["primary"], h);
        assert_eq!(plain["pointer"], "/email");
        assert_eq!(plain["kind"], "differs");
        assert_eq!(plain["request_id"], "r1");
        assert_eq!(plain["ts"], "t");
    }

    #[test]
    fn an_absent_value_is_null_and_a_hostile_request_id_stays_inside_its_string() {
        let v = Member::of(&json!(1), false);
        let line = Line {
            request_id: "a\"}\n{\"kind\":\"x",
            dialect: "medusa",
            operation: "update",
            kind: "missing_at_candidate",
            pointer: Some("/phone"),
            values: Some((Some(&v), None)),
            ..Line::default()
        };
        let text = line.render("t", false);
        assert!(!text.contains('\n'));
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["candidate"], Value::Null);
        assert_eq!(parsed["request_id"], "a\"}\n{\"kind\":\"x");
    }

    #[test]
    fn the_writer_appends_every_line_and_flushes_when_idle() {
        let dir = std::env::temp_dir().join(format!("dg-candidate-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.jsonl");
        let _ = std::fs::remove_file(&path);
        let log = Log::open(&path, false).unwrap();
        for i in 0..3 {
            let id = format!("r{i}");
            assert!(log.write(&Line {
                request_id: &id,
                dialect: "d",
                operation: "update",
                kind: "compared",
                outcome: Some("match"),
                ..Line::default()
            }));
        }
        drop(log);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.lines().count() == 3 {
                let ids: Vec<String> = text
                    .lines()
                    .map(|l| {
                        serde_json::from_str::<Value>(l).unwrap()["request_id"]
                            .as_str()
                            .unwrap()
                            .to_owned()
                    })
                    .collect();
                assert_eq!(ids, ["r0", "r1", "r2"]);
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "lines not written: {text:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
