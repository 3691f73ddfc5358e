//! Load benchmark for the collector (`cargo xtask bench-collector`). It posts
//! real MQL leads over loopback to the in-process server in four runs, one
//! after the other: storing them in SQLite; in PostgreSQL; in PostgreSQL with
//! two collectors behind a real HAProxy; and answering without storing. It
//! prints leads per second and latency percentiles for all in one Markdown
//! table. The no-storage run is the HTTP path's own limit on this machine, so
//! the ratio to it says how much of that limit each store leaves;
//! BENCHMARKS.md records the figures.
//!
//! Bounded by construction: a fixed number of leads, a fixed number of
//! requests in flight, loopback only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use leadscore::core::time::DAY_MS;
use leadscore::core::{Config, Engine, Event, EventId, Lead, Stage, State, Timestamp};
use leadscore_collector::settings::{Overrides, Settings, SettingsFile};
use leadscore_collector::store::{NullStore, PostgresStore, SqliteStore, Store};
use leadscore_collector::{start, Clock};
use reqwest::header::{CONTENT_TYPE, ORIGIN};
use reqwest::StatusCode;

const USAGE: &str = "\
usage: cargo run --release -p leadscore-collector --example load -- [options]
   or: cargo xtask bench-collector -- [options]

Posts the same set of MQL leads to the collector on 127.0.0.1: with SQLite
storage; with PostgreSQL (a throwaway server the run starts, fsync on); with
two collectors on that PostgreSQL behind HAProxy; and with a store that keeps
nothing. Prints a Markdown table of leads per second and latency for each.
PostgreSQL and HAProxy come from Debian's `postgresql` and `haproxy`
(`cargo xtask bench-collector` installs them).

options:
  --leads N         leads timed per run, each a new visitor (default 4000, at most 1000000)
  --concurrency C   requests in flight at once (default 32, at most 1024)
  --warmup W        extra leads posted before the timed ones, not timed (default 200)
  --dir DIR         where the SQLite file goes (default: the system temp folder);
                    a fresh folder is made inside it and removed afterwards
  --no-postgres     only the SQLite and no-storage runs
  -h, --help        this help
";

/// The rule set every benchmark visitor is scored under, as a site would
/// write it; the collector is given the same file.
const SITE_CONFIG: &str = r#"{"site":"bench","preset":"b2b-saas","endpoint":"/v1/leads"}"#;

/// The page the widget runs on; the collector allows this origin for the site.
const SITE_ORIGIN: &str = "https://bench.example";

/// 2026-01-01T00:00:00Z, when every scripted visitor starts.
const T0: u64 = 1_767_225_600_000;

/// A visitor reaches MQL on day 3 of the script; more days means the preset
/// changed and the script with it.
const MAX_DAYS: u32 = 10;

/// Distinct failure messages printed in full; the rest are only counted.
const FAILURES_SHOWN: usize = 5;

struct Options {
    leads: usize,
    concurrency: usize,
    warmup: usize,
    dir: Option<PathBuf>,
    postgres: bool,
}

/// The throwaway PostgreSQL server of the tests, started with fsync on here.
#[path = "../tests/common/pg.rs"]
#[allow(dead_code)]
mod pg;

/// The tests' HAProxy in front of the collectors.
#[path = "../tests/common/haproxy.rs"]
mod haproxy;

/// A fresh folder for a PostgreSQL server's data (the server removes it).
fn temp_dir() -> PathBuf {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("leadscore-load-pg-{}-{nanos}", std::process::id()));
    if let Err(err) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {err}", dir.display());
    }
    dir
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("error: {err}\n\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    match run(&options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `Ok(None)` asks for the help text.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options { leads: 4000, concurrency: 32, warmup: 200, dir: None, postgres: true };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
            None => (arg, None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        if flag == "--no-postgres" {
            options.postgres = false;
            continue;
        }
        let (slot, max) = match flag.as_str() {
            "--leads" => (&mut options.leads, 1_000_000),
            "--concurrency" => (&mut options.concurrency, 1024),
            "--warmup" => (&mut options.warmup, 1_000_000),
            "--dir" => {
                let value = inline.or_else(|| args.next()).ok_or("--dir needs a folder")?;
                options.dir = Some(PathBuf::from(value));
                continue;
            }
            _ => return Err(format!("unknown option `{flag}`")),
        };
        let value = inline.or_else(|| args.next()).ok_or_else(|| format!("{flag} needs a number"))?;
        let number: usize = value.parse().map_err(|_| format!("{flag}: `{value}` is not a whole number"))?;
        let min = usize::from(flag != "--warmup");
        if !(min..=max).contains(&number) {
            return Err(format!("{flag}: {number} is out of range; use {min} to {max}"));
        }
        *slot = number;
    }
    Ok(Some(options))
}

/// Returns whether every request was answered 201 with a verified lead and
/// every lead was stored.
fn run(options: &Options) -> Result<bool, String> {
    let config = Arc::new(Config::parse(SITE_CONFIG).map_err(|err| format!("the bench rule set: {err}"))?);
    let building = Instant::now();
    // Warm-up visitors come after the measured ones, so every lead in a run is a new row.
    let measured = build_leads(&config, 0..options.leads)?;
    let warmup = build_leads(&config, options.leads..options.leads + options.warmup)?;
    let mean_bytes = measured.iter().map(String::len).sum::<usize>() / measured.len();
    eprintln!(
        "built {} leads in {:.1} s (mean body {mean_bytes} bytes); not timed",
        measured.len() + warmup.len(),
        building.elapsed().as_secs_f64()
    );

    let dir = ScratchDir::new(options.dir.as_deref())?;
    std::fs::write(dir.path.join("bench.json"), SITE_CONFIG)
        .map_err(|err| format!("cannot write the site config in {}: {err}", dir.path.display()))?;
    let database = dir.path.join("bench.db");

    let expected_rows = (warmup.len() + measured.len()) as u64;
    let runs_in_all = if options.postgres { 4 } else { 2 };
    let mut runs: Vec<Run> = Vec::new();

    eprintln!("run 1 of {runs_in_all}: SQLite at {}", database.display());
    let sqlite: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&database).map_err(|err| format!("cannot open the database: {err}"))?);
    let stored = measure(&dir.path, std::slice::from_ref(&sqlite), &warmup, &measured, options.concurrency)?;
    let on_disk = file_size(&database) + file_size(&dir.path.join("bench.db-wal"));
    runs.push(Run::new("SQLite (WAL, synchronous = FULL)", stored, Some(rows(sqlite.as_ref())?)));
    drop(sqlite);

    if options.postgres {
        haproxy::program()?;
        for (index, instances) in [(2, 1), (3, 2)] {
            let server = pg::PgServer::start_durable();
            let what = if instances == 1 {
                "one collector".to_string()
            } else {
                format!("{instances} collectors behind HAProxy")
            };
            eprintln!("run {index} of {runs_in_all}: PostgreSQL at {}, {what}", server.url);
            let stores =
                (0..instances).map(|_| open_postgres(&server.url)).collect::<Result<Vec<Arc<dyn Store>>, String>>()?;
            let run = measure(&dir.path, &stores, &warmup, &measured, options.concurrency)?;
            let counted = rows_in_postgres(&server.url)?;
            let name = if instances == 1 {
                "PostgreSQL 15 (fsync on), one collector".to_string()
            } else {
                format!("PostgreSQL 15 (fsync on), {instances} collectors behind HAProxy")
            };
            runs.push(Run::new(&name, run, Some(counted)));
        }
    }

    eprintln!("run {runs_in_all} of {runs_in_all}: no storage");
    let answered = measure(&dir.path, &[Arc::new(NullStore)], &warmup, &measured, options.concurrency)?;
    runs.push(Run::new("none (answers without storing)", answered, None));

    print_report(options, mean_bytes, &database, &runs);
    println!("SQLite database and WAL after its run: {:.1} MB", on_disk as f64 / 1e6);

    let mut ok = true;
    for run in &runs {
        let name = &run.name;
        if run.measured.failed() > 0 {
            ok = false;
            let failed = &run.measured;
            println!(
                "\nFAILED: {} of {} requests to the {name} run were not 201 verified:",
                failed.failed(),
                failed.sent
            );
            for (message, count) in failed.failures.iter().take(FAILURES_SHOWN) {
                println!("  {count} × {message}");
            }
            if failed.failures.len() > FAILURES_SHOWN {
                println!("  … and {} other distinct failures", failed.failures.len() - FAILURES_SHOWN);
            }
        }
        if let Some((total, flagged)) = run.rows {
            println!(
                "{name}: {total} rows after the run ({} warm-up + {} timed), {flagged} flagged",
                warmup.len(),
                measured.len()
            );
            if total != expected_rows || flagged != 0 {
                ok = false;
                println!(
                    "\nFAILED: {name} holds {total} leads ({flagged} flagged); expected {expected_rows}, none flagged"
                );
            }
        }
    }
    if !ok {
        println!("\nthese figures are not valid: fix the failures above and run again");
    }
    Ok(ok)
}

/// One run's name, figures and, for a store, `(rows, flagged)` after it.
struct Run {
    name: String,
    measured: Measured,
    rows: Option<(u64, u64)>,
}

impl Run {
    fn new(name: &str, measured: Measured, rows: Option<(u64, u64)>) -> Run {
        Run { name: name.to_string(), measured, rows }
    }
}

fn rows(store: &dyn Store) -> Result<(u64, u64), String> {
    let stats = store.stats(Clock::default().now(), 1).map_err(|err| format!("cannot count stored leads: {err}"))?;
    Ok((stats.total, stats.flagged))
}

/// Opens a `PostgresStore` off any runtime: its client runs one of its own.
fn open_postgres(url: &str) -> Result<Arc<dyn Store>, String> {
    let url = url.to_string();
    std::thread::spawn(move || PostgresStore::open(&url).map(|store| Arc::new(store) as Arc<dyn Store>))
        .join()
        .map_err(|_| "opening PostgreSQL panicked".to_string())?
        .map_err(|err| format!("cannot open PostgreSQL: {err}"))
}

fn rows_in_postgres(url: &str) -> Result<(u64, u64), String> {
    let store = open_postgres(url)?;
    rows(store.as_ref())
}

/// A scripted visitor, as the widget would feed the engine: time moves only
/// when the script says so.
struct Script {
    engine: Engine,
    now: Timestamp,
    next_id: u64,
}

impl Script {
    fn track(&mut self, name: &str, url: Option<&str>) -> Result<(), String> {
        self.now = self.now.plus_millis(1000);
        self.next_id += 1;
        let mut event = Event::new(EventId(self.next_id), self.now, name).map_err(|err| format!("{name}: {err}"))?;
        if let Some(url) = url {
            event = event.with_url(url);
        }
        self.engine.handle_event(event);
        Ok(())
    }

    /// Starts a visit when one is due, then views `path`.
    fn page(&mut self, path: &str) -> Result<(), String> {
        if self.engine.begin_activity(self.now) {
            self.track("visit", None)?;
        }
        self.track("page_view", Some(path))
    }
}

/// One lead body per visitor index: a visitor who comes back daily to the
/// pricing page, leaves an email and signs up for the newsletter, which the
/// `b2b-saas` preset scores as an MQL.
fn build_leads(config: &Arc<Config>, visitors: std::ops::Range<usize>) -> Result<Vec<String>, String> {
    visitors.map(|index| build_lead(config, index)).collect()
}

fn build_lead(config: &Arc<Config>, index: usize) -> Result<String, String> {
    let visitor_id = format!("bench-visitor-{index:07}");
    let state = State::new(&visitor_id, Timestamp(T0));
    let mut script = Script { engine: Engine::new(config.clone(), state), now: Timestamp(T0), next_id: 0 };
    let email = format!("lead-{index}@company{}.example", index % 997);
    for day in 0..MAX_DAYS {
        script.page("/pricing")?;
        if day == 2 {
            script.engine.identify(script.now, [("email", email.as_str())]).map_err(|err| format!("{email}: {err}"))?;
            script.track("newsletter_signup", None)?;
        }
        match script.engine.stage(script.now) {
            Stage::Mql => {
                let page = format!("{SITE_ORIGIN}/pricing");
                let lead = Lead::from_engine(&script.engine, script.now, &page)
                    .ok_or_else(|| format!("visitor {index} is an mql but the engine built no lead"))?;
                return Ok(sent_now(lead).to_json());
            }
            Stage::SalesReady => return Err(format!("visitor {index} went past mql; the b2b-saas preset changed")),
            Stage::Cold | Stage::Warm => script.now = script.now.plus_millis(DAY_MS),
        }
    }
    Err(format!("visitor {index} did not reach mql in {MAX_DAYS} days; the b2b-saas preset changed"))
}

/// The lead moved in time so that it is sent now: the collector checks a
/// lead on its own clock, and every time in it shifts by the same amount,
/// so the score it claims stays the score its evidence gives.
fn sent_now(mut lead: Lead) -> Lead {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_millis() as u64);
    let by = now.saturating_sub(lead.created_at.0);
    let moved = |at: Timestamp| Timestamp(at.0 + by);
    for event in &mut lead.evidence {
        event.at = moved(event.at);
    }
    for entry in &mut lead.ledger {
        entry.first = moved(entry.first);
        entry.last = moved(entry.last);
    }
    for touch in [&mut lead.touch.first, &mut lead.touch.last].into_iter().flatten() {
        touch.at = moved(touch.at);
    }
    lead.created_at = moved(lead.created_at);
    lead.sent_at = Some(lead.created_at);
    lead
}

/// What one run measured.
struct Measured {
    sent: usize,
    wall: Duration,
    /// Per-request latency, sorted.
    latencies: Vec<Duration>,
    /// Failure message → count, warm-up included.
    failures: BTreeMap<String, usize>,
}

impl Measured {
    fn failed(&self) -> usize {
        self.failures.values().sum()
    }

    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64()
    }

    /// Nearest-rank percentile.
    fn percentile(&self, fraction: f64) -> Duration {
        let rank = ((fraction * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[rank - 1]
    }
}

/// Starts one collector per store (several behind HAProxy), posts the
/// warm-up leads, then times the measured ones, and stops the collectors.
fn measure(
    dir: &Path,
    stores: &[Arc<dyn Store>],
    warmup: &[String],
    measured: &[String],
    concurrency: usize,
) -> Result<Measured, String> {
    // Separate runtimes for each server and the client, as separate
    // processes would have: each server gets the runtime `collector` itself
    // starts (one worker per core), and all compete for the same cores.
    let client_runtime = runtime("load")?;
    let mut servers = Vec::new();
    for store in stores {
        let server_runtime = runtime("collector")?;
        let listener = server_runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .map_err(|err| format!("cannot listen on 127.0.0.1: {err}"))?;
        let running = {
            let _entered = server_runtime.enter();
            start(bench_settings(dir)?, store.clone(), Clock::default(), listener)
                .map_err(|err| format!("cannot start the collector: {err}"))?
        };
        servers.push((server_runtime, running));
    }
    let (url, balancer) = match servers.as_slice() {
        [(_, running)] => (format!("http://{}/v1/leads", running.addr), None),
        _ => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .map_err(|err| format!("cannot find a free port: {err}"))?
                .port();
            let backends: Vec<u16> = servers.iter().map(|(_, running)| running.addr.port()).collect();
            let balancer = haproxy::start(dir, port, &backends)?;
            client_runtime.block_on(listening(port))?;
            (format!("http://127.0.0.1:{port}/v1/leads"), Some(balancer))
        }
    };
    let client = reqwest::Client::new();
    let warm = client_runtime.block_on(post_all(&client, &url, warmup.to_vec(), concurrency));
    let mut timed = client_runtime.block_on(post_all(&client, &url, measured.to_vec(), concurrency));
    // Idle keep-alive connections would hold up the graceful stop.
    drop(client);
    drop(balancer);
    for (server_runtime, running) in servers {
        server_runtime.block_on(running.stop()).map_err(|err| format!("the collector stopped with an error: {err}"))?;
    }
    for (message, count) in warm.failures {
        *timed.failures.entry(format!("(warm-up) {message}")).or_default() += count;
    }
    timed.sent += warm.sent;
    Ok(timed)
}

/// Waits (bounded) until HAProxy accepts connections and has found a
/// backend up, so the first request is not a 503.
async fn listening(port: u16) -> Result<(), String> {
    let started = Instant::now();
    let client = reqwest::Client::new();
    loop {
        // Any answer but HAProxy's own 503 ("no server available") will do.
        let answer = client.get(format!("http://127.0.0.1:{port}/")).send().await;
        if answer.is_ok_and(|answer| answer.status() != StatusCode::SERVICE_UNAVAILABLE) {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err("HAProxy did not come up within 30 s; see haproxy.log".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn runtime(name: &str) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .thread_name(name)
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start the {name} runtime: {err}"))
}

/// Limits high enough never to answer 429: every post comes from one address.
fn bench_settings(dir: &Path) -> Result<Settings, String> {
    let text = format!(
        "admin_token = \"bench-admin-token-0123456789\"\n\
         [limits]\nper_ip_per_minute = 100000000\nper_site_per_minute = 100000000\n\
         [[sites]]\nconfig = \"bench.json\"\norigins = [\"{SITE_ORIGIN}\"]\n"
    );
    let file: SettingsFile = toml::from_str(&text).map_err(|err| format!("the bench settings: {err}"))?;
    Settings::from_file(file, dir, Overrides::default()).map_err(|err| format!("the bench settings: {err}"))
}

/// Posts every body once with `concurrency` requests in flight, each worker
/// taking the next body as soon as its previous answer is read.
async fn post_all(client: &reqwest::Client, url: &str, bodies: Vec<String>, concurrency: usize) -> Measured {
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency.min(bodies.len()))
        .map(|_| {
            let (client, url, bodies, next) = (client.clone(), url.to_string(), bodies.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = Vec::new();
                while let Some(body) = bodies.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let body = body.clone();
                    let sent = Instant::now();
                    let answer = post(&client, &url, body).await;
                    latencies.push(sent.elapsed());
                    if let Err(message) = answer {
                        failures.push(message);
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    let mut measured =
        Measured { sent: bodies.len(), wall: Duration::ZERO, latencies: Vec::new(), failures: BTreeMap::new() };
    for worker in workers {
        match worker.await {
            Ok((latencies, failures)) => {
                measured.latencies.extend(latencies);
                for message in failures {
                    *measured.failures.entry(message).or_default() += 1;
                }
            }
            Err(err) => *measured.failures.entry(format!("a client task failed: {err}")).or_default() += 1,
        }
    }
    measured.wall = started.elapsed();
    measured.latencies.sort_unstable();
    measured
}

/// One lead post, as the widget sends it: a `text/plain` body (no CORS
/// preflight) from the site's origin. The answer is read to the end, so the
/// latency covers the whole exchange.
async fn post(client: &reqwest::Client, url: &str, body: String) -> Result<(), String> {
    let response = client
        .post(url)
        .header(CONTENT_TYPE, "text/plain;charset=UTF-8")
        .header(ORIGIN, SITE_ORIGIN)
        .body(body)
        .send()
        .await
        .map_err(|err| format!("request failed: {err}"))?;
    let status = response.status();
    let answer = response.text().await.map_err(|err| format!("{status}, answer unreadable: {err}"))?;
    if status != StatusCode::CREATED {
        return Err(format!("{status}: {}", answer.chars().take(200).collect::<String>()));
    }
    if !answer.contains(r#""verdict":"verified""#) {
        return Err(format!("201 but the lead did not verify: {}", answer.chars().take(200).collect::<String>()));
    }
    Ok(())
}

fn print_report(options: &Options, mean_bytes: usize, database: &Path, runs: &[Run]) {
    let cores = std::thread::available_parallelism().map_or(0, |cores| cores.get());
    let system = std::process::Command::new("uname")
        .arg("-sr")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map_or_else(|| "unknown system".to_string(), |text| text.trim().to_string());
    let filesystem = filesystem_of(database).unwrap_or_else(|| "unknown".into());
    println!();
    println!("Machine: {cores} cores ({system}); client, servers and databases on 127.0.0.1, sharing those cores.");
    println!(
        "Parameters: {} leads per run after {} warm-up leads, {} requests in flight, one HTTP/1.1 client \
         (keep-alive), mean body {mean_bytes} bytes; databases on {filesystem}.",
        options.leads, options.warmup, options.concurrency
    );
    println!();
    println!("| store | leads/s | p50 | p90 | p99 | max | wall time | leads/s ÷ none |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let ceiling = runs.last().map_or(1.0, |run| run.measured.per_second());
    for Run { name, measured: run, .. } in runs {
        println!(
            "| {name} | {:.0} | {} | {} | {} | {} | {:.2} s | {:.2}× |",
            run.per_second(),
            millis(run.percentile(0.50)),
            millis(run.percentile(0.90)),
            millis(run.percentile(0.99)),
            millis(run.latencies[run.latencies.len() - 1]),
            run.wall.as_secs_f64(),
            run.per_second() / ceiling
        );
    }
    println!();
}

fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |metadata| metadata.len())
}

/// The filesystem type under `path`, from `/proc/mounts` (Linux only): a
/// tmpfs would make every fsync free and the SQLite figures meaningless.
fn filesystem_of(path: &Path) -> Option<String> {
    let path = path.parent()?.canonicalize().ok()?;
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_device, point, kind) = (fields.next()?, fields.next()?, fields.next()?);
            path.starts_with(point).then(|| (point.len(), kind.to_string()))
        })
        .max_by_key(|(length, _)| *length)
        .map(|(_, kind)| kind)
}

/// A folder of its own for the database, removed when the run ends.
struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    fn new(parent: Option<&Path>) -> Result<ScratchDir, String> {
        let parent = parent.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.subsec_nanos());
        let path = parent.join(format!("leadscore-load-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|err| format!("cannot create {}: {err}", path.display()))?;
        Ok(ScratchDir { path })
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if let Err(err) = std::fs::remove_dir_all(&self.path) {
            eprintln!("warning: cannot remove {}: {err}", self.path.display());
        }
    }
}
