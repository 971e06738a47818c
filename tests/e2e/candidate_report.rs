//! `dialectgate candidate-report` over several divergence logs: with replicas, each pod writes its
//! own log, and the report sums them as one (files, or `-` for standard input).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use dialectgate_gateway::{CandidateMode, Overrides};
use serde_json::{Value, json};

use crate::harness::{self, EVENT_DEADLINE, Running, Upstream};

const BIN: &str = env!("CARGO_BIN_EXE_dialectgate");

fn log_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dg-e2e-report-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("divergences.jsonl");
    let _ = std::fs::remove_file(&path);
    path
}

/// A replica: a gateway in front of the Medusa `primary`, copying updates to the Elastic Path
/// `candidate`, writing its own divergence log.
async fn replica(primary: &Upstream, candidate: &Upstream, log: &Path) -> Running {
    harness::start(harness::config(
        Overrides {
            upstream: Some(primary.url()),
            upstream_dialect: Some("medusa".into()),
            candidate: Some(candidate.url()),
            candidate_dialect: Some("elasticpath".into()),
            candidate_mode: Some(CandidateMode::DualWrite),
            candidate_log: Some(log.to_path_buf()),
            ..Overrides::default()
        },
        &[("DIALECTGATE_CANDIDATE_TOKEN", "cand_token_report")],
    ))
    .await
}

/// Waits until the log at `path` has a `compared` line; its text.
async fn compared_log(path: &Path) -> String {
    let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(r#""kind":"compared""#) {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no comparison logged:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// `candidate-report --json ARGS`, with `stdin` on standard input.
fn report(args: &[&Path], stdin: &str) -> Value {
    let mut child = Command::new(BIN)
        .args(["candidate-report", "--json"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The rows of a JSON report by (pointer, kind, detail): count and examples.
fn rows(report: &Value) -> Vec<(String, u64, Vec<String>)> {
    let mut rows: Vec<_> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let key = format!("{} {} {}", r["pointer"], r["kind"], r["detail"]);
            let examples = r["examples"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap().to_owned())
                .collect();
            (key, r["count"].as_u64().unwrap(), examples)
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn the_report_sums_each_replicas_log_given_as_files_or_on_standard_input() {
    // The primary answers Medusa's example customer; the candidate another customer (Elastic
    // Path's example): every update diverges.
    let primary = Upstream::start(|_| {
        let body = harness::fixture("medusa", "response.vendor-example.json", &[]);
        (200, "application/json", serde_json::to_vec(&body).unwrap())
    })
    .await;
    let candidate = Upstream::start(|_| {
        let body = harness::fixture("elasticpath", "response.vendor-example.json", &[]);
        (200, "application/json", serde_json::to_vec(&body).unwrap())
    })
    .await;
    let (log_a, log_b) = (log_path("a"), log_path("b"));
    let a = replica(&primary, &candidate, &log_a).await;
    let b = replica(&primary, &candidate, &log_b).await;
    let body = json!({"email": "ada@example.com"});
    // The customer the primary's answer is about (the gateway checks the answer's id).
    let customer = "cus_01G2SG30J8C85S4A5CHM2S1NS2";
    for (gw, id) in [(&a, "req-pod-a"), (&b, "req-pod-b")] {
        let answer = harness::send_with(gw, "medusa", customer, &body, &[("x-request-id", id)]).await;
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    }
    let text_a = compared_log(&log_a).await;
    let text_b = compared_log(&log_b).await;

    let alone_a = report(&[&log_a], "");
    let alone_b = report(&[&log_b], "");
    assert_eq!(
        (alone_a["compared"].as_u64(), alone_b["compared"].as_u64()),
        (Some(1), Some(1))
    );
    let both = report(&[&log_a, &log_b], "");
    let with_stdin = report(&[&log_a, Path::new("-")], &text_b);
    let stdin_first = report(&[Path::new("-"), &log_b], &text_a);
    assert_eq!(both["compared"], 2);
    assert_eq!(both["requests"], 2);
    assert_eq!(with_stdin, both, "`-` reads standard input");
    assert_eq!(rows(&stdin_first), rows(&both), "in any order");

    // Each row counts both pods: twice one pod's count, an example request from each.
    let rows_a = rows(&alone_a);
    assert!(!rows_a.is_empty(), "the logs hold divergences:\n{text_a}");
    assert_eq!(rows_a.len(), rows(&alone_b).len());
    for ((key, count, examples), (key_a, count_a, _)) in rows(&both).into_iter().zip(rows_a) {
        assert_eq!(key, key_a);
        assert_eq!(count, 2 * count_a, "{key}");
        assert!(
            examples.contains(&"req-pod-a".to_owned()) && examples.contains(&"req-pod-b".to_owned()),
            "{key}: {examples:?}"
        );
    }

    // A missing log is named; standard input is read once.
    let missing = log_path("missing");
    let out = Command::new(BIN)
        .arg("candidate-report")
        .args([&log_a, &missing])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot open {}", missing.display())),
        "{err}"
    );
    let out = Command::new(BIN)
        .args(["candidate-report", "-", "-"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("standard input (-) can be read only once"), "{err}");
}
