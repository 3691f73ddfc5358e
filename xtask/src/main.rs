//! Project automation, run as `cargo xtask <command>` (the cargo-xtask
//! pattern): plain Rust instead of shell scripts or make, so it works
//! anywhere cargo does and installs the tools it needs itself.

mod bench_browser;
mod budget;
mod ci;
mod demo;
mod dist;
mod layout;
mod measure;
mod package;
mod sh;
mod size;
mod tools;
mod types;
mod wasm;

use std::env;
use std::ffi::OsString;
use std::process::ExitCode;

use sh::{cargo, run, Result};

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  build    build the widget into dist/ (wasm, JS glue, typings, www/ scripts)
           and print its size; installs missing tools first
  size     print raw/gzip/brotli sizes of dist/ and the 20 largest wasm
           functions, and write dist/size-report.json (builds first if
           dist/ has no wasm module)
  test     everything CI checks: fmt, clippy (native and wasm32), docs,
           native and wasm32 tests, browser tests, the build, its size
           against size-budget.toml, the TypeScript types, then the
           end-to-end tests of dist/ in headless Chromium
  demo     build the widget and the collector, then serve the demo site,
           the widget on http://127.0.0.1:8787 and the dashboard on the next
           port (`cargo xtask demo --port N` for others); Ctrl-C stops it;
           `--seed-history` first fills the database with a generated
           history for the dashboard's Insights page
  screenshots
           play the demo journeys in headless Chromium and copy their
           screenshots (site, debug overlay, dashboard, insights) to
           docs/screenshots/
  bench    run the engine benchmarks; extra args go to `cargo bench`,
           e.g. `cargo xtask bench -- --save-baseline main`
  bench-collector
           load-test the collector on loopback, with and without SQLite
           storage; extra args go to the load example,
           e.g. `cargo xtask bench-collector -- --leads 10000 --concurrency 64`
  bench-browser
           the widget beside posthog-js, @segment/analytics-next and the
           Plausible tracker on one page in headless Chromium (transfer,
           init, 1,000 events, memory), then the engine in wasm; installs
           the peers from npm into target/bench-browser/peers first;
           `--runs N` (default 5) runs, medians printed
";

fn main() -> ExitCode {
    let mut args = env::args_os().skip(1);
    let command = args.next();
    let rest: Vec<OsString> = args.collect();
    let Some(command) = command.as_ref().and_then(|command| command.to_str()) else {
        eprint!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let result = match (command, rest.is_empty()) {
        ("bench", _) => bench(&rest),
        ("bench-collector", _) => bench_collector(&rest),
        ("bench-browser", _) => bench_browser::bench_browser(&rest),
        ("-h" | "--help" | "help", _) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        ("build", true) => dist::build(),
        ("size", true) => size::size(),
        ("test", true) => ci::test(),
        ("screenshots", true) => demo::screenshots(),
        ("demo", _) => demo::options(&rest).and_then(demo::demo),
        ("build" | "size" | "test" | "screenshots", false) => Err(format!("`{command}` takes no arguments\n\n{USAGE}")),
        _ => Err(format!("unknown command `{command}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", err.trim_end());
            ExitCode::FAILURE
        }
    }
}

/// Extra arguments are passed through untouched, so both cargo options and
/// (after `--`) criterion options work.
fn bench(args: &[OsString]) -> Result {
    run(cargo().args(["bench", "-p", "leadscore", "--bench", "engine"]).args(args))
}

/// A release build, since debug figures say nothing about the server. A
/// leading `--` is dropped: cargo would otherwise hand it to the example.
fn bench_collector(args: &[OsString]) -> Result {
    let args = args.strip_prefix(&[OsString::from("--")]).unwrap_or(args);
    if !args.iter().any(|arg| arg == "--no-postgres" || arg == "-h" || arg == "--help") {
        tools::ensure_postgres()?;
        tools::ensure_haproxy()?;
    }
    run(cargo().args(["run", "--release", "-p", "leadscore-collector", "--example", "load", "--"]).args(args))
}
