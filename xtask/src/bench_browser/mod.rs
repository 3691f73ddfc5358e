//! `cargo xtask bench-browser`: what the widget costs a page, beside the
//! trackers a site owner would pick instead, in one harness and one run.
//!
//! The same page is served five times from a loopback server (gzip, like a
//! CDN): with no tracker, with leadscore, posthog-js, @segment/analytics-next
//! and the Plausible tracker (installed from npm at pinned versions, each
//! sending to a sink on the same server). Each variant, in a fresh headless
//! Chromium profile, is measured for bytes transferred, main-thread time at
//! init (trace events and long tasks), 1,000 tracked events through the
//! tracker's own API, and memory after them and after 1,000 more. Then the
//! engine benchmark's workload, built for wasm32, is timed in the browser
//! for comparison with the native criterion figures. Medians over `--runs`
//! runs are printed as tables for BENCHMARKS.md.
//!
//! Nothing here is a test: figures are printed, never asserted. Any request
//! that would leave loopback fails the run, naming the variant and the URL.

mod pages;
mod server;
mod trace;
mod webdriver;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::dist::build;
use crate::layout::{dist_dir, target_dir};
use crate::sh::{cargo, cmd, run, Result};
use crate::tools::{ensure_chromium, ensure_wasm_bindgen, ensure_wasm_opt, ensure_wasm_target, WASM_TARGET};
use pages::{Variant, ENGINE_PAGE};
use server::{Server, Site};
use trace::Log;
use webdriver::Browser;

/// The peers, pinned so figures move only when we choose to upgrade.
const PEERS: &[(&str, &str)] =
    &[("posthog-js", "1.449.2"), ("@segment/analytics-next", "1.84.3"), ("@plausible-analytics/tracker", "0.4.6")];

/// Events per batch, as in the goals: "1,000 tracked events".
const EVENTS: u32 = 1000;

/// The engine benchmark's rule-set sizes, as in `benches/engine.rs`.
const RULE_SETS: [u32; 3] = [10, 50, 200];

#[derive(Debug, PartialEq)]
struct Options {
    runs: usize,
    /// Print where each variant's init time goes, by trace event and task.
    breakdown: bool,
}

impl Options {
    fn parse(args: &[OsString]) -> Result<Options> {
        let mut options = Options { runs: 5, breakdown: false };
        let mut args = args.iter().map(|arg| arg.to_string_lossy());
        while let Some(arg) = args.next() {
            if arg == "--breakdown" {
                options.breakdown = true;
                continue;
            }
            let value = match arg.split_once('=') {
                Some(("--runs", value)) => value.to_string(),
                _ if arg == "--runs" => args.next().map(|value| value.into_owned()).unwrap_or_default(),
                _ => return Err(format!("unknown argument `{arg}`; bench-browser takes `--runs N` and `--breakdown`")),
            };
            options.runs = match value.parse() {
                Ok(runs) if runs > 0 => runs,
                _ => return Err(format!("`--runs` needs a whole number above 0, not `{value}`")),
            };
        }
        Ok(options)
    }
}

pub fn bench_browser(args: &[OsString]) -> Result {
    let options = Options::parse(args)?;
    ensure_chromium()?;
    if !dist_dir().join("leadscore_wasm_bg.wasm").is_file() {
        println!("xtask: dist/ has no wasm module yet; building it first");
        build()?;
    }
    let peers = ensure_peers(&target_dir().join("bench-browser/peers"))?;
    let engine = build_engine(&target_dir().join("bench-browser/engine"))?;
    let server = Server::start(|origin| site(origin, &peers, &engine))?;
    println!("xtask: serving the benchmark pages on {}", server.origin);

    let mut samples: BTreeMap<Variant, Vec<Metrics>> = BTreeMap::new();
    let mut engine_samples: BTreeMap<u32, Vec<Metrics>> = BTreeMap::new();
    for run in 1..=options.runs {
        // Variants interleave, so contention on a shared machine spreads
        // over all of them rather than landing on one.
        for variant in Variant::ALL {
            let metrics = measure(&server, variant, options.breakdown)
                .map_err(|err| format!("{} (run {run}): {err}", variant.name()))?;
            println!("run {run} {:<24} {}", variant.name(), one_line(&metrics));
            samples.entry(variant).or_default().push(metrics);
        }
        for (rules, metrics) in measure_engine(&server).map_err(|err| format!("engine (run {run}): {err}"))? {
            println!("run {run} engine, {rules} rules: {}", one_line(&metrics));
            engine_samples.entry(rules).or_default().push(metrics);
        }
    }

    let engine_medians: Vec<(u32, Metrics)> =
        engine_samples.iter().map(|(rules, runs)| (*rules, medians(runs))).collect();
    let tracker_medians: Vec<(Variant, Metrics)> =
        samples.iter().map(|(variant, runs)| (*variant, medians(runs))).collect();
    println!("\nMedians of {} runs, one fresh Chromium profile per variant and run:\n", options.runs);
    print!("{}", trackers_table(&tracker_medians));
    println!();
    print!("{}", ratios_table(&tracker_medians));
    println!();
    let criterion = target_dir().join("criterion");
    if native_figures(&criterion, RULE_SETS[0]).is_none() {
        println!("(no native figures in {}: run `cargo xtask bench` for the ratios)", criterion.display());
    }
    print!("{}", engine_table(&engine_medians, |rules| native_figures(&criterion, rules)));
    Ok(())
}

// ---------------------------------------------------------------------------
// Setup: peers, the engine module, the site
// ---------------------------------------------------------------------------

/// Installs the pinned peers under `prefix` unless they are there already;
/// returns the `node_modules` folder. The only network use of the harness.
fn ensure_peers(prefix: &Path) -> Result<PathBuf> {
    let modules = prefix.join("node_modules");
    let installed = |name: &str, version: &str| {
        std::fs::read_to_string(modules.join(name).join("package.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .is_some_and(|manifest| manifest["version"] == version)
    };
    if PEERS.iter().all(|(name, version)| installed(name, version)) {
        return Ok(modules);
    }
    std::fs::create_dir_all(prefix).map_err(|err| format!("could not create {}: {err}", prefix.display()))?;
    println!("xtask: installing the peers from the npm registry into {}", prefix.display());
    // No install scripts: only the packages' browser bundles are used.
    run(cmd("npm")
        .args(["install", "--no-audit", "--no-fund", "--ignore-scripts", "--save-exact", "--prefix"])
        .arg(prefix)
        .args(PEERS.iter().map(|(name, version)| format!("{name}@{version}"))))
    .map_err(|err| format!("{err}\n  the peers come from the npm registry; it needs node, npm and the network"))?;
    match PEERS.iter().find(|(name, version)| !installed(name, version)) {
        Some((name, version)) => Err(format!("npm finished, but {name}@{version} is not in {}", modules.display())),
        None => Ok(modules),
    }
}

/// Builds `benches/wasm-engine` the way the widget is built (the workspace
/// release profile, `wasm-bindgen --target web`, `wasm-opt -Oz`), into `out`.
fn build_engine(out: &Path) -> Result<PathBuf> {
    ensure_wasm_target()?;
    let wasm_bindgen = ensure_wasm_bindgen()?;
    let wasm_opt = ensure_wasm_opt()?;
    run(cargo().args(["build", "--release", "--target", WASM_TARGET, "-p", "leadscore-wasm-engine"]))?;
    let module = target_dir().join(WASM_TARGET).join("release/leadscore_wasm_engine.wasm");
    run(cmd(&wasm_bindgen).args(["--target", "web", "--out-dir"]).arg(out).arg(&module))?;
    let bg = out.join("leadscore_wasm_engine_bg.wasm");
    run(cmd(&wasm_opt).args(["-Oz", "--strip-target-features", "--strip-producers", "-o"]).arg(&bg).arg(&bg))?;
    Ok(out.to_path_buf())
}

fn site(origin: &str, peers: &Path, engine: &Path) -> Site {
    let mut site = Site::default();
    for variant in Variant::ALL {
        site.documents.insert(variant.path().into(), ("html".into(), pages::variant_page(variant)));
    }
    site.documents.insert("/engine/index.html".into(), ("html".into(), ENGINE_PAGE.into()));
    site.documents
        .insert("/segment-cdn/v1/projects/bench/settings".into(), ("json".into(), pages::segment_settings(origin)));
    site.mounts = vec![
        ("/dist/".into(), dist_dir()),
        ("/peers/".into(), peers.to_path_buf()),
        ("/segment-cdn/analytics-next/bundles/".into(), peers.join("@segment/analytics-next/dist/umd")),
        ("/engine/".into(), engine.to_path_buf()),
    ];
    site
}

// ---------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------

/// Named figures of one run; medians are taken per name.
type Metrics = BTreeMap<&'static str, f64>;

/// One variant in a fresh browser: init, a first batch of events, a second.
///
/// The performance log is read once, at the end, and cut into phases by the
/// page's user-timing marks: chromedriver records one trace per log read,
/// and a read in the middle of a page loses events (seen with Chromium 156).
fn measure(server: &Server, variant: Variant, breakdown: bool) -> Result<Metrics> {
    let browser = Browser::start()?;
    read_log(&browser, variant.name())?; // the new tab's own start, not ours
    server.take_seen();
    browser.goto(&server.url(variant.path()))?;
    let init = browser.eval_async("__bench.init().then(done, function (e) { done(String(e)) })")?;
    if !init.is_object() {
        return Err(format!("the page did not start: {init}"));
    }
    let sent_at_init = sink_requests(server);
    let mut batches = Vec::new();
    for label in ["first", "second"] {
        let batch = browser.eval_async(&format!(
            "__bench.batch('{label}', {EVENTS}).then(done, function (e) {{ done(String(e)) }})"
        ))?;
        if !batch.is_object() {
            return Err(format!("the {label} batch of events failed: {batch}"));
        }
        batches.push((batch, sink_requests(server)));
    }
    let log = read_log(&browser, variant.name())?;
    let phase = |start: Option<&str>, end: &str| {
        let end = log.mark(end).ok_or_else(|| format!("the trace has no `{end}` mark"))?;
        Ok::<_, String>(log.main_thread(start.and_then(|start| log.mark(start)), Some(end)))
    };

    let mut metrics = Metrics::new();
    let init_main = phase(None, "bench:init:end")?;
    let init_end = log.mark("bench:init:end");
    if breakdown {
        println!("{} init, main-thread ms by trace event (names nest):", variant.name());
        for (name, ms) in log.by_name(None, init_end).into_iter().take(20) {
            println!("  {ms:8.2}  {name}");
        }
        println!("{} init, tasks of 2 ms or more:", variant.name());
        for line in log.tasks(None, init_end, 2.0) {
            println!("  {line}");
        }
    }
    metrics.insert("transfer", number(&init["transfer"]));
    metrics.insert("encoded", number(&init["encoded"]));
    metrics.insert("ready_ms", number(&init["ready_ms"]));
    metrics.insert("init_busy_ms", init_main.busy_ms);
    metrics.insert("init_script_ms", init_main.script_ms);
    if variant == Variant::Leadscore {
        metrics.insert("init_wasm_task_ms", log.wasm_task_ms(None, init_end));
    }
    metrics.insert("init_long_tasks", number(&init["long_tasks"]["count"]));
    metrics.insert("init_long_ms", number(&init["long_tasks"]["ms"]));
    metrics.insert("init_sent", sent_at_init);

    let [(first, first_sent), (second, _)] = <[_; 2]>::try_from(batches).expect("two batches");
    let first_main = phase(Some("bench:first:start"), "bench:first:end")?;
    metrics.insert("events_sync_ms", number(&first["sync_ms"]));
    metrics.insert("events_busy_ms", first_main.busy_ms);
    metrics.insert("events_script_ms", first_main.script_ms);
    metrics.insert("events_long_tasks", number(&first["long_tasks"]["count"]));
    metrics.insert("events_sent", first_sent);
    metrics.insert("heap", number(&first["heap"]));
    let second_main = phase(Some("bench:second:start"), "bench:second:end")?;
    metrics.insert("second_sync_ms", number(&second["sync_ms"]));
    metrics.insert("second_busy_ms", second_main.busy_ms);
    metrics.insert("heap_growth", number(&second["heap"]) - number(&first["heap"]));
    if let (Some(before), Some(after)) = (first["wasm"].as_f64(), second["wasm"].as_f64()) {
        metrics.insert("wasm", before);
        metrics.insert("wasm_growth", after - before);
    }
    Ok(metrics)
}

/// Requests the trackers sent to the sink since the last call.
fn sink_requests(server: &Server) -> f64 {
    server.take_seen().iter().filter(|seen| seen.path.starts_with("/sink/")).count() as f64
}

/// The engine workload per rule set in one fresh browser.
fn measure_engine(server: &Server) -> Result<Vec<(u32, Metrics)>> {
    let browser = Browser::start()?;
    browser.goto(&server.url("/engine/index.html"))?;
    let mut figures = Vec::new();
    for rules in RULE_SETS {
        let result =
            browser.eval_async(&format!("__engine({rules}).then(done, function (e) {{ done(String(e)) }})"))?;
        if !result.is_object() {
            return Err(format!("the engine page failed: {result}"));
        }
        let mut metrics = Metrics::new();
        metrics.insert("events_ms", number(&result["events_ms"]));
        metrics.insert("read_ns", number(&result["read_ns"]));
        figures.push((rules, metrics));
    }
    // Only for its check that nothing left loopback.
    read_log(&browser, "the engine page")?;
    Ok(figures)
}

/// Reads the performance log and fails if anything tried to leave loopback.
fn read_log(browser: &Browser, page: &str) -> Result<Log> {
    let log = Log::from_messages(browser.performance_log()?);
    let leaving = trace::off_loopback(&log.urls);
    if !leaving.is_empty() {
        return Err(format!(
            "{page} tried to reach beyond loopback (nothing may leave the machine):\n  {}",
            leaving.join("\n  ")
        ));
    }
    if log.overflowed {
        println!("xtask: warning: Chrome's trace buffer filled up for {page}; its main-thread figures are low");
    }
    Ok(log)
}

fn number(value: &Value) -> f64 {
    value.as_f64().unwrap_or(f64::NAN)
}

// ---------------------------------------------------------------------------
// Figures: medians and tables (pure, unit-tested)
// ---------------------------------------------------------------------------

/// The median of each figure over runs; a figure missing from some runs
/// takes the median of the runs that have it.
fn medians(runs: &[Metrics]) -> Metrics {
    let mut names: Vec<&'static str> = runs.iter().flat_map(|run| run.keys().copied()).collect();
    names.sort_unstable();
    names.dedup();
    names.into_iter().map(|name| (name, median(runs.iter().filter_map(|run| run.get(name).copied())))).collect()
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.filter(|value| !value.is_nan()).collect();
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

fn one_line(metrics: &Metrics) -> String {
    metrics.iter().map(|(name, value)| format!("{name}={}", short(*value))).collect::<Vec<_>>().join(" ")
}

fn short(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

fn get(metrics: &Metrics, name: &str) -> f64 {
    metrics.get(name).copied().unwrap_or(f64::NAN)
}

fn kb(bytes: f64) -> String {
    if bytes.is_nan() {
        "–".into()
    } else {
        format!("{:.1} KB", bytes / 1000.0)
    }
}

fn ms(value: f64) -> String {
    if value.is_nan() {
        "–".into()
    } else if value >= 100.0 {
        format!("{value:.0} ms")
    } else if value >= 10.0 {
        format!("{value:.1} ms")
    } else {
        format!("{value:.2} ms")
    }
}

fn ratio(ours: f64, theirs: f64) -> String {
    if ours.is_nan() || theirs.is_nan() || theirs <= 0.0 {
        "–".into()
    } else if ours / theirs < 0.1 {
        // Two decimals would round the widest gaps to 0.00×.
        format!("{:.3}×", ours / theirs)
    } else {
        format!("{:.2}×", ours / theirs)
    }
}

/// Main-thread time a variant adds over the page without a tracker.
fn added(medians: &[(Variant, Metrics)], metrics: &Metrics, name: &str) -> f64 {
    let baseline = medians.iter().find(|(variant, _)| *variant == Variant::None).map(|(_, base)| get(base, name));
    (get(metrics, name) - baseline.unwrap_or(0.0)).max(0.0)
}

fn trackers_table(medians: &[(Variant, Metrics)]) -> String {
    let mut out = String::from(
        "| page | transfer | init: busy (added) | init: script | init: long tasks | ready at | \
         1,000 events: calls | 1,000 events: busy until settled (added) | sink requests | JS heap | \
         heap growth, next 1,000 | wasm memory | wasm growth, next 1,000 |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (variant, metrics) in medians {
        let wasm = |name| match metrics.get(name) {
            Some(bytes) => format!("{:.0} KiB", bytes / 1024.0),
            None => "–".into(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} ({}) | {} | {:.0} ({}) | {} | {} | {} ({}) | {:.0} | {:.1} MB | {} | {} | {} |",
            variant.name(),
            kb(get(metrics, "transfer")),
            ms(get(metrics, "init_busy_ms")),
            ms(added(medians, metrics, "init_busy_ms")),
            ms(get(metrics, "init_script_ms")),
            get(metrics, "init_long_tasks"),
            ms(get(metrics, "init_long_ms")),
            ms(get(metrics, "ready_ms")),
            ms(get(metrics, "events_sync_ms")),
            ms(get(metrics, "events_busy_ms")),
            ms(added(medians, metrics, "events_busy_ms")),
            get(metrics, "events_sent"),
            get(metrics, "heap") / 1e6,
            kb(get(metrics, "heap_growth")),
            wasm("wasm"),
            wasm("wasm_growth"),
        );
    }
    out
}

/// leadscore's figures divided by each peer's: below 1 means leadscore
/// costs less.
fn ratios_table(medians: &[(Variant, Metrics)]) -> String {
    let Some((_, ours)) = medians.iter().find(|(variant, _)| *variant == Variant::Leadscore) else {
        return String::new();
    };
    let mut out = String::from(
        "| leadscore / peer | transfer | init: busy added | init: script | 1,000 events: calls | \
         1,000 events: busy added | JS heap added |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let heap_added = |metrics: &Metrics| added(medians, metrics, "heap");
    for (variant, theirs) in
        medians.iter().filter(|(variant, _)| !matches!(variant, Variant::None | Variant::Leadscore))
    {
        let _ = writeln!(
            out,
            "| / {} | {} | {} | {} | {} | {} | {} |",
            variant.name(),
            ratio(get(ours, "transfer"), get(theirs, "transfer")),
            ratio(added(medians, ours, "init_busy_ms"), added(medians, theirs, "init_busy_ms")),
            ratio(get(ours, "init_script_ms"), get(theirs, "init_script_ms")),
            ratio(get(ours, "events_sync_ms"), get(theirs, "events_sync_ms")),
            ratio(added(medians, ours, "events_busy_ms"), added(medians, theirs, "events_busy_ms")),
            ratio(heap_added(ours), heap_added(theirs)),
        );
    }
    out
}

/// What `cargo xtask bench` last measured natively for `rules` rules, from
/// criterion's files under `target/criterion`: milliseconds per 1,000 events
/// and nanoseconds per score read (criterion's headline estimate, the slope,
/// else the mean).
fn native_figures(criterion: &Path, rules: u32) -> Option<(f64, f64)> {
    let estimate = |group: &str| {
        let path = criterion.join(group).join(format!("{rules} rules/new/estimates.json"));
        let estimates: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
        estimates["slope"]["point_estimate"].as_f64().or_else(|| estimates["mean"]["point_estimate"].as_f64())
    };
    Some((estimate("handle_event")? / 1e6, estimate("score_read")?))
}

fn engine_table(medians: &[(u32, Metrics)], native: impl Fn(u32) -> Option<(f64, f64)>) -> String {
    let mut out = String::from(
        "| rules | 1,000 events, wasm | events/s, wasm | native | wasm / native | score read, wasm | \
         reads/s, wasm | native | wasm / native |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (rules, metrics) in medians {
        let (events_ms, read_ns) = (get(metrics, "events_ms"), get(metrics, "read_ns"));
        let (native_ms, native_ns) = native(*rules).unwrap_or((f64::NAN, f64::NAN));
        let _ = writeln!(
            out,
            "| {rules} | {} | {} | {} | {} | {:.0} ns | {} | {:.0} ns | {} |",
            ms(events_ms),
            per_second(1000.0 / (events_ms / 1000.0)),
            ms(native_ms),
            ratio(events_ms, native_ms),
            read_ns,
            per_second(1e9 / read_ns),
            native_ns,
            ratio(read_ns, native_ns),
        );
    }
    out
}

/// `1.05 M/s`, `321 k/s`: the form BENCHMARKS.md uses.
fn per_second(rate: f64) -> String {
    if rate.is_nan() || rate.is_infinite() {
        "–".into()
    } else if rate >= 1e6 {
        format!("{:.2} M/s", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.0} k/s", rate / 1e3)
    } else {
        format!("{rate:.0}/s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn runs_default_to_five_and_take_both_spellings() {
        assert_eq!(Options::parse(&[]).unwrap(), Options { runs: 5, breakdown: false });
        assert_eq!(Options::parse(&args(&["--runs", "3"])).unwrap(), Options { runs: 3, breakdown: false });
        assert_eq!(Options::parse(&args(&["--runs=9", "--breakdown"])).unwrap(), Options { runs: 9, breakdown: true });
    }

    #[test]
    fn bad_arguments_say_what_is_expected() {
        assert!(Options::parse(&args(&["--runs", "0"])).unwrap_err().contains("above 0"));
        assert!(Options::parse(&args(&["--runs"])).unwrap_err().contains("not ``"));
        assert!(Options::parse(&args(&["--fast"])).unwrap_err().contains("`--runs N`"));
    }

    #[test]
    fn median_of_odd_even_and_missing() {
        assert_eq!(median([3.0, 1.0, 2.0].into_iter()), 2.0);
        assert_eq!(median([4.0, 1.0, 3.0, 2.0].into_iter()), 2.5);
        assert_eq!(median([f64::NAN, 5.0].into_iter()), 5.0);
        assert!(median(std::iter::empty()).is_nan());
    }

    #[test]
    fn medians_are_per_figure_and_keep_figures_some_runs_lack() {
        let runs = [
            Metrics::from([("transfer", 10.0), ("wasm", 100.0)]),
            Metrics::from([("transfer", 30.0)]),
            Metrics::from([("transfer", 20.0), ("wasm", 300.0)]),
        ];
        assert_eq!(medians(&runs), Metrics::from([("transfer", 20.0), ("wasm", 200.0)]));
    }

    #[test]
    fn rates_and_ratios_read_like_the_benchmarks_page() {
        assert_eq!(per_second(1_052_631.0), "1.05 M/s");
        assert_eq!(per_second(320_512.0), "321 k/s");
        assert_eq!(per_second(f64::INFINITY), "–");
        assert_eq!(ratio(1.0, 4.0), "0.25×");
        assert_eq!(ratio(11.9, 7619.0), "0.002×");
        assert_eq!(ratio(1.0, 0.0), "–");
        assert_eq!(kb(12_345.0), "12.3 KB");
        assert_eq!(ms(f64::NAN), "–");
    }

    #[test]
    fn native_figures_come_from_criterion_estimates() {
        let dir = std::env::temp_dir().join(format!("xtask-{}-criterion", std::process::id()));
        for (group, slope) in [("handle_event", 950_000.0), ("score_read", 65.0)] {
            let new = dir.join(group).join("10 rules/new");
            std::fs::create_dir_all(&new).unwrap();
            let estimates = format!(r#"{{"mean":{{"point_estimate":1.0}},"slope":{{"point_estimate":{slope}}}}}"#);
            std::fs::write(new.join("estimates.json"), estimates).unwrap();
        }
        assert_eq!(native_figures(&dir, 10), Some((0.95, 65.0)));
        assert_eq!(native_figures(&dir, 50), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tables_subtract_the_page_without_a_tracker() {
        let figures = |transfer: f64, busy: f64, events: f64| {
            Metrics::from([
                ("transfer", transfer),
                ("init_busy_ms", busy),
                ("init_script_ms", busy / 2.0),
                ("events_busy_ms", events),
                ("events_sync_ms", events / 2.0),
                ("heap", 1e6 + transfer),
            ])
        };
        let medians = [
            (Variant::None, figures(1000.0, 10.0, 2.0)),
            (Variant::Leadscore, figures(5000.0, 14.0, 6.0)),
            (Variant::Posthog, figures(20_000.0, 30.0, 12.0)),
        ];
        let table = trackers_table(&medians);
        assert!(table.contains("| leadscore | 5.0 KB | 14.0 ms (4.00 ms) |"), "{table}");
        let ratios = ratios_table(&medians);
        // transfer 5/20, busy added 4/20, script 7/15, calls 3/6, events added 4/10, heap added 4000/19000
        assert!(ratios.contains("| / posthog-js | 0.25× | 0.20× | 0.47× | 0.50× | 0.40× | 0.21× |"), "{ratios}");
        let engine =
            engine_table(&[(10, Metrics::from([("events_ms", 1.9), ("read_ns", 130.0)]))], |_| Some((0.95, 65.0)));
        assert!(
            engine.contains("| 10 | 1.90 ms | 526 k/s | 0.95 ms | 2.00× | 130 ns | 7.69 M/s | 65 ns | 2.00× |"),
            "{engine}"
        );
    }
}
