//! Secrets never reach a log line or an error body: caller keys, the gateway's upstream
//! credential, passwords, vendor tokens — on valid and invalid requests and upstream errors.

use std::io::Write;
use std::sync::{Arc, Mutex};

use dialectgate_gateway::Overrides;
use serde_json::json;

use crate::harness::{self, Upstream};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const CANARIES: [&str; 6] = [
    "CANARYKEY1a2b",
    "CANARYUP3c4d",
    "CANARYPW5e6f",
    "CANARYPW7g8h",
    "CANARYTOK9i0j",
    "CANARYCUST1k2l",
];

// One thread: the per-test log subscriber sees everything the gateway does.
#[tokio::test(flavor = "current_thread")]
async fn no_secret_in_logs_or_error_bodies() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // An upstream that fails, so error paths are logged too.
    let upstream = Upstream::start(|rec| {
        if rec.path.contains("fail") {
            (
                500,
                "application/json",
                br#"{"type":"unknown_error","message":"An unknown error occurred."}"#.to_vec(),
            )
        } else {
            (
                200,
                "application/json",
                br#"{"customer":{"id":"cus_ada","email":"a@b.c"}}"#.to_vec(),
            )
        }
    })
    .await;
    let gw = harness::start(harness::config(
        Overrides {
            upstream: Some(upstream.url()),
            upstream_dialect: Some("medusa".into()),
            ..Overrides::default()
        },
        &[
            ("DIALECTGATE_KEYS", CANARIES[0]),
            ("DIALECTGATE_UPSTREAM_TOKEN", CANARIES[1]),
        ],
    ))
    .await;
    let client = harness::client();
    let mut bodies = Vec::new();
    let cases = [
        // valid, with a password
        (
            "PUT",
            "/v2/customers/cus_ada",
            json!({"data": {"type": "customer", "password": CANARIES[2]}}),
            Some(format!("Bearer {}", CANARIES[0])),
        ),
        // invalid: a password of the wrong type next to an unknown member
        (
            "PUT",
            "/v2/customers/cus_ada",
            json!({"data": {"type": "customer", "password": 5, "secret": CANARIES[3]}}),
            Some(format!("Bearer {}", CANARIES[0])),
        ),
        // wrong credential
        (
            "PUT",
            "/v2/customers/cus_ada",
            json!({"data": {"type": "customer"}}),
            Some(format!("Bearer {}", CANARIES[4])),
        ),
        // upstream error
        (
            "PUT",
            "/v2/customers/fail",
            json!({"data": {"type": "customer", "password": CANARIES[2]}}),
            Some(format!("Bearer {}", CANARIES[0])),
        ),
        // a password that does not fit the target (EP → Medusa keeps it; to MicroBase it is lost)
        (
            "POST",
            "/admin/customers/cus_ada",
            json!({"password": CANARIES[2], "metadata": {"k": CANARIES[5]}}),
            None,
        ),
    ];
    for (method, path, body, auth) in cases {
        let mut req = client
            .request(method.parse().unwrap(), gw.url(path))
            .header("content-type", "application/json")
            .header("x-moltin-customer-token", CANARIES[4])
            .body(body.to_string());
        req = match auth {
            Some(a) => req.header("authorization", a),
            None => req.header("x-medusa-access-token", CANARIES[0]),
        };
        let rsp = req.send().await.unwrap();
        bodies.push(rsp.text().await.unwrap());
    }
    // The upstream did get the credential it needs, and nothing else secret.
    let seen = upstream.seen();
    assert!(!seen.is_empty());
    for rec in &seen {
        assert_eq!(rec.header("x-medusa-access-token"), Some(CANARIES[1]));
        assert!(
            rec.headers
                .values()
                .all(|v| !v.contains(CANARIES[0]) && !v.contains(CANARIES[4])),
            "{:?}",
            rec.headers
        );
    }
    gw.stop().await;
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("Request handled."), "the capture works: {logs}");
    for canary in CANARIES {
        assert!(!logs.contains(canary), "{canary} in the logs:\n{logs}");
    }
    for body in &bodies {
        for canary in CANARIES {
            // The customer's own metadata may come back in a success body; secrets never.
            if canary != CANARIES[5] {
                assert!(!body.contains(canary), "{canary} in an answer: {body}");
            }
        }
    }
}
