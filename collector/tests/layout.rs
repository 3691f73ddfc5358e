//! Keeps the collector's shape: `lib.rs` only wires the server, the admin
//! side is split by job, every route answers refusals with `ApiError`
//! (never an early `Err(Response)`), the public posts share one CORS layer,
//! and the civil-date conversion exists once, in the core.

use std::fs;
use std::path::{Path, PathBuf};

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

fn collector_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn lib_rs_only_wires_the_server() {
    let lib = fs::read_to_string(collector_src().join("lib.rs")).unwrap();
    // The server's starts and routers, and the methods of `App` and `Running`.
    let wiring = [
        "start",
        "start_split",
        "router",
        "public_router",
        "admin_router",
        "finish",
        "retention_sweep",
        "targets",
        "blocking",
        "stop",
        "shutdown_handle",
    ];
    for line in lib.lines().map(str::trim_start) {
        let Some(rest) = line
            .strip_prefix("pub fn ")
            .or_else(|| line.strip_prefix("fn "))
            .or_else(|| line.strip_prefix("async fn "))
        else {
            continue;
        };
        let name = rest.split(['(', '<']).next().unwrap();
        assert!(wiring.contains(&name), "lib.rs defines `{name}`; helpers belong in their own modules");
    }
}

#[test]
fn the_admin_side_is_split_by_job() {
    for file in ["mod.rs", "auth.rs", "api.rs", "pages.rs", "export.rs"] {
        assert!(collector_src().join("admin").join(file).exists(), "admin/{file}");
    }
    assert!(!collector_src().join("admin.rs").exists());
}

#[test]
fn refusals_are_api_errors_not_early_responses() {
    let mut files = Vec::new();
    rust_files(&collector_src(), &mut files);
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        for pattern in ["Err(Response)", ", Response>", "Result<(Response", "result_large_err"] {
            assert!(!text.contains(pattern), "{} has `{pattern}`: answer with ApiError", file.display());
        }
    }
}

#[test]
fn the_public_posts_share_one_cors_layer() {
    let ingest = fs::read_to_string(collector_src().join("ingest.rs")).unwrap();
    // One for the posts (the layer), one for the public rule sets (`*`).
    assert_eq!(ingest.matches("ACCESS_CONTROL_ALLOW_ORIGIN").count(), 2, "CORS headers set in one layer");
    assert!(!ingest.contains("fn with_cors"), "no CORS wrapper per handler");
}

#[test]
fn the_civil_date_conversion_exists_once_in_the_core() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for dir in ["src", "collector/src", "collector/tests", "tests", "xtask/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    let holders: Vec<PathBuf> = files
        .into_iter()
        .filter(|file| fs::read_to_string(file).unwrap().contains(&["146", "_097"].concat()))
        .collect();
    assert_eq!(holders, [root.join("src/core/time.rs")], "one civil-date conversion");
}
