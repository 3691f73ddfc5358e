//! `cargo xtask size`: the size report of `dist/` as it stands, building
//! first when there is no wasm module yet, then the same files held against
//! the budget (shown here, enforced by `cargo xtask test`).

use std::fs;

use crate::budget::{check_dist, BUDGET_FILE};
use crate::dist::build;
use crate::layout::dist_dir;
use crate::measure::report;
use crate::sh::Result;

/// Prints the report, building first if `dist/` has no wasm module yet
/// (the build prints the report itself).
pub fn size() -> Result {
    let dist = dist_dir();
    let has_wasm = fs::read_dir(&dist)
        .map(|entries| entries.flatten().any(|entry| entry.path().extension().is_some_and(|ext| ext == "wasm")))
        .unwrap_or(false);
    if has_wasm {
        report(&dist)?;
        // Shown, not enforced: `cargo xtask test` enforces it.
        println!("\nagainst {BUDGET_FILE}:");
        match check_dist() {
            Ok(()) => Ok(()),
            Err(err) => {
                println!("{err}");
                Ok(())
            }
        }
    } else {
        println!("xtask: dist/ has no wasm module yet; building it first");
        build()
    }
}
