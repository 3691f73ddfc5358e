//! What `cargo xtask build` writes beside the widget's files once they are
//! final: `dist/manifest.json` (each file a browser fetches, its size and its
//! Subresource Integrity hash), the same files under content-hashed names in
//! `dist/hashed/` (for `immutable` caching), and the npm package in
//! `dist/npm/` (the same files, with an ES-module entry for bundlers).

use std::fs;
use std::path::Path;

use sha2::{Digest, Sha384};

use crate::layout::{ON_DEMAND, OUT_NAME};
use crate::sh::{root, Result};

/// The manifest's name in `dist/`; the size report and the budget skip it.
pub const MANIFEST: &str = "manifest.json";

/// The package's folder in `dist/`; the size report and the budget skip it,
/// since its files are copies of the ones measured.
pub const NPM_DIR: &str = "npm";

/// The folder of `dist/` with the content-hashed names; skipped by the size
/// report and the budget like the package.
pub const HASHED_DIR: &str = "hashed";

/// The files a browser fetches from `dist/`, in the order a visit loads them.
pub fn fetched_files() -> Vec<String> {
    let mut files = vec!["leadscore.js".to_owned(), format!("{OUT_NAME}.js"), format!("{OUT_NAME}_bg.wasm")];
    files.extend(ON_DEMAND.iter().map(|part| part.to_string()));
    files
}

/// `sha384-…`, the form `integrity` attributes take.
pub fn integrity(data: &[u8]) -> String {
    format!("sha384-{}", base64(&Sha384::digest(data)))
}

/// Standard base64 with padding, as Subresource Integrity writes hashes.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let bytes = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let joined = (u32::from(bytes[0]) << 16) | (u32::from(bytes[1]) << 8) | u32::from(bytes[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            out.push(if i <= chunk.len() { ALPHABET[(joined >> shift) as usize & 63] as char } else { '=' });
        }
    }
    out
}

/// Writes `manifest.json` in `dir`: `{"version", "files": [{"name", "bytes",
/// "integrity"}, …]}` for each of `names` (paths relative to `dir`), so a
/// site can pin each file a browser fetches.
pub fn write_manifest(dir: &Path, names: &[String]) -> Result {
    let mut files = Vec::new();
    for name in names {
        let path = dir.join(name);
        let data = fs::read(&path).map_err(|err| format!("could not read {}: {err}", path.display()))?;
        files.push(serde_json::json!({ "name": name, "bytes": data.len(), "integrity": integrity(&data) }));
    }
    let manifest = serde_json::json!({ "version": crate_version()?, "files": files });
    let text = serde_json::to_string_pretty(&manifest).map_err(|err| err.to_string())? + "\n";
    let path = dir.join(MANIFEST);
    fs::write(&path, text).map_err(|err| format!("could not write {}: {err}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// The loader's asset base, the one string the hashed copy changes.
const LOADER_BASE: &str = "'leadscore_'";

/// Writes `dist/hashed/`: the loader (short-lived: the one file a site's tag
/// names) and, in a folder named by the hash of their contents, the glue,
/// the wasm and the views (immutable: a new build gets a new folder). The
/// loader finds them because its asset base becomes `HASH/leadscore_`;
/// the files themselves are byte for byte those of `dist/`. The hashed
/// loader's manifest lists all five.
pub fn write_hashed(dist: &Path) -> Result {
    let fetched = fetched_files();
    let (loader, assets) = fetched.split_first().expect("the loader is fetched first");
    let mut hasher = Sha384::new();
    for name in assets {
        let data = fs::read(dist.join(name)).map_err(|err| format!("could not read dist/{name}: {err}"))?;
        hasher.update(name.as_bytes());
        hasher.update((data.len() as u64).to_le_bytes());
        hasher.update(&data);
    }
    let hash: String = hasher.finalize()[..8].iter().map(|byte| format!("{byte:02x}")).collect();
    let hashed = dist.join(HASHED_DIR);
    let folder = hashed.join(&hash);
    fs::create_dir_all(&folder).map_err(|err| format!("could not create {}: {err}", folder.display()))?;
    for name in assets {
        fs::copy(dist.join(name), folder.join(name)).map_err(|err| format!("could not copy dist/{name}: {err}"))?;
    }
    let source = fs::read_to_string(dist.join(loader)).map_err(|err| format!("could not read dist/{loader}: {err}"))?;
    fs::write(hashed.join(loader), hashed_loader(&source, &hash)?)
        .map_err(|err| format!("could not write dist/{HASHED_DIR}/{loader}: {err}"))?;
    let mut names = vec![loader.clone()];
    names.extend(assets.iter().map(|name| format!("{hash}/{name}")));
    write_manifest(&hashed, &names)?;
    println!("wrote dist/{HASHED_DIR}/ (assets in {hash}/)");
    Ok(())
}

/// The loader with its asset base moved into the `hash` folder.
fn hashed_loader(source: &str, hash: &str) -> Result<String> {
    if source.matches(LOADER_BASE).count() != 1 {
        return Err(format!("the loader must name its asset base {LOADER_BASE} exactly once"));
    }
    Ok(source.replace(LOADER_BASE, &format!("'{hash}/leadscore_'")))
}

/// The widget's version: `[package] version` of the top-level Cargo.toml.
pub fn crate_version() -> Result<String> {
    let path = root().join("Cargo.toml");
    let text = fs::read_to_string(&path).map_err(|err| format!("could not read {}: {err}", path.display()))?;
    package_version(&text).ok_or_else(|| format!("{} has no `version` in its [package] table", path.display()))
}

fn package_version(cargo_toml: &str) -> Option<String> {
    let mut in_package = false;
    for line in cargo_toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if let Some(value) = line.strip_prefix("version").map(str::trim_start) {
            if in_package {
                let value = value.strip_prefix('=')?.trim();
                return Some(value.trim_matches('"').to_owned()).filter(|version| !version.is_empty());
            }
        }
    }
    None
}

/// The files of the npm package, beside its `package.json`.
pub const PACKAGE_FILES: [&str; 10] = [
    "README.md",
    "index.d.ts",
    "index.js",
    "leadscore.d.ts",
    "leadscore_config.js",
    "leadscore_config.wasm",
    "leadscore_debug.js",
    "leadscore_privacy.js",
    "leadscore_wasm.js",
    "leadscore_wasm_bg.wasm",
];

/// Writes the npm package into `dist/npm/`: the entry and its types from
/// `www/npm/`, the glue, the wasm and the views as built, the global types,
/// and a `package.json` whose version is the crate's.
pub fn write_npm_package(dist: &Path) -> Result {
    let npm = dist.join(NPM_DIR);
    fs::create_dir_all(&npm).map_err(|err| format!("could not create {}: {err}", npm.display()))?;
    let www = root().join("www");
    for name in PACKAGE_FILES {
        let from = if ["README.md", "index.d.ts", "index.js"].contains(&name) {
            www.join("npm").join(name)
        } else {
            dist.join(name)
        };
        fs::copy(&from, npm.join(name))
            .map_err(|err| format!("could not copy {} to dist/npm/: {err}", from.display()))?;
    }
    let manifest = package_json(&crate_version()?);
    fs::write(npm.join("package.json"), manifest)
        .map_err(|err| format!("could not write dist/npm/package.json: {err}"))?;
    println!("wrote the npm package to dist/{NPM_DIR}/");
    Ok(())
}

/// `package.json` as the ecosystem expects it: an ES module with its types,
/// one `exports` entry (and the wasm, so a build step that does not follow
/// `new URL(…, import.meta.url)`, such as esbuild's, can copy it by name),
/// no side effects on import (the entry does nothing until `init`), and
/// `files` naming exactly what ships.
fn package_json(version: &str) -> String {
    let mut files: Vec<&str> = PACKAGE_FILES.iter().copied().filter(|name| *name != "README.md").collect();
    files.sort_unstable();
    let manifest = serde_json::json!({
        "name": "leadscore",
        "version": version,
        "description": "Lead scoring that runs in the visitor's browser: behaviour stays there, a lead is posted only when the visitor qualifies and consent allows",
        "license": "MIT OR Apache-2.0",
        "type": "module",
        "main": "./index.js",
        "module": "./index.js",
        "types": "./index.d.ts",
        "exports": {
            ".": { "types": "./index.d.ts", "default": "./index.js" },
            "./package.json": "./package.json",
            "./leadscore_wasm_bg.wasm": "./leadscore_wasm_bg.wasm"
        },
        "sideEffects": false,
        "files": files,
        "keywords": ["lead scoring", "mql", "marketing", "webassembly", "privacy"]
    });
    serde_json::to_string_pretty(&manifest).expect("a JSON value always serializes") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrity_is_sha384_in_base64() {
        // `printf abc | openssl dgst -sha384 -binary | base64`
        assert_eq!(integrity(b"abc"), "sha384-ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn");
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }

    #[test]
    fn the_hashed_loader_looks_in_the_hash_folder() {
        let loader = "B=s.src.replace(/x/,'leadscore_');import(B+'wasm.js')";
        assert_eq!(
            hashed_loader(loader, "0a1b").unwrap(),
            "B=s.src.replace(/x/,'0a1b/leadscore_');import(B+'wasm.js')"
        );
        assert!(hashed_loader("no base here", "0a1b").is_err());
        let real = fs::read_to_string(root().join("www/leadscore.js")).unwrap();
        assert!(hashed_loader(&real, "0a1b").unwrap().contains("'0a1b/leadscore_'"));
    }

    #[test]
    fn the_version_comes_from_the_package_table() {
        let toml = "[workspace]\nversion = \"9\"\n[package]\nname = \"x\"\nversion = \"1.2.3\"\n[dependencies]\nversion = \"4\"\n";
        assert_eq!(package_version(toml).as_deref(), Some("1.2.3"));
        assert_eq!(package_version("[package]\nname = \"x\"\n"), None);
        assert!(crate_version().unwrap().split('.').count() == 3);
    }

    #[test]
    fn the_package_json_names_its_entry_types_and_files() {
        let manifest: serde_json::Value = serde_json::from_str(&package_json("1.2.3")).unwrap();
        assert_eq!(manifest["name"], "leadscore");
        assert_eq!(manifest["version"], "1.2.3");
        assert_eq!(manifest["type"], "module");
        assert_eq!(manifest["sideEffects"], false);
        assert_eq!(manifest["exports"]["."]["types"], "./index.d.ts");
        let files: Vec<&str> = manifest["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        assert!(files.contains(&"leadscore_wasm_bg.wasm") && files.contains(&"index.js"), "{files:?}");
    }
}
