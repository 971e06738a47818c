//! The registry's tests: loading from the embedded copies and from directories, and what a
//! load checks.

use std::path::PathBuf;

use super::*;
use crate::source::Origin;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn embedded_and_directory_loads_agree_and_say_where_each_definition_came_from() {
    let embedded = Registry::embedded().unwrap();
    let files = Registry::load(&repo().join("config/dialects"), &repo().join("schemas")).unwrap();
    let ids = |r: &Registry| r.dialects().iter().map(|d| d.id().to_owned()).collect::<Vec<_>>();
    // One dialect per definition file of the repository's folder.
    let mut shipped: Vec<String> = std::fs::read_dir(repo().join("config/dialects"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".toml").map(str::to_owned)
        })
        .collect();
    shipped.sort();
    assert!(shipped.len() >= 5, "{shipped:?}");
    assert_eq!(ids(&embedded), shipped);
    assert_eq!(ids(&embedded), ids(&files));
    assert_eq!(
        embedded.openapi(),
        files.openapi(),
        "the same definitions and schemas"
    );
    for d in embedded.dialects() {
        assert_eq!(d.origin(), &Origin::Embedded);
    }
    for d in files.dialects() {
        let expected = repo().join("config/dialects").join(format!("{}.toml", d.id()));
        assert_eq!(d.origin(), &Origin::File(expected));
    }
}

#[test]
fn a_definitions_directory_overrides_with_embedded_schemas() {
    let dir = std::env::temp_dir().join(format!("dialectgate-registry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let medusa = std::fs::read_to_string(repo().join("config/dialects/medusa.toml")).unwrap();
    let vendor = medusa
        .lines()
        .find(|l| l.starts_with("vendor"))
        .expect("medusa.toml names its vendor");
    std::fs::write(
        dir.join("medusa.toml"),
        medusa.replace(vendor, "vendor = \"Medusa (local)\""),
    )
    .unwrap();
    let registry = Registry::from_sources(&Source::Dir(dir.clone()), &Source::Embedded).unwrap();
    assert_eq!(registry.dialects().len(), 1);
    let d = registry.dialect("medusa").unwrap();
    assert_eq!(d.vendor(), "Medusa (local)");
    assert_eq!(d.origin(), &Origin::File(dir.join("medusa.toml")));

    // A definition whose schemas are not embedded names the file it looked for.
    std::fs::write(
        dir.join("other.toml"),
        medusa.replace("id = \"medusa\"", "id = \"other\""),
    )
    .unwrap();
    let err = Registry::from_sources(&Source::Dir(dir.clone()), &Source::Embedded).unwrap_err();
    assert!(
        err.to_string().contains("embedded:schemas/other/request.json"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_target_without_a_retrieve_operation_is_never_asked_for_a_read() {
    let dir = std::env::temp_dir().join(format!("dialectgate-noretrieve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let axim = std::fs::read_to_string(repo().join("config/dialects/axim.toml")).unwrap();
    let start = axim
        .find("[retrieve]")
        .expect("axim declares a retrieve operation");
    let end = start + axim[start..].find("[auth]").unwrap();
    std::fs::write(
        dir.join("axim.toml"),
        format!("{}{}", &axim[..start], &axim[end..]),
    )
    .unwrap();
    std::fs::write(
        dir.join("elasticpath.toml"),
        std::fs::read_to_string(repo().join("config/dialects/elasticpath.toml")).unwrap(),
    )
    .unwrap();
    let reg = Registry::from_sources(&Source::Dir(dir.clone()), &Source::Embedded).unwrap();
    let (ep, axim) = (
        reg.endpoint("elasticpath").unwrap(),
        reg.endpoint("axim").unwrap(),
    );
    assert!(reg.retrieve(&axim, "c1").is_none());
    let body = serde_json::json!({"data": {"type": "customer", "email": "a@example.com"}});
    // Axim requires its names on every PUT: with a retrieve call this is a read; without
    // one, the refusal it always was.
    let refused = reg
        .plan(&ep, &axim, Some("c1"), &body, Options::default())
        .unwrap_err();
    assert_eq!(refused.errors[0].code, "required_on_write", "{refused:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn each_dialect_declares_what_its_backends_assign_themselves() {
    let reg = Registry::embedded().unwrap();
    let volatile = |id: &str| reg.endpoint(id).unwrap().volatile();
    // Elastic Path's `password` answer is the canonical password flag.
    assert_eq!(
        volatile("elasticpath"),
        ["/id", "/created_at", "/updated_at", "/has_password"]
    );
    assert_eq!(volatile("microbase"), ["/id"]);
    assert_eq!(volatile("medusa"), ["/id", "/created_at", "/updated_at"]);
    assert_eq!(volatile("canonical"), crate::canonical::CANONICAL_VOLATILE);
}

#[test]
fn an_expand_table_is_checked_at_load() {
    let dir = std::env::temp_dir().join(format!("dialectgate-expand-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let medusa = std::fs::read_to_string(repo().join("config/dialects/medusa.toml")).unwrap();
    let load = |text: String| {
        std::fs::write(dir.join("medusa.toml"), text).unwrap();
        Registry::from_sources(&Source::Dir(dir.clone()), &Source::Embedded)
    };
    let bad_default = medusa.replace(
        r#"default = ["orders", "shipping_addresses"]"#,
        r#"default = ["orders", "invoices"]"#,
    );
    assert_ne!(bad_default, medusa);
    let err = load(bad_default).unwrap_err().to_string();
    assert!(err.contains("response.expand.default: `invoices`"), "{err}");
    let bad_query = medusa.replace(
        r#"expand = { query = "expand""#,
        r#"expand = { query = "include""#,
    );
    assert_ne!(bad_query, medusa);
    let err = load(bad_query).unwrap_err().to_string();
    assert!(err.contains("response.expand.query: `include`"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `settle`, the step the gateway's read-modify-write and the CLI's `translate --current`
/// share: a commercetools write (which carries the stored `version`, its docs say) from a
/// Medusa caller (who sends none) waits for the stored customer, and is completed with the
/// version it holds.
#[test]
fn settle_leaves_a_ready_request_and_completes_a_pending_one_with_the_stored_customer() {
    let registry = Registry::embedded().unwrap();
    let params = std::collections::BTreeMap::from([("projectKey".to_owned(), "p".to_owned())]);
    let ends = |from: &str| {
        let to = registry.endpoint("commercetools").unwrap();
        (
            registry.endpoint(from).unwrap(),
            to.bind_path_params(&params).unwrap(),
        )
    };
    let mode = Mode::default();
    let (from, to) = ends("medusa");
    let body = serde_json::json!({"first_name": "Augusta"});
    let plan = || {
        registry
            .plan(&from, &to, Some("c1"), &body, Options::default())
            .unwrap()
    };
    let waiting = registry.settle((&from, &to), plan(), None, mode).unwrap();
    assert!(matches!(&waiting, Step::Read(p) if p.id() == "c1"), "{waiting:?}");
    let stored = serde_json::json!({"id": "c1", "version": 7, "email": "a@example.com"});
    let Step::Ready(t) = registry
        .settle((&from, &to), plan(), Some(&stored), mode)
        .unwrap()
    else {
        panic!("not completed");
    };
    assert_eq!(
        t.outbound.body,
        serde_json::json!({"version": 7, "actions": [{"action": "setFirstName", "firstName": "Augusta"}]})
    );
    // A commercetools caller's own version needs no read: ready as planned, stored or not.
    let (from, to) = ends("commercetools");
    let own =
        serde_json::json!({"version": 3, "actions": [{"action": "setFirstName", "firstName": "Augusta"}]});
    for stored in [None, Some(&stored)] {
        let step = registry
            .plan(&from, &to, Some("c1"), &own, Options::default())
            .unwrap();
        let Step::Ready(t) = registry.settle((&from, &to), step, stored, mode).unwrap() else {
            panic!("a read was asked for");
        };
        assert_eq!(t.outbound.body, own);
    }
}
