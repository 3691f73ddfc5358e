//! Process and path plumbing shared by every subcommand: where the workspace
//! is, which `cargo` to call, and how child processes are started so that
//! their output lands in the CI log and failures name the command that broke.

use std::env;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Every fallible step reports a human-readable message; xtask only ever
/// prints errors and exits, so a `String` carries all that is needed.
pub type Result<T = ()> = std::result::Result<T, String>;

/// The workspace root. xtask sits one level below it, so resolving from the
/// manifest directory makes `cargo xtask` work from any subdirectory.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask/ always has a parent directory").to_path_buf()
}

/// Where `cargo install` puts binaries: `$CARGO_HOME/bin`, else `~/.cargo/bin`.
pub fn cargo_bin() -> Option<PathBuf> {
    env::var_os("CARGO_HOME")
        .filter(|home| !home.is_empty())
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .map(|home| home.join("bin"))
}

/// PATH for child processes, with the cargo bin directory first.
///
/// Tools we install with `cargo install` must win over anything older on the
/// PATH: cargo finds `wasm-bindgen-test-runner` (the wasm32 test runner set in
/// `.cargo/config.toml`) by name, and it has to match the locked
/// `wasm-bindgen` exactly. A fresh CI machine may also not have the directory
/// on PATH at all.
pub fn child_path() -> OsString {
    let inherited = env::var_os("PATH").unwrap_or_default();
    let bin = cargo_bin();
    let dirs = bin.iter().cloned().chain(env::split_paths(&inherited).filter(|dir| Some(dir) != bin.as_ref()));
    // Only fails if a directory contains the separator; keep PATH untouched then.
    env::join_paths(dirs).unwrap_or(inherited)
}

/// Looks a program up the way a child process would, on [`child_path`].
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    env::split_paths(&child_path()).map(|dir| dir.join(program)).find(|candidate| candidate.is_file())
}

/// A command that runs from the workspace root with the tool PATH and no
/// stdin, so nothing (apt, npm, cargo install) can sit waiting for input on CI.
pub fn cmd(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    command.current_dir(root()).env("PATH", child_path()).stdin(Stdio::null());
    command
}

/// The cargo that runs xtask (cargo sets `CARGO`), so the same toolchain
/// builds, lints and tests everything.
pub fn cargo() -> Command {
    cmd(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs a command with inherited stdout/stderr, echoing it first so the log
/// shows exactly what was executed.
pub fn run(command: &mut Command) -> Result {
    let shown = display(command);
    println!("$ {shown}");
    let status = command.status().map_err(|err| format!("could not start `{shown}`: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// Runs a command quietly and returns its stdout; used for version probes,
/// where the output is parsed rather than shown.
pub fn output(command: &mut Command) -> Result<String> {
    let shown = display(command);
    let out = command.stderr(Stdio::null()).output().map_err(|err| format!("could not start `{shown}`: {err}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("`{shown}` failed ({})", out.status))
    }
}

/// Shell-like rendering of a command, including the environment we set
/// (other than PATH, which is the same for every command).
fn display(command: &Command) -> String {
    let envs = command.get_envs().filter_map(|(key, value)| {
        let value = value?;
        (key != "PATH").then(|| format!("{}={}", key.to_string_lossy(), quote(value)))
    });
    let program = Path::new(command.get_program()).file_name().unwrap_or(command.get_program()).to_os_string();
    let words = std::iter::once(quote(&program)).chain(command.get_args().map(quote));
    envs.chain(words).collect::<Vec<_>>().join(" ")
}

fn quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    if !word.is_empty() && !word.contains(|c: char| c.is_whitespace() || c == '"') {
        word.into_owned()
    } else {
        format!("{word:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_env_and_quotes_spaces() {
        let mut command = Command::new("/usr/bin/cargo");
        command.args(["doc", "--no-deps"]).env("RUSTDOCFLAGS", "-D warnings").env("PATH", "/bin");
        assert_eq!(display(&command), r#"RUSTDOCFLAGS="-D warnings" cargo doc --no-deps"#);
    }

    #[test]
    fn child_path_puts_cargo_bin_first() {
        // Without HOME or CARGO_HOME there is no cargo bin to put first.
        if let Some(bin) = cargo_bin() {
            assert_eq!(env::split_paths(&child_path()).next(), Some(bin));
        }
    }
}
