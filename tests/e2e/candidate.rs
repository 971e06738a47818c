//! Migration mode: a primary upstream speaking Medusa and a candidate speaking Elastic Path,
//! both recording stubs. Callers get the primary's answer, byte for byte what they get without a
//! candidate; the candidate receives each accepted update in its own dialect; where its answer
//! differs (it loses the phone) shows in the metric, the log and `candidate-report`.

use std::path::{Path, PathBuf};
use std::process::Command;

use dialectgate_dialect::Answer;
use dialectgate_gateway::{CandidateMode, Overrides};
use serde_json::{Value, json};

use crate::harness::{self, EVENT_DEADLINE, Running, Upstream};

mod budget;
mod reads;

const BIN: &str = env!("CARGO_BIN_EXE_dialectgate");
/// The gateway's credential for the candidate (`DIALECTGATE_CANDIDATE_TOKEN`).
const CANDIDATE_TOKEN: &str = "cand_token_93be";
/// The email of the primary's customer (its Medusa example answer).
const EMAIL: &str = "user@example.com";

/// The primary's answer: Medusa's own example customer (with a phone), as `cus_ada`, the
/// customer every request here is about (the gateway refuses an answer about another).
fn primary_answer() -> Vec<u8> {
    let mut example = harness::fixture("medusa", "response.vendor-example.json", &[]);
    example["customer"]["id"] = "cus_ada".into();
    serde_json::to_vec(&example).unwrap()
}

/// The candidate's answer: the same customer in Elastic Path's shape, without the phone.
fn candidate_answer() -> Vec<u8> {
    let registry = harness::registry();
    let medusa = registry.endpoint("medusa").unwrap();
    let Answer::Customer(mut customer) = registry.read_answer(&medusa, 200, &primary_answer()) else {
        panic!("the Medusa example is a customer")
    };
    assert!(customer.get("phone").is_some(), "the example has a phone");
    customer.as_object_mut().unwrap().remove("phone");
    let ep = registry.endpoint("elasticpath").unwrap();
    let (_, body) = registry.encode_answer(&ep, &customer).unwrap();
    serde_json::to_vec(&body).unwrap()
}

async fn primary() -> Upstream {
    Upstream::start(|_| (200, "application/json", primary_answer())).await
}

async fn candidate() -> Upstream {
    let body = candidate_answer();
    Upstream::start(move |_| (200, "application/json", body.clone())).await
}

fn log_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dg-e2e-candidate-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("divergences.jsonl");
    let _ = std::fs::remove_file(&path);
    path
}

/// A gateway in front of `primary` (Medusa), with `candidate` (Elastic Path) in `mode`.
async fn gateway(
    primary: &Upstream,
    candidate: Option<String>,
    mode: CandidateMode,
    log: Option<&Path>,
    env: &[(&str, &str)],
) -> Running {
    let mut all = vec![("DIALECTGATE_CANDIDATE_TOKEN", CANDIDATE_TOKEN)];
    all.extend_from_slice(env);
    harness::start(harness::config(
        Overrides {
            upstream: Some(primary.url()),
            upstream_dialect: Some("medusa".into()),
            candidate_dialect: candidate.as_ref().map(|_| "elasticpath".into()),
            candidate,
            candidate_mode: Some(mode),
            candidate_log: log.map(Path::to_path_buf),
            ..Overrides::default()
        },
        &all,
    ))
    .await
}

/// The update a Medusa caller sends, with a fixed request id.
async fn update(gw: &Running, request_id: &str) -> harness::Answer {
    send_body(gw, request_id, &json!({"email": EMAIL})).await
}

async fn send_body(gw: &Running, request_id: &str, body: &Value) -> harness::Answer {
    harness::send_with(gw, "medusa", "cus_ada", body, &[("x-request-id", request_id)]).await
}

/// What a caller sees of an answer: status, the headers the gateway sets, and the body bytes.
type Seen = (u16, Vec<(String, Option<String>)>, Vec<u8>);

fn seen_by_caller(a: &harness::Answer) -> Seen {
    let headers = [
        "content-type",
        "content-length",
        "x-request-id",
        "x-dialectgate-fidelity",
    ]
    .iter()
    .map(|h| ((*h).to_owned(), a.header(h).map(str::to_owned)))
    .collect();
    (a.status, headers, a.body.clone())
}

/// The value of a metric line, once it has reached at least `min`; fails after the deadline.
async fn wait_metric(gw: &Running, line: &str, min: f64) -> f64 {
    let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
    loop {
        let text = gw.metrics.render();
        if let Some(v) = harness::metric(&text, line).filter(|v| *v >= min) {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{line} never reached {min}:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The log's lines, once `done` says they are all there; fails after the deadline.
async fn wait_log(path: &Path, done: impl Fn(&[Value]) -> bool) -> (String, Vec<Value>) {
    let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        if done(&lines) {
            return (text, lines);
        }
        assert!(tokio::time::Instant::now() < deadline, "log incomplete:\n{text}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn candidate_requests(text: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with("dialectgate_candidate_requests_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn dual_write_copies_the_update_in_the_candidates_dialect_and_reports_the_lost_phone() {
    let (primary, candidate) = (primary().await, candidate().await);
    let log = log_path("dual-write");
    let plain = gateway(&primary, None, CandidateMode::Off, None, &[]).await;
    let migrating = gateway(
        &primary,
        Some(candidate.url()),
        CandidateMode::DualWrite,
        Some(&log),
        &[],
    )
    .await;

    let without = update(&plain, "req-cand-1").await;
    let with = update(&migrating, "req-cand-1").await;
    assert_eq!(with.status, 200, "{}", String::from_utf8_lossy(&with.body));
    assert_eq!(
        seen_by_caller(&with),
        seen_by_caller(&without),
        "the caller sees only the primary"
    );

    // The candidate got the update in Elastic Path's dialect, with its own credential.
    candidate.wait_for(1).await;
    let got = candidate.seen().remove(0);
    let ep = harness::registry_dialect("elasticpath");
    assert_eq!(got.method, ep.route().method);
    assert_eq!(got.path, ep.route().path.replace("{id}", "cus_ada"));
    let body = got.json();
    assert_eq!(body["data"]["type"], "customer", "{body}");
    assert_eq!(body["data"]["email"], EMAIL);
    let registry = harness::registry();
    registry
        .validate_request(&registry.endpoint("elasticpath").unwrap(), &body)
        .unwrap_or_else(|p| panic!("not an Elastic Path request: {p:?}"));
    assert_eq!(
        got.header("authorization"),
        Some(format!("Bearer {CANDIDATE_TOKEN}").as_str())
    );
    assert_eq!(got.header("x-request-id"), Some("req-cand-1"));
    // The primary got exactly one update from each gateway: nothing is repeated or undone.
    assert_eq!(primary.seen().len(), 2);

    // The metric: one diverged request, the phone missing.
    wait_metric(
        &migrating,
        r#"dialectgate_candidate_divergences_total{pointer="/phone"}"#,
        1.0,
    )
    .await;
    let text = migrating.metrics.render();
    assert_eq!(
        harness::metric(
            &text,
            r#"dialectgate_candidate_requests_total{mode="dual-write",outcome="diverged"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        !text.contains(r#"pointer="/email""#),
        "equal members do not diverge"
    );
    assert!(!text.contains(r#"pointer="/id""#), "volatile members are ignored");

    // The log: the phone, then one compared line (last: the request's lines are all in), no
    // personal value, no secret.
    let (raw, lines) = wait_log(&log, |lines| lines.iter().any(|l| l["kind"] == "compared")).await;
    let compared = lines.last().unwrap();
    assert_eq!(compared["kind"], "compared");
    assert_eq!(compared["outcome"], "diverged");
    let phone = lines.iter().find(|l| l["pointer"] == "/phone").unwrap();
    assert_eq!(phone["kind"], "missing_at_candidate");
    assert_eq!(phone["request_id"], "req-cand-1");
    assert_eq!(phone["dialect"], "medusa");
    assert_eq!(phone["operation"], "update");
    assert!(phone["primary"].as_str().unwrap().starts_with("h:"), "{phone}");
    for private in [
        EMAIL,
        "16128234334802",
        "Arno",
        CANDIDATE_TOKEN,
        harness::UPSTREAM_TOKEN,
        harness::CALLER_KEY,
    ] {
        assert!(!raw.contains(private), "{private} in the log:\n{raw}");
    }

    // The report names the phone.
    let report = Command::new(BIN)
        .arg("candidate-report")
        .arg(&log)
        .output()
        .unwrap();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let table = String::from_utf8(report.stdout).unwrap();
    let row = table
        .lines()
        .find(|l| l.starts_with("/phone"))
        .unwrap_or_else(|| panic!("{table}"));
    for cell in ["missing_at_candidate", "100.0%", "req-cand-1"] {
        assert!(row.contains(cell), "{cell}: {row}");
    }
    let json = Command::new(BIN)
        .args(["candidate-report", "--json"])
        .arg(&log)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["compared"], 1);
    let rows = json["rows"].as_array().unwrap();
    let phone = rows.iter().find(|r| r["pointer"] == "/phone").unwrap();
    assert_eq!(phone["kind"], "missing_at_candidate");
    assert_eq!(phone["count"], 1);
    assert_eq!(phone["share"], 1.0);
    assert_eq!(phone["examples"], json!(["req-cand-1"]));
    plain.stop().await;
    migrating.stop().await;
}

#[tokio::test]
async fn with_log_values_the_log_holds_the_values_compared() {
    let (primary, candidate) = (primary().await, candidate().await);
    let log = log_path("values");
    let gw = gateway(
        &primary,
        Some(candidate.url()),
        CandidateMode::DualWrite,
        Some(&log),
        &[("DIALECTGATE__CANDIDATE__LOG_VALUES", "true")],
    )
    .await;
    assert_eq!(update(&gw, "req-values").await.status, 200);
    let (_, lines) = wait_log(&log, |lines| lines.iter().any(|l| l["pointer"] == "/phone")).await;
    let phone = lines.iter().find(|l| l["pointer"] == "/phone").unwrap();
    assert_eq!(phone["primary"], "16128234334802");
    assert_eq!(phone["candidate"], Value::Null);
    gw.stop().await;
}

#[tokio::test]
async fn an_update_the_candidates_dialect_cannot_express_is_reported_with_its_reason() {
    let (primary, candidate) = (primary().await, candidate().await);
    let log = log_path("untranslatable");
    let gw = gateway(
        &primary,
        Some(candidate.url()),
        CandidateMode::DualWrite,
        Some(&log),
        &[],
    )
    .await;
    // Elastic Path has no phone: strict translation refuses it; the primary's write stands.
    let phone = json!({"email": EMAIL, "phone": "16128234334802"});
    let answer = send_body(&gw, "req-phone", &phone).await;
    assert_eq!(answer.status, 200);
    wait_metric(
        &gw,
        r#"dialectgate_candidate_requests_total{mode="dual-write",outcome="untranslatable"}"#,
        1.0,
    )
    .await;
    let (raw, lines) = wait_log(&log, |lines| !lines.is_empty()).await;
    assert_eq!(lines[0]["kind"], "untranslatable");
    assert_eq!(lines[0]["request_id"], "req-phone");
    assert!(lines[0]["reason"].as_str().unwrap().contains("/phone"), "{raw}");
    assert!(!raw.contains("16128234334802"), "{raw}");
    assert!(
        candidate.seen().is_empty(),
        "nothing the candidate cannot hold is sent"
    );
    assert_eq!(primary.seen().len(), 1);
    gw.stop().await;
}

#[tokio::test]
async fn a_down_candidate_changes_nothing_for_callers_and_is_counted() {
    let primary = primary().await;
    let (_socket, port) = harness::refused_port();
    let plain = gateway(&primary, None, CandidateMode::Off, None, &[]).await;
    let gw = gateway(
        &primary,
        Some(format!("http://127.0.0.1:{port}")),
        CandidateMode::DualWrite,
        None,
        &[],
    )
    .await;
    let without = update(&plain, "req-down").await;
    let with = update(&gw, "req-down").await;
    assert_eq!(seen_by_caller(&with), seen_by_caller(&without));
    wait_metric(
        &gw,
        r#"dialectgate_candidate_requests_total{mode="dual-write",outcome="connect"}"#,
        1.0,
    )
    .await;
    plain.stop().await;
    gw.stop().await;
}

#[tokio::test]
async fn a_slow_candidate_is_never_waited_for_and_times_out_on_its_own() {
    let primary = primary().await;
    let body = candidate_answer();
    let held = Upstream::start_held(move |_| (200, "application/json", body.clone())).await;
    let log = log_path("slow");
    let plain = gateway(&primary, None, CandidateMode::Off, None, &[]).await;
    let gw = gateway(
        &primary,
        Some(held.url()),
        CandidateMode::DualWrite,
        Some(&log),
        &[("DIALECTGATE__CANDIDATE__TIMEOUT_MS", "300")],
    )
    .await;
    let without = update(&plain, "req-slow").await;
    // Answered while the candidate holds its copy.
    let with = update(&gw, "req-slow").await;
    assert_eq!(seen_by_caller(&with), seen_by_caller(&without));
    held.wait_for(1).await;
    wait_metric(
        &gw,
        r#"dialectgate_candidate_requests_total{mode="dual-write",outcome="timeout"}"#,
        1.0,
    )
    .await;
    let (_, lines) = wait_log(&log, |lines| !lines.is_empty()).await;
    assert_eq!(lines[0]["kind"], "failed");
    assert_eq!(lines[0]["reason"], "timeout");
    held.release();
    plain.stop().await;
    gw.stop().await;
}

#[tokio::test]
async fn a_full_queue_drops_copies_and_counts_them_and_callers_are_answered() {
    let primary = primary().await;
    let body = candidate_answer();
    let held = Upstream::start_held(move |_| (200, "application/json", body.clone())).await;
    let gw = gateway(
        &primary,
        Some(held.url()),
        CandidateMode::DualWrite,
        None,
        &[("DIALECTGATE__CANDIDATE__QUEUE", "1")],
    )
    .await;
    // The worker holds at most 8 calls at once and the queue 1 more: of 20, at least 11 drop.
    const SENT: usize = 20;
    for i in 0..SENT {
        let answer = update(&gw, &format!("req-full-{i}")).await;
        assert_eq!(answer.status, 200);
    }
    let dropped = wait_metric(
        &gw,
        r#"dialectgate_candidate_requests_total{mode="dual-write",outcome="dropped"}"#,
        11.0,
    )
    .await;
    held.release();
    // Every copy not dropped is compared once the candidate answers.
    let kept = SENT as f64 - dropped;
    let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
    while candidate_requests(&gw.metrics.render()) < SENT as f64 {
        assert!(tokio::time::Instant::now() < deadline, "{}", gw.metrics.render());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(held.seen().len() as f64, kept);
    gw.stop().await;
}

#[tokio::test]
async fn an_unknown_candidate_dialect_refuses_to_start() {
    let primary = primary().await;
    let mut config = harness::config(
        Overrides {
            upstream: Some(primary.url()),
            upstream_dialect: Some("medusa".into()),
            candidate: Some("http://127.0.0.1:9".into()),
            candidate_dialect: Some("nosuchvendor".into()),
            candidate_mode: Some(CandidateMode::DualWrite),
            ..Overrides::default()
        },
        &[],
    );
    config.admin.listen = None;
    let err = dialectgate_gateway::run(config, dialectgate_gateway::Options::default())
        .await
        .err()
        .expect("refused");
    let chain = format!("{err:?}");
    assert!(chain.contains("nosuchvendor"), "{chain}");
}

#[tokio::test]
async fn a_reload_turns_the_candidate_on() {
    let (primary, candidate) = (primary().await, candidate().await);
    let upstream = primary.url();
    let file = harness::config_file("candidate-reload", |t| {
        t.replace("url = \"\"", &format!("url = \"{upstream}\""))
            .replace("dialect = \"canonical\"", "dialect = \"medusa\"")
    });
    let gw = harness::start_reloadable(file.clone(), vec![]).await;
    assert_eq!(update(&gw, "req-before").await.status, 200);
    let text = std::fs::read_to_string(&file).unwrap();
    let on = text
        .replace("mode = \"off\"", "mode = \"dual-write\"")
        .replace(
            "# url = \"https://candidate.example\"",
            &format!("url = \"{}\"", candidate.url()),
        )
        .replace("dialect = \"\"", "dialect = \"elasticpath\"");
    assert_ne!(on, text);
    std::fs::write(&file, on).unwrap();
    let (status, body) = harness::reload(&gw).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(update(&gw, "req-after").await.status, 200);
    candidate.wait_for(1).await;
    let seen = candidate.seen();
    assert_eq!(seen.len(), 1, "only the update after the reload");
    assert_eq!(seen[0].header("x-request-id"), Some("req-after"));
    gw.stop().await;
}
