//! Just enough of the W3C WebDriver protocol to drive Debian's Chromium
//! through chromedriver on loopback: a session with a fresh profile and
//! Chrome's performance log (trace events and network events), navigation,
//! scripts, and the log itself. Blocking HTTP/1.1 over a `TcpStream`, one
//! request per connection: chromedriver is local, so a client library and an
//! async runtime would add build time and nothing else.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::sh::Result;
use crate::tools::{chromium_options, CHROMEDRIVER};

/// The trace categories Chrome records into the performance log: the
/// DevTools timeline (tasks, script evaluation, function calls, compiles),
/// V8's own events (GC, wasm compilation), and user-timing marks, which
/// put the page's own phase boundaries on the trace clock.
const TRACE_CATEGORIES: &str =
    "devtools.timeline,disabled-by-default-devtools.timeline,toplevel,v8,blink.user_timing,__metadata";

/// A running chromedriver with one Chromium session on a fresh profile.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    profile: PathBuf,
}

impl Browser {
    pub fn start() -> Result<Browser> {
        let profile = std::env::temp_dir().join(format!("leadscore-bench-{}-{}", std::process::id(), unique()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).map_err(|err| format!("could not create {}: {err}", profile.display()))?;
        let port = free_port()?;
        // Its own process group, so ending it also ends every browser process.
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|err| format!("could not start {CHROMEDRIVER}: {err}"))?;
        let mut browser = Browser { driver, port, session: String::new(), profile };
        let mut options = chromium_options()?;
        if let Some(args) = options["args"].as_array_mut() {
            args.extend([
                // performance.memory in exact bytes, not bucketed.
                json!("--enable-precise-memory-info"),
                // gc() before reading the heap, for figures that do not
                // depend on when V8 last collected.
                json!("--js-flags=--expose-gc"),
                json!(format!("--user-data-dir={}", browser.profile.display())),
            ]);
        }
        options["perfLoggingPrefs"] = json!({
            "enableNetwork": true,
            "enablePage": false,
            "traceCategories": TRACE_CATEGORIES,
            "bufferUsageReportingInterval": 1000,
        });
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:loggingPrefs": { "performance": "ALL" },
                "goog:chromeOptions": options,
            }},
        });
        // chromedriver takes a moment to listen.
        let deadline = Instant::now() + Duration::from_secs(15);
        let answer = loop {
            match browser.request("POST", "/session", Some(&capabilities)) {
                Ok(answer) => break answer,
                Err(err) if Instant::now() >= deadline => {
                    return Err(format!("could not start a Chromium session: {err}"))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        browser.session = answer["sessionId"]
            .as_str()
            .ok_or_else(|| format!("chromedriver answered a new session without an id: {answer}"))?
            .to_string();
        browser.command("POST", "timeouts", json!({ "script": 120_000, "pageLoad": 60_000 }))?;
        Ok(browser)
    }

    pub fn goto(&self, url: &str) -> Result {
        self.command("POST", "url", json!({ "url": url })).map(drop)
    }

    /// Runs `body`, which must call `done(value)`, and returns that value.
    pub fn eval_async(&self, body: &str) -> Result<Value> {
        let script = format!("var done = arguments[arguments.length - 1];\n{body}");
        self.command("POST", "execute/async", json!({ "script": script, "args": [] }))
    }

    /// Chrome's performance log since the last call: each entry's message is
    /// a JSON string holding one DevTools event (`Tracing.dataCollected` for
    /// trace events, `Network.*`).
    ///
    /// chromedriver hands over the trace it is recording only on a log read
    /// that follows a read which found the log empty (and on navigation); it
    /// then starts a new trace. So: drain, read once more to collect the
    /// trace, drain again.
    pub fn performance_log(&self) -> Result<Vec<Value>> {
        let mut messages = Vec::new();
        let mut collected = false;
        loop {
            let batch = self.read_performance_log()?;
            if batch.is_empty() && collected {
                return Ok(messages);
            }
            collected |= batch.is_empty();
            messages.extend(batch);
        }
    }

    fn read_performance_log(&self) -> Result<Vec<Value>> {
        let entries = self.command("POST", "se/log", json!({ "type": "performance" }))?;
        let entries = entries.as_array().ok_or_else(|| format!("the performance log is not a list: {entries}"))?;
        entries
            .iter()
            .map(|entry| {
                let message = entry["message"].as_str().unwrap_or_default();
                serde_json::from_str::<Value>(message)
                    .map(|mut parsed| parsed["message"].take())
                    .map_err(|err| format!("a performance log entry is not JSON ({err}): {message}"))
            })
            .collect()
    }

    fn command(&self, method: &str, path: &str, body: Value) -> Result<Value> {
        let answer = self.request(method, &format!("/session/{}/{path}", self.session), Some(&body))?;
        Ok(answer)
    }

    /// One WebDriver request; a WebDriver error comes back as `Err` with its
    /// message.
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))
            .map_err(|err| format!("could not reach chromedriver on port {}: {err}", self.port))?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        stream.write_all(request.as_bytes()).map_err(|err| format!("chromedriver {method} {path}: {err}"))?;
        let (status, answer) =
            read_response(&mut stream).map_err(|err| format!("chromedriver {method} {path}: {err}"))?;
        let answer: Value = serde_json::from_slice(&answer)
            .map_err(|err| format!("chromedriver {method} {path} answered {status} with no JSON: {err}"))?;
        let value = answer.get("value").cloned().unwrap_or(Value::Null);
        if status == 200 {
            Ok(value)
        } else {
            Err(format!("chromedriver {method} {path} answered {status}: {} {}", value["error"], value["message"]))
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.request("DELETE", &format!("/session/{}", self.session), None);
        }
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-s", "KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Reads a status line, headers and a body framed by `Content-Length`,
/// chunked encoding or the end of the connection.
fn read_response(stream: &mut TcpStream) -> std::io::Result<(u16, Vec<u8>)> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    let (mut length, mut chunked) = (None, false);
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            if name == "content-length" {
                length = value.parse::<usize>().ok();
            } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            line.clear();
            reader.read_line(&mut line)?;
        }
    } else if let Some(length) = length {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader.read_to_end(&mut body)?;
    }
    Ok((status, body))
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|err| format!("could not find a free loopback port: {err}"))
}
