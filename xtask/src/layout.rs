//! Where the build's files live: `dist/` for what ships, cargo's target
//! directory for everything else, and the named copy of the module that the
//! size report reads. Paths only, apart from the build that writes them, so
//! the commands that read these places (size, budget, demo, benchmarks) do
//! not import the build for a path.

use std::env;
use std::path::PathBuf;

use crate::sh::root;

/// Base name of the generated files: a page imports `leadscore_wasm.js`,
/// which in turn fetches `leadscore_wasm_bg.wasm`.
pub const OUT_NAME: &str = "leadscore_wasm";

/// The parts of `dist/` the widget imports only when they are used (the
/// debug overlay, the privacy panel, and the config compiler with its
/// module for a config beyond a preset and its options): not part of a
/// visitor's first load.
pub const ON_DEMAND: [&str; 4] =
    ["leadscore_debug.js", "leadscore_privacy.js", "leadscore_config.js", "leadscore_config.wasm"];

/// The config compiler's module in `dist/` (src/compiler.rs).
pub const COMPILER: &str = "leadscore_config.wasm";

/// The files a site embeds, written by `cargo xtask build`.
pub fn dist_dir() -> PathBuf {
    root().join("dist")
}

/// The optimized module with its function names, written by `cargo xtask
/// build` for the size report; never shipped.
pub fn named_module() -> PathBuf {
    target_dir().join("size").join(format!("{OUT_NAME}_bg.named.wasm"))
}

/// Cargo's target directory. `CARGO_TARGET_DIR` overrides the default, and a
/// relative value is relative to where cargo runs, which is the root here.
pub fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR").filter(|dir| !dir.is_empty()) {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}
