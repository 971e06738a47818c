//! Where dialect definitions and schemas come from: the copies built into the binary
//! (`config/dialects/*.toml` and `schemas/**/*.json` as they were at build time, listed by
//! `build.rs`), or a directory that overrides them. The loader reads both through [`Tree`], so
//! there is one loading path and a schema's local `$ref`s resolve the same way in either.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::DialectError;

/// The shipped files, by their path in the repository.
static EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// Where definitions, or schemas, are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The copies built into the binary.
    Embedded,
    /// A directory: `*.toml` definitions, or `canonical/` and one folder of schemas per dialect.
    Dir(PathBuf),
}

impl Source {
    /// `dir` when given, the embedded copies otherwise.
    pub fn dir_or_embedded(dir: Option<&Path>) -> Source {
        dir.map_or(Source::Embedded, |d| Source::Dir(d.to_owned()))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Embedded => f.write_str("embedded"),
            Source::Dir(dir) => write!(f, "{}", dir.display()),
        }
    }
}

/// Where one loaded file came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Built into the binary.
    Embedded,
    /// Read from this file.
    File(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Embedded => f.write_str("embedded"),
            Origin::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// One tree of files (the definitions, or the schemas) from a [`Source`]; names are relative
/// to the tree (`medusa.toml`, `medusa/request.json`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tree<'a> {
    source: &'a Source,
    /// The tree's folder in the repository, which prefixes its embedded names.
    embedded_root: &'static str,
}

impl<'a> Tree<'a> {
    /// The definitions tree (`config/dialects` when embedded).
    pub(crate) fn definitions(source: &'a Source) -> Tree<'a> {
        Tree {
            source,
            embedded_root: "config/dialects",
        }
    }

    /// The schemas tree (`schemas` when embedded).
    pub(crate) fn schemas(source: &'a Source) -> Tree<'a> {
        Tree {
            source,
            embedded_root: "schemas",
        }
    }

    /// The path an error names for `name`: the file, or `embedded:<repository path>`.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        match self.source {
            Source::Embedded => PathBuf::from(format!("embedded:{}/{name}", self.embedded_root)),
            Source::Dir(dir) => dir.join(name),
        }
    }

    /// Where `name` is read from.
    pub(crate) fn origin(&self, name: &str) -> Origin {
        match self.source {
            Source::Embedded => Origin::Embedded,
            Source::Dir(dir) => Origin::File(dir.join(name)),
        }
    }

    /// The names of the files directly in the tree whose name ends with `.ext`, sorted.
    ///
    /// # Errors
    /// When the directory cannot be read.
    pub(crate) fn files(&self, ext: &str) -> Result<Vec<String>, DialectError> {
        let suffix = format!(".{ext}");
        let mut names: Vec<String> = match self.source {
            Source::Embedded => EMBEDDED
                .iter()
                .filter_map(|(name, _)| name.strip_prefix(self.embedded_root)?.strip_prefix('/'))
                .filter(|name| !name.contains('/'))
                .map(str::to_owned)
                .collect(),
            Source::Dir(dir) => std::fs::read_dir(dir)
                .map_err(|source| DialectError::Read {
                    path: dir.clone(),
                    source,
                })?
                .filter_map(Result::ok)
                .filter(|e| e.path().is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect(),
        };
        names.retain(|name| name.ends_with(&suffix) && name.len() > suffix.len());
        names.sort();
        Ok(names)
    }

    /// The text of `name`.
    ///
    /// # Errors
    /// When it does not exist or cannot be read.
    pub(crate) fn read(&self, name: &str) -> Result<String, DialectError> {
        let read_error = |source| DialectError::Read {
            path: self.path(name),
            source,
        };
        match self.source {
            Source::Embedded => EMBEDDED
                .iter()
                .find(|(path, _)| {
                    path.strip_prefix(self.embedded_root)
                        .and_then(|p| p.strip_prefix('/'))
                        == Some(name)
                })
                .map(|(_, text)| (*text).to_owned())
                .ok_or_else(|| {
                    read_error(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "not among the embedded files (give a directory with --schemas-dir / --dialects-dir)",
                    ))
                }),
            Source::Dir(dir) => std::fs::read_to_string(dir.join(name)).map_err(read_error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_set_holds_the_shipped_definitions_and_schemas() {
        let embedded = Source::Embedded;
        let definitions = Tree::definitions(&embedded);
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        // Every definition of the repository's folder, and nothing else.
        let mut shipped: Vec<String> = std::fs::read_dir(repo.join("config/dialects"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".toml"))
            .collect();
        shipped.sort();
        assert!(shipped.len() >= 5, "{shipped:?}");
        assert_eq!(definitions.files("toml").unwrap(), shipped);
        for name in definitions.files("toml").unwrap() {
            let on_disk = std::fs::read_to_string(repo.join("config/dialects").join(&name)).unwrap();
            assert_eq!(definitions.read(&name).unwrap(), on_disk, "{name}");
            assert_eq!(definitions.origin(&name), Origin::Embedded);
        }
        let schemas = Tree::schemas(&embedded);
        for name in [
            "canonical/update.json",
            "canonical/customer.json",
            "medusa/request.json",
        ] {
            let on_disk = std::fs::read_to_string(repo.join("schemas").join(name)).unwrap();
            assert_eq!(schemas.read(name).unwrap(), on_disk, "{name}");
        }
        // Nothing outside the tree, and no nested file, is listed.
        assert!(schemas.files("json").unwrap().is_empty());
        assert!(Tree::definitions(&embedded).files("json").unwrap().is_empty());
    }

    #[test]
    fn a_missing_file_names_where_it_was_looked_for() {
        let embedded = Source::Embedded;
        let err = Tree::schemas(&embedded).read("nosuch/request.json").unwrap_err();
        assert!(
            err.to_string().contains("embedded:schemas/nosuch/request.json"),
            "{err}"
        );
        let dir = Source::Dir(PathBuf::from("/nonexistent-dialectgate"));
        let err = Tree::definitions(&dir).files("toml").unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dialectgate"), "{err}");
        let err = Tree::schemas(&dir).read("canonical/update.json").unwrap_err();
        assert!(
            err.to_string()
                .contains("/nonexistent-dialectgate/canonical/update.json"),
            "{err}"
        );
        assert_eq!(
            Tree::schemas(&dir).origin("a.json"),
            Origin::File("/nonexistent-dialectgate/a.json".into())
        );
    }
}
