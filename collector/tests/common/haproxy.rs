//! A real HAProxy (Debian's `haproxy`) in front of collectors on loopback:
//! HTTP mode, round-robin, health-checked on `GET /healthz`, a failed
//! request sent to another backend. Shared by the multi-instance test and the load benchmark; the
//! process is killed when the guard drops, also when a test fails.
//! `cargo xtask test` installs the package.

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A child process killed when its guard drops, passed or failed.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The HAProxy program, or why there is none.
pub fn program() -> Result<&'static str, String> {
    ["/usr/sbin/haproxy", "/usr/bin/haproxy"]
        .into_iter()
        .find(|path| Path::new(path).exists())
        .ok_or_else(|| "HAProxy is not installed: `cargo xtask test` installs it (Debian `haproxy`)".to_string())
}

/// Starts HAProxy on `127.0.0.1:port` balancing over `backends` (ports on
/// 127.0.0.1); its configuration and log go in `dir`.
pub fn start(dir: &Path, port: u16, backends: &[u16]) -> Result<Process, String> {
    let mut config = format!(
        "global\n  maxconn 4000\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n\
         \x20 option redispatch\n  retries 3\n\
         frontend leads\n  bind 127.0.0.1:{port}\n  default_backend collectors\n\
         backend collectors\n  balance roundrobin\n  option httpchk GET /healthz\n"
    );
    for (index, backend) in backends.iter().enumerate() {
        config.push_str(&format!("  server c{index} 127.0.0.1:{backend} check inter 200ms fall 1 rise 1\n"));
    }
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, config).map_err(|err| format!("cannot write {}: {err}", path.display()))?;
    let log = std::fs::File::create(dir.join("haproxy.log")).map_err(|err| format!("cannot create a log: {err}"))?;
    let child = Command::new(program()?)
        .arg("-db")
        .arg("-f")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|err| format!("cannot start HAProxy: {err}"))?;
    Ok(Process(child))
}
