//! The set of loaded dialects plus the canonical schemas: everything the engine needs, loaded
//! and checked once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jsonschema::Validator;
use serde_json::Value;

use crate::dialect::Dialect;
use crate::error::DialectError;
use crate::validate;

/// The canonical form's compiled schemas.
pub struct Canonical {
    pub(crate) update: Validator,
    pub(crate) customer: Validator,
    pub(crate) problem: Validator,
    pub(crate) update_json: Value,
    pub(crate) customer_json: Value,
    pub(crate) problem_json: Value,
}

impl std::fmt::Debug for Canonical {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Canonical { .. }")
    }
}

impl Canonical {
    /// The update, Customer and problem schemas, as JSON.
    pub fn schema_documents(&self) -> [&Value; 3] {
        [&self.update_json, &self.customer_json, &self.problem_json]
    }

    /// True when `doc` is a valid canonical Customer document.
    pub fn is_valid_customer(&self, doc: &Value) -> bool {
        self.customer.is_valid(doc)
    }

    /// True when `problem` is valid canonical problem details.
    pub fn is_valid_problem(&self, problem: &Value) -> bool {
        self.problem.is_valid(problem)
    }
}

/// All loaded dialects.
#[derive(Debug)]
pub struct Registry {
    pub(crate) dialects: Vec<Arc<Dialect>>,
    pub(crate) canonical: Canonical,
}

impl Registry {
    /// Loads every `*.toml` in `dialects_dir`, with schemas from `schemas_dir/<id>/` and the
    /// canonical schemas from `schemas_dir/canonical/`.
    ///
    /// # Errors
    /// Every problem in every file, at once.
    pub fn load(dialects_dir: &Path, schemas_dir: &Path) -> Result<Registry, DialectError> {
        let canonical_dir = schemas_dir.join("canonical");
        let mut errors = Vec::new();
        let mut compile = |name: &str| match validate::compile_file(&canonical_dir.join(name)) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let (update, customer, problem) = (
            compile("update.json"),
            compile("customer.json"),
            compile("error.json"),
        );
        let (Some((update, update_json)), Some((customer, customer_json)), Some((problem, problem_json))) =
            (update, customer, problem)
        else {
            return Err(DialectError::Many(errors));
        };
        let canonical = Canonical {
            update,
            customer,
            problem,
            update_json,
            customer_json,
            problem_json,
        };

        let mut files: Vec<PathBuf> = std::fs::read_dir(dialects_dir)
            .map_err(|source| DialectError::Read {
                path: dialects_dir.to_owned(),
                source,
            })?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        let mut dialects = Vec::new();
        for file in &files {
            let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            match Dialect::load(
                file,
                &schemas_dir.join(stem),
                [&canonical.update_json, &canonical.customer_json],
            ) {
                Ok(d) => dialects.push(Arc::new(d)),
                Err(e) => errors.push(e),
            }
        }
        if files.is_empty() {
            errors.push(DialectError::Invalid {
                path: dialects_dir.to_owned(),
                problems: vec!["no dialect definitions (*.toml) found".to_owned()],
            });
        }
        // Two dialects on one route would make routing ambiguous.
        for (i, a) in dialects.iter().enumerate() {
            for b in &dialects[i + 1..] {
                if routes_overlap(a, b) {
                    errors.push(DialectError::Invalid {
                        path: dialects_dir.join(format!("{}.toml", b.id())),
                        problems: vec![format!(
                            "route `{} {}` overlaps the route of `{}`",
                            b.route().method,
                            b.route().path,
                            a.id()
                        )],
                    });
                }
            }
        }
        if !errors.is_empty() {
            return Err(if errors.len() == 1 {
                errors.remove(0)
            } else {
                DialectError::Many(errors)
            });
        }
        Ok(Registry { dialects, canonical })
    }

    /// The loaded dialects, sorted by id.
    pub fn dialects(&self) -> &[Arc<Dialect>] {
        &self.dialects
    }

    /// A dialect by id.
    pub fn dialect(&self, id: &str) -> Option<&Arc<Dialect>> {
        self.dialects.iter().find(|d| d.id() == id)
    }

    /// The canonical schemas.
    pub fn canonical(&self) -> &Canonical {
        &self.canonical
    }

    /// Keeps only the dialects named in `only`.
    ///
    /// # Errors
    /// The first name that is not a loaded dialect.
    pub fn retain(&mut self, only: &[String]) -> Result<(), String> {
        if let Some(unknown) = only.iter().find(|id| self.dialect(id).is_none()) {
            return Err(unknown.clone());
        }
        self.dialects.retain(|d| only.iter().any(|id| id == d.id()));
        Ok(())
    }
}

fn routes_overlap(a: &Dialect, b: &Dialect) -> bool {
    let methods_a: Vec<&String> = std::iter::once(&a.route().method)
        .chain(&a.route().also_methods)
        .collect();
    let shares_method = std::iter::once(&b.route().method)
        .chain(&b.route().also_methods)
        .any(|m| methods_a.contains(&m));
    shares_method && a.route().segments.len() == b.route().segments.len() && {
        a.route()
            .segments
            .iter()
            .zip(&b.route().segments)
            .all(|(x, y)| match (x, y) {
                (crate::dialect::PathSegment::Literal(x), crate::dialect::PathSegment::Literal(y)) => x == y,
                _ => true,
            })
    }
}
