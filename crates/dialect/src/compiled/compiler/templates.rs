//! The placeholder checks of a definition's templates and fixed values: what the engine fills
//! (error bodies, member names filled per violation, token bodies) and what it never fills
//! (`constants`, `extra`, defaults), so a placeholder there is refused at load.

use super::Compiler;
use crate::template::{self, ITEM_VARS};

impl Compiler<'_> {
    /// Checks the placeholders of every string (and member name) in a TOML template against
    /// `known`.
    pub(super) fn check_placeholders(&mut self, key: &str, value: &toml::Value, known: &[&str]) {
        match value {
            toml::Value::String(s) => self.problems.extend(template::problems(key, s, known)),
            toml::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.check_placeholders(&format!("{key}[{i}]"), v, known);
                }
            }
            toml::Value::Table(t) => {
                // An error body may name a member by a violation (`"{field}" = "{message}"`: one
                // member per violation); nothing else fills a member name.
                let keyed = known.contains(&"field");
                for (k, v) in t {
                    for name in template::names(k) {
                        if !keyed {
                            self.problems.push(format!(
                                "{key}.{k}: the member name holds the placeholder `{{{name}}}`; only an error body's \
                                 member names are filled, so the name would be sent as written"
                            ));
                        } else if !ITEM_VARS.contains(&name) {
                            self.problems.push(format!(
                                "{key}.{k}: the member name holds `{{{name}}}`; a member name is filled per violation, \
                                 from its variables only ({})",
                                ITEM_VARS.join(", ")
                            ));
                        }
                    }
                    self.check_placeholders(&format!("{key}.{k}"), v, known);
                }
            }
            _ => {}
        }
    }

    /// Checks that a fixed value (`constants`, `extra`, a rule's `default`) holds no
    /// placeholder: nothing fills one there, so it would be sent as written.
    pub(super) fn check_fixed(&mut self, key: &str, value: &toml::Value) {
        match value {
            toml::Value::String(s) => {
                if let Some(name) = template::names(s).next() {
                    self.problems.push(format!(
                        "{key}: `{{{name}}}`: no placeholder is filled in a fixed member, it would be sent as written"
                    ));
                }
            }
            toml::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.check_fixed(&format!("{key}[{i}]"), v);
                }
            }
            toml::Value::Table(t) => {
                for (k, v) in t {
                    if let Some(name) = template::names(k).next() {
                        self.problems.push(format!(
                            "{key}.{k}: `{{{name}}}`: no placeholder is filled in a fixed member's name, it would be sent as written"
                        ));
                    }
                    self.check_fixed(&format!("{key}.{k}"), v);
                }
            }
            _ => {}
        }
    }
}
