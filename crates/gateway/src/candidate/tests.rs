//! What is copied, and what a copy holds: the primary's outcomes that may reach the candidate,
//! and the byte budget around the copies of a large customer.

use dialectgate_canonical::Problem;
use serde_json::{Map, json};

use super::*;
use crate::config::{EnvSource, Overrides};

fn failure(outcome: Outcome, kind: ErrorKind) -> Failure {
    Failure::new(outcome, Problem::new(kind, "refused"))
}

#[test]
fn only_what_the_primary_answered_is_copied_never_a_refused_credential() {
    let customer = json!({"email": "ada@example.com"});
    assert!(matches!(copied(Ok(&customer)), Some(Ok(_))));
    // The primary answered: its error is compared with the candidate's.
    for kind in [ErrorKind::NotFound, ErrorKind::BadGateway, ErrorKind::Conflict] {
        let f = failure(Outcome::UpstreamRefused, kind);
        assert_eq!(copied(Err(&f)), Some(Err((kind, kind.status()))), "{kind:?}");
    }
    // The primary refused the credential (passthrough: the caller's), or the gateway's own
    // (static: answered 502 as `upstream_auth`).
    for kind in [ErrorKind::Unauthorized, ErrorKind::Forbidden] {
        assert_eq!(
            copied(Err(&failure(Outcome::UpstreamRefused, kind))),
            None,
            "{kind:?}"
        );
    }
    assert_eq!(
        copied(Err(&failure(Outcome::UpstreamAuth, ErrorKind::BadGateway))),
        None
    );
    // Refused before the upstream, or no answer to compare with.
    for (outcome, kind) in [
        (Outcome::Unauthorized, ErrorKind::Unauthorized),
        (Outcome::Unsendable, ErrorKind::Malformed),
        (Outcome::Validation, ErrorKind::Validation),
        (Outcome::UpstreamError, ErrorKind::GatewayTimeout),
        (Outcome::UpstreamError, ErrorKind::Overloaded),
    ] {
        assert_eq!(copied(Err(&failure(outcome, kind))), None, "{outcome:?}");
    }
}

/// A customer with `n` bytes of metadata (about).
fn large_customer(n: usize) -> Value {
    let metadata: Map<String, Value> = (0..n / 64)
        .map(|i| (format!("key_{i:06}"), Value::String("v".repeat(50))))
        .collect();
    json!({"id": "cus_ada", "email": "ada@example.com", "metadata": metadata})
}

/// A candidate in `reads` mode (never reached: its jobs are held by the test) with `queue_bytes`.
fn candidate(queue_bytes: usize, log_values: bool) -> (Candidate, Arc<Metrics>) {
    let env: EnvSource = Some([("K".to_owned(), "k".to_owned())].into_iter().collect());
    let mut config = crate::config::load_default(env, &Overrides::default()).unwrap();
    config.candidate.mode = CandidateMode::Reads;
    config.candidate.url = Some("http://127.0.0.1:9".into());
    config.candidate.dialect = "canonical".into();
    config.candidate.queue_bytes = queue_bytes.try_into().unwrap();
    config.candidate.log_values = log_values;
    let registry = Arc::new(Registry::embedded().unwrap());
    let metrics = Arc::new(Metrics::default());
    let endpoints = (&Endpoint::Canonical, Some(Endpoint::Canonical));
    let candidate = Candidate::start(&config, &registry, endpoints, &metrics)
        .unwrap()
        .unwrap();
    (candidate, metrics)
}

fn gauge(metrics: &Metrics) -> i64 {
    metrics.candidate_queue_bytes.get()
}

fn dropped(metrics: &Metrics) -> u64 {
    metrics
        .candidate_requests
        .get_or_create(&CandidateLabels {
            mode: "reads",
            outcome: "dropped".into(),
        })
        .get()
}

#[tokio::test]
async fn a_copy_of_a_megabyte_customer_holds_hashes_and_its_bytes_are_given_back() {
    let (candidate, metrics) = candidate(16 << 20, false);
    let customer = large_customer(1 << 20);
    let dialect = Registry::embedded().unwrap().dialect("medusa").unwrap().clone();
    let jobs: Vec<Job> = (0..30)
        .map(|i| {
            let id = format!("req-{i}");
            candidate.read(&id, &dialect, "cus_ada", Ok(&customer)).unwrap()
        })
        .collect();
    let held = gauge(&metrics);
    assert!(held > 0);
    assert!(held < 30 * 2048, "30 copies hold {held} bytes");
    assert_eq!(dropped(&metrics), 0);
    drop(jobs);
    assert_eq!(gauge(&metrics), 0);
}

#[tokio::test]
async fn with_values_kept_what_does_not_fit_the_budget_is_dropped_and_counted() {
    let customer = large_customer(1 << 20);
    let size = customer.to_string().len();
    let (candidate, metrics) = candidate(size * 5 / 2, true);
    let dialect = Registry::embedded().unwrap().dialect("medusa").unwrap().clone();
    let read = |i: usize| candidate.read(&format!("req-{i}"), &dialect, "cus_ada", Ok(&customer));
    let (first, second) = (read(0).unwrap(), read(1).unwrap());
    assert!(gauge(&metrics) > i64::try_from(2 * size / 2).unwrap());
    assert!(read(2).is_none(), "a third megabyte does not fit");
    assert_eq!(dropped(&metrics), 1);
    assert!(gauge(&metrics) <= i64::try_from(size * 5 / 2).unwrap());
    drop((first, second));
    assert_eq!(gauge(&metrics), 0);
    assert!(read(3).is_some(), "room again");
}

#[tokio::test]
async fn a_refused_read_is_neither_copied_nor_counted() {
    let (candidate, metrics) = candidate(16 << 20, false);
    let dialect = Registry::embedded().unwrap().dialect("medusa").unwrap().clone();
    let refused = failure(Outcome::UpstreamRefused, ErrorKind::Unauthorized);
    assert!(
        candidate
            .read("req", &dialect, "cus_ada", Err(&refused))
            .is_none()
    );
    assert_eq!(gauge(&metrics), 0);
    assert_eq!(dropped(&metrics), 0);
    let missing = failure(Outcome::UpstreamRefused, ErrorKind::NotFound);
    let job = candidate.read("req", &dialect, "cus_ada", Err(&missing)).unwrap();
    assert!(matches!(
        job.primary,
        Primary::Error {
            kind: ErrorKind::NotFound,
            status: 404
        }
    ));
}
