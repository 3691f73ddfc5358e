//! The shipped TypeScript types, checked as a strict project uses them:
//! `tsc -p tests/npm/types` over usage files for the script tag's global and
//! the npm package's module, with `@ts-expect-error` lines that must stay
//! errors. Runs after the build, since "leadscore" resolves to `dist/npm/`.

use crate::sh::{cmd, root, run, Result};
use crate::tools::ensure_test_packages;

/// Type-checks `tests/npm/types` with the pinned TypeScript of `tests/npm`.
pub fn check_types() -> Result {
    let packages = ensure_test_packages()?;
    let entry = root().join("dist/npm/index.d.ts");
    if !entry.is_file() {
        return Err(format!(
            "{} is missing: the types are checked as packaged; run `cargo xtask build` first",
            entry.display()
        ));
    }
    let tsc = packages.join("node_modules/.bin/tsc");
    println!("xtask: type-checking the script tag's and the npm package's types");
    run(cmd(&tsc).arg("-p").arg(root().join("tests/npm/types"))).map_err(|err| {
        format!("{err}\n  www/leadscore.d.ts or www/npm/index.d.ts no longer accept the usage in tests/npm/types")
    })
}
