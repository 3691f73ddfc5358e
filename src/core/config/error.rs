//! Config errors that name the exact place and say how to fix it.

use std::fmt;

/// What kind of problem a [`ConfigError`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The text is not JSON (truncated, bad escape, nested too deep).
    Syntax,
    /// The document, a string or a list is over its documented limit.
    TooLarge,
    /// A value has the wrong JSON type.
    WrongType,
    /// A field the schema does not have; the message suggests the likely one.
    UnknownField,
    /// A required field is absent.
    Missing,
    /// A number is outside its allowed range.
    OutOfRange,
    /// A value is well-typed but not acceptable (bad name, bad combination).
    Invalid,
    /// An id is used twice.
    Duplicate,
}

/// A rule set that could not be accepted: where, what kind, and the fix.
///
/// Displays as `rules[3].within_days: must be > 0, got 0`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    kind: ConfigErrorKind,
    path: String,
    message: String,
}

impl ConfigError {
    pub(crate) fn new(kind: ConfigErrorKind, path: &str, message: impl Into<String>) -> ConfigError {
        let path = if path.is_empty() { "config".to_string() } else { path.to_string() };
        ConfigError { kind, path, message: message.into() }
    }

    /// The kind of problem.
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }

    /// Where it is, as a JSON path such as `rules[3].within_days`
    /// (`config` for the document as a whole).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong and how to fix it, without the path.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for ConfigError {}
