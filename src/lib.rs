//! leadscore: lead scoring that runs in the visitor's browser.
//!
//! [`core`] is the pure scoring engine, shared by the browser widget and the
//! collector; [`session`] is one widget's state machine in a page, pure as
//! well; `web` (wasm32 only) is the thin browser shell that carries out its
//! effects.
#![deny(missing_docs)]

pub mod core;
pub mod session;

#[cfg(target_arch = "wasm32")]
pub mod web;

/// The widget's allocator: talc instead of std's dlmalloc, several KB
/// smaller, and it reuses freed memory as well.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
