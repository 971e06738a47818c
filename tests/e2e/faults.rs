//! Upstream faults, each played by a raw TCP upstream on loopback: the caller gets 502 or 504 in
//! its own dialect, the gateway keeps serving, retries happen only where repeating is safe, and
//! the circuit breaker stops hammering an upstream that keeps failing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dialectgate_gateway::Overrides;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::harness;
use crate::vendor_errors::{Kind, callers, check};

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Close the connection without answering (reset before the answer).
    Reset,
    /// Headers and part of the body, then close (reset mid-body).
    ResetMidBody,
    /// Answer after the gateway's timeout.
    Slow,
    /// A 200 whose body is not JSON.
    NotJson,
    /// A 200 whose JSON is cut off (Content-Length honoured, JSON incomplete).
    Truncated,
    /// A 200 larger than the answer limit.
    Huge,
    /// A 200 that is JSON but not the upstream dialect's answer.
    WrongShape,
    /// A 503, always.
    Unavailable,
}

/// A raw upstream that reads each request and misbehaves as told; counts requests.
async fn fault_upstream(fault: Fault) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let c = c.clone();
            tokio::spawn(async move {
                while read_request(&mut s).await {
                    c.fetch_add(1, Ordering::SeqCst);
                    if !answer(&mut s, fault).await {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), count)
}

/// Reads one request (headers plus Content-Length body); false at end of stream.
async fn read_request(s: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte).await {
            Ok(1) => buf.push(byte[0]),
            _ => return false,
        }
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await.is_ok()
}

/// Misbehaves; returns whether the connection stays usable.
async fn answer(s: &mut TcpStream, fault: Fault) -> bool {
    let respond = |status: &str, body: &[u8], declared: usize| {
        let mut out = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\n\r\n"
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    };
    match fault {
        Fault::Reset => {
            let _ = s.set_zero_linger();
            false
        }
        Fault::ResetMidBody => {
            let _ = s
                .write_all(&respond("200 OK", br#"{"id":"cus_ada","ema"#, 500))
                .await;
            let _ = s.set_zero_linger();
            false
        }
        Fault::Slow => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            let body = br#"{"id":"cus_ada"}"#;
            s.write_all(&respond("200 OK", body, body.len())).await.is_ok()
        }
        Fault::NotJson => {
            let body = b"<html>oops</html>";
            s.write_all(&respond("200 OK", body, body.len())).await.is_ok()
        }
        Fault::Truncated => {
            let body = br#"{"id":"cus_ada","email":"#;
            s.write_all(&respond("200 OK", body, body.len())).await.is_ok()
        }
        Fault::Huge => {
            let body = format!(r#"{{"id":"cus_ada","notes":"{}"}}"#, "x".repeat(200_000));
            s.write_all(&respond("200 OK", body.as_bytes(), body.len()))
                .await
                .is_ok()
        }
        Fault::WrongShape => {
            let body = br#"{"customer":{"id":"cus_ada","email":42}}"#;
            s.write_all(&respond("200 OK", body, body.len())).await.is_ok()
        }
        Fault::Unavailable => {
            let body = br#"{"type":"unexpected_state","message":"busy"}"#;
            s.write_all(&respond("503 Service Unavailable", body, body.len()))
                .await
                .is_ok()
        }
    }
}

async fn gateway(upstream: &str, dialect: &str, extra: &[(&str, &str)]) -> harness::Running {
    let mut env = vec![
        ("DIALECTGATE__UPSTREAM__TIMEOUT_MS", "500"),
        ("DIALECTGATE__UPSTREAM__CONNECT_TIMEOUT_MS", "500"),
        ("DIALECTGATE__UPSTREAM__MAX_RESPONSE_BYTES", "65536"),
    ];
    env.extend_from_slice(extra);
    harness::start(harness::config(
        Overrides {
            upstream: Some(upstream.to_owned()),
            upstream_dialect: Some(dialect.into()),
            ..Overrides::default()
        },
        &env,
    ))
    .await
}

/// Sends one request per caller dialect; each must get the row of the literal vendor tables
/// (`vendor_errors.rs`) for `kind`.
async fn expect_for_every_caller(gw: &harness::Running, kind: Kind) {
    for caller in callers() {
        let answer = harness::send_simple(gw, caller, "cus_ada").await;
        check(caller, kind, "cus_ada", &answer, "upstream fault");
    }
}

#[tokio::test]
async fn connection_refused_is_a_bad_gateway() {
    // A port bound but never listening: refused, and no other test can take it meanwhile.
    let (_reserved, port) = harness::refused_port();
    let gw = gateway(
        &format!("http://127.0.0.1:{port}"),
        "medusa",
        &[("DIALECTGATE__UPSTREAM__BREAKER_FAILURES", "0")],
    )
    .await;
    expect_for_every_caller(&gw, Kind::BadGateway).await;
}

macro_rules! fault_cases {
    ($($name:ident: $fault:expr, $dialect:literal => $kind:ident,)*) => {$(
        #[tokio::test]
        async fn $name() {
            let (url, count) = fault_upstream($fault).await;
            let gw = gateway(&url, $dialect, &[("DIALECTGATE__UPSTREAM__BREAKER_FAILURES", "0")]).await;
            expect_for_every_caller(&gw, Kind::$kind).await;
            assert!(count.load(Ordering::SeqCst) >= callers().len());
        }
    )*};
}

fault_cases! {
    reset_before_the_answer_is_a_bad_gateway: Fault::Reset, "canonical" => BadGateway,
    reset_mid_body_is_a_bad_gateway: Fault::ResetMidBody, "canonical" => BadGateway,
    an_answer_slower_than_the_timeout_is_a_gateway_timeout: Fault::Slow, "canonical" => GatewayTimeout,
    a_non_json_answer_is_a_bad_gateway: Fault::NotJson, "medusa" => BadGateway,
    a_truncated_answer_is_a_bad_gateway: Fault::Truncated, "canonical" => BadGateway,
    an_answer_over_the_size_limit_is_a_bad_gateway: Fault::Huge, "canonical" => BadGateway,
    an_answer_off_the_upstream_schema_is_a_bad_gateway: Fault::WrongShape, "medusa" => BadGateway,
}

#[tokio::test]
async fn retries_only_where_repeating_is_safe() {
    let (url, count) = fault_upstream(Fault::Unavailable).await;
    // Medusa's update is a POST: not repeated without an Idempotency-Key.
    let gw = gateway(
        &url,
        "medusa",
        &[
            ("DIALECTGATE__UPSTREAM__RETRIES", "2"),
            ("DIALECTGATE__UPSTREAM__BREAKER_FAILURES", "0"),
        ],
    )
    .await;
    let answer = harness::send_simple(&gw, "elasticpath", "cus_ada").await;
    assert_eq!(answer.status, 503, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "a POST without Idempotency-Key is sent once"
    );
    // With an Idempotency-Key it may be repeated, within the budget (1 + 2 retries).
    let answer = harness::send_with(
        &gw,
        "elasticpath",
        "cus_ada",
        &harness::simple_update("elasticpath", "cus_ada"),
        &[("idempotency-key", "k1")],
    )
    .await;
    assert_eq!(answer.status, 503);
    assert_eq!(count.load(Ordering::SeqCst), 1 + 3);
    gw.stop().await;

    // A PATCH (canonical binding) is idempotent: retried within the budget.
    let (url, count) = fault_upstream(Fault::Unavailable).await;
    let gw = gateway(
        &url,
        "canonical",
        &[
            ("DIALECTGATE__UPSTREAM__RETRIES", "2"),
            ("DIALECTGATE__UPSTREAM__BREAKER_FAILURES", "0"),
        ],
    )
    .await;
    let _ = harness::send(&gw, "checkoutpage", "cus_ada", &json!({"name": "A"})).await;
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn the_circuit_breaker_stops_hammering_and_recovers() {
    let (url, count) = fault_upstream(Fault::Unavailable).await;
    let gw = gateway(
        &url,
        "canonical",
        &[
            ("DIALECTGATE__UPSTREAM__RETRIES", "0"),
            ("DIALECTGATE__UPSTREAM__BREAKER_FAILURES", "3"),
            // Long enough that the twelve calls below all fall inside it on a loaded CI machine
            // (at 300 ms a slow run let a trial call through before the count was checked).
            ("DIALECTGATE__UPSTREAM__BREAKER_COOLDOWN_MS", "3000"),
        ],
    )
    .await;
    for _ in 0..10 {
        let answer = harness::send(&gw, "checkoutpage", "cus_ada", &json!({"name": "A"})).await;
        assert_eq!(answer.status, 503);
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        3,
        "the breaker opened after 3 failures"
    );
    let open = harness::send(&gw, "medusa", "cus_ada", &json!({"name": "A"})).await;
    assert_eq!(open.status, 400, "validation still answers while open");
    let open = harness::send(&gw, "medusa", "cus_ada", &json!({"phone": "1"})).await;
    assert_eq!(open.status, 503);
    assert_eq!(open.header("retry-after"), Some("1"));
    // After the cooldown a call goes through again.
    let deadline = Instant::now() + Duration::from_secs(30);
    while count.load(Ordering::SeqCst) == 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let _ = harness::send(&gw, "checkoutpage", "cus_ada", &json!({"name": "A"})).await;
    }
    assert_eq!(
        count.load(Ordering::SeqCst),
        4,
        "one trial call after the cooldown"
    );
}

#[tokio::test]
async fn the_gateway_keeps_serving_after_every_fault() {
    for fault in [
        Fault::Reset,
        Fault::ResetMidBody,
        Fault::NotJson,
        Fault::Truncated,
        Fault::Huge,
    ] {
        let (url, _) = fault_upstream(fault).await;
        let gw = gateway(&url, "canonical", &[]).await;
        for _ in 0..3 {
            let a = harness::send(&gw, "medusa", "cus_ada", &json!({"phone": "1"})).await;
            assert!(a.status == 502 || a.status == 503, "{fault:?}: {}", a.status);
        }
        // Not a process crash: a request that needs no upstream is still answered.
        let a = harness::send(&gw, "medusa", "cus_ada", &json!({"bogus": 1})).await;
        assert_eq!(a.status, 400, "{fault:?}");
    }
}
