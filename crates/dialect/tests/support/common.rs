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

/// The customer id used when the id travels in the path.
pub const PATH_ID: &str = "cus_123";

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
    let path = repo().join(format!("tests/fixtures/{dialect}/{kind}.vendor-example.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
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
        Workspace { tmp }
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
