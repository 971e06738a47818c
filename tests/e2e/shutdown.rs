//! Graceful shutdown: the server stops accepting, finishes what is in flight, and returns.

use std::time::Duration;

use dialectgate_gateway::Overrides;
use serde_json::json;

use crate::harness::{self, Upstream};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_in_flight_request_completes_during_shutdown() {
    let upstream = Upstream::start(|_| {
        std::thread::sleep(Duration::from_millis(700));
        harness::customer_answer()
    })
    .await;
    let gw = harness::start(harness::config(
        Overrides {
            upstream: Some(upstream.url()),
            ..Overrides::default()
        },
        &[],
    ))
    .await;
    let addr = gw.addr;
    let url = gw.url("/admin/customers/cus_ada");
    let in_flight = tokio::spawn(async move {
        harness::client()
            .post(url)
            .header("x-medusa-access-token", harness::CALLER_KEY)
            .header("content-type", "application/json")
            .body(json!({"phone": "1"}).to_string())
            .send()
            .await
    });
    while upstream.seen().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Shut down while the request is at the upstream.
    let stopping = tokio::spawn(gw.stop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    // No new connections once shutdown has begun.
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting"
    );
    let rsp = in_flight
        .await
        .unwrap()
        .expect("the in-flight request got its answer");
    assert_eq!(rsp.status(), 200);
    assert!(
        stopping.await.unwrap(),
        "every connection drained within the grace period"
    );
}
