//! A migration rehearsal on one machine: an Elastic Path client talks to gateway A, whose
//! upstream is gateway B standing in for a Medusa backend (`--only medusa`, embedded store).

use dialectgate_gateway::{CredentialMode, Overrides};
use serde_json::json;

use crate::harness;

#[tokio::test]
async fn ep_caller_through_one_gateway_to_a_second_standing_in_for_medusa() {
    // Gateway B: serves only Medusa, on its embedded store, accepting the demo key.
    let b = harness::start(harness::config(
        Overrides {
            only: vec!["medusa".into()],
            ..Overrides::default()
        },
        &[],
    ))
    .await;
    // B really serves only Medusa.
    let ep_on_b = harness::send_simple(&b, "elasticpath", "cus_ada").await;
    assert_eq!(ep_on_b.status, 404);

    // Gateway A: speaks all five dialects, forwards to B as a Medusa backend, and presents the
    // demo key to it as its own upstream credential.
    let a = harness::start(harness::config(
        Overrides {
            upstream: Some(format!("http://{}", b.addr)),
            upstream_dialect: Some("medusa".into()),
            credentials: Some(CredentialMode::Static),
            ..Overrides::default()
        },
        &[("DIALECTGATE_UPSTREAM_TOKEN", harness::CALLER_KEY)],
    ))
    .await;

    let update = json!({"data": {"type": "customer", "name": "Ada Byron", "email": "ada.byron@example.com"}});
    let answer = harness::send(&a, "elasticpath", "cus_ada", &update).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let data = &answer.json()["data"];
    assert_eq!(data["type"], "customer");
    assert_eq!(data["id"], "cus_ada");
    assert_eq!(data["email"], "ada.byron@example.com");
    assert_eq!(data["name"], "Ada Byron");

    // The change is visible in B's store, made through Medusa's fields.
    let stored = b.backend.get("cus_ada").unwrap();
    assert_eq!(stored["email"], "ada.byron@example.com");
    assert_eq!(stored["name"]["given"], "Ada");
    assert_eq!(stored["name"]["family"], "Byron");
    // A's own embedded store was not touched.
    assert_eq!(a.backend.get("cus_ada").unwrap()["email"], "ada@example.com");

    // Errors cross both hops and come back in EP's shape.
    let missing = harness::send(&a, "elasticpath", "cus_nobody", &update).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["errors"][0]["status"], 404);
    a.stop().await;
    b.stop().await;
}
