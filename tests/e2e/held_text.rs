//! A large metadata bag held as the caller's text (`crates/dialect/src/held.rs`): a Medusa caller's
//! bag reaches a canonical or Medusa upstream as the very text the caller wrote (a tree would
//! have rewritten `2.50` as `2.5` and `\u00e9` as `é`), the embedded backend stores it, and
//! everything the whole tree would refuse or change is refused or changed the same way.

use dialectgate_gateway::Overrides;
use serde_json::{Value, json};

use crate::harness::{self, CALLER_KEY, Running, Upstream};

/// A Medusa bag of about 40 KiB (over the smallest held, 16 KiB), written as a client might:
/// spaces, escapes, numbers in several notations, nesting.
fn bag_text() -> String {
    let items: Vec<String> = (0..400)
        .map(|i| format!(r#"{{"sku": "caf\u00e9-{i}", "qty": 2.50, "w": 1e2, "tags": ["a", "b\"c"], "n": {{"deep": true}}}}"#))
        .collect();
    format!(
        r#"{{"source": "import", "lines": [{}], "none": {{"x": null, "y": ""}}}}"#,
        items.join(", ")
    )
}

/// `body` as Medusa's client sends it, as text, for customer `id`.
fn text_request(gw: &Running, id: &str, body: String) -> reqwest::RequestBuilder {
    let c = harness::call("medusa", id, CALLER_KEY);
    harness::client()
        .request(c.method.parse().unwrap(), gw.url(&c.path))
        .header("content-type", "application/json")
        .header(c.auth.0, c.auth.1)
        .body(body)
}

/// Sends `body` as Medusa's client does, as text.
async fn send_text(gw: &Running, id: &str, body: String) -> harness::Answer {
    harness::answer(text_request(gw, id, body).send().await.unwrap()).await
}

/// A gateway in front of `upstream`, which speaks the canonical form.
async fn canonical_gateway(upstream: &Upstream) -> Running {
    harness::start(harness::config(
        Overrides {
            upstream: Some(upstream.url()),
            upstream_dialect: Some("canonical".into()),
            ..Overrides::default()
        },
        &[],
    ))
    .await
}

#[tokio::test]
async fn a_large_bag_reaches_a_canonical_or_medusa_upstream_as_the_callers_own_text() {
    let bag = bag_text();
    assert!(bag.len() > 32 * 1024);
    let body = format!(r#"{{"first_name": "Ada", "metadata": {bag}}}"#);
    let expected_bag: Value = serde_json::from_str(&bag).unwrap();
    for dialect in ["canonical", "medusa"] {
        // Each upstream answers in its own terms (Medusa: its documented example).
        let (id, answer) = match dialect {
            "canonical" => ("cus_ada", harness::customer_answer().2),
            _ => {
                let example = harness::fixture(dialect, "response.vendor-example.json", &[]);
                (
                    "cus_01G2SG30J8C85S4A5CHM2S1NS2",
                    serde_json::to_vec(&example).unwrap(),
                )
            }
        };
        let upstream = Upstream::start(move |_| (200, "application/json", answer.clone())).await;
        let gw = if dialect == "canonical" {
            canonical_gateway(&upstream).await
        } else {
            harness::gateway_to(&upstream, dialect).await
        };
        let answer = send_text(&gw, id, body.clone()).await;
        assert!(
            answer.status < 300,
            "{dialect}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        let seen = upstream.seen();
        assert_eq!(seen.len(), 1, "{dialect}");
        let sent = String::from_utf8(seen[0].body.clone()).unwrap();
        assert!(
            sent.contains(&format!(r#""metadata":{bag}"#)),
            "{dialect}: the caller's own text"
        );
        let sent = seen[0].json();
        // The canonical patch and Medusa's update both carry metadata as the caller sent it
        // (docs/vendors/medusa.md: `@IsObject()`, merged into the stored metadata as given).
        assert_eq!(sent["metadata"], expected_bag, "{dialect}");
        // The first name: Medusa's `first_name`, the canonical `name.given`.
        let first = if dialect == "canonical" {
            &sent["name"]["given"]
        } else {
            &sent["first_name"]
        };
        assert_eq!(first, "Ada", "{dialect}");
        gw.stop().await;
    }
}

#[tokio::test]
async fn what_the_whole_tree_refuses_or_changes_is_refused_or_changed_the_same_way() {
    let upstream = Upstream::start(|_| harness::customer_answer()).await;
    let gw = canonical_gateway(&upstream).await;
    let bag = bag_text();
    // A repeated name deep inside: Medusa's 400, as for a small body, nothing sent.
    let repeated = bag.replacen(r#""deep": true"#, r#""deep": true, "deep": false"#, 1);
    let answer = send_text(&gw, "cus_ada", format!(r#"{{"metadata": {repeated}}}"#)).await;
    assert_eq!(answer.status, 400, "{}", String::from_utf8_lossy(&answer.body));
    let message = answer.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("duplicate key `deep`"), "{message}");
    // A name in the gateway's reserved prefix at the top of the bag: refused as Medusa's
    // validation error naming it, as for a small body.
    let reserved = bag.replacen('{', r#"{"dialectgate:x": 1, "#, 1);
    let answer = send_text(&gw, "cus_ada", format!(r#"{{"metadata": {reserved}}}"#)).await;
    assert_eq!(answer.status, 400, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.json()["type"], "invalid_data", "{}", answer.json());
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .contains("dialectgate:x"),
        "{}",
        answer.json()
    );
    assert!(upstream.seen().is_empty(), "nothing refused reached the upstream");
    // A member `""` at the top: Medusa deletes that key, the canonical patch says `null`
    // (docs/vendors/medusa.md: `set-metadata.ts`), so the bag is read as a tree.
    let deleting = bag.replacen('{', r#"{"gone": "", "#, 1);
    let answer = send_text(&gw, "cus_ada", format!(r#"{{"metadata": {deleting}}}"#)).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let sent = upstream.seen()[0].json();
    assert_eq!(sent["metadata"]["gone"], Value::Null);
    assert!(sent["metadata"].as_object().unwrap().contains_key("gone"));
    assert_eq!(sent["metadata"]["source"], "import");
    gw.stop().await;
}

#[tokio::test]
async fn the_embedded_backend_stores_a_bag_held_as_text() {
    let gw = harness::start(harness::config(Overrides::default(), &[])).await;
    let bag = bag_text();
    let answer = send_text(&gw, "cus_ada", format!(r#"{{"metadata": {bag}}}"#)).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let read = harness::medusa_read(&gw, "cus_ada").await;
    assert_eq!(read.status, 200);
    let metadata = &read.json()["customer"]["metadata"];
    assert_eq!(metadata["source"], "import");
    assert_eq!(metadata["lines"][399]["sku"], "caf\u{e9}-399");
    assert_eq!(metadata["lines"][0]["qty"], json!(2.5));
    gw.stop().await;
}

#[tokio::test]
async fn while_the_upstream_works_a_bag_held_as_text_holds_no_memory_for_its_trees() {
    let bag = bag_text();
    // The same bag, held; then read as a tree (a member `""` at its top).
    let bodies = [
        format!(r#"{{"metadata": {bag}}}"#),
        format!(r#"{{"metadata": {}}}"#, bag.replacen('{', r#"{"gone": "", "#, 1)),
    ];
    let mut reserved = Vec::new();
    for body in bodies {
        let upstream = Upstream::start_held(|_| harness::customer_answer()).await;
        let gw = canonical_gateway(&upstream).await;
        let pending = tokio::spawn(text_request(&gw, "cus_ada", body).send());
        upstream.wait_for(1).await;
        reserved.push(gw.metrics.memory_reserved("working"));
        upstream.release();
        let answer = harness::answer(pending.await.unwrap().unwrap()).await;
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
        gw.stop().await;
    }
    let (held, tree) = (reserved[0], reserved[1]);
    // Held: the caller's text, the upstream's and the answers' allowance (64 KiB), no trees.
    let texts = i64::try_from(2 * bag.len() + 64 * 1024).unwrap();
    assert!(
        held >= texts && held < texts + 16 * 1024,
        "held {held}, texts {texts}"
    );
    assert!(
        tree > 3 * held,
        "a tree of the same bag reserves {tree}, held {held}"
    );
}
