//! The loopback web server the benchmark pages come from: generated pages,
//! `dist/`, the installed peers and the wasm engine build, all gzip-encoded
//! as a CDN would send them, plus a sink under `/sink/` that answers
//! whatever the trackers send. Threads and blocking sockets: a few hundred
//! requests per page, on loopback.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use flate2::write::GzEncoder;
use flate2::Compression;

use crate::sh::Result;

/// What the server serves. Folders are mounted under a URL prefix; pages and
/// other generated documents are exact paths.
#[derive(Default)]
pub struct Site {
    pub documents: HashMap<String, (String, String)>,
    pub mounts: Vec<(String, PathBuf)>,
}

/// One request the server saw: its path (with query).
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
}

pub struct Server {
    pub origin: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    /// Binds 127.0.0.1 on a free port and serves the site `site` makes for
    /// that origin (some documents name it) from a thread.
    pub fn start(site: impl FnOnce(&str) -> Site) -> Result<Server> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|err| format!("could not bind 127.0.0.1: {err}"))?;
        let addr = listener.local_addr().map_err(|err| err.to_string())?;
        let origin = format!("http://{addr}");
        let site = site(&origin);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::new(Shared { site, gzipped: Mutex::new(HashMap::new()), seen: seen.clone() });
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &shared);
                });
            }
        });
        Ok(Server { origin, seen })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// Takes the requests seen since the last call.
    pub fn take_seen(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().expect("request log"))
    }
}

struct Shared {
    site: Site,
    /// Compressed once per path: gzip at best compression is slow, and the
    /// figures should not include it.
    gzipped: Mutex<HashMap<String, Arc<Vec<u8>>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// Serves requests on one keep-alive connection until the browser closes it.
fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut words = line.split_whitespace();
        let (method, target) = (words.next().unwrap_or("").to_string(), words.next().unwrap_or("/").to_string());
        let mut length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header)?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.trim().eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        shared.seen.lock().expect("request log").push(Seen { path: target.clone() });

        let path = target.split(['?', '#']).next().unwrap_or("/");
        let (status, content_type, body) = if method == "OPTIONS" {
            (204, "text/plain", Arc::new(Vec::new()))
        } else if path.starts_with("/sink/") {
            sink(shared, path)
        } else {
            match find(&shared.site, path) {
                Some(Found { content_type, bytes }) => (200, content_type, gzip(shared, path, bytes)),
                None => (404, "text/plain", gzip(shared, "/404", b"not found".to_vec())),
            }
        };
        let encoding = if body.is_empty() || status == 204 { "" } else { "Content-Encoding: gzip\r\n" };
        let head = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\n{encoding}Content-Length: {}\r\n\
             Cache-Control: no-store\r\nAccess-Control-Allow-Origin: *\r\nTiming-Allow-Origin: *\r\n\r\n",
            if status < 300 { "OK" } else { "Not Found" },
            body.len()
        );
        writer.write_all(head.as_bytes())?;
        writer.write_all(&body)?;
        writer.flush()?;
    }
}

/// The trackers' endpoints. Everything gets a small JSON answer, except
/// posthog-js's extension scripts, which come from its own package (as its
/// CDN would serve them) so that loading them is measured, not faked.
fn sink(shared: &Shared, path: &str) -> (u16, &'static str, Arc<Vec<u8>>) {
    if let Some(file) = path.strip_prefix("/sink/posthog/static/") {
        if let Some(Found { content_type, bytes }) = find(&shared.site, &format!("/peers/posthog-js/dist/{file}")) {
            return (200, content_type, gzip(shared, path, bytes));
        }
    }
    (200, "application/json", gzip(shared, "/sink", b"{}".to_vec()))
}

struct Found {
    content_type: &'static str,
    bytes: Vec<u8>,
}

fn find(site: &Site, path: &str) -> Option<Found> {
    if let Some((content_type, text)) = site.documents.get(path) {
        let content_type = if content_type == "html" { "text/html; charset=utf-8" } else { "application/json" };
        return Some(Found { content_type, bytes: text.clone().into_bytes() });
    }
    let (prefix, dir) = site.mounts.iter().find(|(prefix, _)| path.starts_with(prefix.as_str()))?;
    let relative = Path::new(&path[prefix.len()..]);
    // Only plain names below the mount: no `..`, no absolute paths.
    if !relative.components().all(|part| matches!(part, Component::Normal(_))) {
        return None;
    }
    let file = dir.join(relative);
    let bytes = std::fs::read(&file).ok()?;
    Some(Found { content_type: content_type(&file), bytes })
}

pub fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|ext| ext.to_str()) {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("html") => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn gzip(shared: &Shared, key: &str, bytes: Vec<u8>) -> Arc<Vec<u8>> {
    let mut cache = shared.gzipped.lock().expect("gzip cache");
    cache
        .entry(key.to_string())
        .or_insert_with(|| {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
            encoder.write_all(&bytes).expect("writing to memory");
            Arc::new(encoder.finish().expect("writing to memory"))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_refuse_paths_outside_them() {
        let dir = std::env::temp_dir().join(format!("xtask-{}-mount", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.js"), "1").unwrap();
        let site = Site { documents: HashMap::new(), mounts: vec![("/m/".into(), dir.clone())] };
        let found = find(&site, "/m/a.js").unwrap();
        assert_eq!((found.content_type, found.bytes.as_slice()), ("text/javascript; charset=utf-8", &b"1"[..]));
        assert!(find(&site, "/m/../a.js").is_none());
        assert!(find(&site, "/m//etc/passwd").is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
