//! leadscore: lead scoring that runs in the visitor's browser.
//!
//! [`core`] is the pure scoring engine, shared by the browser widget and the
//! collector; `web` (wasm32 only) is the thin browser shell around it.
#![deny(missing_docs)]

pub mod core;

#[cfg(target_arch = "wasm32")]
pub mod web;
