//! Secrets never reach a log line or an error body: caller keys, the gateway's upstream
//! credential, passwords, vendor tokens — on valid and invalid requests and upstream errors.

use serde_json::json;

use crate::harness::{self, Upstream};

const CANARIES: [&str; 6] = [
    "CANARYKEY1a2b",
    "CANARYUP3c4d",
    "CANARYPW5e6f",
    "CANARYPW7g8h",
    "CANARYTOK9i0j",
    "CANARYCUST1k2l",
];

// The real binary at the most verbose log level, its stderr captured whole.
#[tokio::test]
async fn no_secret_in_logs_or_error_bodies() {
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
    let file = harness::config_file("secrets", |t| {
        t.replace("url = \"\"", &format!("url = \"{}\"", upstream.url()))
            .replace("dialect = \"canonical\"", "dialect = \"medusa\"")
    });
    // The whole stderr is captured, so the port is chosen here rather than read from the log.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dialectgate"));
    cmd.args([
        "serve",
        "--config",
        file.to_str().unwrap(),
        "--listen",
        &addr,
        "--admin-listen",
        "",
    ])
    .env("RUST_LOG", "trace")
    .env("DIALECTGATE_KEYS", CANARIES[0])
    .env("DIALECTGATE_UPSTREAM_TOKEN", CANARIES[1]);
    let (mut child, reader) = harness::spawn_captured(cmd);
    harness::wait_until_listening(&addr).await;
    let url = |path: &str| format!("http://{addr}{path}");
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
            .request(method.parse().unwrap(), url(path))
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
    // commercetools' token endpoint, HTTP Basic client credentials: the right key and a wrong
    // one. Neither the secret nor its Basic encoding is logged or answered.
    let basics: Vec<String> = [CANARIES[0], CANARIES[4]]
        .iter()
        .map(|secret| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(format!("ct-client:{secret}"))
        })
        .collect();
    for encoded in &basics {
        let rsp = client
            .post(url("/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", format!("Basic {encoded}"))
            .body("grant_type=client_credentials&scope=manage_customers:demo")
            .send()
            .await
            .unwrap();
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
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let logs = reader.join().unwrap();
    assert!(logs.contains("Request handled."), "the capture works: {logs}");
    for canary in CANARIES {
        assert!(!logs.contains(canary), "{canary} in the logs:\n{logs}");
    }
    for encoded in &basics {
        assert!(
            !logs.contains(encoded.as_str()),
            "a Basic credential in the logs:\n{logs}"
        );
        assert!(bodies.iter().all(|b| !b.contains(encoded.as_str())));
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
