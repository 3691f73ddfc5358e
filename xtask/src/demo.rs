//! `cargo xtask demo`: the whole product on one machine. Builds the widget
//! and the collector, lays out the demo site with the widget's files under
//! `/dist/`, and runs the collector on 127.0.0.1 serving the site, the
//! widget, the lead endpoint and the dashboard, with leads in a SQLite file.

use std::fs;
use std::path::Path;
use std::process::Stdio;

use crate::dist::build;
use crate::layout::{dist_dir, target_dir};
use crate::sh::{cargo, cmd, root, run, Result};
use crate::tools::ensure_chromium;

/// The port unless `--port` says otherwise.
const DEFAULT_PORT: u16 = 8787;

const USAGE: &str = "usage: cargo xtask demo [--port N] [--seed-history]";

/// What `cargo xtask demo` was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// The site's port; the dashboard is on the next one.
    pub port: u16,
    /// Fill the database with a generated history first.
    pub seed_history: bool,
}

/// Reads `[--port N] [--seed-history]`.
pub fn options(args: &[std::ffi::OsString]) -> Result<Options> {
    let mut options = Options { port: DEFAULT_PORT, seed_history: false };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--seed-history" {
            options.seed_history = true;
        } else if arg == "--port" {
            let value = args.next().ok_or(USAGE)?;
            options.port = value
                .to_str()
                .and_then(|value| value.parse::<u16>().ok())
                .filter(|port| *port > 0)
                .ok_or_else(|| format!("--port: `{}` is not a port number (1-65535)", value.to_string_lossy()))?;
        } else {
            return Err(USAGE.into());
        }
    }
    Ok(options)
}

/// Copies `from` into `to`, folders included.
fn copy_tree(from: &Path, to: &Path) -> Result {
    fs::create_dir_all(to).map_err(|err| format!("cannot create {}: {err}", to.display()))?;
    let entries = fs::read_dir(from).map_err(|err| format!("cannot read {}: {err}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|err| err.to_string())?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target).map_err(|err| format!("cannot copy {}: {err}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// A token for this run's dashboard, from the OS's random source.
fn token() -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    fs::File::open("/dev/urandom")
        .and_then(|mut file| file.read_exact(&mut bytes))
        .map_err(|err| format!("no random source for an admin token ({err}); set LEADSCORE_ADMIN_TOKEN"))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

pub fn demo(Options { port, seed_history }: Options) -> Result {
    println!("==> [1/3] building the widget (wasm, glue, loader) into dist/");
    build()?;
    println!("\n==> [2/3] building the collector (release)");
    run(cargo().args(["build", "--release", "-p", "leadscore-collector", "--bin", "collector"]))?;

    println!("\n==> [3/3] laying out the demo site");
    let demo_dir = target_dir().join("demo");
    let public = demo_dir.join("public");
    if public.exists() {
        fs::remove_dir_all(&public).map_err(|err| format!("cannot clear {}: {err}", public.display()))?;
    }
    copy_tree(&root().join("www/demo"), &public)?;
    copy_tree(&dist_dir(), &public.join("dist"))?;
    let token = match std::env::var("LEADSCORE_ADMIN_TOKEN") {
        Ok(token) if token.len() >= 16 => token,
        _ => token()?,
    };
    let database = demo_dir.join("leads.db");
    let base = format!("http://127.0.0.1:{port}");
    // The dashboard on its own port: a script on the site's origin must not
    // be able to reach it (docs/collector.md, "admin_listen").
    let admin_port = port.checked_add(1).ok_or("the demo needs the port after --port for the dashboard")?;
    let admin = format!("http://127.0.0.1:{admin_port}");
    println!(
        "\nThe demo is starting:\n\
         \n  site         {base}/\n  integration  {base}/integration.html\n  dashboard    {admin}/admin\n  admin token  {token}\n  leads        {}\n\
         \nBrowse as a visitor (accept the consent banner), then log in to the dashboard with the token.\
         \nCtrl-C stops the collector cleanly.\n",
        database.display()
    );
    let collector = target_dir().join("release/collector");
    if seed_history {
        println!("==> seeding a generated history (docs/collector.md, \"What converts\")");
        run(cmd(&collector)
            .arg("--database")
            .arg(&database)
            .arg("--site")
            .arg(root().join("www/demo/site.json"))
            .env("LEADSCORE_ADMIN_TOKEN", &token)
            .arg("seed-history"))?;
    }
    let status = cmd(&collector)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--admin-listen", &format!("127.0.0.1:{admin_port}")])
        .arg("--database")
        .arg(&database)
        .arg("--public-dir")
        .arg(&public)
        .arg("--site")
        .arg(root().join("www/demo/site.json"))
        .env("LEADSCORE_ADMIN_TOKEN", &token)
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|err| format!("cannot start {}: {err}", collector.display()))?;
    // Ctrl-C reaches the collector too; it finishes requests in flight and exits 0.
    if status.success() || status.code().is_none() {
        println!("demo stopped");
        Ok(())
    } else {
        Err(format!("the collector exited with {status}"))
    }
}

/// The README's pictures, taken by the demo journey in headless Chromium.
pub const SCREENSHOTS: [&str; 4] = ["demo-mql-banner", "debug-overlay", "dashboard", "insights"];

/// Plays the demo journey and copies its screenshots to `docs/screenshots/`.
pub fn screenshots() -> Result {
    build()?;
    ensure_chromium()?;
    run(&mut crate::ci::journeys(&[
        "a_returning_visitor_becomes_one_verified_mql_then_sales_ready",
        "the_insights_page_shows_what_converts_and_tries_a_rule_set",
    ]))?;
    let taken = target_dir().join("e2e-artifacts");
    let kept = root().join("docs/screenshots");
    fs::create_dir_all(&kept).map_err(|err| format!("cannot create {}: {err}", kept.display()))?;
    for name in SCREENSHOTS {
        let (from, to) = (taken.join(format!("{name}.png")), kept.join(format!("{name}.png")));
        fs::copy(&from, &to).map_err(|err| format!("cannot copy {} to {}: {err}", from.display(), to.display()))?;
        println!("{}", to.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_and_the_history_are_options() {
        let port = |args: &[&str]| options(&args.iter().map(Into::into).collect::<Vec<_>>()).map(|o| o.port);
        assert_eq!(port(&[]), Ok(DEFAULT_PORT));
        assert_eq!(port(&["--port", "9000"]), Ok(9000));
        assert!(port(&["--port", "0"]).unwrap_err().contains("not a port number"));
        assert!(port(&["--port", "x"]).is_err());
        assert!(port(&["--port"]).unwrap_err().starts_with("usage:"));
        assert!(port(&["9000"]).unwrap_err().starts_with("usage:"));
        let both = options(&["--seed-history".into(), "--port".into(), "9100".into()]).unwrap();
        assert_eq!(both, Options { port: 9100, seed_history: true });
        assert!(!options(&[]).unwrap().seed_history);
    }

    #[test]
    fn tokens_are_random_hex() {
        let (a, b) = (token().unwrap(), token().unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
