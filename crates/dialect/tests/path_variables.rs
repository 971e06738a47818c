//! Path variables other than the customer id (`/stores/{store_hash}/v3/customers`,
//! `/{projectKey}/customers/{id}`): any value inbound, the configured value (or the
//! definition's `path_params`) outbound, the more specific route winning where two match, and
//! every misuse refused at load.

#[path = "support/common.rs"]
mod common;

use std::collections::BTreeMap;

use common::Workspace;
use dialectgate_dialect::Registry;

/// A copy of the Medusa definition as dialect `projects`, its paths under a project key (the
/// shape of commercetools' `/{projectKey}/customers/{ID}`), next to the shipped dialects.
fn with_projects(route_path: &str, extra: &str) -> Workspace {
    let ws = Workspace::new("path-vars");
    let medusa = std::fs::read_to_string(ws.dialects().join("medusa.toml")).expect("test setup");
    let projects = medusa
        .replacen("id = \"medusa\"", "id = \"projects\"", 1)
        .replace(
            "path = \"/admin/customers/{id}\"",
            &format!("path = \"{route_path}\"{extra}"),
        );
    std::fs::write(ws.dialects().join("projects.toml"), projects).expect("test setup");
    common::copy_tree(&ws.schemas().join("medusa"), &ws.schemas().join("projects"));
    ws
}

fn load(ws: &Workspace) -> Registry {
    ws.load().unwrap_or_else(|e| panic!("{e}"))
}

fn load_error(ws: &Workspace) -> String {
    match ws.load() {
        Ok(_) => panic!("the definitions loaded"),
        Err(e) => e.to_string(),
    }
}

fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn a_variable_matches_any_segment_inbound() {
    let ws = with_projects("/{projectKey}/customers/{id}", "");
    let reg = load(&ws);
    let projects = reg.dialect("projects").unwrap();
    let route = projects.route();
    assert_eq!(route.variables().collect::<Vec<_>>(), ["projectKey"]);
    assert_eq!(
        route.match_path("/shop-1/customers/c%201"),
        Some(Some("c 1".to_owned()))
    );
    assert_eq!(
        route.match_path("//customers/c1"),
        None,
        "an empty variable matches nothing"
    );
    assert_eq!(route.match_path("/shop-1/customers"), None);
    // Medusa's own path still matches the copy; routing prefers the more specific route.
    assert!(route.match_path("/admin/customers/c1").is_some());
    let medusa = reg.dialect("medusa").unwrap().route();
    assert!(medusa.specificity().gt(route.specificity()));
}

#[test]
fn the_outbound_path_carries_the_configured_value_percent_encoded() {
    let ws = with_projects("/{projectKey}/customers/{id}", "");
    let reg = load(&ws);
    let endpoint = reg.endpoint("projects").unwrap();
    // Offline (no configuration), the template stays visible.
    assert_eq!(
        reg.retrieve(&endpoint, "c1").unwrap().path,
        "/{projectKey}/customers/c1"
    );
    let bound = endpoint
        .bind_path_params(&values(&[("projectKey", "my shop/../x")]))
        .unwrap();
    // One segment, whatever the value: it can neither add nor climb segments.
    assert_eq!(
        reg.retrieve(&bound, "c/1").unwrap().path,
        "/my%20shop%2F..%2Fx/customers/c%2F1"
    );
}

#[test]
fn the_definition_gives_a_default_that_configuration_overrides() {
    let ws = with_projects(
        "/{projectKey}/customers/{id}",
        "\npath_params = { projectKey = \"default-project\" }",
    );
    let reg = load(&ws);
    let endpoint = reg.endpoint("projects").unwrap();
    let defaulted = endpoint.bind_path_params(&BTreeMap::new()).unwrap();
    assert_eq!(
        reg.retrieve(&defaulted, "c1").unwrap().path,
        "/default-project/customers/c1"
    );
    let configured = endpoint
        .bind_path_params(&values(&[("projectKey", "configured")]))
        .unwrap();
    assert_eq!(
        reg.retrieve(&configured, "c1").unwrap().path,
        "/configured/customers/c1"
    );
}

#[test]
fn binding_refuses_a_missing_value_and_an_unknown_name() {
    let ws = with_projects("/{projectKey}/customers/{id}", "");
    let reg = load(&ws);
    let endpoint = reg.endpoint("projects").unwrap();
    let missing = endpoint.bind_path_params(&BTreeMap::new()).unwrap_err();
    assert!(
        missing
            .iter()
            .any(|p| p.contains("needs a value for `projectKey`")),
        "{missing:?}"
    );
    let unknown = endpoint
        .bind_path_params(&values(&[("projectKey", "p"), ("store_hash", "s")]))
        .unwrap_err();
    assert!(
        unknown
            .iter()
            .any(|p| p.contains("`store_hash` is not a path variable")),
        "{unknown:?}"
    );
    let canonical = reg.endpoint("canonical").unwrap();
    assert!(
        canonical
            .bind_path_params(&values(&[("projectKey", "p")]))
            .is_err()
    );
    assert!(canonical.bind_path_params(&BTreeMap::new()).is_ok());
}

#[test]
fn a_variable_inside_a_segment_is_refused() {
    let ws = with_projects("/customers/{id}.json", "");
    let message = load_error(&ws);
    assert!(message.contains("projects.toml"), "{message}");
    assert!(
        message.contains("`{id}.json` is not a path variable"),
        "{message}"
    );
}

#[test]
fn a_variable_named_twice_is_refused() {
    let ws = with_projects("/{project}/{project}/customers/{id}", "");
    let message = load_error(&ws);
    assert!(
        message.contains("the variable `{project}` appears twice"),
        "{message}"
    );
}

#[test]
fn a_default_for_a_name_that_is_no_variable_is_refused() {
    let ws = with_projects(
        "/{projectKey}/customers/{id}",
        "\npath_params = { store_hash = \"x\" }",
    );
    let message = load_error(&ws);
    assert!(
        message.contains("route.path_params.store_hash: `{store_hash}` is not a variable"),
        "{message}"
    );
    let ws = with_projects(
        "/{projectKey}/customers/{id}",
        "\npath_params = { projectKey = \"\" }",
    );
    let message = load_error(&ws);
    assert!(message.contains("a value cannot be empty"), "{message}");
}

#[test]
fn equally_specific_routes_that_overlap_are_refused() {
    let ws = with_projects("/{projectKey}/customers/{id}", "");
    let copy = std::fs::read_to_string(ws.dialects().join("projects.toml")).unwrap();
    std::fs::write(
        ws.dialects().join("projects2.toml"),
        copy.replacen("id = \"projects\"", "id = \"projects2\"", 1)
            .replace("/{projectKey}/customers/{id}", "/{tenant}/customers/{id}"),
    )
    .unwrap();
    common::copy_tree(&ws.schemas().join("medusa"), &ws.schemas().join("projects2"));
    let message = load_error(&ws);
    assert!(message.contains("overlaps the route of `projects`"), "{message}");
}
