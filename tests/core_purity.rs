//! Keeps `src/core` and `src/session` pure: no web crates, no clock, no
//! files, no network. The collector compiles the same engine natively and
//! the session's rules are tested natively, so anything the browser shell
//! needs stays in `src/web`. Also keeps `src/web`'s layering: feature
//! modules reach the widget only through the inlet, and the browser path
//! denies `unwrap`, `expect` and `panic!`.
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
fn core_and_session_import_nothing_impure() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src/core"), &mut files);
    let core_files = files.len();
    rust_files(&root.join("src/session"), &mut files);
    assert!(core_files > 5 && files.len() > core_files + 3, "found only {files:?}");
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
    assert!(violations.is_empty(), "src/core and src/session must stay pure:\n{}", violations.join("\n"));
}

/// The browser shell's feature modules (capture, consent, privacy, reveal,
/// views, storage, transport, callbacks, js_data) import only the browser
/// helpers and the inlet: never the handle, the exports or each other. The
/// shell itself is the handle, the exports and the models it shows.
#[test]
fn web_feature_modules_import_neither_the_shell_nor_each_other() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web");
    let shell = ["handle.rs", "mod.rs", "model.rs"];
    let allowed = ["dom", "inlet"];
    let mut violations = Vec::new();
    let mut checked = 0;
    for entry in fs::read_dir(&web).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if shell.contains(&name.as_str()) {
            continue;
        }
        checked += 1;
        let text = fs::read_to_string(&path).unwrap();
        for (number, line) in text.lines().enumerate() {
            for (index, _) in line.match_indices("super::") {
                let module: String =
                    line[index + 7..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !allowed.contains(&module.as_str()) {
                    violations.push(format!("src/web/{name}:{}: {}", number + 1, line.trim()));
                }
            }
        }
    }
    assert!(checked >= 8, "found only {checked} feature modules");
    assert!(
        violations.is_empty(),
        "feature modules reach the widget only through the inlet:\n{}",
        violations.join("\n")
    );
}

/// Everything that runs in the visitor's browser denies the panicking
/// shortcuts, so clippy (native and wasm32) keeps them out.
#[test]
fn the_browser_path_denies_panics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for module in ["src/core/mod.rs", "src/session/mod.rs", "src/web/mod.rs"] {
        let text = fs::read_to_string(root.join(module)).unwrap();
        let denied = text
            .lines()
            .find(|line| line.starts_with("#![deny(") && line.contains("clippy::unwrap_used"))
            .unwrap_or_else(|| panic!("{module} does not deny clippy::unwrap_used"));
        for lint in ["clippy::expect_used", "clippy::panic", "clippy::unreachable"] {
            assert!(denied.contains(lint), "{module} does not deny {lint}: {denied}");
        }
    }
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
