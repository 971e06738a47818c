//! Reads mode: a Medusa caller's reads copied to the Elastic Path candidate, and only those the
//! primary answered; the noise probe.

use dialectgate_gateway::{CandidateMode, CredentialMode, Overrides};
use serde_json::{Value, json};

use super::CANDIDATE_TOKEN;
use super::{
    EMAIL, candidate, candidate_requests, gateway, log_path, primary, primary_answer, update, wait_log,
    wait_metric,
};
use crate::harness::{self, Running, Upstream};

#[tokio::test]
async fn reads_mode_sends_no_update_to_the_candidate() {
    let primary = primary().await;
    let candidate = candidate().await;
    let gw = gateway(&primary, Some(candidate.url()), CandidateMode::Reads, None, &[]).await;
    assert_eq!(update(&gw, "req-reads").await.status, 200);
    // A second request after the first: a copy of the first would have been queued before
    // its answer, and counted by now or soon; nothing was.
    assert_eq!(update(&gw, "req-reads-2").await.status, 200);
    assert_eq!(primary.seen().len(), 2);
    assert!(candidate.seen().is_empty());
    assert_eq!(candidate_requests(&gw.metrics.render()), 0.0);
    gw.stop().await;
}

/// A Medusa caller's read of `cus_ada`.
async fn read(gw: &Running, request_id: &str) -> harness::Answer {
    read_with(gw, request_id, harness::CALLER_KEY).await
}

/// A Medusa caller's read of `cus_ada` with `key`.
pub(super) async fn read_with(gw: &Running, request_id: &str, key: &str) -> harness::Answer {
    let rsp = harness::client()
        .get(gw.url("/admin/customers/cus_ada"))
        .header("x-medusa-access-token", key)
        .header("x-request-id", request_id)
        .send()
        .await
        .unwrap();
    harness::answer(rsp).await
}

#[tokio::test]
async fn reads_go_to_the_candidate_in_its_dialect_and_the_lost_phone_is_reported() {
    let (primary, candidate) = (primary().await, candidate().await);
    let log = log_path("reads");
    let gw = gateway(
        &primary,
        Some(candidate.url()),
        CandidateMode::Reads,
        Some(&log),
        &[],
    )
    .await;
    let answer = read(&gw, "req-read-1").await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert!(
        answer.json()["customer"]["phone"].is_string(),
        "the primary's answer"
    );
    candidate.wait_for(1).await;
    let seen = candidate.seen();
    // Elastic Path's retrieve call, with the candidate's own credential
    // (docs/vendors/elasticpath.md#retrieve).
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("GET", "/v2/customers/cus_ada")
    );
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {CANDIDATE_TOKEN}").as_str())
    );
    wait_metric(
        &gw,
        r#"dialectgate_candidate_divergences_total{pointer="/phone"}"#,
        1.0,
    )
    .await;
    let (text, lines) = wait_log(&log, |l| l.iter().any(|x| x["pointer"] == "/phone")).await;
    let phone = lines.iter().find(|x| x["pointer"] == "/phone").unwrap();
    assert_eq!(phone["operation"], "read", "{text}");
    assert_eq!(phone["kind"], "missing_at_candidate", "{text}");
    // No personal value in the log by default.
    assert!(!text.contains(EMAIL), "{text}");
    // Reads mode: an update goes to the primary only.
    assert_eq!(update(&gw, "req-read-2").await.status, 200);
    assert_eq!(candidate.seen().len(), 1, "no write reached the candidate");
    gw.stop().await;
}

#[tokio::test]
async fn with_the_noise_probe_a_member_that_differs_between_two_primary_reads_is_noise() {
    // The primary answers a different updated_at-like member each time: its phone changes.
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = calls.clone();
    let primary = Upstream::start(move |_| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut body: Value = serde_json::from_slice(&primary_answer()).unwrap();
        body["customer"]["phone"] = json!(format!("+44 {n}"));
        (200, "application/json", serde_json::to_vec(&body).unwrap())
    })
    .await;
    let candidate = candidate().await;
    let log = log_path("noise");
    let gw = gateway(
        &primary,
        Some(candidate.url()),
        CandidateMode::Reads,
        Some(&log),
        &[("DIALECTGATE__CANDIDATE__NOISE_PROBE", "true")],
    )
    .await;
    assert_eq!(read(&gw, "req-noise").await.status, 200);
    let (text, lines) = wait_log(&log, |l| l.iter().any(|x| x["pointer"] == "/phone")).await;
    let phone = lines.iter().find(|x| x["pointer"] == "/phone").unwrap();
    assert_eq!(phone["kind"], "noise", "{text}");
    assert_eq!(primary.seen().len(), 2, "the primary was read twice");
    gw.stop().await;
}

#[tokio::test]
async fn reads_the_primary_refused_as_unauthorized_never_reach_the_candidate() {
    // Passthrough: the caller's credential goes to the primary, which refuses all but the key.
    let answer = primary_answer();
    let primary = Upstream::start(move |r| {
        if r.header("x-medusa-access-token") == Some(harness::CALLER_KEY) {
            (200, "application/json", answer.clone())
        } else {
            // Medusa's 401 (docs/vendors/medusa.md#authentication): plain text.
            (401, "text/plain; charset=utf-8", b"Unauthorized".to_vec())
        }
    })
    .await;
    let candidate = candidate().await;
    let gw = harness::start(harness::config(
        Overrides {
            upstream: Some(primary.url()),
            upstream_dialect: Some("medusa".into()),
            credentials: Some(CredentialMode::Passthrough),
            candidate: Some(candidate.url()),
            candidate_dialect: Some("elasticpath".into()),
            candidate_mode: Some(CandidateMode::Reads),
            ..Overrides::default()
        },
        &[("DIALECTGATE_CANDIDATE_TOKEN", CANDIDATE_TOKEN)],
    ))
    .await;
    for i in 0..3 {
        let refused = read_with(&gw, &format!("req-refused-{i}"), "not-a-valid-credential").await;
        assert_eq!(refused.status, 401, "{}", String::from_utf8_lossy(&refused.body));
    }
    primary.wait_for(3).await;
    // A read the primary accepts, after the refused ones, is copied and compared.
    assert_eq!(read(&gw, "req-accepted").await.status, 200);
    candidate.wait_for(1).await;
    wait_metric(
        &gw,
        r#"dialectgate_candidate_requests_total{mode="reads",outcome="diverged"}"#,
        1.0,
    )
    .await;
    let seen = candidate.seen();
    let ids: Vec<Option<&str>> = seen.iter().map(|r| r.header("x-request-id")).collect();
    assert_eq!(
        ids,
        [Some("req-accepted")],
        "only the accepted read reached the candidate"
    );
    assert_eq!(
        candidate_requests(&gw.metrics.render()),
        1.0,
        "no refused read was copied, queued or dropped"
    );
    assert_eq!(primary.seen().len(), 4);
    gw.stop().await;
}
