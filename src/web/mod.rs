//! The browser shell: the only module with `#[wasm_bindgen]` exports.
//!
//! Capture, storage, transport and the JS API arrive with the widget; for now
//! it exposes the engine version so the build pipeline has something real to bind.

use wasm_bindgen::prelude::wasm_bindgen;

/// The widget's version, as the loader reports it in `leadscore.version`.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
