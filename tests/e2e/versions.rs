//! Version-checked writes through a commercetools upstream (a real loopback server speaking the
//! vendor's bodies, from docs/vendors/commercetools.md): the gateway writes with the version it
//! read; a 409 `ConcurrentModification` makes it read again and retry, at most
//! `translation.conflict_retries` times, then the caller gets its own dialect's conflict. A
//! caller's own version is never retried. And commercetools' token endpoint with HTTP Basic
//! client authentication.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dialectgate_gateway::Overrides;
use serde_json::{Value, json};

use crate::harness::{self, CALLER_KEY, Recorded, Running, Upstream};

/// The 409 the vendor's spec gives as its example (docs/vendors/commercetools.md#errors).
const CONFLICT: &str = r#"{"statusCode": 409, "message": "Version mismatch. Concurrent modification.", "errors": [{"code": "ConcurrentModification", "message": "Version mismatch. Concurrent modification."}]}"#;

/// The spec's example Customer (docs/vendors/commercetools.md#retrieve), about `id`, at `version`.
fn customer(id: &str, version: u64) -> Vec<u8> {
    let mut doc = harness::fixture("commercetools", "response.vendor-example.json", &[]);
    doc["id"] = id.into();
    doc["version"] = version.into();
    serde_json::to_vec(&doc).unwrap()
}

/// A commercetools server holding `cus_ada` at a version that `writer` may raise: a read answers
/// the current version; a write is answered by `write` (given the version it carried and the
/// one held).
fn commercetools(
    held: Arc<AtomicU64>,
    write: impl Fn(u64, u64) -> (u16, Vec<u8>) + Send + Sync + 'static,
) -> impl Fn(&Recorded) -> harness::Reply + Send + Sync + 'static {
    move |r: &Recorded| {
        let now = held.load(Ordering::SeqCst);
        if r.method == "GET" {
            return (200, "application/json", customer("cus_ada", now));
        }
        let sent = r.json()["version"].as_u64().unwrap_or(u64::MAX);
        let (status, body) = write(sent, now);
        (status, "application/json", body)
    }
}

async fn gateway(upstream: &Upstream, extra: &[(&str, &str)]) -> Running {
    harness::start(harness::config(
        Overrides {
            upstream: Some(upstream.url()),
            upstream_dialect: Some("commercetools".into()),
            ..Overrides::default()
        },
        extra,
    ))
    .await
}

fn methods_and_versions(seen: &[Recorded]) -> Vec<(String, Option<u64>)> {
    seen.iter()
        .map(|r| {
            let version = (r.method == "POST")
                .then(|| r.json()["version"].as_u64())
                .flatten();
            (r.method.clone(), version)
        })
        .collect()
}

#[tokio::test]
async fn a_conflict_on_the_version_the_gateway_read_is_read_again_and_retried() {
    let held = Arc::new(AtomicU64::new(1));
    let writes = Arc::new(AtomicU64::new(0));
    let (h, w) = (held.clone(), writes.clone());
    let upstream = Upstream::start(commercetools(held.clone(), move |sent, now| {
        // The first write loses a race: another client wrote version 2 meanwhile.
        if w.fetch_add(1, Ordering::SeqCst) == 0 {
            h.store(2, Ordering::SeqCst);
            return (409, CONFLICT.as_bytes().to_vec());
        }
        if sent != now {
            return (409, CONFLICT.as_bytes().to_vec());
        }
        h.store(now + 1, Ordering::SeqCst);
        (200, customer("cus_ada", now + 1))
    }))
    .await;
    let gw = gateway(&upstream, &[]).await;
    let answer = harness::send(&gw, "medusa", "cus_ada", &json!({"first_name": "Ada"})).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(
        methods_and_versions(&upstream.seen()),
        [
            ("GET".to_owned(), None),
            ("POST".to_owned(), Some(1)),
            ("GET".to_owned(), None),
            ("POST".to_owned(), Some(2)),
        ],
        "the retry re-reads and carries the new version"
    );
    let last = upstream.seen().pop().unwrap().json();
    assert_eq!(
        last["actions"],
        json!([{"action": "setFirstName", "firstName": "Ada"}])
    );
    assert!(
        answer
            .header("x-dialectgate-fidelity")
            .is_some_and(|h| h.contains("/version(required_on_write)")),
        "{:?}",
        answer.header("x-dialectgate-fidelity")
    );
    gw.stop().await;
}

#[tokio::test]
async fn a_write_that_always_conflicts_answers_the_callers_conflict_after_the_retries() {
    for (retries, env) in [(2, None), (0, Some("0")), (3, Some("3"))] {
        let held = Arc::new(AtomicU64::new(4));
        let upstream = Upstream::start(commercetools(held, |_, _| (409, CONFLICT.as_bytes().to_vec()))).await;
        let extra: Vec<(&str, &str)> = env
            .map(|n| vec![("DIALECTGATE__TRANSLATION__CONFLICT_RETRIES", n)])
            .unwrap_or_default();
        let gw = gateway(&upstream, &extra).await;
        let answer = harness::send(&gw, "medusa", "cus_ada", &json!({"first_name": "Ada"})).await;
        // Medusa's conflict (docs/vendors/medusa.md#errors): 409, type "conflict".
        assert_eq!(answer.status, 409, "{}", String::from_utf8_lossy(&answer.body));
        assert_eq!(answer.json()["type"], "conflict");
        let seen = upstream.seen();
        let posts = seen.iter().filter(|r| r.method == "POST").count();
        let gets = seen.iter().filter(|r| r.method == "GET").count();
        assert_eq!(posts, retries + 1, "conflict_retries = {retries}");
        assert_eq!(gets, retries + 1, "one read before each write");
        gw.stop().await;
    }
}

#[tokio::test]
async fn a_callers_own_version_gets_the_upstreams_conflict_without_a_retry() {
    let held = Arc::new(AtomicU64::new(9));
    let upstream = Upstream::start(commercetools(held, |sent, now| {
        if sent == now {
            (200, customer("cus_ada", now + 1))
        } else {
            (409, CONFLICT.as_bytes().to_vec())
        }
    }))
    .await;
    let gw = gateway(&upstream, &[]).await;
    let body = json!({"version": 3, "actions": [{"action": "setFirstName", "firstName": "John"}]});
    let answer = harness::send(&gw, "commercetools", "cus_ada", &body).await;
    assert_eq!(answer.status, 409, "{}", String::from_utf8_lossy(&answer.body));
    let got = answer.json();
    assert_eq!(got["statusCode"], 409);
    assert_eq!(got["errors"][0]["code"], "ConcurrentModification");
    assert_eq!(
        methods_and_versions(&upstream.seen()),
        [("POST".to_owned(), Some(3))],
        "the caller's version goes as it is, once, without a read"
    );
    gw.stop().await;
}

#[tokio::test]
async fn a_version_towards_an_upstream_without_versions_is_unchecked_and_never_sent() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let gw = harness::gateway_to(&upstream, "canonical").await;
    // The canonical upstream carries versions: it gets the caller's.
    let body = json!({"version": 3, "actions": [{"action": "changeEmail", "email": "email@example.com"}]});
    let answer = harness::send(&gw, "commercetools", "cus_ada", &body).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(upstream.seen()[0].json()["version"], "3");
    gw.stop().await;

    let medusa = Upstream::start(|r: &Recorded| {
        let _ = r;
        (
            200,
            "application/json",
            serde_json::to_vec(&json!({"customer": {"id": "cus_ada", "email": "email@example.com"}}))
                .unwrap(),
        )
    })
    .await;
    let gw = harness::gateway_to(&medusa, "medusa").await;
    let answer = harness::send(&gw, "commercetools", "cus_ada", &body).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let sent = medusa.seen()[0].json();
    assert_eq!(
        sent,
        json!({"email": "email@example.com"}),
        "no version, no bag key"
    );
    assert_eq!(
        answer.header("x-dialectgate-fidelity"),
        Some("unchecked=/version")
    );
    // No version is kept there: the answer says 0 (a decision, docs/vendors/commercetools.md).
    assert_eq!(answer.json()["version"], 0);
    gw.stop().await;
}

/// Asks commercetools' token endpoint as `@commercetools/ts-client` does: `Authorization: Basic
/// base64(id:secret)`, `grant_type=client_credentials&scope=…` in a form body.
async fn ask_basic(gw: &Running, authorization: Option<&str>, form: &str) -> (u16, Value) {
    let mut req = harness::client()
        .post(gw.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned());
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let rsp = req.send().await.unwrap();
    let status = rsp.status().as_u16();
    let text = rsp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn basic(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

#[tokio::test]
async fn the_token_endpoint_takes_http_basic_client_credentials() {
    let gw = harness::start(harness::config(Overrides::default(), &[])).await;
    let good = basic("ct-client", CALLER_KEY);
    let (status, body) = ask_basic(
        &gw,
        Some(&good),
        "grant_type=client_credentials&scope=manage_customers:demo view_customers:demo",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "manage_customers:demo view_customers:demo");
    assert!(body["expires_in"].as_u64().is_some_and(|s| s > 0), "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert!(!token.contains(CALLER_KEY));
    // The token works for a commercetools read (GET /{projectKey}/customers/{ID}).
    let rsp = harness::client()
        .get(gw.url(&harness::fill_path("/{projectKey}/customers/{id}", "cus_ada")))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    let read = harness::answer(rsp).await;
    assert_eq!(read.status, 200, "{}", String::from_utf8_lossy(&read.body));
    assert_eq!(read.json()["id"], "cus_ada");

    // No scope: the member is left out.
    let (status, body) = ask_basic(&gw, Some(&good), "grant_type=client_credentials").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("scope").is_none(), "{body}");

    // A wrong secret, no credentials, another scheme: commercetools' 401 (docs/vendors/commercetools.md#errors).
    for auth in [
        Some(basic("ct-client", "wrong-secret")),
        None,
        Some(format!("Bearer {CALLER_KEY}")),
        Some("Basic not-base64!".to_owned()),
    ] {
        let (status, body) = ask_basic(&gw, auth.as_deref(), "grant_type=client_credentials").await;
        assert_eq!(status, 401, "{auth:?}: {body}");
        assert_eq!(body["statusCode"], 401);
        assert_eq!(body["error"], "invalid_token");
        assert_eq!(body["errors"][0]["code"], "invalid_token");
        assert!(!body.to_string().contains("wrong-secret"));
    }
    // Credentials in the form as well as in the header: one method only (RFC 6749 §2.3).
    let (status, body) = ask_basic(
        &gw,
        Some(&good),
        &format!("grant_type=client_credentials&client_secret={CALLER_KEY}"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["code"], "InvalidJsonInput");
    // The grant in the query, as the vendor's API description models it.
    let rsp = harness::client()
        .post(gw.url("/oauth/token?grant_type=client_credentials"))
        .header("authorization", &good)
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status().as_u16(), 200);
    gw.stop().await;
}
