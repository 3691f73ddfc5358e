//! `cargo xtask test`: every check a change must pass, in one command, so CI
//! and a developer's machine run exactly the same thing. Cheap checks go
//! first so a formatting slip fails in seconds, not after a wasm build.

use std::time::{Duration, Instant};

use crate::budget::check_dist;
use crate::dist::build;
use crate::sh::{cargo, root, run, Result};
use crate::tools::{
    ensure_chromium, ensure_haproxy, ensure_postgres, ensure_test_packages, ensure_wasm_bindgen, ensure_wasm_target,
    CHROMEDRIVER, WASM_TARGET,
};
use crate::types::check_types;

struct Step {
    name: &'static str,
    why: &'static str,
    run: fn() -> Result,
}

const STEPS: &[Step] = &[
    Step { name: "fmt", why: "formatting is checked, never argued about in review", run: fmt },
    Step { name: "clippy (native)", why: "lints for the engine, its tests, benches and xtask", run: clippy_native },
    Step {
        name: "clippy (wasm32)",
        why: "the browser shell only compiles for wasm32, so lint it there too",
        run: clippy_wasm,
    },
    Step { name: "doc", why: "public API docs must build without broken links", run: doc },
    Step {
        name: "test (native)",
        why: "unit, integration and property tests of the engine, and the collector's store on SQLite and a real PostgreSQL",
        run: test_native,
    },
    Step {
        name: "test (wasm32, node)",
        why: "the engine must behave the same when compiled to wasm32",
        run: test_wasm,
    },
    Step { name: "test (browser)", why: "the widget's JS API in a real headless Chromium", run: test_browser },
    Step { name: "build", why: "the widget still builds, binds and optimizes into dist/", run: build },
    Step {
        name: "size budget",
        why: "a visitor downloads every byte; growth past size-budget.toml is a decision, not an accident",
        run: check_dist,
    },
    Step {
        name: "types",
        why: "the TypeScript types of the tag and the npm package accept what the docs show, and refuse mistakes",
        run: check_types,
    },
    Step {
        name: "test (end-to-end)",
        why: "the shipped loader and wasm from dist/, on real pages in headless Chromium",
        run: test_end_to_end,
    },
];

pub fn test() -> Result {
    let started = Instant::now();
    for step in STEPS {
        println!("\n==> {}: {}", step.name, step.why);
        let step_started = Instant::now();
        if let Err(err) = (step.run)() {
            println!("\nxtask test: FAILED at step `{}` after {}", step.name, elapsed(started.elapsed()));
            return Err(format!("step `{}` failed: {err}", step.name));
        }
        println!("--- {} ok ({})", step.name, elapsed(step_started.elapsed()));
    }
    println!("\nxtask test: all {} steps passed in {}", STEPS.len(), elapsed(started.elapsed()));
    Ok(())
}

fn fmt() -> Result {
    run(cargo().args(["fmt", "--all", "--check"]))
}

/// `--all-features` so feature-gated tests (the end-to-end suite) are linted
/// too, not only when they happen to run.
fn clippy_native() -> Result {
    run(cargo().args(["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"]))
}

fn clippy_wasm() -> Result {
    ensure_wasm_target()?;
    run(cargo().args([
        "clippy",
        "-p",
        "leadscore",
        "--target",
        WASM_TARGET,
        "--lib",
        "--tests",
        "--",
        "-D",
        "warnings",
    ]))
}

fn doc() -> Result {
    run(cargo().args(["doc", "--workspace", "--no-deps"]).env("RUSTDOCFLAGS", "-D warnings"))
}

/// The collector's store contract runs against a throwaway PostgreSQL
/// server each test starts (`collector/tests/common/pg.rs`); the package is
/// installed first (and HAProxy, for two collectors behind a balancer), as
/// Chromium is for the browser tests. The collector's
/// HTTP suites then run a second time with every test collector on its own
/// PostgreSQL server (`LEADSCORE_TEST_STORE=postgres`).
fn test_native() -> Result {
    ensure_postgres()?;
    ensure_haproxy()?;
    run(cargo().args(["test", "--workspace"]))?;
    run(cargo().args(["test", "-p", "leadscore-collector"]).env("LEADSCORE_TEST_STORE", "postgres"))
}

/// cargo hands each wasm32 test binary to `wasm-bindgen-test-runner` (the
/// runner in `.cargo/config.toml`), which runs it in node unless the tests
/// ask for a browser.
fn test_wasm() -> Result {
    ensure_wasm_target()?;
    ensure_wasm_bindgen()?;
    // `--tests` also builds the browser suite; the runner skips it here
    // instead of failing for want of a browser, and the next step runs it.
    run(cargo()
        .args(["test", "-p", "leadscore", "--target", WASM_TARGET, "--tests"])
        .env("WASM_BINDGEN_TEST_ONLY_NODE", "1"))
}

/// `tests/web.rs` holds the browser tests; the runner drives Chromium through
/// the chromedriver named in `CHROMEDRIVER`.
fn test_browser() -> Result {
    if !root().join("tests/web.rs").is_file() {
        println!("skipped: there is no tests/web.rs yet");
        return Ok(());
    }
    ensure_wasm_target()?;
    ensure_wasm_bindgen()?;
    ensure_chromium()?;
    run(cargo()
        .args(["test", "-p", "leadscore", "--target", WASM_TARGET, "--test", "web"])
        .env("CHROMEDRIVER", CHROMEDRIVER))
}

/// `tests/widget_e2e.rs` (the loader on real pages), `tests/delivery_e2e.rs`
/// (leads posted to a scripted endpoint), `tests/privacy_e2e.rs`,
/// `tests/hostile_e2e.rs` (pages that get in the widget's way),
/// `tests/integrations_e2e.rs` (docs/integrations.md's recipes with the
/// real consent tools), `tests/npm_e2e.rs` (the npm package in real
/// bundlers; both use the npm packages `tests/npm/` pins) and the
/// collector's `tests/journeys.rs` (visitors on the demo site, against the
/// real collector) serve `dist/` as a site would, so they run after the
/// build step; they are behind `e2e` features so that plain `cargo test`
/// never needs a browser or a build.
fn test_end_to_end() -> Result {
    ensure_chromium()?;
    ensure_test_packages()?;
    run(&mut journeys(&[]))?;
    run(cargo()
        .args([
            "test",
            "-p",
            "leadscore",
            "--features",
            "e2e",
            "--test",
            "widget_e2e",
            "--test",
            "delivery_e2e",
            "--test",
            "privacy_e2e",
            "--test",
            "hostile_e2e",
            "--test",
            "integrations_e2e",
            "--test",
            "npm_e2e",
        ])
        .env("CHROMEDRIVER", CHROMEDRIVER))
}

/// The demo-site journeys against the collector (only those matching one of
/// `filters`, if any are given),
/// which leave their screenshots in `target/e2e-artifacts/`.
pub fn journeys(filters: &[&str]) -> std::process::Command {
    let mut command = cargo();
    command
        .args(["test", "-p", "leadscore-collector", "--features", "e2e", "--test", "journeys"])
        .env("CHROMEDRIVER", CHROMEDRIVER);
    if !filters.is_empty() {
        command.arg("--").args(filters);
    }
    command
}

/// `12.3s` or `4m05s`: precise enough for a CI log, short enough to scan.
fn elapsed(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs < 60 {
        format!("{secs}.{}s", duration.subsec_millis() / 100)
    } else {
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_is_short() {
        assert_eq!(elapsed(Duration::from_millis(12_345)), "12.3s");
        assert_eq!(elapsed(Duration::from_secs(245)), "4m05s");
    }

    #[test]
    fn end_to_end_tests_run_on_a_fresh_build() {
        let names: Vec<_> = STEPS.iter().map(|step| step.name).collect();
        let build = names.iter().position(|name| *name == "build").expect("a build step");
        assert_eq!(names[build + 1..], ["size budget", "types", "test (end-to-end)"]);
    }
}
