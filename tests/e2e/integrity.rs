//! What the gateway sends, logs and believes (issue #20, second round): the caller's
//! `Idempotency-Key` goes with the caller's write only, never with the gateway's own read; a path
//! no dialect serves reaches the access line redacted; an answer about another customer than the
//! one asked for is refused with 502 in the caller's dialect and counted.

use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use dialectgate_gateway::{CredentialMode, Overrides};
use serde_json::{Value, json};

use crate::harness::{self, CALLER_KEY, Recorded, Running, Upstream};
use crate::vendor_errors::{Kind, check};

/// AximCommerce's "get customer" answer for customer `id` (docs/vendors/axim.md#retrieve).
fn axim_customer(id: &str) -> Value {
    json!({
        "success": true,
        "data": {
            "id": id, "email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace",
            "phoneNumber": "+44 20 7946 0001", "status": "active",
            "createdAt": "2024-01-10T09:00:00Z", "updatedAt": "2024-01-10T09:00:00Z"
        }
    })
}

/// An Axim store answering about customer `answered(asked)`: GET the stored customer, PUT the
/// customer updated with what was sent (the update's message added).
fn axim_store(answered: fn(&str) -> String) -> impl Fn(&Recorded) -> harness::Reply {
    move |rec: &Recorded| {
        let asked = rec.path.rsplit('/').next().unwrap_or_default();
        let mut answer = axim_customer(&answered(asked));
        if rec.method == "PUT" {
            if let (Value::Object(data), Value::Object(sent)) = (&mut answer["data"], rec.json()) {
                data.extend(sent);
            }
            answer["message"] = json!("Customer updated successfully");
        }
        (200, "application/json", serde_json::to_vec(&answer).unwrap())
    }
}

async fn gateway_to(upstream: &Upstream, dialect: &str) -> Running {
    harness::start(harness::config(
        Overrides {
            upstream: Some(upstream.url()),
            upstream_dialect: Some(dialect.into()),
            credentials: Some(CredentialMode::Static),
            ..Overrides::default()
        },
        // Every refusal below is the upstream's fault: the breaker stays out of the way.
        &[("DIALECTGATE__UPSTREAM__BREAKER_FAILURES", "0")],
    ))
    .await
}

/// `dialectgate_upstream_errors_total{upstream, kind="id_mismatch"}`.
fn id_mismatches(gw: &Running, upstream: &str) -> f64 {
    harness::metric(
        &gw.metrics.render(),
        &format!("dialectgate_upstream_errors_total{{upstream=\"{upstream}\",kind=\"id_mismatch\"}}"),
    )
    .unwrap_or(0.0)
}

/// A Medusa caller's request (`x-medusa-access-token`).
async fn medusa(
    gw: &Running,
    method: &str,
    path: &str,
    body: Option<Value>,
    extra: &[(&str, &str)],
) -> harness::Answer {
    let mut req = harness::client()
        .request(method.parse().unwrap(), gw.url(path))
        .header("x-medusa-access-token", CALLER_KEY);
    if let Some(body) = body {
        req = req.json(&body);
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    harness::answer(req.send().await.unwrap()).await
}

#[tokio::test]
async fn the_gateways_read_carries_no_idempotency_key_and_the_callers_write_does() {
    let upstream = Upstream::start(axim_store(str::to_owned)).await;
    let gw = gateway_to(&upstream, "axim").await;
    // A phone alone: Axim needs firstName, lastName and email on every PUT, so the gateway
    // reads the stored customer first (docs/vendors/axim.md#semantics).
    let key = [("idempotency-key", "idem-7f3a")];
    let update = medusa(
        &gw,
        "POST",
        "/admin/customers/cus_ada",
        Some(json!({"phone": "+44 1"})),
        &key,
    )
    .await;
    assert_eq!(update.status, 200, "{}", String::from_utf8_lossy(&update.body));
    let seen = upstream.seen();
    assert_eq!(seen.len(), 2, "one read, one write");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("GET", "/customers/cus_ada")
    );
    assert_eq!(seen[0].header("idempotency-key"), None, "the gateway's own read");
    assert_eq!(seen[0].header("x-request-id"), seen[1].header("x-request-id"));
    assert_eq!(
        (seen[1].method.as_str(), seen[1].path.as_str()),
        ("PUT", "/customers/cus_ada")
    );
    assert_eq!(
        seen[1].header("idempotency-key"),
        Some("idem-7f3a"),
        "the caller's write"
    );

    // A caller's read is a read too: no key goes with it.
    upstream.clear();
    let read = medusa(&gw, "GET", "/admin/customers/cus_ada", None, &key).await;
    assert_eq!(read.status, 200, "{}", String::from_utf8_lossy(&read.body));
    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].header("idempotency-key"), None);
    gw.stop().await;
}

#[tokio::test]
async fn an_update_answered_about_another_customer_is_a_502_in_the_callers_dialect() {
    // A canonical upstream that answers every call with customer 1, `cus_ada`.
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let gw = gateway_to(&upstream, "canonical").await;
    // The control: asked about cus_ada, answered about cus_ada.
    let ok = harness::send_simple(&gw, "medusa", "cus_ada").await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(id_mismatches(&gw, "canonical"), 0.0);
    for (n, caller) in harness::DIALECTS.iter().enumerate() {
        // Another customer, as the caller can name it (BigCommerce's ids are integers).
        let other = if harness::registry_dialect(caller).route().writes_id("cus_grace") {
            "cus_grace"
        } else {
            "1815"
        };
        let answer = harness::send_simple(&gw, caller, other).await;
        check(
            caller,
            Kind::BadGateway,
            other,
            &answer,
            "an answer about cus_ada",
        );
        assert!(
            !String::from_utf8_lossy(&answer.body).contains("cus_ada"),
            "{caller}"
        );
        assert_eq!(id_mismatches(&gw, "canonical"), (n + 1) as f64, "{caller}");
    }
    gw.stop().await;
}

#[tokio::test]
async fn a_read_answered_about_another_customer_is_a_502_in_the_callers_dialect() {
    // An Axim upstream that answers every call with customer 1, `cus_ada`.
    let upstream = Upstream::start(axim_store(|_| "cus_ada".to_owned())).await;
    let gw = gateway_to(&upstream, "axim").await;
    let ok = medusa(&gw, "GET", "/admin/customers/cus_ada", None, &[]).await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(ok.json()["customer"]["id"], "cus_ada");
    // Reads at each vendor's retrieve route (docs/vendors/<id>.md#retrieve), for customer 2.
    let bearer = format!("Bearer {CALLER_KEY}");
    let reads = [
        (
            "medusa",
            "GET",
            "/admin/customers/cus_grace",
            None,
            ("x-medusa-access-token", CALLER_KEY.to_owned()),
        ),
        (
            "elasticpath",
            "GET",
            "/v2/customers/cus_grace",
            None,
            ("authorization", bearer.clone()),
        ),
        (
            "microbase",
            "POST",
            "/services/customer/v1/customer.info",
            Some(json!({"id": "cus_grace"})),
            ("authorization", bearer.clone()),
        ),
        (
            "checkoutpage",
            "GET",
            "/v1/customers/cus_grace",
            None,
            ("authorization", bearer.clone()),
        ),
    ];
    for (n, (caller, method, path, body, auth)) in reads.into_iter().enumerate() {
        let mut req = harness::client()
            .request(method.parse().unwrap(), gw.url(path))
            .header(auth.0, auth.1);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let answer = harness::answer(req.send().await.unwrap()).await;
        check(
            caller,
            Kind::BadGateway,
            "cus_grace",
            &answer,
            "a read answered about cus_ada",
        );
        assert_eq!(id_mismatches(&gw, "axim"), (n + 1) as f64, "{caller}");
    }
    // The read before a write: answered about another customer, nothing is written.
    upstream.clear();
    let update = medusa(
        &gw,
        "POST",
        "/admin/customers/cus_grace",
        Some(json!({"phone": "+44 1"})),
        &[],
    )
    .await;
    check(
        "medusa",
        Kind::BadGateway,
        "cus_grace",
        &update,
        "the stored read answered about cus_ada",
    );
    let seen = upstream.seen();
    assert_eq!(seen.len(), 1, "the read only: nothing written");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("GET", "/customers/cus_grace")
    );
    assert_eq!(id_mismatches(&gw, "axim"), 5.0);
    gw.stop().await;
}

/// Lines of `rx` until `n` access lines ("Request handled.") have come; fails after the
/// harness's event deadline.
fn lines_until_access_lines(rx: &Receiver<String>, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + harness::EVENT_DEADLINE;
    let mut lines = Vec::new();
    let access = |lines: &[Value]| {
        lines
            .iter()
            .filter(|l| l["message"] == "Request handled.")
            .count()
    };
    while access(&lines) < n {
        assert!(
            Instant::now() < deadline,
            "{n} access lines did not come: {lines:#?}"
        );
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            lines.push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")));
        }
    }
    lines
}

/// The real binary: unrouted paths (a sub-resource the vendor SDKs call, with an email for an
/// id) reach the access line as the literal prefix a route shares and `{…}`; an answer about
/// another customer is logged with hashes of both ids, never the ids.
#[tokio::test]
async fn logs_carry_neither_an_unrouted_paths_id_nor_a_mismatched_answers_ids() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let (mut child, addr, rx, _) = crate::process::spawn_with(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "",
            "--upstream",
            &upstream.url(),
        ],
        &[
            ("DIALECTGATE_KEYS", "key-one-7f"),
            ("DIALECTGATE_UPSTREAM_TOKEN", "up-secret-4d"),
        ],
    );
    let send = |method: &str, path: &str| {
        let req = harness::client()
            .request(method.parse().unwrap(), format!("http://{addr}{path}"))
            .header("x-medusa-access-token", "key-one-7f");
        if method == "POST" {
            req.json(&json!({"address_1": "1 Main St"})).send()
        } else {
            req.send()
        }
    };
    let long = format!("/admin/customers/victim{}/addresses", "x".repeat(4000));
    let unrouted = [
        "/admin/customers/victim.person@example.com/addresses",
        "/admin/customers/victim.person%40example.com/addresses/addr_victim",
        long.as_str(),
        "/v2/customers/victim-3f1c/relationships",
        "/victim.person@example.com",
    ];
    for path in unrouted {
        assert_eq!(send("POST", path).await.unwrap().status(), 404, "{path}");
    }
    let mismatch = send("GET", "/admin/customers/victim.person@example.com")
        .await
        .unwrap();
    assert_eq!(mismatch.status(), 502);
    let lines = lines_until_access_lines(&rx, unrouted.len() + 1);
    let _ = child.kill();
    let _ = child.wait();

    let paths: Vec<&str> = lines
        .iter()
        .filter(|l| l["message"] == "Request handled.")
        .map(|l| l["path"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        paths,
        [
            "/admin/customers/{…}",
            "/admin/customers/{…}",
            "/admin/customers/{…}",
            "/v2/customers/{…}",
            "/{…}",
            "/admin/customers/{id}",
        ]
    );
    let logged = lines
        .iter()
        .find(|l| l["message"] == "The upstream answered about another customer than the one asked for.")
        .unwrap_or_else(|| panic!("no id mismatch line: {lines:#?}"));
    let hash = |v: &Value| {
        let h = v.as_str().unwrap_or_default();
        assert!(
            h.len() == 14 && h.starts_with("h:") && h[2..].bytes().all(|b| b.is_ascii_hexdigit()),
            "{logged}"
        );
        h.to_owned()
    };
    assert_ne!(hash(&logged["asked"]), hash(&logged["answered"]), "{logged}");
    assert_eq!(logged["upstream"], "canonical");
    for line in &lines {
        let text = line.to_string();
        for id in ["victim", "example.com", "cus_ada", "addr_"] {
            assert!(!text.contains(id), "{id} in a log line: {text}");
        }
    }
}
