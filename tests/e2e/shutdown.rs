//! Graceful shutdown: the server stops accepting, finishes what is in flight, and returns.

use dialectgate_gateway::Overrides;

use crate::harness::{self, Upstream};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_in_flight_request_completes_during_shutdown() {
    let upstream = Upstream::start_held(|_| harness::customer_answer()).await;
    let gw = harness::start(harness::config(
        Overrides {
            upstream: Some(upstream.url()),
            ..Overrides::default()
        },
        &[],
    ))
    .await;
    let addr = gw.addr;
    let in_flight = harness::send_in_background(&gw);
    upstream.wait_for(1).await;
    // Shut down while the request is held at the upstream: the port closes while it is still
    // in flight (no new connections once shutdown has begun).
    let stopping = tokio::spawn(gw.stop());
    harness::wait_until_refused(addr).await;
    assert!(
        !in_flight.is_finished(),
        "answered before the upstream was released"
    );
    upstream.release();
    let rsp = in_flight
        .await
        .unwrap()
        .expect("the in-flight request got its answer");
    assert_eq!(rsp.status(), 200);
    assert!(
        tokio::time::timeout(harness::EVENT_DEADLINE, stopping)
            .await
            .unwrap()
            .unwrap(),
        "every connection drained within the grace period"
    );
}
