//! Helpers shared by the dialect crate's integration tests (included with `#[path]`, so it is
//! not a test target of its own).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use dialectgate_dialect::{Endpoint, Registry};
use serde_json::Value;

/// Every shipped dialect, sorted by id (the order the registry loads them in).
pub static DIALECTS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| registry().dialects().iter().map(|d| d.id()).collect());

/// The customer id used when the id travels in the path (or a fixture writes `"{id}"`): digits,
/// so every dialect can write it (BigCommerce's ids are integers).
pub const PATH_ID: &str = "123";

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The real definitions and schemas, loaded once per test binary.
pub fn registry() -> &'static Registry {
    static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
        Registry::load(&repo().join("config/dialects"), &repo().join("schemas"))
            .unwrap_or_else(|e| panic!("the shipped definitions must load: {e}"))
    });
    &REGISTRY
}

/// The endpoint named `id` (`canonical` or a dialect id).
pub fn endpoint(id: &str) -> Endpoint {
    registry()
        .endpoint(id)
        .unwrap_or_else(|| panic!("unknown endpoint {id}"))
}

/// A vendor example from `tests/fixtures/<dialect>/<kind>.vendor-example.json`.
pub fn fixture(dialect: &str, kind: &str) -> Value {
    fixture_in(
        &repo().join("tests/fixtures"),
        dialect,
        &format!("{kind}.vendor-example.json"),
    )
}

/// `<fixtures>/<dialect>/<name>` as JSON, each `{id}` in a string replaced by [`PATH_ID`],
/// `"{id:integer}"` by [`PATH_ID`] as a JSON integer, and `"{email}"` by a fixed address (as
/// the e2e harness fills them).
pub fn fixture_in(fixtures: &Path, dialect: &str, name: &str) -> Value {
    fn fill(v: &mut Value) {
        match v {
            Value::String(s) if s == "{id:integer}" => {
                *v = PATH_ID
                    .parse::<u64>()
                    .map(Value::from)
                    .expect("PATH_ID is digits");
            }
            // Inside a string too: an id in its dialect's form (`gid://shopify/Customer/{id}`).
            Value::String(s) if s.contains("{id}") => *s = s.replace("{id}", PATH_ID),
            Value::String(s) if s == "{email}" => *s = "ada.king@example.com".to_owned(),
            Value::Array(items) => items.iter_mut().for_each(fill),
            Value::Object(map) => map.values_mut().for_each(fill),
            _ => {}
        }
    }
    let path = fixtures.join(dialect).join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    fill(&mut json);
    json
}

/// The checks every dialect passes, whatever its vendor: run over the shipped tree and over a
/// copy with a sixth dialect added by files alone. `fixtures` is a `tests/fixtures` tree.
pub mod generic {
    use std::path::Path;

    use dialectgate_canonical::ErrorKind;
    use dialectgate_dialect::{Answer, Endpoint, Mode, Registry};

    use super::{fixture_in, path_id};

    fn endpoint(reg: &Registry, id: &str) -> Endpoint {
        reg.endpoint(id)
            .unwrap_or_else(|| panic!("unknown endpoint {id}"))
    }

    /// Each dialect's `request.vendor-example.json` satisfies its own request schema.
    pub fn example_requests_validate(reg: &Registry, fixtures: &Path) {
        for d in reg.dialects() {
            let body = fixture_in(fixtures, d.id(), "request.vendor-example.json");
            if let Err(p) = reg.validate_request(&endpoint(reg, d.id()), &body) {
                panic!("{}: {p:?}", d.id());
            }
        }
    }

    /// Each dialect's `response.vendor-example.json` reads as a valid canonical Customer.
    pub fn example_responses_read_as_canonical_customers(reg: &Registry, fixtures: &Path) {
        for d in reg.dialects() {
            let body = serde_json::to_vec(&fixture_in(fixtures, d.id(), "response.vendor-example.json"))
                .expect("serialize");
            match reg.read_answer(&endpoint(reg, d.id()), 200, &body) {
                Answer::Customer(c) => assert!(reg.canonical().is_valid_customer(&c), "{}: {c:#}", d.id()),
                Answer::Problem(p) => panic!("{}: {p:?}", d.id()),
            }
        }
    }

    /// Each dialect's example and simple update translate to canonical exactly (lenient mode),
    /// as valid canonical updates.
    pub fn requests_translate_to_canonical_exactly(reg: &Registry, fixtures: &Path) {
        for d in reg.dialects() {
            let d = d.id();
            for name in ["request.vendor-example.json", "request.simple.json"] {
                let t = reg
                    .translate(
                        &endpoint(reg, d),
                        &endpoint(reg, "canonical"),
                        path_id(reg, d),
                        &fixture_in(fixtures, d, name),
                        Mode::Lenient,
                    )
                    .unwrap_or_else(|p| panic!("{d} {name}: {p:?}"));
                assert!(t.fidelity.is_exact(), "{d} {name}: {:?}", t.fidelity);
                reg.validate_request(&endpoint(reg, "canonical"), &t.outbound.body)
                    .unwrap_or_else(|p| panic!("{d} {name}: {p:?}"));
            }
        }
    }

    /// Each dialect's example translates to the dialect itself exactly, in strict mode.
    pub fn examples_translate_to_themselves_exactly(reg: &Registry, fixtures: &Path) {
        for d in reg.dialects() {
            let d = d.id();
            let body = fixture_in(fixtures, d, "request.vendor-example.json");
            let t = reg
                .translate(
                    &endpoint(reg, d),
                    &endpoint(reg, d),
                    path_id(reg, d),
                    &body,
                    Mode::Strict,
                )
                .unwrap_or_else(|p| panic!("{d}->{d}: {p:?}"));
            assert!(t.fidelity.is_exact(), "{d}: {:?}", t.fidelity);
        }
    }

    /// Each dialect's `request.invalid.json` is refused as a validation error, and the refusal
    /// renders as a body the dialect's error schema accepts.
    pub fn invalid_requests_are_refused_in_the_dialects_terms(reg: &Registry, fixtures: &Path) {
        for d in reg.dialects() {
            let body = fixture_in(fixtures, d.id(), "request.invalid.json");
            let problem = reg
                .validate_request(&endpoint(reg, d.id()), &body)
                .expect_err(d.id());
            assert_eq!(problem.kind(), ErrorKind::Validation, "{}", d.id());
            let rendered = d.render_error(&problem, Some(super::PATH_ID));
            let json: serde_json::Value = serde_json::from_slice(&rendered.body).expect("a JSON error body");
            assert!(d.is_valid_error_body(&json), "{}: {json}", d.id());
        }
    }

    /// Every (source, target) pair, lenient: the example either translates or is refused with
    /// a problem; nothing panics.
    pub fn every_pair_translates_or_refuses(reg: &Registry, fixtures: &Path) {
        let mut targets = vec![endpoint(reg, "canonical")];
        targets.extend(reg.dialects().iter().map(|d| endpoint(reg, d.id())));
        for d in reg.dialects() {
            let body = fixture_in(fixtures, d.id(), "request.vendor-example.json");
            for to in &targets {
                if let Err(p) = reg.translate(
                    &endpoint(reg, d.id()),
                    to,
                    path_id(reg, d.id()),
                    &body,
                    Mode::Lenient,
                ) {
                    assert!(
                        matches!(p.kind(), ErrorKind::Untranslatable | ErrorKind::Validation),
                        "{} -> {}: {p:?}",
                        d.id(),
                        to.id()
                    );
                }
            }
        }
    }

    /// All of the above.
    pub fn all(reg: &Registry, fixtures: &Path) {
        example_requests_validate(reg, fixtures);
        example_responses_read_as_canonical_customers(reg, fixtures);
        requests_translate_to_canonical_exactly(reg, fixtures);
        examples_translate_to_themselves_exactly(reg, fixtures);
        invalid_requests_are_refused_in_the_dialects_terms(reg, fixtures);
        every_pair_translates_or_refuses(reg, fixtures);
    }
}

/// The id taken from the request path for a caller of `from` (`None` when the id travels in
/// the body).
pub fn path_id(registry: &Registry, from: &str) -> Option<&'static str> {
    match registry.dialect(from) {
        Some(d) if d.route().id_in_body.is_some() => None,
        _ => Some(PATH_ID),
    }
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("dialectgate-test-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies the directory tree `from` into `to` (created if needed).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// A writable copy of the shipped definitions and schemas: `<tmp>/dialects`, `<tmp>/schemas`.
pub struct Workspace {
    pub tmp: TempDir,
}

impl Workspace {
    pub fn new(label: &str) -> Workspace {
        let tmp = TempDir::new(label);
        copy_tree(&repo().join("config/dialects"), &tmp.path().join("dialects"));
        copy_tree(&repo().join("schemas"), &tmp.path().join("schemas"));
        copy_tree(&repo().join("tests/fixtures"), &tmp.path().join("fixtures"));
        Workspace { tmp }
    }

    /// Adds a tree laid out as the repository is (`config/dialects/`, `schemas/`,
    /// `tests/fixtures/`), as a contributor adding a dialect would.
    pub fn add(&self, tree: &Path) {
        copy_tree(&tree.join("config/dialects"), &self.dialects());
        copy_tree(&tree.join("schemas"), &self.schemas());
        copy_tree(&tree.join("tests/fixtures"), &self.fixtures());
    }

    pub fn fixtures(&self) -> PathBuf {
        self.tmp.path().join("fixtures")
    }

    pub fn dialects(&self) -> PathBuf {
        self.tmp.path().join("dialects")
    }

    pub fn schemas(&self) -> PathBuf {
        self.tmp.path().join("schemas")
    }

    pub fn load(&self) -> Result<Registry, dialectgate_dialect::DialectError> {
        Registry::load(&self.dialects(), &self.schemas())
    }

    /// Replaces `old` (which must occur) with `new` in the file at `relative` (to the temp root).
    pub fn edit(&self, relative: &str, old: &str, new: &str) {
        let path = self.tmp.path().join(relative);
        let text = std::fs::read_to_string(&path).expect("read file to edit");
        assert!(text.contains(old), "{relative} does not contain {old:?}");
        std::fs::write(&path, text.replacen(old, new, 1)).expect("write edited file");
    }

    /// Overwrites the file at `relative` (to the temp root).
    pub fn write(&self, relative: &str, contents: &str) {
        std::fs::write(self.tmp.path().join(relative), contents).expect("write file");
    }
}
