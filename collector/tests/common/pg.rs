//! A throwaway PostgreSQL server for one test: `initdb` and `pg_ctl` from
//! Debian's `postgresql` package, as the unprivileged `postgres` user when
//! the tests run as root, on a free loopback port, in a temp directory;
//! stopped and removed when the guard drops, also when the test fails.
//! `cargo xtask test` installs the package (as it installs Chromium).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A running server; stopped on drop.
pub struct PgServer {
    /// `postgres://leadscore@127.0.0.1:PORT/postgres`.
    pub url: String,
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
}

/// The newest installed PostgreSQL's `bin` folder.
fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.filter_map(|entry| entry.ok()).map(|entry| entry.path().join("bin")).collect())
        .unwrap_or_default();
    found.retain(|bin| bin.join("initdb").exists());
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed: `cargo xtask test` installs it, or run \
             `apt-get install -y postgresql` (Debian)"
        )
    })
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn run(as_postgres: bool, program: &Path, args: &[&str]) -> Output {
    let output = if as_postgres {
        Command::new("runuser").args(["-u", "postgres", "--"]).arg(program).args(args).output()
    } else {
        Command::new(program).args(args).output()
    }
    .unwrap_or_else(|err| panic!("cannot run {}: {err}", program.display()));
    assert!(
        output.status.success(),
        "{} {args:?} failed:\n{}{}",
        program.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

impl PgServer {
    /// Starts a fresh server for a test and waits until it accepts
    /// connections. It skips fsync: a test's data need not survive a crash
    /// of the machine.
    pub fn start() -> PgServer {
        PgServer::start_with(false)
    }

    /// A server that flushes every commit to disk, as a production one does:
    /// for figures comparable with SQLite's `synchronous = FULL`.
    pub fn start_durable() -> PgServer {
        PgServer::start_with(true)
    }

    fn start_with(durable: bool) -> PgServer {
        let bin = bin_dir();
        let as_postgres = is_root();
        let dir = super::temp_dir();
        if as_postgres {
            let status = Command::new("chown").args(["-R", "postgres"]).arg(&dir).status().unwrap();
            assert!(status.success(), "chown {}", dir.display());
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let data = dir.join("data");
        let (data_text, dir_text) = (data.display().to_string(), dir.display().to_string());
        let mut init = vec!["-D", &data_text, "-A", "trust", "-U", "leadscore"];
        if !durable {
            init.push("--no-sync");
        }
        run(as_postgres, &bin.join("initdb"), &init);
        let fsync = if durable { "on" } else { "off" };
        let options =
            format!("-p {port} -k {dir_text} -c listen_addresses=127.0.0.1 -c fsync={fsync} -c max_connections=200");
        let log = dir.join("server.log").display().to_string();
        let server = PgServer { url: format!("postgres://leadscore@127.0.0.1:{port}/postgres"), dir, bin, as_postgres };
        run(as_postgres, &server.bin.join("pg_ctl"), &["-D", &data_text, "-o", &options, "-l", &log, "-w", "start"]);
        server
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let pg_ctl = self.bin.join("pg_ctl");
        let stop = if self.as_postgres {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&pg_ctl)
                .args(["-D", &data, "-m", "immediate", "-w", "stop"])
                .output()
        } else {
            Command::new(&pg_ctl).args(["-D", &data, "-m", "immediate", "-w", "stop"]).output()
        };
        if let Err(err) = stop {
            eprintln!("cannot stop the test PostgreSQL in {data}: {err}");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
