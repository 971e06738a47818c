//! What the README promises and no other test pins: HTTP/2 (h2c), half-close and disconnects,
//! the working-slot 503, the grace period running out, readiness, the store across a reload, the
//! upstream metrics, both extra credential forms, passthrough, lenient mode after a reload.
//! Every wait is on an event (a request arriving, a gauge, a port closing), bounded only by
//! [`harness::EVENT_DEADLINE`].

use dialectgate_gateway::{CredentialMode, Overrides};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{self, EVENT_DEADLINE, Upstream};

/// An Elastic Path upstream's answer for `cus_ada`.
fn ep_answer() -> harness::Reply {
    (
        200,
        "application/json",
        serde_json::to_vec(
            &json!({"data": {"type": "customer", "id": "cus_ada", "name": "Ada King", "email": "a@b.c"}}),
        )
        .unwrap(),
    )
}

/// Sends `body` as a caller of `dialect` with `client` and the credential header `auth`.
async fn send_via(
    client: &reqwest::Client,
    gw: &harness::Running,
    dialect: &str,
    auth: (&str, &str),
    extra: &[(&str, &str)],
) -> (reqwest::Version, harness::Answer) {
    let c = harness::call(dialect, "cus_ada", harness::CALLER_KEY);
    let mut req = client
        .request(c.method.parse().unwrap(), gw.url(&c.path))
        .header("content-type", "application/json")
        .header(auth.0, auth.1)
        .body(serde_json::to_vec(&harness::simple_update(dialect, "cus_ada")).unwrap());
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let rsp = req.send().await.unwrap();
    (rsp.version(), harness::answer(rsp).await)
}

/// The metric line `name_and_labels`'s value.

#[tokio::test]
async fn http2_prior_knowledge_gets_the_same_answers_as_http1() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let gw = harness::gateway_to(&upstream, "canonical").await;
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    let h1 = reqwest::Client::builder().http1_only().build().unwrap();
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    // The callers that can name `cus_ada` (BigCommerce's ids are integers: its own tests cover
    // it, tests/e2e/bigcommerce.rs).
    let callers = harness::DIALECTS
        .iter()
        .copied()
        .filter(|d| harness::registry_dialect(d).route().writes_id("cus_ada"));
    for dialect in callers {
        let c = harness::call(dialect, "cus_ada", harness::CALLER_KEY);
        let auth = (c.auth.0, c.auth.1.as_str());
        for (key, expected) in [(harness::CALLER_KEY, 200), ("not-a-key-of-ours", 401)] {
            let auth = if key == harness::CALLER_KEY {
                auth
            } else {
                (c.auth.0, "Bearer not-a-key-of-ours")
            };
            upstream.clear();
            let (v1, one) = send_via(&h1, &gw, dialect, auth, &[]).await;
            let sent_h1 = upstream.seen();
            upstream.clear();
            let (v2, two) = send_via(&h2, &gw, dialect, auth, &[]).await;
            let sent_h2 = upstream.seen();
            assert_eq!(v1, reqwest::Version::HTTP_11);
            assert_eq!(v2, reqwest::Version::HTTP_2, "{dialect}: not served over HTTP/2");
            assert_eq!(
                one.status,
                expected,
                "{dialect}: {}",
                String::from_utf8_lossy(&one.body)
            );
            assert_eq!(two.status, one.status, "{dialect}");
            assert_eq!(
                two.header("content-type"),
                one.header("content-type"),
                "{dialect}"
            );
            assert_eq!(
                String::from_utf8_lossy(&two.body),
                String::from_utf8_lossy(&one.body),
                "{dialect}"
            );
            assert_eq!(sent_h1.len(), usize::from(expected == 200), "{dialect}");
            assert_eq!(sent_h2.len(), sent_h1.len(), "{dialect}");
            for (a, b) in sent_h1.iter().zip(&sent_h2) {
                assert_eq!(a.json(), b.json(), "{dialect}");
                assert_eq!((&a.method, &a.path), (&b.method, &b.path), "{dialect}");
            }
        }
    }
}

/// A raw HTTP/1.1 update of `cus_ada` by a Medusa caller.
fn raw_update() -> Vec<u8> {
    let body = json!({"phone": "1"}).to_string();
    format!(
        "POST /admin/customers/cus_ada HTTP/1.1\r\nHost: gw\r\nx-medusa-access-token: {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        harness::CALLER_KEY,
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn a_client_that_half_closes_after_sending_still_gets_its_answer() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let gw = harness::gateway_to(&upstream, "canonical").await;
    let mut stream = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    stream.write_all(&raw_update()).await.unwrap();
    stream.shutdown().await.unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(EVENT_DEADLINE, stream.read_to_end(&mut got))
        .await
        .expect("the answer came")
        .unwrap();
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("\"customer\""), "{text}");
    assert_eq!(upstream.seen().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_that_disconnect_mid_request_neither_crash_nor_wedge_the_gateway() {
    let upstream = Upstream::start_held(|_| harness::customer_answer()).await;
    let gw = harness::gateway_to(&upstream, "canonical").await;

    // Leaves half-way through the body.
    let mut stream = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let request = raw_update();
    stream.write_all(&request[..request.len() - 4]).await.unwrap();
    gw.wait_in_flight(1).await;
    drop(stream);
    gw.wait_in_flight(0).await;
    assert!(upstream.seen().is_empty(), "a partial body was forwarded");

    // Leaves while its request is at the upstream: the request runs to its end.
    let mut stream = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    stream.write_all(&request).await.unwrap();
    upstream.wait_for(1).await;
    drop(stream);
    upstream.release();
    gw.wait_in_flight(0).await;

    // Still serving, and nothing left behind: it drains at once.
    let answer = harness::send(&gw, "medusa", "cus_ada", &json!({"phone": "2"})).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(upstream.seen().len(), 2);
    assert!(tokio::time::timeout(EVENT_DEADLINE, gw.stop()).await.unwrap());
}

// The held request keeps the only working slot across a reload that shortens the upstream
// timeout (the working wait's bound): the next request waits that long and gets 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_working_slot_freeing_in_time_gives_503_with_retry_after() {
    let upstream = Upstream::start_held(|_| harness::customer_answer()).await;
    let url = upstream.url();
    let file = harness::config_file("working503", |t| {
        t.replace("url = \"\"", &format!("url = \"{url}\""))
            .replace("max_working = 128", "max_working = 1")
    });
    let gw = std::sync::Arc::new(harness::start_reloadable(file.clone(), vec![]).await);
    let first = {
        let gw = gw.clone();
        tokio::spawn(async move { harness::send(&gw, "medusa", "cus_ada", &json!({"phone": "1"})).await })
    };
    upstream.wait_for(1).await;
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("timeout_ms = 15000", "timeout_ms = 300")).unwrap();
    let (status, body) = harness::reload(&gw).await;
    assert_eq!(status, 200, "{body}");

    let second = harness::send_simple(&gw, "elasticpath", "cus_ada").await;
    assert_eq!(second.status, 503, "{}", String::from_utf8_lossy(&second.body));
    assert_eq!(second.header("retry-after"), Some("1"));
    assert_eq!(second.json()["errors"][0]["status"], 503);
    assert_eq!(
        upstream.seen().len(),
        1,
        "the waiting request reached the upstream"
    );
    assert!(!first.is_finished());

    upstream.release();
    assert_eq!(first.await.unwrap().status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_stops_when_the_grace_period_runs_out_and_reports_not_drained() {
    let upstream = Upstream::start_held(|_| harness::customer_answer()).await;
    let gw = harness::start(harness::config(
        Overrides {
            upstream: Some(upstream.url()),
            ..Overrides::default()
        },
        &[("DIALECTGATE__SERVER__GRACE_PERIOD_MS", "200")],
    ))
    .await;
    let addr = gw.addr;
    let held = harness::send_in_background(&gw);
    upstream.wait_for(1).await;
    let drained = tokio::time::timeout(EVENT_DEADLINE, gw.stop())
        .await
        .expect("the server stopped once the grace period was over");
    assert!(!drained, "reported drained with a request still held");
    harness::wait_until_refused(addr).await;
    // The request still held at the upstream is cut off: its connection is closed, it gets no
    // answer later (the upstream is never released before this).
    let cut = tokio::time::timeout(EVENT_DEADLINE, held).await.unwrap().unwrap();
    assert!(
        cut.is_err(),
        "the held request was answered after the grace period: {cut:?}"
    );
    upstream.release();
}

#[tokio::test]
async fn readiness_follows_the_upstream() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let url = upstream.url();
    let file = harness::config_file("ready", |t| t.replace("url = \"\"", &format!("url = \"{url}\"")));
    let gw = harness::start_reloadable(file, vec![]).await;
    let (status, body) = harness::admin_get(&gw, "/readyz").await;
    assert_eq!(status, 200, "{body}");

    // The same upstream gone: not ready.
    let port = upstream.addr.port();
    drop(upstream);
    let (_reserved, gone) = harness::refused_port();
    assert_ne!(gone, port);
    let file = harness::config_file("unready2", |t| {
        t.replace("url = \"\"", &format!("url = \"http://127.0.0.1:{gone}\""))
    });
    let gw = harness::start_reloadable(file, vec![]).await;
    let (status, body) = harness::admin_get(&gw, "/readyz").await;
    assert_eq!(status, 503, "{body}");
}

#[tokio::test]
async fn the_embedded_store_survives_a_reload() {
    let file = harness::config_file("store", |t| t);
    let gw = harness::start_reloadable(file, vec![]).await;
    let before = harness::send(&gw, "medusa", "cus_alan", &json!({"phone": "0"})).await;
    assert_eq!(before.status, 200);
    assert_ne!(before.json()["customer"]["email"], "turing.moved@example.com");
    let set = harness::send(
        &gw,
        "medusa",
        "cus_alan",
        &json!({"email": "turing.moved@example.com"}),
    )
    .await;
    assert_eq!(set.status, 200, "{}", String::from_utf8_lossy(&set.body));
    let (status, body) = harness::reload(&gw).await;
    assert_eq!(status, 200, "{body}");
    let after = harness::send(&gw, "medusa", "cus_alan", &json!({"phone": "5"})).await;
    assert_eq!(after.status, 200);
    let customer = &after.json()["customer"];
    assert_eq!(customer["email"], "turing.moved@example.com", "{customer}");
    assert_eq!(customer["phone"], "5", "{customer}");
}

#[tokio::test]
async fn upstream_errors_and_durations_are_in_the_metrics() {
    let upstream = Upstream::start(|rec| {
        if rec.path.contains("cus_fail") {
            (500, "application/json", b"{}".to_vec())
        } else {
            harness::customer_answer()
        }
    })
    .await;
    let gw = harness::gateway_to(&upstream, "canonical").await;
    assert_eq!(
        harness::send(&gw, "medusa", "cus_ada", &json!({"phone": "1"}))
            .await
            .status,
        200
    );
    let failed = harness::send(&gw, "medusa", "cus_fail", &json!({"phone": "1"})).await;
    assert!(failed.status >= 500, "{}", failed.status);
    let text = gw.metrics.render();
    assert_eq!(
        harness::metric(
            &text,
            r#"dialectgate_upstream_errors_total{upstream="canonical",kind="5xx"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        harness::metric(
            &text,
            r#"dialectgate_upstream_duration_seconds_count{upstream="canonical"}"#
        ),
        Some(2.0),
        "{text}"
    );

    // Nobody listening: a connect error.
    let (_reserved, port) = harness::refused_port();
    let gw = harness::start(harness::config(
        Overrides {
            upstream: Some(format!("http://127.0.0.1:{port}")),
            ..Overrides::default()
        },
        &[],
    ))
    .await;
    assert_eq!(
        harness::send(&gw, "medusa", "cus_ada", &json!({"phone": "1"}))
            .await
            .status,
        502
    );
    let text = gw.metrics.render();
    assert!(
        harness::metric(
            &text,
            r#"dialectgate_upstream_errors_total{upstream="canonical",kind="connect"}"#
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
}

#[tokio::test]
async fn axim_bearer_access_token_and_medusa_authorization_bearer_are_accepted() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let gw = harness::gateway_to(&upstream, "canonical").await;
    let client = harness::client();
    let good = format!("Bearer {}", harness::CALLER_KEY);
    for (dialect, header) in [("axim", "accessToken"), ("medusa", "authorization")] {
        upstream.clear();
        let (_, ok) = send_via(&client, &gw, dialect, (header, &good), &[]).await;
        assert_eq!(ok.status, 200, "{dialect}: {}", String::from_utf8_lossy(&ok.body));
        let seen = upstream.seen();
        assert_eq!(seen.len(), 1, "{dialect}");
        // The gateway's own credential goes upstream, never the caller's.
        let sent = format!("{:?}", seen[0].headers);
        assert!(sent.contains(harness::UPSTREAM_TOKEN), "{dialect}: {sent}");
        assert!(!sent.contains(harness::CALLER_KEY), "{dialect}: {sent}");

        upstream.clear();
        let (_, refused) = send_via(&client, &gw, dialect, (header, "Bearer dg_wrong_key_123"), &[]).await;
        assert_eq!(refused.status, 401, "{dialect}");
        assert!(upstream.seen().is_empty(), "{dialect}");
    }
}

#[tokio::test]
async fn passthrough_sends_the_callers_credential_in_the_upstreams_header() {
    let upstream = Upstream::start(|_| ep_answer()).await;
    let gw = harness::start(harness::config(
        Overrides {
            upstream: Some(upstream.url()),
            upstream_dialect: Some("elasticpath".into()),
            credentials: Some(CredentialMode::Passthrough),
            ..Overrides::default()
        },
        &[],
    ))
    .await;
    let client = harness::client();

    // Axim's bare accessToken becomes Elastic Path's Authorization: Bearer.
    let (_, ok) = send_via(&client, &gw, "axim", ("accessToken", "vendor-tok-axim"), &[]).await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    let seen = upstream.seen();
    assert_eq!(seen[0].header("authorization"), Some("Bearer vendor-tok-axim"));
    assert_eq!(seen[0].header("accesstoken"), None);

    // An Elastic Path caller's customer token goes on to an Elastic Path upstream…
    upstream.clear();
    let (_, ok) = send_via(
        &client,
        &gw,
        "elasticpath",
        ("authorization", "Bearer vendor-tok-ep"),
        &[("x-moltin-customer-token", "cust-tok-4e1")],
    )
    .await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    let seen = upstream.seen();
    assert_eq!(seen[0].header("authorization"), Some("Bearer vendor-tok-ep"));
    assert_eq!(seen[0].header("x-moltin-customer-token"), Some("cust-tok-4e1"));

    // …but not from a caller of another dialect.
    upstream.clear();
    let (_, ok) = send_via(
        &client,
        &gw,
        "medusa",
        ("x-medusa-access-token", "vendor-tok-md"),
        &[("x-moltin-customer-token", "cust-tok-4e1")],
    )
    .await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    let seen = upstream.seen();
    assert_eq!(seen[0].header("authorization"), Some("Bearer vendor-tok-md"));
    assert_eq!(seen[0].header("x-moltin-customer-token"), None);
}

#[tokio::test]
async fn lenient_mode_after_a_reload_reports_the_loss() {
    let upstream = Upstream::start(|_| ep_answer()).await;
    let url = upstream.url();
    let file = harness::config_file("lenient", |t| {
        t.replace("url = \"\"", &format!("url = \"{url}\""))
            .replace("dialect = \"canonical\"", "dialect = \"elasticpath\"")
    });
    let gw = harness::start_reloadable(file.clone(), vec![]).await;
    let lossy: Value = json!({"id": "cus_ada", "firstName": "Ada", "lastName": "King", "tags": ["vip"]});
    // Strict: refused (MicroBase says so with 200 + ok:false), nothing sent.
    let refused = harness::send(&gw, "microbase", "cus_ada", &lossy).await;
    assert_eq!(refused.json()["ok"], false, "{}", refused.json());
    assert_eq!(refused.header("x-dialectgate-fidelity"), None);
    assert!(upstream.seen().is_empty());

    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("mode = \"strict\"", "mode = \"lenient\"")).unwrap();
    let (status, body) = harness::reload(&gw).await;
    assert_eq!(status, 200, "{body}");

    let answer = harness::send(&gw, "microbase", "cus_ada", &lossy).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.json()["ok"], true, "{}", answer.json());
    assert_eq!(
        answer.header("x-dialectgate-fidelity"),
        Some("derived=/data/name<-/firstName+/lastName; dropped=/tags(lossy)")
    );
    assert_eq!(upstream.seen().len(), 1);
}
