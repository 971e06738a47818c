//! Path variables besides the customer id, over real HTTP: a dialect whose paths sit under a
//! project key (`/{projectKey}/customers/{id}`, commercetools' shape) next to Medusa's
//! `/admin/customers/{id}`. Callers may use any project key; the more specific route wins where
//! both match; the upstream is called with the configured value, percent-encoded as one
//! segment; a gateway without a value for an upstream's variable does not start.

use std::path::PathBuf;

use dialectgate_gateway::Overrides;
use serde_json::{Value, json};

use crate::harness::{self, CALLER_KEY, Recorded, Upstream};

/// The shipped definitions and schemas plus `projects`: Medusa's definition with its paths
/// under `/{projectKey}`.
fn definitions(label: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("dg-e2e-pathvars-{label}-{}", std::process::id()));
    let dialects = dir.join("dialects");
    let schemas = dir.join("schemas");
    copy_dir(std::path::Path::new("config/dialects"), &dialects);
    copy_dir(std::path::Path::new("schemas"), &schemas);
    let medusa = std::fs::read_to_string(dialects.join("medusa.toml")).expect("test setup");
    let projects = medusa
        .replacen("id = \"medusa\"", "id = \"projects\"", 1)
        .replace("\"/admin/customers/{id}\"", "\"/{projectKey}/customers/{id}\"")
        // Its own credential header: a request it serves is told from one Medusa serves.
        .replacen("{ header = \"x-medusa-access-token\" }", "{ header = \"x-projects-token\" }", 1);
    assert_ne!(projects, medusa);
    std::fs::write(dialects.join("projects.toml"), projects).expect("test setup");
    copy_dir(&schemas.join("medusa"), &schemas.join("projects"));
    (dialects, schemas)
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("test setup");
    for entry in std::fs::read_dir(from).expect("test setup") {
        let entry = entry.expect("test setup");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("test setup").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("test setup");
        }
    }
}

/// A Medusa-shaped answer about the customer the path names.
fn answer(r: &Recorded) -> harness::Reply {
    let id = r.path.rsplit('/').next().unwrap_or_default().to_owned();
    let body = json!({"customer": {"id": id, "email": "ada@example.com", "first_name": "Ada",
        "last_name": "King", "phone": null, "metadata": null, "has_account": true,
        "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
        "deleted_at": null, "shipping_addresses": []}});
    (
        200,
        "application/json",
        serde_json::to_vec(&body).expect("test setup"),
    )
}

fn overrides(label: &str, upstream: &Upstream, params: Vec<(String, String)>) -> Overrides {
    let (dialects, schemas) = definitions(label);
    Overrides {
        upstream: Some(upstream.url()),
        upstream_dialect: Some("projects".into()),
        dialects_dir: Some(dialects),
        schemas_dir: Some(schemas),
        upstream_path_params: params,
        ..Overrides::default()
    }
}

async fn post(gw: &harness::Running, path: &str, header: &str, body: &Value) -> harness::Answer {
    let rsp = harness::client()
        .post(gw.url(path))
        .header("content-type", "application/json")
        .header(header, CALLER_KEY)
        .body(serde_json::to_vec(body).expect("test setup"))
        .send()
        .await
        .expect("test setup");
    harness::answer(rsp).await
}

#[tokio::test]
async fn any_project_key_routes_inbound_and_the_configured_one_goes_upstream() {
    let upstream = Upstream::start(answer).await;
    let params = vec![("projectKey".to_owned(), "shop one/..".to_owned())];
    let gw = harness::start(harness::config(overrides("routes", &upstream, params), &[])).await;
    let body = json!({"first_name": "Ada"});

    // A caller of `projects` under its own project key.
    let got = post(&gw, "/acme/customers/cus_1", "x-projects-token", &body).await;
    assert_eq!(got.status, 200, "{}", String::from_utf8_lossy(&got.body));
    assert_eq!(got.json()["customer"]["id"], "cus_1");
    // Medusa's own path matches both routes: Medusa's, the more specific, serves it (with
    // Medusa's credential header; `projects` would not know it).
    let got = post(&gw, "/admin/customers/cus_2", "x-medusa-access-token", &body).await;
    assert_eq!(got.status, 200, "{}", String::from_utf8_lossy(&got.body));
    let got = post(&gw, "/admin/customers/cus_3", "x-projects-token", &body).await;
    assert_eq!(got.status, 401, "{}", String::from_utf8_lossy(&got.body));

    upstream.wait_for(2).await;
    let paths: Vec<String> = upstream.seen().iter().map(|r| r.path.clone()).collect();
    // The configured value, one percent-encoded segment whatever it holds; never the caller's.
    assert_eq!(
        paths,
        [
            "/shop%20one%2F../customers/cus_1",
            "/shop%20one%2F../customers/cus_2"
        ]
    );
    gw.stop().await;
}

#[tokio::test]
async fn an_empty_project_key_is_no_route() {
    let upstream = Upstream::start(answer).await;
    let params = vec![("projectKey".to_owned(), "p".to_owned())];
    let gw = harness::start(harness::config(overrides("empty", &upstream, params), &[])).await;
    let got = post(
        &gw,
        "//customers/cus_1",
        "x-projects-token",
        &json!({"first_name": "Ada"}),
    )
    .await;
    assert_eq!(got.status, 404, "{}", String::from_utf8_lossy(&got.body));
    assert!(upstream.seen().is_empty());
    gw.stop().await;
}

#[tokio::test]
async fn a_gateway_without_a_value_for_an_upstream_variable_does_not_start() {
    let upstream = Upstream::start(answer).await;
    // `config` fills in the shipped dialects' variables only: `projects` is not one of them.
    let config = harness::config(overrides("missing", &upstream, Vec::new()), &[]);
    let err = match dialectgate_gateway::run(config, dialectgate_gateway::Options::default()).await {
        Ok(_) => panic!("a gateway started without upstream.path_params.projectKey"),
        Err(e) => chain(&e),
    };
    assert!(err.contains("upstream.path_params"), "{err}");
    assert!(err.contains("needs a value for `projectKey`"), "{err}");

    let params = vec![("store_hash".to_owned(), "x".to_owned())];
    let config = harness::config(overrides("unknown", &upstream, params), &[]);
    let err = match dialectgate_gateway::run(config, dialectgate_gateway::Options::default()).await {
        Ok(_) => panic!("a gateway started with a value for no variable"),
        Err(e) => chain(&e),
    };
    assert!(
        err.contains("`store_hash` is not a path variable of the projects dialect"),
        "{err}"
    );
}

/// An error and its sources, joined.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
