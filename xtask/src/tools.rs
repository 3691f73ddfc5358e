//! Installs the external tools the build and tests need, so a fresh clone on
//! a fresh CI machine needs nothing but Rust, node and a package registry.
//!
//! Every `ensure_*` function checks first and installs only when the check
//! fails, which keeps repeat runs fast.

use std::fs;
use std::path::{Path, PathBuf};

use crate::sh::{cargo, cargo_bin, cmd, find_on_path, output, root, run, Result};

/// The browser target the widget is compiled for.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// binaryen release providing `wasm-opt`. Pinned so the size report only
/// moves when our code does, not when the optimizer changes.
const BINARYEN_VERSION: &str = "132";

/// esbuild release that minifies the generated glue. Pinned for the same
/// reason as binaryen.
const ESBUILD_VERSION: &str = "0.28.2";

/// Where Debian's `chromium` and `chromium-driver` packages put their binaries.
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Chromium's `goog:chromeOptions` (binary and flags) from `webdriver.json`,
/// the one place they are written: wasm-bindgen-test reads that file, and the
/// end-to-end harness and the browser benchmark start from it too.
pub fn chromium_options() -> Result<serde_json::Value> {
    let path = root().join("webdriver.json");
    let text = fs::read_to_string(&path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let file: serde_json::Value =
        serde_json::from_str(&text).map_err(|err| format!("{} is not JSON: {err}", path.display()))?;
    match file.get("goog:chromeOptions") {
        Some(options) if options["args"].is_array() => Ok(options.clone()),
        _ => Err(format!("{} has no goog:chromeOptions with args", path.display())),
    }
}

/// Makes sure the wasm32 standard library is installed for the toolchain
/// running xtask.
pub fn ensure_wasm_target() -> Result {
    // Asking rustc for its sysroot works with and without rustup, and is
    // instant, unlike `rustup target list`.
    let sysroot = output(cmd("rustc").args(["--print", "sysroot"]))?;
    if Path::new(sysroot.trim()).join("lib/rustlib").join(WASM_TARGET).is_dir() {
        return Ok(());
    }
    println!("xtask: the {WASM_TARGET} target is not installed; adding it with rustup");
    run(cmd("rustup").args(["target", "add", WASM_TARGET])).map_err(|err| {
        format!("{err}\n  the widget is compiled for {WASM_TARGET}; install it with `rustup target add {WASM_TARGET}`")
    })
}

/// The `wasm-bindgen` version recorded in Cargo.lock. The CLI must match the
/// library exactly or it refuses to process the module.
pub fn locked_wasm_bindgen_version() -> Result<String> {
    let lock_path = root().join("Cargo.lock");
    if !lock_path.is_file() {
        // A checkout without a lockfile still needs to know which CLI to use;
        // resolve it the way the next cargo build would anyway.
        println!("xtask: Cargo.lock is missing; generating it to find the wasm-bindgen version");
        run(cargo().arg("generate-lockfile"))?;
    }
    let lock =
        fs::read_to_string(&lock_path).map_err(|err| format!("could not read {}: {err}", lock_path.display()))?;
    locked_version(&lock, "wasm-bindgen")
}

/// Finds the single version of `name` in a Cargo.lock. Hand-parsed: the
/// format is line-oriented and stable, and a TOML parser is not worth a
/// dependency for two keys.
fn locked_version(lock: &str, name: &str) -> Result<String> {
    let wanted_name = format!("name = \"{name}\"");
    let mut versions = Vec::new();
    for package in lock.split("[[package]]").skip(1) {
        let mut lines = package.lines().map(str::trim);
        if !lines.clone().any(|line| line == wanted_name) {
            continue;
        }
        if let Some(version) = lines.find_map(|line| line.strip_prefix("version = ")) {
            versions.push(version.trim_matches('"').to_string());
        }
    }
    match versions.as_slice() {
        [version] => Ok(version.clone()),
        [] => Err(format!("Cargo.lock has no `{name}` package")),
        _ => Err(format!(
            "Cargo.lock has several `{name}` versions ({}); the CLI can only match one",
            versions.join(", ")
        )),
    }
}

/// Makes sure `wasm-bindgen` and `wasm-bindgen-test-runner` at exactly the
/// locked version come first on the child PATH, and returns the path to
/// `wasm-bindgen`.
pub fn ensure_wasm_bindgen() -> Result<PathBuf> {
    let want = locked_wasm_bindgen_version()?;
    let why = match check_wasm_bindgen(&want) {
        Ok(path) => return Ok(path),
        Err(why) => why,
    };
    println!("xtask: {why}");
    println!(
        "xtask: installing wasm-bindgen-cli {want} with `cargo install`; \
         it compiles from source and takes a few minutes"
    );
    // --force: we only get here when the installed binaries are missing or
    // wrong, and cargo would otherwise skip a version it believes is present.
    // No --locked: the CLI's own lockfile can pin crates this registry lacks.
    run(cargo().args(["install", "wasm-bindgen-cli", "--version", &want, "--force"]))
        .map_err(|err| format!("{err}\n  could not install wasm-bindgen-cli {want}"))?;
    check_wasm_bindgen(&want).map_err(|why| {
        format!(
            "installed wasm-bindgen-cli {want}, but {why}; \
             check that {} is where cargo installs binaries",
            cargo_bin().unwrap_or_default().display()
        )
    })
}

/// Both binaries of wasm-bindgen-cli must report `want`: `wasm-bindgen`
/// generates the JS glue, the test runner is what cargo runs for wasm32 tests.
fn check_wasm_bindgen(want: &str) -> Result<PathBuf> {
    let mut bindgen = None;
    for program in ["wasm-bindgen", "wasm-bindgen-test-runner"] {
        let path = find_on_path(program).ok_or_else(|| format!("`{program}` is not installed"))?;
        let reported = output(cmd(&path).arg("--version"))?;
        // Prints e.g. "wasm-bindgen 0.2.130".
        if reported.split_whitespace().nth(1) != Some(want) {
            return Err(format!("{} reports `{}`, but Cargo.lock needs {want}", path.display(), reported.trim()));
        }
        bindgen.get_or_insert(path);
    }
    Ok(bindgen.expect("wasm-bindgen is checked first"))
}

/// A command-line tool that ships as a prebuilt binary in an npm package,
/// pinned, installed under `.tools/` by the project itself.
struct NpmTool {
    package: &'static str,
    version: &'static str,
    /// Its folder under `.tools/`. One per package: `npm install --no-save`
    /// into a prefix prunes what an earlier `--no-save` install put there.
    prefix: &'static str,
    bin: &'static str,
    /// What the tool is for, for the error when npm is missing.
    role: &'static str,
    /// The version in what `BIN --version` prints.
    reported: fn(&str) -> Option<&str>,
}

impl NpmTool {
    /// Checks first and installs only when the check fails; the binary's path.
    fn ensure(&self) -> Result<PathBuf> {
        let (package, version) = (self.package, self.version);
        let prefix = root().join(".tools").join(self.prefix);
        let bin = prefix.join("node_modules/.bin").join(self.bin);
        let why = match self.check(&bin) {
            Ok(()) => return Ok(bin),
            Err(why) => why,
        };
        println!("xtask: {why}");
        println!("xtask: installing {package}@{version} ({}) from npm into .tools/{}", self.bin, self.prefix);
        run(cmd("npm")
            .args(["install", "--no-save", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(format!("{package}@{version}")))
        .map_err(|err| {
            format!(
                "{err}\n  {} comes from the npm package {package}@{version}; it needs node and npm on PATH",
                self.role
            )
        })?;
        self.check(&bin).map_err(|why| format!("installed {package}@{version}, but {why}"))?;
        Ok(bin)
    }

    fn check(&self, bin: &Path) -> Result {
        if !bin.is_file() {
            return Err(format!("{} is not installed", bin.display()));
        }
        let reported = output(cmd(bin).arg("--version"))?;
        if (self.reported)(&reported) == Some(self.version) {
            Ok(())
        } else {
            Err(format!("{} reports `{}`, expected version {}", bin.display(), reported.trim(), self.version))
        }
    }
}

/// Makes sure the pinned `wasm-opt` is installed and returns its path.
/// npm's `binaryen` package ships a prebuilt binary, which is far quicker
/// than building binaryen and works without apt access.
pub fn ensure_wasm_opt() -> Result<PathBuf> {
    NpmTool {
        package: "binaryen",
        version: BINARYEN_VERSION,
        prefix: "npm",
        bin: "wasm-opt",
        role: "wasm-opt",
        // Prints e.g. "wasm-opt version 132 (version_132)".
        reported: |text| text.split_whitespace().skip_while(|word| *word != "version").nth(1),
    }
    .ensure()
}

/// Makes sure the pinned `esbuild` is installed and returns its path.
pub fn ensure_esbuild() -> Result<PathBuf> {
    NpmTool {
        package: "esbuild",
        version: ESBUILD_VERSION,
        prefix: "esbuild",
        bin: "esbuild",
        role: "the minifier for the glue and the views",
        // Prints e.g. "0.28.2".
        reported: |text| Some(text.trim()),
    }
    .ensure()
}

/// Makes sure Chromium and chromedriver are installed for the browser tests,
/// installing them with apt when that is possible without asking anyone.
pub fn ensure_chromium() -> Result {
    let missing = format!("the browser tests need {CHROMIUM} and {CHROMEDRIVER}");
    ensure_debian_packages(&missing, &["chromium", "chromium-driver"], chromium_present)
}

/// Makes sure PostgreSQL's server programs (`initdb`, `pg_ctl`) are there:
/// the collector's store tests start a throwaway server of their own.
pub fn ensure_postgres() -> Result {
    ensure_debian_packages(
        "the collector's store tests need PostgreSQL's initdb and pg_ctl",
        &["postgresql"],
        postgres_present,
    )
}

/// Makes sure HAProxy is there: the multi-instance test and benchmark put
/// two collectors behind a real load balancer.
pub fn ensure_haproxy() -> Result {
    ensure_debian_packages("two collectors behind a load balancer need HAProxy", &["haproxy"], || {
        ["/usr/sbin/haproxy", "/usr/bin/haproxy"].iter().any(|path| Path::new(path).is_file())
    })
}

/// Installs the third-party packages the end-to-end tests build with
/// (`tests/npm/package.json`: the consent tools and routers of
/// docs/integrations.md, the bundlers the npm package is proven in,
/// TypeScript for the types), exactly as `tests/npm/package-lock.json`
/// pins them. `npm ci` runs again only when the lock file changed since
/// the last install; the folder's path.
pub fn ensure_test_packages() -> Result<PathBuf> {
    let dir = root().join("tests/npm");
    let lock = dir.join("package-lock.json");
    let installed = dir.join("node_modules/.package-lock.json");
    let modified = |path: &Path| fs::metadata(path).and_then(|meta| meta.modified()).ok();
    let fresh = matches!((modified(&installed), modified(&lock)), (Some(installed), Some(lock)) if installed >= lock);
    if !fresh {
        println!("xtask: installing the end-to-end tests' npm packages into tests/npm/node_modules");
        run(cmd("npm").args(["ci", "--no-audit", "--no-fund", "--prefix"]).arg(&dir)).map_err(|err| {
            format!(
                "{err}\n  the end-to-end tests' packages come from the npm registry; they need node and npm on PATH"
            )
        })?;
    }
    Ok(dir)
}

fn postgres_present() -> bool {
    std::fs::read_dir("/usr/lib/postgresql")
        .map(|versions| versions.filter_map(|entry| entry.ok()).any(|entry| entry.path().join("bin/initdb").is_file()))
        .unwrap_or(false)
}

/// Installs Debian `packages` with apt when `present` says they are missing,
/// when this is Debian and we are root (CI has no one to type a password);
/// otherwise says what to run.
fn ensure_debian_packages(missing: &str, packages: &[&str], present: fn() -> bool) -> Result {
    if present() {
        return Ok(());
    }
    let commands =
        format!("apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y {}", packages.join(" "));
    if !Path::new("/etc/debian_version").exists() {
        return Err(format!("{missing}; this is not a Debian system, so install them (on Debian: `{commands}`)"));
    }
    let uid = output(cmd("id").arg("-u"))?;
    if uid.trim() != "0" {
        return Err(format!("{missing}; install them as root with:\n  {commands}"));
    }
    println!("xtask: {missing}; installing {} with apt-get", packages.join(", "));
    let apt = || {
        let mut apt = cmd("apt-get");
        apt.env("DEBIAN_FRONTEND", "noninteractive");
        apt
    };
    run(apt().arg("update"))?;
    run(apt().arg("install").arg("-y").args(packages))?;
    if present() {
        Ok(())
    } else {
        Err(format!("apt-get finished, but {missing}"))
    }
}

fn chromium_present() -> bool {
    Path::new(CHROMIUM).is_file() && Path::new(CHROMEDRIVER).is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "wasm-bindgen"
version = "0.2.130"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = [
 "wasm-bindgen-macro",
]

[[package]]
name = "wasm-bindgen-macro"
version = "0.2.130"
"#;

    #[test]
    fn finds_exact_package_not_prefix_matches() {
        assert_eq!(locked_version(LOCK, "wasm-bindgen").unwrap(), "0.2.130");
    }

    #[test]
    fn missing_package_is_an_error() {
        assert!(locked_version(LOCK, "js-sys").is_err());
    }

    #[test]
    fn several_versions_are_an_error() {
        let lock = format!("{LOCK}\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.100\"\n");
        let err = locked_version(&lock, "wasm-bindgen").unwrap_err();
        assert!(err.contains("0.2.130, 0.2.100"), "{err}");
    }
}
