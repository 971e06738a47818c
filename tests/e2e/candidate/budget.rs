//! The candidate's byte budget, against a candidate that accepts every call and answers none
//! until the test lets it: a customer with a megabyte of metadata read many times. Copies hold
//! what the comparison needs, never the customer; what does not fit `candidate.queue_bytes` is
//! dropped and counted; every byte comes back once the copies are compared.

use dialectgate_gateway::{CandidateMode, Overrides};
use serde_json::Value;

use super::reads::read_with;
use super::{CANDIDATE_TOKEN, candidate_answer, candidate_requests, primary_answer, wait_metric};
use crate::harness::{self, EVENT_DEADLINE, Running, Upstream};

/// Reads sent in each test.
const READS: usize = 30;
/// The size of the customer's metadata.
const METADATA: usize = 1 << 20;

/// The primary's customer (Medusa's example) with a megabyte of metadata: 256 keys of 4 KiB.
fn large_answer() -> Vec<u8> {
    let mut body: Value = serde_json::from_slice(&primary_answer()).unwrap();
    let metadata: serde_json::Map<String, Value> = (0..METADATA / 4096)
        .map(|i| (format!("note_{i:03}"), Value::String("m".repeat(4096))))
        .collect();
    body["customer"]["metadata"] = Value::Object(metadata);
    serde_json::to_vec(&body).unwrap()
}

/// A gateway in front of a primary answering `large_answer()`, in reads mode with a candidate
/// that holds every call, plus `env`. The candidate's timeout is long: copies stay held until
/// the test releases them.
async fn migrating(env: &[(&str, &str)]) -> (Running, Upstream, Upstream) {
    let answer = large_answer();
    let primary = Upstream::start(move |_| (200, "application/json", answer.clone())).await;
    let body = candidate_answer();
    let held = Upstream::start_held(move |_| (200, "application/json", body.clone())).await;
    let mut all = vec![
        ("DIALECTGATE_CANDIDATE_TOKEN", CANDIDATE_TOKEN),
        ("DIALECTGATE__CANDIDATE__TIMEOUT_MS", "600000"),
    ];
    all.extend_from_slice(env);
    let gw = harness::start(harness::config(
        Overrides {
            upstream: Some(primary.url()),
            upstream_dialect: Some("medusa".into()),
            candidate: Some(held.url()),
            candidate_dialect: Some("elasticpath".into()),
            candidate_mode: Some(CandidateMode::Reads),
            ..Overrides::default()
        },
        &all,
    ))
    .await;
    (gw, primary, held)
}

/// Sends the reads; each caller gets the primary's customer.
async fn read_all(gw: &Running) {
    for i in 0..READS {
        let answer = read_with(gw, &format!("req-large-{i}"), harness::CALLER_KEY).await;
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
        let metadata = answer.json()["customer"]["metadata"].as_object().map(|m| m.len());
        assert_eq!(
            metadata,
            Some(METADATA / 4096),
            "the caller got the whole customer"
        );
    }
}

fn queued_bytes(gw: &Running) -> f64 {
    let text = gw.metrics.render();
    harness::metric(&text, "dialectgate_candidate_queue_bytes").unwrap_or_else(|| panic!("{text}"))
}

/// Releases the candidate and waits until every copy is accounted for (compared or dropped);
/// then the copies hold nothing.
async fn release_and_drain(gw: &Running, held: &Upstream) {
    held.release();
    let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
    while candidate_requests(&gw.metrics.render()) < READS as f64 {
        assert!(tokio::time::Instant::now() < deadline, "{}", gw.metrics.render());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The last job gives its bytes back just after it is counted.
    while queued_bytes(gw) > 0.0 {
        assert!(tokio::time::Instant::now() < deadline, "{}", gw.metrics.render());
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn copies_held_by_a_hanging_candidate_hold_hashes_not_the_customer() {
    let (gw, _primary, held) = migrating(&[]).await;
    read_all(&gw).await;
    // The worker's calls (8 at once) hang at the candidate; the other copies wait in the queue.
    held.wait_for(8).await;
    let bytes = queued_bytes(&gw);
    assert!(bytes > 0.0, "the copies are held");
    assert!(
        bytes < (METADATA / 16) as f64,
        "{READS} copies of a customer with {METADATA} bytes of metadata hold {bytes} bytes"
    );
    let text = gw.metrics.render();
    let dropped = harness::metric(
        &text,
        r#"dialectgate_candidate_requests_total{mode="reads",outcome="dropped"}"#,
    );
    assert_eq!(dropped.unwrap_or_default(), 0.0, "all fit: {text}");
    release_and_drain(&gw, &held).await;
    assert_eq!(held.seen().len(), READS);
    gw.stop().await;
}

#[tokio::test]
async fn with_values_kept_copies_beyond_the_byte_budget_are_dropped_and_counted() {
    // Values kept for the log: a copy holds the metadata's text. Room for two copies.
    const BUDGET: usize = 3 * METADATA;
    let budget = BUDGET.to_string();
    let (gw, _primary, held) = migrating(&[
        ("DIALECTGATE__CANDIDATE__LOG_VALUES", "true"),
        ("DIALECTGATE__CANDIDATE__QUEUE_BYTES", &budget),
    ])
    .await;
    read_all(&gw).await;
    // Every copy was kept or dropped before its caller was answered.
    let dropped = harness::metric(
        &gw.metrics.render(),
        r#"dialectgate_candidate_requests_total{mode="reads",outcome="dropped"}"#,
    )
    .unwrap_or_default();
    assert!(dropped >= (READS - 2) as f64, "dropped {dropped}");
    let bytes = queued_bytes(&gw);
    assert!(bytes > METADATA as f64, "a kept copy holds the metadata: {bytes}");
    assert!(bytes <= BUDGET as f64, "{bytes} over {BUDGET}");
    let kept = READS - dropped as usize;
    held.wait_for(kept).await;
    release_and_drain(&gw, &held).await;
    assert_eq!(
        held.seen().len(),
        kept,
        "dropped copies never reach the candidate"
    );
    wait_metric(
        &gw,
        r#"dialectgate_candidate_requests_total{mode="reads",outcome="diverged"}"#,
        kept as f64,
    )
    .await;
    gw.stop().await;
}
