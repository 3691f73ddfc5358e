//! The scoring engine: pure Rust, no clock, no DOM, no storage, no network.
//!
//! The browser shell (`src/web`) and the collector both drive it: they turn
//! what happened into [`Event`]s with timestamps, hand them to an [`Engine`],
//! and store the [`State`] it keeps. Everything here compiles and is tested
//! natively and on wasm32; a test keeps web crates out of this folder.

pub mod config;
pub mod event;
pub mod fit;
pub mod identity;
pub mod presets;
pub mod state;
pub mod time;

mod engine;
mod glob;
mod hint;
mod tally;

pub use config::{Config, ConfigError, ConfigErrorKind, ConsentMode, FitRule, GradeThresholds, Rule, Thresholds};
pub use engine::{Award, Engine, Handled, LedgerEntry, Stage};
pub use event::{Event, EventError, EventId};
pub use fit::Grade;
pub use glob::UrlGlob;
pub use identity::{Field, Identity, IdentityError};
pub use presets::Preset;
pub use state::{DecodeError, State};
pub use time::Timestamp;
