//! Keeps `src/core` pure: no web crates, no clock, no files, no network.
//! The collector compiles the same engine natively, so anything the browser
//! shell needs stays in `src/web`.
#![cfg(not(target_arch = "wasm32"))]

use std::fs;
use std::path::{Path, PathBuf};

const FORBIDDEN: &[(&str, &str)] = &[
    ("wasm_bindgen", "a web crate"),
    ("web_sys", "a web crate"),
    ("js_sys", "a web crate"),
    ("gloo", "a web crate"),
    ("SystemTime", "a clock (take `now` as an argument)"),
    ("Instant", "a clock (take `now` as an argument)"),
    ("std::fs", "file I/O"),
    ("std::net", "network I/O"),
    ("thread_rng", "randomness (the shell picks ids)"),
];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn core_imports_nothing_impure() {
    let core = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core");
    let mut files = Vec::new();
    rust_files(&core, &mut files);
    assert!(files.len() > 5, "found only {files:?}");
    let mut violations = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for (needle, what) in FORBIDDEN {
                if code
                    .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .any(|word| word.contains(needle))
                {
                    violations.push(format!("{}:{}: {what}: {}", file.display(), number + 1, line.trim()));
                }
            }
        }
    }
    assert!(violations.is_empty(), "src/core must stay pure:\n{}", violations.join("\n"));
}

#[test]
fn the_manifest_keeps_web_crates_wasm_only() {
    // Web crates may only be dependencies under a wasm32 target table, so a
    // native build of the engine (the collector's) never links them.
    let manifest = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let mut section = String::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line.to_string();
            continue;
        }
        for web_crate in ["wasm-bindgen", "web-sys", "js-sys", "gloo", "serde-wasm-bindgen"] {
            if line.starts_with(&format!("{web_crate} ")) || line.starts_with(&format!("{web_crate}=")) {
                assert!(section.contains("wasm32"), "{web_crate} is declared in {section}, not under a wasm32 target");
            }
        }
    }
}
