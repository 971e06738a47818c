//! Memory bounded by configuration (`server.max_json_values`, `server.max_buffered_bytes`):
//! a body with too many values is refused in the caller's dialect before anything is built
//! from it; bodies being read hold the reading share (none left: 503 at once); a request
//! whose working memory is taken waits for it and goes through once it is given back. Nothing
//! refused reaches the upstream.

use std::time::Duration;

use dialectgate_gateway::Overrides;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::harness::{self, EVENT_DEADLINE, Upstream};

/// `{"metadata":{"a":[0,0,…]}}` with `n` zeros: `n + 3` JSON values (the two objects and
/// the array count).
fn zeros(n: usize) -> Value {
    json!({"metadata": {"a": vec![0; n]}})
}

/// A gateway in front of `upstream` (canonical) with `env` on top of the shipped configuration.
async fn gateway(upstream: &Upstream, env: &[(&str, &str)]) -> harness::Running {
    harness::start(harness::config(
        Overrides {
            upstream: Some(upstream.url()),
            upstream_dialect: Some("canonical".into()),
            ..Overrides::default()
        },
        env,
    ))
    .await
}

/// Waits until `share` of the memory budget holds exactly `bytes`.
async fn wait_reserved(gw: &harness::Running, share: &'static str, bytes: i64) {
    let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
    while gw.metrics.memory_reserved(share) != bytes {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{share}: {} reserved, waiting for {bytes}",
            gw.metrics.memory_reserved(share)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_body_with_more_values_than_allowed_is_refused_in_the_callers_dialect() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let gw = gateway(&upstream, &[("DIALECTGATE__SERVER__MAX_JSON_VALUES", "100")]).await;

    // Exactly the limit: forwarded.
    let at = harness::send(&gw, "medusa", "cus_ada", &zeros(97)).await;
    assert_eq!(at.status, 200, "{}", String::from_utf8_lossy(&at.body));
    assert_eq!(upstream.seen().len(), 1);

    // One more: Medusa's own validation answer (400 `invalid_data`), nothing sent.
    let over = harness::send(&gw, "medusa", "cus_ada", &zeros(98)).await;
    assert_eq!(over.status, 400);
    let body = over.json();
    assert_eq!(body["type"], "invalid_data", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("more than 100 JSON values"),
        "{body}"
    );

    // Elastic Path's caller gets Elastic Path's error list.
    let ep = harness::send(
        &gw,
        "elasticpath",
        "cus_ada",
        &json!({"data": {"type": "customer", "name": "Ada", "x": vec![0; 200]}}),
    )
    .await;
    assert_eq!(ep.status, 400);
    let errors = ep.json();
    assert_eq!(errors["errors"][0]["status"], 400, "{errors}");
    assert_eq!(upstream.seen().len(), 1, "nothing refused was forwarded");
    assert_eq!(gw.metrics.memory_reserved("working"), 0, "all given back");
}

/// 12 MiB: 3 MiB to read bodies in, 9 MiB to work on them; with at most 100 values, one
/// body of the 1 MiB limit in its costliest shape reserves about 8.7 MB of the 9 MiB.
const SMALL_BUDGET: &[(&str, &str)] = &[
    ("DIALECTGATE__SERVER__MAX_JSON_VALUES", "100"),
    ("DIALECTGATE__SERVER__MAX_BUFFERED_BYTES", "12582912"),
];

#[tokio::test]
async fn bodies_being_read_hold_the_reading_share_and_one_more_gets_503_at_once() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let gw = gateway(&upstream, SMALL_BUDGET).await;

    // Three callers declare 1 MiB bodies and send none of it: they hold the reading share.
    let head = format!(
        "POST /admin/customers/cus_ada HTTP/1.1\r\nHost: gw\r\nx-medusa-access-token: {}\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n",
        harness::CALLER_KEY
    );
    let mut slow = Vec::new();
    for _ in 0..3 {
        let mut s = TcpStream::connect(gw.addr).await.unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        slow.push(s);
    }
    wait_reserved(&gw, "reading", 3 << 20).await;

    // A fourth declaring as much is refused before a byte of its body is read.
    let refused = harness::send(
        &gw,
        "medusa",
        "cus_ada",
        &json!({"metadata": {"n": "x".repeat(600_000)}}),
    )
    .await;
    assert_eq!(refused.status, 503, "{}", String::from_utf8_lossy(&refused.body));
    assert_eq!(refused.header("retry-after"), Some("1"));
    let shape = refused.json();
    assert!(
        shape["type"].is_string() && shape["message"].is_string(),
        "Medusa's error shape {{type, message}}: {shape}"
    );

    // One slow caller goes away: its share comes back, and the same request goes through.
    drop(slow.pop());
    wait_reserved(&gw, "reading", 2 << 20).await;
    let accepted = harness::send(
        &gw,
        "medusa",
        "cus_ada",
        &json!({"metadata": {"n": "x".repeat(600_000)}}),
    )
    .await;
    assert_eq!(
        accepted.status,
        200,
        "{}",
        String::from_utf8_lossy(&accepted.body)
    );
    assert_eq!(
        upstream.seen().len(),
        1,
        "only the accepted request was forwarded"
    );
    drop(slow);
    wait_reserved(&gw, "reading", 0).await;
}

#[tokio::test]
async fn a_request_waits_for_working_memory_and_goes_through_when_it_is_given_back() {
    let upstream = Upstream::start_held(|_| harness::customer_answer()).await;
    let gw = gateway(&upstream, SMALL_BUDGET).await;
    // A long string member: a metadata bag this large would be held as its text
    // (tests/e2e/held_text.rs), and give its working memory back while the upstream works.
    let long = |c: &str| json!({"first_name": c.repeat(1_000_000)});
    let send_in_background = |body: Value| {
        let url = gw.url("/admin/customers/cus_ada");
        tokio::spawn(async move {
            let rsp = harness::client()
                .post(url)
                .header("content-type", "application/json")
                .header("x-medusa-access-token", harness::CALLER_KEY)
                .json(&body)
                .send()
                .await
                .unwrap();
            rsp.status().as_u16()
        })
    };

    // The first holds most of the working share while the upstream holds its answer.
    let first = send_in_background(long("a"));
    upstream.wait_for(1).await;
    let held = gw.metrics.memory_reserved("working");
    assert!(
        held > 6 << 20,
        "three parsed copies and two texts of 1 MB: {held}"
    );

    // The second has read its body and waits for working memory: nothing of it is forwarded.
    let second_body = long("b");
    let length = i64::try_from(serde_json::to_vec(&second_body).unwrap().len()).unwrap();
    let second = send_in_background(second_body);
    wait_reserved(&gw, "reading", (length + 1023) / 1024 * 1024).await;
    assert_eq!(upstream.seen().len(), 1);

    // The first is answered; the second gets its memory, is forwarded and answered.
    upstream.release();
    assert_eq!(first.await.unwrap(), 200);
    assert_eq!(second.await.unwrap(), 200);
    let seen = upstream.seen();
    assert_eq!(seen.len(), 2);
    assert!(String::from_utf8_lossy(&seen[1].body).contains("bbbb"));
    wait_reserved(&gw, "working", 0).await;
}
