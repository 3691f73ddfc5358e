//! Config errors that name the exact place and say how to fix it.

use crate::prelude::*;
use core::fmt;

/// The message of a config error. Natively (the collector, `cargo test`,
/// every tool a site owner checks a config with) it is the full text with
/// its did-you-mean hint; in the browser it is left out, and the error says
/// its kind's short reason after the path instead (`rules[3].within_days:
/// out of range`): the texts and the code that formats them were about
/// 3 KB gzip of the widget (BENCHMARKS.md, "Toward 20 KB").
macro_rules! why {
    ($($message:tt)*) => {{
        #[cfg(not(target_arch = "wasm32"))]
        let message = format!($($message)*);
        // Never called: it only keeps the message's arguments used.
        #[cfg(target_arch = "wasm32")]
        let message = {
            let _ = || format!($($message)*);
            String::new()
        };
        message
    }};
}
pub(super) use why;

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

    /// What is wrong and how to fix it, without the path (in the browser,
    /// for most errors, only the kind's short reason).
    pub fn message(&self) -> &str {
        if self.message.is_empty() {
            self.kind.reason()
        } else {
            &self.message
        }
    }
}

impl ConfigErrorKind {
    /// The kind in a few words, for messages kept short.
    pub fn reason(self) -> &'static str {
        match self {
            ConfigErrorKind::Syntax => "not valid JSON",
            ConfigErrorKind::TooLarge => "over its size limit",
            ConfigErrorKind::WrongType => "of the wrong type",
            ConfigErrorKind::UnknownField => "unknown field",
            ConfigErrorKind::Missing => "required",
            ConfigErrorKind::OutOfRange => "out of range",
            ConfigErrorKind::Invalid => "not accepted",
            ConfigErrorKind::Duplicate => "used twice",
        }
    }
}

impl ConfigError {
    /// What `to_string()` says, `PATH: MESSAGE`, without core::fmt.
    pub fn text(&self) -> String {
        cat!(self.path, ": ", self.message())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl core::error::Error for ConfigError {}
