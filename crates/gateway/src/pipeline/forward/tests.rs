//! The upstream layers around stub services: any service with the upstream interface can stand
//! behind them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use dialectgate_canonical::{ErrorKind, Problem};
use dialectgate_dialect::{Answer, Outbound};
use http::HeaderMap;
use tower::{Service, ServiceExt, service_fn};

use super::*;
use crate::upstream::UpstreamRequest;

fn request(repeatable: bool) -> UpstreamRequest {
    UpstreamRequest::new(
        "cus_1".into(),
        Outbound {
            method: "POST".into(),
            path: "/customers/cus_1".into(),
            query: String::new(),
            content_type: "application/json",
            body: serde_json::json!({"email": "a@example.com"}),
            held: dialectgate_dialect::HeldText::default(),
        },
        HeaderMap::new(),
        (Operation::Update, repeatable),
    )
}

/// A stub upstream answering `statuses` in turn (the last one from then on), counting calls.
fn answering(
    statuses: &'static [u16],
) -> (
    Arc<AtomicUsize>,
    impl Service<UpstreamRequest, Response = Reply, Error = UpstreamError, Future: Send> + Clone,
) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let svc = service_fn(move |_req: UpstreamRequest| {
        let n = counted.fetch_add(1, Ordering::SeqCst);
        let status = statuses[n.min(statuses.len() - 1)];
        async move {
            Ok(Reply::Http {
                status,
                body: Bytes::new(),
            })
        }
    });
    (calls, svc)
}

fn status(reply: Result<Reply, UpstreamError>) -> u16 {
    match reply {
        Ok(Reply::Http { status, .. }) => status,
        other => panic!("not an HTTP answer: {other:?}"),
    }
}

const LONG: Duration = Duration::from_secs(60);

#[tokio::test(start_paused = true)]
async fn a_repeatable_request_is_retried_on_503_within_the_budget() {
    let (calls, stub) = answering(&[503, 503, 200]);
    let breaker = Arc::new(Breaker::new(0, LONG));
    let stack = guarded(stub, breaker, LONG, 2);
    assert_eq!(status(stack.clone().oneshot(request(true)).await), 200);
    assert_eq!(calls.load(Ordering::SeqCst), 3, "two retries");

    let (calls, stub) = answering(&[503]);
    let stack = guarded(stub, Arc::new(Breaker::new(0, LONG)), LONG, 2);
    assert_eq!(
        status(stack.oneshot(request(true)).await),
        503,
        "the budget runs out"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn a_request_that_is_not_repeatable_or_fails_otherwise_is_sent_once() {
    let (calls, stub) = answering(&[503, 200]);
    let stack = guarded(stub, Arc::new(Breaker::new(0, LONG)), LONG, 2);
    assert_eq!(status(stack.oneshot(request(false)).await), 503);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let (calls, stub) = answering(&[500, 200]);
    let stack = guarded(stub, Arc::new(Breaker::new(0, LONG)), LONG, 2);
    assert_eq!(status(stack.oneshot(request(true)).await), 500, "500 is final");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn the_breaker_opens_on_5xx_and_then_refuses_without_calling() {
    let (calls, stub) = answering(&[500]);
    let breaker = Arc::new(Breaker::new(2, LONG));
    let stack = guarded(stub, breaker.clone(), LONG, 0);
    for _ in 0..2 {
        assert_eq!(status(stack.clone().oneshot(request(false)).await), 500);
    }
    assert!(breaker.is_open());
    let refused = stack.oneshot(request(false)).await;
    assert!(matches!(refused, Err(UpstreamError::CircuitOpen)), "{refused:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "nothing sent while open");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_counts_against_the_breaker_but_a_request_never_sent_does_not() {
    let breaker = Arc::new(Breaker::new(1, LONG));
    let slow = service_fn(|_req: UpstreamRequest| async {
        tokio::time::sleep(LONG).await;
        Ok::<Reply, UpstreamError>(Reply::Answer(Answer::Problem(Problem::new(
            ErrorKind::Internal,
            "late",
        ))))
    });
    let unsendable = service_fn(|_req: UpstreamRequest| async { Err::<Reply, _>(UpstreamError::Unsendable) });
    let too_large =
        service_fn(|_req: UpstreamRequest| async { Err::<Reply, _>(UpstreamError::TooLarge { limit: 1 }) });
    let timeout = Duration::from_secs(1);
    let r = guarded(unsendable, breaker.clone(), timeout, 2)
        .oneshot(request(true))
        .await;
    assert!(matches!(r, Err(UpstreamError::Unsendable)), "{r:?}");
    let r = guarded(too_large, breaker.clone(), timeout, 2)
        .oneshot(request(true))
        .await;
    assert!(matches!(r, Err(UpstreamError::TooLarge { .. })), "{r:?}");
    assert!(
        !breaker.is_open(),
        "neither says anything about the upstream's health"
    );
    let r = guarded(slow, breaker.clone(), timeout, 2)
        .oneshot(request(true))
        .await;
    assert!(matches!(r, Err(UpstreamError::Timeout)), "{r:?}");
    assert!(breaker.is_open(), "a timeout does");
}

#[tokio::test]
async fn the_embedded_backend_answers_behind_the_same_interface() {
    let backend = Arc::new(crate::backend::Backend::seeded());
    let id = crate::backend::fixtures()[0]["id"].as_str().unwrap().to_owned();
    let mut req = request(false);
    req.id = id.clone();
    let reply = Embedded::new(backend.clone()).oneshot(req).await.unwrap();
    let Reply::Answer(Answer::Customer(doc)) = reply else {
        panic!("not a customer: {reply:?}");
    };
    assert_eq!(doc["email"], "a@example.com");
    assert_eq!(backend.get(&id).unwrap()["email"], "a@example.com");
}
