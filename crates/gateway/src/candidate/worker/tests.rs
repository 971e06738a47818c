//! The worker's verdicts and reports, without a network: answers are handed to it as the
//! registry reads them.

use serde_json::{Value, json};

use super::super::Comparison;
use super::super::shape::Shape;
use super::*;
use crate::config::{CandidateMode, Config, EnvSource, Overrides};

fn config(log: Option<&std::path::Path>) -> Config {
    let env: EnvSource = Some([("K".to_owned(), "k".to_owned())].into_iter().collect());
    let mut config = crate::config::load_default(env, &Overrides::default()).unwrap();
    config.candidate.mode = CandidateMode::DualWrite;
    config.candidate.url = Some("http://127.0.0.1:9".into());
    config.candidate.dialect = "canonical".into();
    config.candidate.log = log.map(std::path::Path::to_path_buf);
    config
}

fn worker(log: Option<&std::path::Path>) -> (Worker, Arc<Metrics>) {
    let config = config(log);
    let registry = Arc::new(Registry::embedded().unwrap());
    let metrics = Arc::new(Metrics::default());
    let worker = Worker {
        endpoint: Endpoint::Canonical,
        http: HttpUpstream::new("http://127.0.0.1:9", &config, &[]).unwrap(),
        auth: None,
        timeout: Duration::from_secs(1),
        mode: "dual-write",
        metrics: metrics.clone(),
        log: log.map(|p| Log::open(p, false).unwrap()),
        comparison: Arc::new(Comparison {
            shape: Shape::from_schema(registry.canonical().schema_documents()[1]),
            volatile: dialectgate_dialect::CANONICAL_VOLATILE
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
            keep_values: false,
        }),
        translation: config.translation.clone(),
        max_depth: 64,
        registry,
    };
    (worker, metrics)
}

fn job(primary: Primary) -> Job {
    Job {
        request_id: "req-1".into(),
        caller: "medusa".into(),
        operation: CopyKind::Update,
        primary,
        noisy: Vec::new(),
        request: CandidateRequest::Untranslatable("unused".into()),
        held: None,
    }
}

/// The primary's answer `customer`, as a job holds it.
fn customer(worker: &Worker, customer: &Value) -> Primary {
    Primary::Customer(worker.comparison.digest(customer))
}

fn metric(metrics: &Metrics, line: &str) -> bool {
    metrics.render().lines().any(|l| l == line)
}

#[test]
fn member_divergences_are_counted_by_pointer_and_the_request_by_outcome() {
    let (worker, metrics) = worker(None);
    let job = job(customer(
        &worker,
        &json!({"id": "c1", "email": "a@example.com", "phone": "+441"}),
    ));
    let fate = JobResult::Compared(worker.verdict(
        &job,
        &Answer::Customer(json!({"id": "other", "email": "a@example.com"})),
    ));
    worker.report(&job, &fate);
    assert!(
        metric(
            &metrics,
            r#"dialectgate_candidate_divergences_total{pointer="/phone"} 1"#
        ),
        "{}",
        metrics.render()
    );
    assert!(metric(
        &metrics,
        r#"dialectgate_candidate_requests_total{mode="dual-write",outcome="diverged"} 1"#
    ));
    assert!(!metrics.render().contains(r#"pointer="/id""#), "volatile");
}

#[test]
fn a_candidate_refusal_is_a_status_divergence_by_error_kind() {
    let (worker, metrics) = worker(None);
    let job = job(customer(&worker, &json!({"email": "e"})));
    let refused = Problem::new(ErrorKind::NotFound, "no such customer");
    let verdict = worker.verdict(&job, &Answer::Problem(refused.clone()));
    assert!(matches!(
        verdict,
        Verdict::Status {
            primary: Status {
                status: 200,
                kind: None
            },
            candidate: Status {
                status: 404,
                kind: Some(ErrorKind::NotFound)
            }
        }
    ));
    worker.report(&job, &JobResult::Compared(verdict));
    assert!(metric(
        &metrics,
        r#"dialectgate_candidate_requests_total{mode="dual-write",outcome="status_not_found"} 1"#
    ));
    // The same failure on both sides is a match.
    let both = self::job(Primary::Error {
        kind: ErrorKind::NotFound,
        status: 404,
    });
    assert!(matches!(
        worker.verdict(&both, &Answer::Problem(refused)),
        Verdict::SameError
    ));
}

#[test]
fn noise_is_logged_as_noise_and_not_counted_as_a_divergence() {
    let (worker, metrics) = worker(None);
    let c = &worker.comparison;
    let (first, second) = (
        c.digest(&json!({"notes": "n1", "email": "e"})),
        c.digest(&json!({"notes": "n2", "email": "e"})),
    );
    let mut job = job(Primary::Customer(first.clone()));
    job.noisy = compare::noise(&c.shape, &first, &second);
    let verdict = worker.verdict(&job, &Answer::Customer(json!({"notes": "n3", "email": "e"})));
    let Verdict::Members(d) = &verdict else {
        panic!("members")
    };
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].kind, Kind::Noise);
    worker.report(&job, &JobResult::Compared(verdict));
    assert!(metric(
        &metrics,
        r#"dialectgate_candidate_requests_total{mode="dual-write",outcome="noise"} 1"#
    ));
    assert!(!metrics.render().contains("candidate_divergences_total{"));
}

#[test]
fn the_log_has_one_compared_line_per_request_and_one_line_per_divergence() {
    let dir = std::env::temp_dir().join(format!("dg-candidate-worker-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("log.jsonl");
    let _ = std::fs::remove_file(&path);
    let (worker, _) = worker(Some(&path));
    let job = job(customer(
        &worker,
        &json!({"email": "ada@example.com", "phone": "+441"}),
    ));
    let fate =
        JobResult::Compared(worker.verdict(&job, &Answer::Customer(json!({"email": "ada@example.org"}))));
    worker.report(&job, &fate);
    worker.report(&job, &JobResult::Failed("timeout"));
    worker.report(
        &job,
        &JobResult::Untranslatable("untranslatable; lossy at /data/phone".into()),
    );
    drop(worker);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let text = loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.lines().count() >= 5 {
            break text;
        }
        assert!(std::time::Instant::now() < deadline, "{text}");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(!text.contains("ada@"), "no personal value by default: {text}");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: Vec<(&str, Option<&str>)> = lines
        .iter()
        .map(|l| (l["kind"].as_str().unwrap(), l["pointer"].as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("differs", Some("/email")),
            ("missing_at_candidate", Some("/phone")),
            ("compared", None),
            ("failed", None),
            ("untranslatable", None),
        ],
        "a request's compared line comes after its divergences"
    );
    assert_eq!(lines[2]["outcome"], "diverged");
    assert_eq!(lines[3]["reason"], "timeout");
    assert_eq!(lines[4]["reason"], "untranslatable; lossy at /data/phone");
    for l in &lines {
        assert_eq!(l["request_id"], "req-1");
        assert_eq!(l["dialect"], "medusa");
        assert_eq!(l["operation"], "update");
    }
}

#[test]
fn an_untranslatable_reason_names_codes_and_pointers_bounded_never_values() {
    let mut p = Problem::new(ErrorKind::Untranslatable, "cannot express ada@example.com");
    p.errors = (0..20)
        .map(|i| {
            dialectgate_canonical::Violation::new(
                format!("/data/{}{i}", "é".repeat(40)),
                "lossy",
                "value ada@example.com",
            )
        })
        .collect();
    let r = reason(&p);
    assert!(r.starts_with("untranslatable; lossy at /data/"), "{r}");
    assert!(!r.contains("ada@"), "{r}");
    assert_eq!(r.matches("; ").count(), MAX_REASON_VIOLATIONS);
    assert!(
        r.len() < MAX_REASON_VIOLATIONS * (MAX_REASON_POINTER + 16) + 32,
        "{r}"
    );
}
