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

/// Reads `[--port N]`.
pub fn port(args: &[std::ffi::OsString]) -> Result<u16> {
    match args {
        [] => Ok(DEFAULT_PORT),
        [flag, value] if flag == "--port" => value
            .to_str()
            .and_then(|value| value.parse::<u16>().ok())
            .filter(|port| *port > 0)
            .ok_or_else(|| format!("--port: `{}` is not a port number (1-65535)", value.to_string_lossy())),
        _ => Err("usage: cargo xtask demo [--port N]".into()),
    }
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

pub fn demo(port: u16) -> Result {
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
    fn the_port_is_configurable() {
        assert_eq!(port(&[]), Ok(DEFAULT_PORT));
        assert_eq!(port(&["--port".into(), "9000".into()]), Ok(9000));
        assert!(port(&["--port".into(), "0".into()]).unwrap_err().contains("not a port number"));
        assert!(port(&["--port".into(), "x".into()]).is_err());
        assert!(port(&["9000".into()]).unwrap_err().starts_with("usage:"));
    }

    #[test]
    fn tokens_are_random_hex() {
        let (a, b) = (token().unwrap(), token().unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
