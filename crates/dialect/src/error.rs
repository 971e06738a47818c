//! Load-time errors: a definition or schema that cannot be used. Request-time failures are
//! [`Problem`](dialectgate_canonical::Problem)s, never these.

use std::path::PathBuf;

/// Why dialects could not be loaded. Every problem found is reported at once.
#[derive(Debug, thiserror::Error)]
pub enum DialectError {
    /// A file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A definition file is not valid TOML or does not fit the definition format.
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    /// A schema file is not JSON, or not a valid JSON Schema.
    #[error("{}: {message}", path.display())]
    Schema { path: PathBuf, message: String },
    /// A definition parsed but breaks the engine's rules (bad pointer, unknown transform, …).
    #[error("{}: {}", path.display(), problems.join("; "))]
    Invalid { path: PathBuf, problems: Vec<String> },
    /// Several of the above.
    #[error("{} problems:\n  {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Many(Vec<DialectError>),
}

impl DialectError {
    /// `errors` (at least one) as one error: the error itself when alone, all of them otherwise.
    pub(crate) fn all(mut errors: Vec<DialectError>) -> DialectError {
        if errors.len() == 1 {
            errors.remove(0)
        } else {
            DialectError::Many(errors)
        }
    }
}
