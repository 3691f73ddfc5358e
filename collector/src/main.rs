//! `collector`: reads settings (file, environment, flags), opens the SQLite
//! database and serves until Ctrl-C or SIGTERM, then finishes the requests in
//! flight before it exits.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use leadscore::core::Config;
use leadscore_collector::settings::{Overrides, Settings};
use leadscore_collector::{start_split, Clock};

const SETTINGS_HELP: &str = "\
SETTINGS FILE (TOML; every key optional):
  listen = \"127.0.0.1:8787\"        # address to listen on
  admin_listen = \"127.0.0.1:8788\"  # the admin API and dashboard on their own address
                                   # (then listen serves only the public routes)
  database = \"leadscore.db\"        # SQLite file (WAL; created and migrated on start), or
                                   # postgres://user@host:port/db for several collectors
  admin_token = \"…\"                # bearer token for /v1/admin and /admin (>= 16 chars);
                                   # generated and printed at start when absent
  retention_days = 365             # delete leads older than this (hourly sweep)
  trust_proxy = false              # read the client address from X-Forwarded-For
  public_dir = \"www\"               # serve this folder at / (a site, the widget's dist/)

  [limits]
  per_ip_per_minute = 120          # lead posts per client address (429 + Retry-After beyond)
  per_site_per_minute = 6000       # lead posts per site

  [server]
  header_timeout_ms = 10000        # a request's headers must arrive within this
  body_timeout_ms = 20000          # a request's body, too (408 and close beyond)
  idle_timeout_ms = 5000           # close connections where nothing moves
  max_connections = 1024           # more are answered 503 at once and logged
  shutdown_timeout_ms = 10000      # on SIGTERM, requests in flight get this long

  [forwarding]
  base_delay_ms = 5000             # first webhook retry; doubles per attempt, with jitter
  max_delay_ms = 3600000           # longest wait between attempts
  max_attempts = 12                # then the delivery moves to the dead-letter list
  timeout_ms = 10000               # per webhook request

  [[sites]]                        # one per site whose leads are accepted
  config = \"sites/acme.json\"       # the widget's rule set (path relative to this file);
                                   # served at /v1/sites/<site>/config.json
  origins = [\"https://acme.example\"] # browsers allowed to post (CORS); \"*\" for any
  require_origin = true            # refuse posts without an Origin header (servers use
                                   # POST /v1/admin/import with the token)

  [[webhooks]]                     # where leads and funnel changes are forwarded
  url = \"https://hooks.example/leads\"
  secret = \"…\"                     # HMAC-SHA256 key (>= 16 chars) for Leadscore-Signature
  events = [\"lead.created\", \"lead.lifecycle\"]

ENDPOINTS:
  POST /v1/leads                   the widget's lead posts (text/plain or JSON, gzip allowed)
  POST /v1/forget                  a visitor's own erasure {site, visitor_id}
  GET  /v1/sites/<site>/config.json  a site's rule set
  GET  /healthz                    200 while the store can write, 503 when not (load balancers)
  /v1/admin/...                    admin API (Authorization: Bearer <token>); see docs/collector.md
  /admin                           dashboard (log in with the token)

LOGS: RUST_LOG sets the filter (default info); LEADSCORE_LOG_FORMAT=json for JSON lines.";

/// Receives leads from the leadscore widget, re-checks each score with the same engine,
/// stores leads in SQLite, forwards them to webhooks and runs the sales funnel.
#[derive(Debug, Parser)]
#[command(name = "collector", version, after_long_help = SETTINGS_HELP, after_help = "Use --help for the settings file format and endpoints.")]
struct Cli {
    /// Settings file (TOML).
    #[arg(long, short, env = "LEADSCORE_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8787].
    #[arg(long, env = "LEADSCORE_LISTEN")]
    listen: Option<SocketAddr>,
    /// A separate address for the admin API and dashboard, e.g. 127.0.0.1:8788;
    /// then --listen serves only the public routes.
    #[arg(long, env = "LEADSCORE_ADMIN_LISTEN")]
    admin_listen: Option<SocketAddr>,
    /// Where leads are stored: a SQLite file (a path or sqlite://path) or a
    /// PostgreSQL URL (postgres://user@host:port/db) [default: leadscore.db].
    #[arg(long, env = "LEADSCORE_DATABASE")]
    database: Option<String>,
    /// Admin bearer token (at least 16 characters); generated when absent.
    #[arg(long, env = "LEADSCORE_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Delete leads older than this many days.
    #[arg(long, env = "LEADSCORE_RETENTION_DAYS")]
    retention_days: Option<u32>,
    /// Serve this folder at / (a site, the widget's dist/).
    #[arg(long, env = "LEADSCORE_PUBLIC_DIR")]
    public_dir: Option<PathBuf>,
    /// Accept leads for the site in this rule set file, from any origin (repeatable).
    #[arg(long = "site", value_name = "CONFIG_JSON")]
    sites: Vec<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Checks rule set files (a site's config JSON) and exits non-zero if one
    /// has an error: every mistake in a file, each at its JSON path with the
    /// full message and did-you-mean hint the widget keeps short in the
    /// browser, or for a good file its warnings.
    Check {
        /// The rule set files.
        #[arg(required = true, value_name = "CONFIG_JSON")]
        files: Vec<PathBuf>,
    },
    /// Compiles a rule set file into the form the widget reads without its
    /// config compiler (a JSON string) and prints it: put it inline in
    /// `<script type="application/json" id="leadscore-config">` or serve it
    /// at `data-config`. Exits non-zero, with every mistake, if the file has one.
    Compile {
        /// The rule set file.
        #[arg(value_name = "CONFIG_JSON")]
        file: PathBuf,
    },
    /// Plays a visitor journey (a JSON list of steps) through the engine
    /// under a rule set and prints, per step, the time, the step, the score,
    /// the stage, the grade and the rules that fired, then the outcome and
    /// the ledger. Exits non-zero when either file has a mistake, each named
    /// with its JSON path. The format: docs/collector.md, "Trying a rule
    /// set: check and simulate".
    Simulate {
        /// The rule set (a site's config JSON).
        #[arg(value_name = "CONFIG_JSON")]
        site: PathBuf,
        /// The journey: a JSON array of event and identify steps.
        #[arg(value_name = "JOURNEY_JSON")]
        journey: PathBuf,
        /// Also draw the score over time, with the stage thresholds, as a
        /// standalone SVG file.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
    },
    /// Fills the database with generated visitors for every configured site,
    /// played through the engine, and their outcomes from a stated model
    /// (docs/collector.md, "What converts"), then exits. The same seed gives
    /// the same history; running it again adds nothing.
    SeedHistory {
        /// Visitors to generate per site (those that qualify are stored).
        #[arg(long, default_value_t = 400)]
        count: u64,
        /// The random seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr);
    if std::env::var("LEADSCORE_LOG_FORMAT").is_ok_and(|format| format == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Check { files }) => return check(files),
        Some(Command::Compile { file }) => return compile(file),
        Some(Command::Simulate { site, journey, svg }) => return simulate(site, journey, svg.as_deref()),
        _ => {}
    }
    init_logs();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `collector check FILE...`: per file, `ok` and a line per warning, or a
/// line per mistake.
fn check(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for file in files {
        match check_file(file) {
            Ok(lines) => lines.iter().for_each(|line| println!("{line}")),
            Err(lines) => {
                failed = true;
                lines.iter().for_each(|line| println!("{line}"));
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `collector compile FILE`: the compiled config on standard output, or
/// `check`'s lines for a file with mistakes.
fn compile(file: &Path) -> ExitCode {
    if let Err(lines) = check_file(file) {
        lines.iter().for_each(|line| eprintln!("{line}"));
        return ExitCode::FAILURE;
    }
    match std::fs::read_to_string(file).map(|text| Config::parse(&text)) {
        Ok(Ok(config)) => {
            println!("\"{}\"", config.to_text());
            ExitCode::SUCCESS
        }
        _ => ExitCode::FAILURE,
    }
}

fn check_file(file: &Path) -> Result<Vec<String>, Vec<String>> {
    let name = file.display();
    let text = std::fs::read_to_string(file).map_err(|err| vec![format!("{name}: cannot read: {err}")])?;
    let config = Config::parse_all_errors(&text).map_err(|errors| {
        let mut lines: Vec<String> = errors.iter().map(|error| format!("{name}: {error}")).collect();
        let count = errors.len();
        lines.push(format!("{name}: {count} {}", if count == 1 { "mistake" } else { "mistakes" }));
        lines
    })?;
    let mut lines = vec![format!(
        "{name}: ok: site \"{}\", {} rules, {} fit rules",
        config.site(),
        config.rules().len(),
        config.fit_rules().len()
    )];
    lines.extend(config.warnings().iter().map(|warning| format!("{name}: warning: {warning}")));
    Ok(lines)
}

/// `collector simulate CONFIG_JSON JOURNEY_JSON [--svg FILE]`: the report
/// on standard output; warnings and mistakes on standard error.
fn simulate(site: &Path, journey: &Path, svg: Option<&Path>) -> ExitCode {
    match leadscore_collector::simulate::run(site, journey, svg) {
        Ok(simulated) => {
            simulated.warnings.iter().for_each(|warning| eprintln!("{warning}"));
            print!("{}", simulated.report);
            ExitCode::SUCCESS
        }
        Err(mistakes) => {
            mistakes.iter().for_each(|mistake| eprintln!("{mistake}"));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let overrides = Overrides {
        listen: cli.listen,
        admin_listen: cli.admin_listen,
        database: cli.database,
        admin_token: cli.admin_token,
        retention_days: cli.retention_days,
        public_dir: cli.public_dir,
        sites: cli.sites,
    };
    let settings = Settings::load(cli.config.as_deref(), overrides)?;
    let store = settings.database.open().map_err(|err| err.to_string())?;
    if let Some(Command::SeedHistory { count, seed }) = cli.command {
        let now = Clock::default().now();
        for (name, site) in &settings.sites {
            // Store calls block (PostgreSQL's client runs a runtime of its own).
            let (store, config) = (store.clone(), site.config.clone());
            let seeding = tokio::task::spawn_blocking(move || {
                leadscore_collector::insights::seed_history(store.as_ref(), &config, count, seed, now)
            });
            let seeded = seeding
                .await
                .map_err(|err| format!("seeding {name} failed: {err}"))?
                .map_err(|err| format!("cannot seed {name}: {err}"))?;
            println!(
                "{name}: {} visitors generated, {} qualified and stored ({} won, {} lost) in {}",
                seeded.visitors, seeded.stored, seeded.won, seeded.lost, settings.database
            );
        }
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|err| format!("cannot listen on {}: {err}", settings.listen))?;
    if settings.admin_token_generated {
        tracing::warn!(token = %settings.admin_token, "no admin_token set; generated one for this run");
    }
    let sites: Vec<&String> = settings.sites.keys().collect();
    let database = settings.database.to_string();
    tracing::info!(?sites, %database, webhooks = settings.webhooks.len(), "collector starting");
    let admin_listener = match settings.admin_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|err| format!("cannot listen on {addr} (admin_listen): {err}"))?,
        ),
        None => None,
    };
    let running =
        start_split(settings, store, Clock::default(), listener, admin_listener).map_err(|err| err.to_string())?;
    let admin = running.admin_addr.unwrap_or(running.addr);
    tracing::info!(addr = %running.addr, "listening; dashboard at http://{admin}/admin");
    shutdown_signal().await;
    tracing::info!("shutting down: finishing requests in flight");
    running.stop().await.map_err(|err| err.to_string())?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
