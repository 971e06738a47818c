//! The security issue's regressions, end to end: hostile customer ids through every id source of
//! every caller dialect to every upstream, the demo key, the breaker hearing only the upstream,
//! and what never leaves the gateway (non-JSON upstream text, inexact numbers, NUL).
//!
//! Expected upstream paths come from the vendors' documented routes (`docs/vendors/`), and the
//! expected encoding from RFC 3986 (every byte outside `unreserved` percent-encoded), written
//! here independently of the gateway's own encoder.

use std::time::Duration;

use dialectgate_gateway::Overrides;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{self, CALLER_KEY, DEMO_KEY, Upstream};

/// The base path of the upstream: nothing may reach outside it.
const BASE: &str = "/tenant-a/api";

/// Each upstream's documented route (docs/vendors/<id>.md#update; canonical
/// `PATCH /customers/{id}`).
/// MicroBase carries the id in the body.
const UPSTREAM_ROUTES: [(&str, &str); 6] = [
    ("canonical", "/customers/{id}"),
    ("elasticpath", "/v2/customers/{id}"),
    ("microbase", "/services/customer/v1/customer.update"),
    ("axim", "/customers/{id}"),
    ("medusa", "/admin/customers/{id}"),
    ("checkoutpage", "/v1/customers/{id}"),
];

/// RFC 3986 `unreserved`; everything else is percent-encoded (upper-case hex).
fn rfc3986_segment(id: &str) -> String {
    let mut out = String::new();
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` once, as a server reads a path segment or a query value.
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Whether the gateway must refuse `id` (decoded): empty, a dot segment, a control character,
/// longer than 128 bytes (the default limit).
fn must_refuse(id: &[u8]) -> bool {
    let Ok(id) = std::str::from_utf8(id) else {
        return true;
    };
    id.is_empty() || id == "." || id == ".." || id.len() > 128 || id.chars().any(char::is_control)
}

/// The hostile ids, as the caller writes them in a path segment or a query value (already
/// percent-encoded where a raw byte could not travel). In a JSON body the decoded form is sent.
fn hostile_segments() -> Vec<String> {
    vec![
        "..".into(),
        ".".into(),
        "%2e%2e".into(),
        "%2E".into(),
        "..%5C..%5C..%5C..%5Ctenant-b%5Capi%5Cadmin%5Cusers%5Cusr_01".into(),
        "a%5Cb".into(),
        "a%2Fb".into(),
        "%2F..%2F..%2Fadmin".into(),
        "a%3Fx%3D1".into(),
        "a%23frag".into(),
        "a%00b".into(),
        "a%0D%0AX-Injected:%201".into(),
        "cus_%C3%A9t%C3%A9".into(),
        "a%252e%252e".into(),
        "A".repeat(129),
        "B".repeat(64 * 1024),
    ]
}

/// One raw HTTP/1.1 request (no client-side normalisation of the path), `Connection: close`.
async fn raw(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = head.as_bytes().to_vec();
    req.extend_from_slice(body);
    // The gateway may answer and close before reading an oversized request: ignore write errors.
    let _ = stream.write_all(&req).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.as_bytes().to_vec())
        .unwrap_or_default();
    (status, body)
}

/// A caller of `dialect` sending its update with the id in the path segment `seg`.
fn path_request(dialect: &str, seg: &str, body: &[u8]) -> String {
    let c = harness::call(dialect, "ID", CALLER_KEY);
    let path = c.path.replace("ID", seg);
    format!(
        "{} {path} HTTP/1.1\r\nHost: gw.test\r\n{}: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        c.method,
        c.auth.0,
        c.auth.1,
        body.len()
    )
}

/// Whether the caller was refused: a 4xx, or MicroBase's `200 {"ok":false}`, or the connection
/// closed by the HTTP layer (status 0) for a request line too long to read.
fn refused(status: u16, body: &[u8]) -> bool {
    match status {
        0 | 400..=499 => true,
        200 => serde_json::from_slice::<Value>(body).is_ok_and(|b| b["ok"] == false),
        _ => false,
    }
}

/// Every hostile id, through every id source of every caller dialect, to every upstream: the
/// upstream either receives nothing (the id is refused) or exactly its route under the base
/// path, with the id as one RFC 3986 segment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_ids_never_leave_their_one_path_segment() {
    for (upstream_dialect, route) in UPSTREAM_ROUTES {
        let up = Upstream::start(|_| (404, "application/json", b"{}".to_vec())).await;
        let gw = harness::start(harness::config(
            Overrides {
                upstream: Some(format!("{}{BASE}", up.url())),
                upstream_dialect: Some(upstream_dialect.into()),
                ..Overrides::default()
            },
            &[("DIALECTGATE__UPSTREAM__BREAKER_FAILURES", "0")],
        ))
        .await;
        for seg in hostile_segments() {
            let id = percent_decode(&seg);
            let id_text = String::from_utf8_lossy(&id).into_owned();
            // (source, status, body)
            let mut sent = Vec::new();
            let in_path = harness::DIALECTS
                .iter()
                .copied()
                .filter(|d| harness::registry_dialect(d).route().id_in_body.is_none());
            for dialect in in_path {
                let body = serde_json::to_vec(&harness::simple_update(dialect, "x")).unwrap();
                let (status, rsp) = raw(gw.addr, &path_request(dialect, &seg, &body), &body).await;
                sent.push((format!("{dialect} path"), status, rsp));
            }
            // MicroBase: the id in the body (sent decoded, as JSON text) …
            let body = serde_json::to_vec(&harness::simple_update("microbase", &id_text)).unwrap();
            let (status, rsp) = raw(gw.addr, &path_request("microbase", "", &body), &body).await;
            sent.push(("microbase body".into(), status, rsp));
            // … and in the query, which wins over the body.
            let body = serde_json::to_vec(&harness::simple_update("microbase", "cus_ada")).unwrap();
            let head = path_request("microbase", "", &body).replacen(
                "customer.update ",
                &format!("customer.update?id={seg} "),
                1,
            );
            let (status, rsp) = raw(gw.addr, &head, &body).await;
            sent.push(("microbase query".into(), status, rsp));

            let seen = up.seen();
            let refuse = must_refuse(&id);
            for (source, status, rsp) in &sent {
                if refuse {
                    assert!(
                        refused(*status, rsp),
                        "{source} → {upstream_dialect}: id {seg:.80} must be refused, got {status} {}",
                        String::from_utf8_lossy(rsp)
                    );
                }
            }
            if refuse {
                assert!(
                    seen.is_empty(),
                    "→ {upstream_dialect}: id {seg:.80} reached the upstream: {:?}",
                    seen.iter().map(|r| &r.path).collect::<Vec<_>>()
                );
                continue;
            }
            assert_eq!(
                seen.len(),
                sent.len(),
                "→ {upstream_dialect}: id {seg:.80}: {sent:?}"
            );
            let want = format!("{BASE}{}", harness::fill_path(route, &rfc3986_segment(&id_text)));
            for r in &seen {
                assert_eq!(r.path, want, "→ {upstream_dialect}: id {seg:.80}");
                assert_eq!(r.query, None, "→ {upstream_dialect}: id {seg:.80}");
                if upstream_dialect == "microbase" {
                    assert_eq!(r.json()["id"], json!(id_text), "→ microbase: id {seg:.80}");
                }
            }
            up.clear();
        }
    }
}

/// A refused id is the caller's error in its own dialect: Medusa's `invalid_data` 400,
/// MicroBase's `200 ok:false validation_error` (docs/vendors/medusa.md#errors,
/// docs/vendors/microbase.md#errors).
#[tokio::test]
async fn a_refused_id_is_answered_in_the_callers_dialect() {
    let up = Upstream::start(|_| (200, "application/json", b"{}".to_vec())).await;
    let gw = harness::gateway_to(&up, "medusa").await;
    let body = br#"{"first_name":"Eve"}"#;
    let (status, rsp) = raw(gw.addr, &path_request("medusa", "%2e%2e", body), body).await;
    assert_eq!(status, 400);
    let rsp: Value = serde_json::from_slice(&rsp).unwrap();
    assert_eq!(rsp["type"], "invalid_data", "{rsp}");

    let long = "x".repeat(66_000);
    let body = serde_json::to_vec(&json!({"id": long, "firstName": "Eve", "lastName": "X"})).unwrap();
    let (status, rsp) = raw(gw.addr, &path_request("microbase", "", &body), &body).await;
    assert_eq!(status, 200);
    let rsp: Value = serde_json::from_slice(&rsp).unwrap();
    assert_eq!(rsp["ok"], false, "{rsp}");
    assert_eq!(rsp["error"], "validation_error", "{rsp}");
    assert!(
        !rsp.to_string().contains(&long[..200]),
        "the id is echoed: {rsp:.300}"
    );
    assert!(up.seen().is_empty());
}

/// The demo key opens the embedded backend, never a real upstream.
#[tokio::test]
async fn the_demo_key_opens_only_the_embedded_backend() {
    let embedded = harness::start(harness::config(Overrides::default(), &[])).await;
    let c = harness::call("medusa", "cus_ada", DEMO_KEY);
    let rsp = harness::client()
        .post(embedded.url(&c.path))
        .header(c.auth.0, &c.auth.1)
        .json(&json!({"first_name": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 200);

    let up = Upstream::start(|_| harness::customer_answer()).await;
    let gw = harness::gateway_to(&up, "canonical").await;
    let rsp = harness::client()
        .post(gw.url(&c.path))
        .header(c.auth.0, &c.auth.1)
        .json(&json!({"first_name": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 401);
    assert!(up.seen().is_empty(), "the demo key reached the upstream");
    let ok = harness::send(&gw, "medusa", "cus_ada", &json!({"first_name": "Ada"})).await;
    assert_eq!(ok.status, 200);
    assert_eq!(up.seen().len(), 1);
}

/// Requests the gateway refuses, and answers over the size limit, never open the breaker; a
/// failing upstream still does (so the test can fail).
#[tokio::test]
async fn the_breaker_hears_only_the_upstream() {
    let up = Upstream::start(|r| {
        if r.path.ends_with("/big") {
            (200, "application/json", vec![b' '; 8 * 1024])
        } else if r.path.ends_with("/fail") {
            (500, "application/json", b"{}".to_vec())
        } else {
            harness::customer_answer()
        }
    })
    .await;
    let gw = harness::start(harness::config(
        Overrides {
            upstream: Some(up.url()),
            ..Overrides::default()
        },
        &[
            ("DIALECTGATE__UPSTREAM__BREAKER_FAILURES", "2"),
            ("DIALECTGATE__UPSTREAM__BREAKER_COOLDOWN_MS", "60000"),
            ("DIALECTGATE__UPSTREAM__MAX_RESPONSE_BYTES", "4096"),
            ("DIALECTGATE__UPSTREAM__RETRIES", "0"),
        ],
    ))
    .await;
    let body = json!({"first_name": "Ada"});
    let medusa = |id: &'static str| harness::send(&gw, "medusa", id, &body);
    // Five ids the gateway cannot send: refused, nothing sent, breaker untouched.
    for _ in 0..5 {
        let body = serde_json::to_vec(&json!({"id": "y".repeat(66_000), "firstName": "E", "lastName": "X"}))
            .unwrap();
        let (status, _) = raw(gw.addr, &path_request("microbase", "", &body), &body).await;
        assert_eq!(status, 200);
    }
    // Five answers over the limit: 502 each, breaker untouched.
    for _ in 0..5 {
        assert_eq!(medusa("big").await.status, 502);
    }
    assert_eq!(up.seen().len(), 5);
    assert_eq!(
        medusa("cus_ada").await.status,
        200,
        "the breaker opened on the caller's doing"
    );
    // The control: two 5xx open it, and then the upstream is left alone.
    assert!(medusa("fail").await.status >= 500);
    assert!(medusa("fail").await.status >= 500);
    let before = up.seen().len();
    assert_eq!(medusa("cus_ada").await.status, 503);
    assert_eq!(
        up.seen().len(),
        before,
        "an open breaker still called the upstream"
    );
}

/// Text an upstream sends that is not JSON (a proxy's page, a stack trace) never reaches the
/// caller; the vendor's own JSON error message does, bounded.
#[tokio::test]
async fn non_json_upstream_text_never_reaches_the_caller() {
    const LEAK: &str = "db-primary.internal:5432 password authentication failed";
    for dialect in std::iter::once("canonical").chain(harness::DIALECTS.iter().copied()) {
        let up = Upstream::start(|_| (404, "text/plain", LEAK.as_bytes().to_vec())).await;
        let gw = harness::gateway_to(&up, dialect).await;
        // An id every upstream can write (BigCommerce's are integers).
        let rsp = harness::send_simple(&gw, "medusa", "1815").await;
        assert_eq!(rsp.status, 404, "{dialect}");
        let text = String::from_utf8_lossy(&rsp.body);
        assert!(!text.contains("db-primary"), "{dialect}: {text}");
        assert_eq!(up.seen().len(), 1, "{dialect}");
    }
}

/// Numbers that would change on the way, and NUL in strings: 400 in the caller's dialect,
/// nothing sent upstream.
#[tokio::test]
async fn inexact_numbers_and_nul_are_refused() {
    let up = Upstream::start(|_| harness::customer_answer()).await;
    let gw = harness::gateway_to(&up, "canonical").await;
    for body in [
        r#"{"metadata":{"n":18446744073709551616}}"#,
        r#"{"metadata":{"n":0.30000000000000000001}}"#,
        r#"{"first_name":"Ada\u0000Admin"}"#,
        r#"{"metadata":{"a\u0000":"x"}}"#,
    ] {
        let c = harness::call("medusa", "cus_ada", CALLER_KEY);
        let rsp = harness::client()
            .post(gw.url(&c.path))
            .header(c.auth.0, &c.auth.1)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(rsp.status(), 400, "{body}");
        let json: Value = rsp.json().await.unwrap();
        assert_eq!(json["type"], "invalid_data", "{body}: {json}");
    }
    assert!(up.seen().is_empty());
    // The largest exact integers and ordinary decimals pass unchanged.
    let rsp = harness::send(
        &gw,
        "medusa",
        "cus_ada",
        &json!({"metadata": {"big": 18446744073709551615_u64, "small": -9223372036854775808_i64, "d": 0.1}}),
    )
    .await;
    assert_eq!(rsp.status, 200);
    let sent = &up.seen()[0].body;
    let text = String::from_utf8_lossy(sent);
    assert!(
        text.contains("18446744073709551615")
            && text.contains("-9223372036854775808")
            && text.contains("0.1"),
        "{text}"
    );
}

const BIN: &str = env!("CARGO_BIN_EXE_dialectgate");

/// `check-config` in front of a real upstream: caller keys must come from a configured source,
/// never the demo key, and the upstream URL carries no credentials (nor are they echoed).
#[test]
fn a_real_upstream_needs_real_keys_and_a_url_without_credentials() {
    let check = |upstream: &str, keys: Option<&str>| {
        let mut cmd = std::process::Command::new(BIN);
        cmd.args(["check-config", "--upstream", upstream])
            .env("DIALECTGATE_UPSTREAM_TOKEN", "t")
            .env_remove("DIALECTGATE_KEYS");
        if let Some(keys) = keys {
            cmd.env("DIALECTGATE_KEYS", keys);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = check("http://127.0.0.1:1", None);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("DIALECTGATE_KEYS") && err.contains("demo"), "{err}");
    let (code, err) = check("http://127.0.0.1:1", Some("k1,dg_demo_key"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("public demo key"), "{err}");
    let (code, err) = check("http://admin:hunter2@127.0.0.1:1", Some("k1"));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("must not carry credentials") && !err.contains("hunter2"),
        "{err}"
    );
    let (code, err) = check("http://127.0.0.1:1/base", Some("k1"));
    assert_eq!(code, Some(0), "{err}");
}

/// The real binary in front of an unreachable upstream: the failure is logged without the
/// upstream URL (it holds the customer id, here an email) and the start-up line names where
/// the caller keys came from, with counts, never values.
#[tokio::test]
async fn logs_carry_no_customer_id_no_upstream_url_and_no_key() {
    // A port bound but not listening: connections are refused.
    let (_reserved, port) = harness::refused_port();
    let upstream = format!("http://127.0.0.1:{port}/tenant-a");
    let (mut child, addr, rx, listening) = crate::process::spawn_with(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "",
            "--upstream",
            &upstream,
            "--upstream-dialect",
            "medusa",
        ],
        &[
            ("DIALECTGATE_KEYS", "key-one-7f,key-two-9c"),
            ("DIALECTGATE_UPSTREAM_TOKEN", "up-secret-4d"),
        ],
    );
    let caller_keys = listening["caller_keys"].as_str().unwrap_or_default();
    assert!(
        caller_keys.contains("environment DIALECTGATE_KEYS: 2"),
        "{listening}"
    );
    assert!(!listening.to_string().contains("key-one"), "{listening}");
    let rsp = harness::client()
        .post(format!("http://{addr}/admin/customers/ada.lovelace@example.com"))
        .header("x-medusa-access-token", "key-one-7f")
        .json(&json!({"first_name": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 502);
    let _ = child.kill();
    let _ = child.wait();
    let mut lines = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
        lines.push(line);
    }
    assert!(
        lines.iter().any(|l| l.contains("Upstream call failed.")),
        "{lines:#?}"
    );
    for line in &lines {
        for secret in [
            "ada.lovelace",
            "tenant-a/admin",
            "key-one",
            "key-two",
            "up-secret",
        ] {
            assert!(!line.contains(secret), "{secret} in a log line: {line}");
        }
    }
}
