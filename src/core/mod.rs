//! The scoring engine: pure Rust, no clock, no DOM, no storage, no network.
//!
//! The browser shell (`src/web`) and the collector both drive it: they turn
//! what happened into [`Event`]s with timestamps, hand them to an [`Engine`],
//! and store the [`State`] it keeps. Everything here compiles and is tested
//! natively and on wasm32; a test keeps web crates out of this folder.
//!
//! ```
//! use std::sync::Arc;
//! use leadscore::core::{Config, Engine, Event, EventId, Preset, Stage, State, Timestamp};
//!
//! let config = Arc::new(Config::preset(Preset::B2bSaas, "acme")?);
//! let start = Timestamp::from_millis(1_767_225_600_000);
//! let mut engine = Engine::new(config, State::new("visitor-7f3a", start));
//!
//! // The shell turns what happened into events; time is always passed in.
//! let view = Event::new(EventId(1), start, "page_view")?.with_url("/pricing");
//! engine.handle_event(view);
//! engine.identify(start, [("email", "ada@acme.example"), ("job_title", "CTO")])?;
//! let request = Event::new(EventId(2), start.plus_millis(60_000), "quote_request")?;
//! engine.handle_event(request);
//!
//! let now = start.plus_millis(120_000);
//! assert_eq!(engine.score(now).round(), 43.0); // 3 (pricing view) + 40 (quote request)
//! assert_eq!(engine.stage(now), Stage::Warm); // a hand-raiser, but not yet 50 points
//! assert_eq!(engine.ledger(now)[0].rule_id, "pricing-view");
//! let bytes = engine.encode_state(); // what the widget stores
//! assert_eq!(State::decode(&bytes)?, *engine.state());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// The engine runs on the browser path too: nothing in it may panic.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::unreachable)]

pub mod config;
pub mod delivery;
pub mod event;
pub mod fit;
pub mod float;
pub mod identity;
pub mod json;
pub mod lead;
pub mod outbox;
pub mod presets;
pub mod sha256;
pub mod signals;
pub mod state;
pub mod text;
pub mod time;

pub(crate) mod codec;
mod engine;
mod fnv;
mod glob;
mod hint;
pub(crate) mod small_sort;
pub mod sorted_map;
mod stage;
mod tally;

pub use config::{Config, ConfigError, ConfigErrorKind, ConsentMode, FitRule, GradeThresholds, Rule, Thresholds};
pub use engine::{Award, Engine, Handled, LedgerEntry};
pub use event::{Event, EventError, EventId};
pub use fit::Grade;
pub use glob::UrlGlob;
/// The config reader's did-you-mean hint, for native tools (the journey
/// reader of `collector simulate`). Kept out of the wasm build, where a
/// public path makes the module about 100 bytes larger.
#[cfg(not(target_arch = "wasm32"))]
pub use hint::did_you_mean;
pub use identity::{Field, Identity, IdentityError};
pub use lead::{Lead, LeadError};
pub use presets::Preset;
pub use stage::Stage;
pub use state::{DecodeError, State};
pub use time::Timestamp;
