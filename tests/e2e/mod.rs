//! The end-to-end harness shared by `tests/*_e2e.rs` and the collector's
//! `collector/tests/journeys.rs`: a loopback HTTP server serving `dist/` and
//! each test's in-memory pages with a request log, a lead endpoint whose
//! answers tests script, chromedriver with Debian's headless Chromium through
//! fantoccini, and polling helpers. Each test file includes it with
//! `mod e2e;` (the collector's with `#[path]`), so all drive the shipped
//! widget the same way. The pages come from a [`Site`]: this file's scripted
//! [`Server`], or the real collector serving the demo site.
//!
//! Each test gets its own server on 127.0.0.1 (so its own origin and
//! storage), its own chromedriver and a fresh browser profile.

// Each test file uses a different part of the kit.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::wd::WindowHandle;
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long any condition may take: wasm compiles in well under a second
/// here, so this only bounds how long a broken build takes to fail.
pub const WAIT: Duration = Duration::from_secs(10);
pub const POLL: Duration = Duration::from_millis(50);

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The loader as sites load it.
pub const LOADER: &str = "/dist/leadscore.js";

// ---------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------

/// Runs first on every page: records console output and uncaught errors so
/// tests can assert on them. Written so it keeps working when a test page
/// breaks `Array.prototype.push` or `JSON`. Pages made here carry it in a
/// script tag; pages served from elsewhere get it by [`Harness::on`].
pub const RECORDER: &str = r#"
(function () {
  var lines = window.__console = [], errors = window.__errors = [];
  function add(list, text) { list[list.length] = text }
  ['log', 'info', 'warn', 'error', 'debug'].forEach(function (level) {
    var original = console[level];
    console[level] = function () {
      var parts = [];
      for (var i = 0; i < arguments.length; i++) parts[i] = String(arguments[i]);
      add(lines, parts.join(' '));
      return original.apply(console, arguments);
    };
  });
  addEventListener('error', function (e) { add(errors, 'error: ' + e.message) });
  addEventListener('unhandledrejection', function (e) {
    add(errors, 'unhandled rejection: ' + (e.reason && e.reason.message || e.reason));
  });
  window.ledgerCount = function (rule) {
    var explained = window.leadscore && leadscore.explain && leadscore.explain();
    if (!explained) return null;
    for (var i = 0; i < explained.ledger.length; i++) {
      if (explained.ledger[i].rule === rule) return explained.ledger[i].count;
    }
    return 0;
  };
})();
"#;

/// Records every write to Web Storage and every cookie write in
/// `window.__writes`, for pages that put it before the loader (and anything
/// else), so nothing the widget stores escapes it.
pub const STORAGE_SPY: &str = r#"<script>
  window.__writes = [];
  ['setItem', 'removeItem', 'clear'].forEach(function (name) {
    var original = Storage.prototype[name];
    Storage.prototype[name] = function () {
      window.__writes.push(name + ' ' + (arguments[0] === undefined ? '' : arguments[0]));
      return original.apply(this, arguments);
    };
  });
  var cookie = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
  Object.defineProperty(Document.prototype, 'cookie', {
    configurable: true,
    get: function () { return cookie.get.call(this) },
    set: function (value) { window.__writes.push('cookie ' + value); cookie.set.call(this, value) }
  });
</script>"#;

pub fn page(head: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>leadscore e2e</title><script>{RECORDER}</script>{head}</head>\
         <body>{body}</body></html>"
    )
}

// ---------------------------------------------------------------------------
// The harness: server, browser, and the checks every working page shares
// ---------------------------------------------------------------------------

/// Where a harness opens pages.
pub trait Site {
    /// The absolute URL of `path` on this site.
    fn url(&self, path: &str) -> String;
    /// What the site received, for failure messages.
    fn describe(&self) -> String;
}

pub struct Harness<S = Server> {
    pub server: S,
    pub browser: Browser,
}

impl Harness {
    /// A scripted server serving `dist/`, and a browser. Its pages carry
    /// the [`RECORDER`] themselves.
    pub async fn start() -> Harness {
        Harness { server: Server::start(dist_dir()).await, browser: Browser::start().await }
    }
}

impl<S: Site> Harness<S> {
    /// A browser opening pages on `site`, with the [`RECORDER`] on every
    /// page it opens.
    pub async fn on(site: S) -> Harness<S> {
        let harness = Harness { server: site, browser: Browser::start().await };
        harness.on_every_page(RECORDER).await;
        harness
    }

    pub async fn open(&self, path: &str) {
        let url = self.server.url(path);
        self.browser.client.goto(&url).await.unwrap_or_else(|err| panic!("could not open {url}: {err}"));
    }

    /// Reloads the current page, as a visitor pressing F5 does.
    pub async fn reload(&self) {
        self.browser.client.refresh().await.unwrap_or_else(|err| panic!("could not reload: {err}"));
    }

    /// Opens a second browser window (same profile, so same storage) and
    /// returns its handle; the current window stays the one commands go to.
    pub async fn new_window(&self) -> WindowHandle {
        let opened = self.browser.client.new_window(false).await.unwrap_or_else(|err| panic!("new window: {err}"));
        opened.handle
    }

    /// The window later commands (`eval`, `open`, …) go to.
    pub async fn current_window(&self) -> WindowHandle {
        self.browser.client.window().await.unwrap_or_else(|err| panic!("current window: {err}"))
    }

    pub async fn switch_to(&self, window: &WindowHandle) {
        self.browser.client.switch_to_window(window.clone()).await.unwrap_or_else(|err| panic!("switch window: {err}"));
    }

    /// Evaluates one JS expression in the page.
    pub async fn eval(&self, expression: &str) -> Value {
        let script = format!("return ({expression});");
        match self.browser.client.execute(&script, Vec::new()).await {
            Ok(value) => value,
            Err(err) => panic!("`{expression}` failed: {err}\n{}", self.diagnostics().await),
        }
    }

    /// Runs `body`, which must call `done(value)`, and returns that value.
    pub async fn eval_async(&self, body: &str) -> Value {
        let script = format!("var done = arguments[arguments.length - 1];\n{body}");
        match self.browser.client.execute_async(&script, Vec::new()).await {
            Ok(value) => value,
            Err(err) => panic!("async script failed: {err}\n{body}\n{}", self.diagnostics().await),
        }
    }

    /// Polls `condition` (a JS expression) every 50 ms until it is true.
    pub async fn wait_for(&self, what: &str, condition: &str) {
        self.wait_for_within(what, condition, WAIT).await;
    }

    /// `wait_for` with its own deadline, for waits the scenario makes long
    /// on purpose (a server's `Retry-After`, a backoff).
    pub async fn wait_for_within(&self, what: &str, condition: &str, within: Duration) {
        let script = format!("try {{ return !!({condition}); }} catch (e) {{ return false; }}");
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Value::Bool(true)) = self.browser.client.execute(&script, Vec::new()).await {
                return;
            }
            if Instant::now() >= deadline {
                panic!("gave up after {within:?} waiting for {what} ({condition})\n{}", self.diagnostics().await);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The loader has started the widget and the widget has its config.
    pub async fn wait_ready(&self) {
        self.wait_for(
            "the widget to start and be configured",
            "typeof leadscore === 'function' && leadscore.stage() !== null && leadscore.explain() !== null",
        )
        .await;
    }

    /// Lets already-queued tasks run (a late console line, an unhandled
    /// rejection event) before asserting that something did not happen.
    /// Polls a flag instead of using an async script: chromedriver's async
    /// wrapper calls `Array.prototype.push`, which one test page breaks.
    pub async fn settle(&self) {
        self.eval(
            "window.__settled = false, setTimeout(function () {
               (window.requestIdleCallback || setTimeout)(function () {
                 setTimeout(function () { window.__settled = true }, 0);
               }, { timeout: 1000 });
             }, 0)",
        )
        .await;
        self.wait_for("queued tasks to run", "window.__settled === true").await;
    }

    /// A list the page built, read as one string: chromedriver turns a
    /// returned array back into JSON with `Array.prototype.push`, which one
    /// test page breaks on purpose.
    pub async fn list(&self, expression: &str) -> Vec<String> {
        let joined = self.eval(&format!("({expression}).join('\\u0000')")).await;
        let joined = joined.as_str().unwrap_or_default();
        if joined.is_empty() {
            Vec::new()
        } else {
            joined.split('\0').map(str::to_string).collect()
        }
    }

    pub async fn leadscore_lines(&self) -> Vec<String> {
        self.list("window.__console").await.into_iter().filter(|line| line.starts_with("leadscore:")).collect()
    }

    /// Uncaught errors and unhandled rejections the page saw.
    pub async fn errors(&self) -> Vec<String> {
        self.list("window.__errors").await
    }

    /// Waits for the first `leadscore:` console line and checks that it
    /// stays the only one; returns it.
    pub async fn wait_for_one_line(&self) -> String {
        self.wait_for(
            "a leadscore: console line",
            "window.__console.some(function (line) { return line.indexOf('leadscore:') === 0 })",
        )
        .await;
        self.settle().await;
        let lines = self.leadscore_lines().await;
        assert_eq!(lines.len(), 1, "expected exactly one leadscore: line, got {lines:#?}");
        lines.into_iter().next().unwrap_or_default()
    }

    /// No page error, no unhandled rejection, no complaint from the widget,
    /// and no request to any other origin.
    pub async fn assert_clean(&self) {
        assert_eq!(self.errors().await, Vec::<String>::new(), "{}", self.diagnostics().await);
        let lines = self.leadscore_lines().await;
        assert!(lines.is_empty(), "unexpected console lines: {lines:#?}");
        let origin = self.server.url("");
        let elsewhere = self
            .list(&format!(
                "performance.getEntriesByType('resource').map(function (e) {{ return e.name }})\
                 .filter(function (name) {{ return name.indexOf({}) !== 0 && name.indexOf('data:') !== 0 }})",
                json!(origin)
            ))
            .await;
        assert_eq!(elsewhere, Vec::<String>::new(), "requests left the site's origin");
    }

    pub async fn diagnostics(&self) -> String {
        let page = self
            .browser
            .client
            .execute(
                "return 'console: ' + (window.__console || []).join(' | ') + '\\nerrors: ' + (window.__errors || []).join(' | ');",
                Vec::new(),
            )
            .await
            .map(|value| value.as_str().unwrap_or_default().to_string())
            .unwrap_or_else(|err| format!("(page state unavailable: {err})"));
        format!("{page}\n{}", self.server.describe())
    }

    /// Clicks the element `css` selects, as a visitor does (WebDriver moves
    /// the pointer and clicks; the element must be visible).
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        if let Err(err) = element.click().await {
            panic!("could not click {css}: {err}\n{}", self.diagnostics().await);
        }
    }

    /// Types `text` into the field `css` selects.
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        if let Err(err) = element.send_keys(text).await {
            panic!("could not type into {css}: {err}\n{}", self.diagnostics().await);
        }
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.browser.client.find(fantoccini::Locator::Css(css)).await {
            Ok(element) => element,
            Err(err) => panic!("no element {css}: {err}\n{}", self.diagnostics().await),
        }
    }

    /// Sends a Chrome DevTools Protocol command through chromedriver, for
    /// what WebDriver has no command for; returns the command's result.
    pub async fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        match self.browser.client.issue_cmd(Cdp { cmd, params }).await {
            Ok(result) => result,
            Err(err) => panic!("CDP {cmd} failed: {err}"),
        }
    }

    /// Runs `script` first on every page opened from now on, before the
    /// page's own scripts; returns an id for [`Harness::not_on_new_pages`].
    pub async fn on_every_page(&self, script: &str) -> String {
        let added = self.cdp("Page.addScriptToEvaluateOnNewDocument", json!({ "source": script })).await;
        added["identifier"].as_str().expect("an identifier").to_string()
    }

    /// Stops running a script [`Harness::on_every_page`] added.
    pub async fn not_on_new_pages(&self, id: &str) {
        self.cdp("Page.removeScriptToEvaluateOnNewDocument", json!({ "identifier": id })).await;
    }

    /// Saves a PNG of the viewport as `target/e2e-artifacts/NAME.png` (kept
    /// for people to look at) and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.browser.client.screenshot().await.unwrap_or_else(|err| panic!("screenshot {name}: {err}"));
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir).unwrap_or_else(|err| panic!("could not create {}: {err}", dir.display()));
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|err| panic!("could not write {}: {err}", path.display()));
        path
    }

    /// Ends the browser session cleanly; on a panic, `Browser`'s drop kills
    /// chromedriver and the browser instead.
    pub async fn finish(self) {
        let _ = self.browser.client.clone().close().await;
    }
}

/// The workspace root, from this crate's or the collector's tests.
pub fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.ancestors().find(|dir| dir.join("www/leadscore.js").is_file());
    root.expect("the workspace root holds www/leadscore.js").to_path_buf()
}

/// `dist/` as `cargo xtask build` leaves it, with a loader no older than
/// `www/`: testing a stale copy would prove nothing about the source.
pub fn dist_dir() -> PathBuf {
    let dist = root().join("dist");
    for file in ["leadscore.js", "leadscore_wasm.js", "leadscore_wasm_bg.wasm"] {
        assert!(dist.join(file).is_file(), "dist/{file} is missing: run `cargo xtask build` first");
    }
    let shipped = std::fs::read(dist.join("leadscore.js")).unwrap();
    let source = std::fs::read(root().join("www/leadscore.js")).unwrap();
    assert!(shipped == source, "dist/leadscore.js differs from www/leadscore.js: run `cargo xtask build` first");
    dist
}

/// Where screenshots of end-to-end runs are kept: `target/e2e-artifacts`.
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), |dir| root().join(dir));
    target.join("e2e-artifacts")
}

/// chromedriver's endpoint for Chrome DevTools Protocol commands.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/goog/cdp/execute", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({ "cmd": self.cmd, "params": self.params }).to_string()))
    }
}

// ---------------------------------------------------------------------------
// An HTTP/1.1 server: dist/ under /dist/, each test's own routes, and lead
// endpoints whose answers the test scripts
// ---------------------------------------------------------------------------

/// One request as the server read it.
#[derive(Clone, Debug)]
pub struct Request {
    /// When its head and body had arrived.
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Clone)]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response { status, headers: vec![("Content-Type".into(), content_type.into())], body: body.into() }
    }

    pub fn html(body: &str) -> Response {
        Response::new(200, "text/html; charset=utf-8", body)
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }
}

#[derive(Default)]
struct Served {
    routes: HashMap<String, Response>,
    endpoints: HashMap<String, Arc<Endpoint>>,
    requests: Vec<Request>,
}

pub struct Server {
    addr: SocketAddr,
    site: Arc<Mutex<Served>>,
}

impl Site for Server {
    fn url(&self, path: &str) -> String {
        Server::url(self, path)
    }

    fn describe(&self) -> String {
        let requests: Vec<String> = self.requests().iter().map(|r| format!("{} {}", r.method, r.path)).collect();
        format!("requests: {requests:#?}")
    }
}

impl Server {
    pub async fn start(dist: PathBuf) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let site = Arc::new(Mutex::new(Served::default()));
        let shared = (site.clone(), Arc::new(dist));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (site, dist) = (shared.0.clone(), shared.1.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, &site, &dist).await;
                });
            }
        });
        Server { addr, site }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn route(&self, path: &str, response: Response) {
        self.site.lock().unwrap().routes.insert(path.to_string(), response);
    }

    pub fn page(&self, path: &str, html: &str) {
        self.route(path, Response::html(html));
    }

    pub fn json(&self, path: &str, json: &str) {
        self.route(path, Response::new(200, "application/json", json));
    }

    /// Makes POSTs to `path` go to a lead endpoint, which answers 200 until
    /// the test scripts something else; the same endpoint on a second call.
    pub fn endpoint(&self, path: &str) -> Arc<Endpoint> {
        let mut site = self.site.lock().unwrap();
        site.endpoints.entry(path.to_string()).or_insert_with(|| Arc::new(Endpoint::new(path))).clone()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.site.lock().unwrap().requests.clone()
    }

    /// Requests for exactly `path`, query string included.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.requests().iter().filter(|r| r.method == method && r.path == path).count()
    }
}

async fn serve(mut stream: TcpStream, site: &Mutex<Served>, dist: &Path) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break at + 4;
        }
        if buffer.len() > 64 * 1024 {
            return Ok(());
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_string();
    let path = request_line.next().unwrap_or("/").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .collect();
    let length = header_value(&headers, "content-length")
        .and_then(|value| value.parse::<usize>().ok())
        .unwrap_or(0)
        .min(1024 * 1024);
    while buffer.len() < head_end + length {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let body = String::from_utf8_lossy(&buffer[head_end..buffer.len().min(head_end + length)]).into_owned();
    let request = Request { at: Instant::now(), method: method.clone(), path: path.clone(), headers, body };

    let bare = path.split(['?', '#']).next().unwrap_or_default().to_string();
    let response = {
        let mut site = site.lock().unwrap();
        site.requests.push(request.clone());
        match site.endpoints.get(&bare) {
            Some(endpoint) if method == "POST" => Err(endpoint.clone()),
            _ => Ok(match site.routes.get(&bare) {
                Some(response) => response.clone(),
                None => match bare.strip_prefix("/dist/") {
                    Some(file) => dist_file(dist, file),
                    None => Response::new(404, "text/plain", "not found"),
                },
            }),
        }
    };
    match response {
        Ok(response) => write_response(&mut stream, &method, &response).await,
        // The site's lock is released: a held answer must not stall the pages.
        Err(endpoint) => endpoint.answer(stream, request).await,
    }
}

async fn write_response(stream: &mut TcpStream, method: &str, response: &Response) -> std::io::Result<()> {
    let reason = match response.status {
        200 => "OK",
        404 => "Not Found",
        _ => "Status",
    };
    let mut out = format!("HTTP/1.1 {} {reason}\r\n", response.status);
    for (name, value) in &response.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    // Every load must reach the server, so request counts mean something.
    out.push_str(&format!(
        "Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        response.body.len()
    ));
    stream.write_all(out.as_bytes()).await?;
    if method != "HEAD" {
        stream.write_all(&response.body).await?;
    }
    stream.shutdown().await
}

fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(known, _)| known.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
}

fn dist_file(dist: &Path, file: &str) -> Response {
    if file.is_empty() || file.split('/').any(|part| part.is_empty() || part == "." || part == "..") {
        return Response::new(404, "text/plain", "not found");
    }
    let content_type = match file.rsplit('.').next() {
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    match std::fs::read(dist.join(file)) {
        Ok(bytes) => Response::new(200, content_type, bytes),
        Err(_) => Response::new(404, "text/plain", "not found"),
    }
}

// ---------------------------------------------------------------------------
// The lead endpoint: scripted answers, a log of every POST, and the view of
// an idempotent receiver that stores the first accepted body per lead_id
// ---------------------------------------------------------------------------

/// What the endpoint does with one POST.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Answer at once with this status and these extra headers.
    Answer { status: u16, headers: Vec<(String, String)> },
    /// Read the request, then close the connection without a byte: `fetch`
    /// sees a network error, as it does when the visitor is offline.
    Offline,
    /// Keep the request open until [`Endpoint::release`], then answer with
    /// this status: a request still in flight while the page goes away.
    Hold(u16),
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply::Answer { status, headers: Vec::new() }
    }

    /// Adds a header to an `Answer`, e.g. `Retry-After`.
    pub fn header(self, name: &str, value: &str) -> Reply {
        match self {
            Reply::Answer { status, mut headers } => {
                headers.push((name.into(), value.into()));
                Reply::Answer { status, headers }
            }
            other => panic!("only an answer carries headers, not {other:?}"),
        }
    }
}

/// One POST the endpoint received and what it answered.
#[derive(Clone, Debug)]
pub struct Post {
    /// When the whole request had arrived.
    pub at: Instant,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The status written back; `None` while held, when the connection was
    /// dropped, or when the browser was gone before the answer was written.
    pub answer: Option<u16>,
    pub answered_at: Option<Instant>,
}

impl Post {
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    pub fn lead_id(&self) -> Option<String> {
        self.json()?.get("lead_id")?.as_str().map(str::to_string)
    }

    /// `beacon` or `fetch`: Chromium sends a beacon in `no-cors` mode and
    /// the widget's `fetch` in `cors` mode, and says so in `Sec-Fetch-Mode`.
    pub fn via(&self) -> &'static str {
        match self.header("sec-fetch-mode") {
            Some("no-cors") => "beacon",
            Some("cors") => "fetch",
            _ => "unknown",
        }
    }

    /// Answered 2xx: the browser was told the lead is delivered.
    pub fn accepted(&self) -> bool {
        self.answer.is_some_and(|status| (200..300).contains(&status))
    }
}

struct Script {
    queue: VecDeque<Reply>,
    mode: Reply,
    posts: Vec<Post>,
    /// Bumped by `release`; a held request waits for it to change.
    releases: u64,
    held: usize,
}

pub struct Endpoint {
    path: String,
    script: Mutex<Script>,
}

impl Endpoint {
    fn new(path: &str) -> Endpoint {
        Endpoint {
            path: path.to_string(),
            script: Mutex::new(Script {
                queue: VecDeque::new(),
                mode: Reply::status(200),
                posts: Vec::new(),
                releases: 0,
                held: 0,
            }),
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Queues replies for the next POSTs, in order; the mode applies again
    /// once they are used up.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.script.lock().unwrap().queue.extend(replies);
    }

    /// What every POST gets once the scripted replies are used up.
    pub fn set_mode(&self, reply: Reply) {
        self.script.lock().unwrap().mode = reply;
    }

    /// Answers every request held so far, each with its `Hold` status.
    pub fn release(&self) {
        self.script.lock().unwrap().releases += 1;
    }

    /// Requests being held right now.
    pub fn held(&self) -> usize {
        self.script.lock().unwrap().held
    }

    pub fn posts(&self) -> Vec<Post> {
        self.script.lock().unwrap().posts.clone()
    }

    pub fn count(&self) -> usize {
        self.script.lock().unwrap().posts.len()
    }

    /// The receiver's view of everything posted so far.
    pub fn tally(&self) -> Tally {
        Tally::of(&self.posts())
    }

    /// Polls until `done` holds for the POSTs so far, for at most `within`;
    /// returns them.
    pub async fn wait_until(&self, what: &str, within: Duration, done: impl Fn(&[Post]) -> bool) -> Vec<Post> {
        match self.poll_until(within, done).await {
            Some(posts) => posts,
            None => panic!("gave up after {within:?} waiting for {what}\n{}", self.log()),
        }
    }

    /// `wait_until` that reports a timeout as `None` instead of failing, for
    /// a test that gathers every miss before its verdict.
    pub async fn poll_until(&self, within: Duration, done: impl Fn(&[Post]) -> bool) -> Option<Vec<Post>> {
        let deadline = Instant::now() + within;
        loop {
            let posts = self.posts();
            if done(&posts) {
                return Some(posts);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for the `n`th POST (counting from 1) and returns all so far.
    pub async fn wait_for_posts(&self, n: usize, within: Duration) -> Vec<Post> {
        self.wait_until(&format!("{n} POST(s) to {}", self.path), within, |posts| posts.len() >= n).await
    }

    /// Polls until `until`, failing as soon as more than `n` POSTs have
    /// arrived: how a test shows that something does not happen too early.
    pub async fn assert_at_most_until(&self, n: usize, until: Instant, why: &str) {
        loop {
            let count = self.count();
            assert!(count <= n, "{why}: POST number {count} arrived too early\n{}", self.log());
            if Instant::now() >= until {
                return;
            }
            tokio::time::sleep(POLL.min(until.saturating_duration_since(Instant::now()))).await;
        }
    }

    /// Every POST so far, one line each, for failure messages.
    pub fn log(&self) -> String {
        let posts = self.posts();
        let Some(first) = posts.first().map(|post| post.at) else {
            return format!("{}: no POST received", self.path);
        };
        let mut out = format!("{}: {} POST(s)", self.path, posts.len());
        for post in &posts {
            out.push_str(&format!(
                "\n  +{:>8.3}s lead_id={} answer={:?} via={} content-type={:?} bytes={}",
                post.at.duration_since(first).as_secs_f64(),
                post.lead_id().unwrap_or_else(|| "(unreadable)".into()),
                post.answer,
                post.via(),
                post.header("content-type"),
                post.body.len()
            ));
        }
        out
    }

    async fn answer(&self, mut stream: TcpStream, request: Request) -> std::io::Result<()> {
        let (index, reply, releases) = {
            let mut script = self.script.lock().unwrap();
            let reply = script.queue.pop_front().unwrap_or_else(|| script.mode.clone());
            script.posts.push(Post {
                at: request.at,
                headers: request.headers,
                body: request.body,
                answer: None,
                answered_at: None,
            });
            (script.posts.len() - 1, reply, script.releases)
        };
        let (status, headers) = match reply {
            // Dropping the stream closes the connection before any answer.
            Reply::Offline => return Ok(()),
            Reply::Answer { status, headers } => (status, headers),
            Reply::Hold(status) => {
                self.script.lock().unwrap().held += 1;
                while self.script.lock().unwrap().releases == releases {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                self.script.lock().unwrap().held -= 1;
                (status, Vec::new())
            }
        };
        let mut response = Response::new(status, "application/json", format!(r#"{{"status":{status}}}"#));
        response.headers.extend(headers);
        write_response(&mut stream, "POST", &response).await?;
        let mut script = self.script.lock().unwrap();
        script.posts[index].answer = Some(status);
        script.posts[index].answered_at = Some(Instant::now());
        Ok(())
    }
}

/// Posts of one lead_id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeadPosts {
    pub posts: usize,
    /// Of those, answered 2xx.
    pub accepted: usize,
}

/// What an idempotent receiver made of the POSTs: it keeps the first
/// 2xx-answered body per `lead_id` and absorbs the rest.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub posts: usize,
    /// Bodies that were not JSON with a string `lead_id`.
    pub unreadable: usize,
    pub leads: BTreeMap<String, LeadPosts>,
    /// The stored rows: the first accepted body per lead_id.
    pub stored: BTreeMap<String, Value>,
}

impl Tally {
    pub fn of(posts: &[Post]) -> Tally {
        let mut tally = Tally { posts: posts.len(), ..Tally::default() };
        let mut accepted: Vec<&Post> = posts.iter().filter(|post| post.accepted()).collect();
        accepted.sort_by_key(|post| post.answered_at);
        for post in posts {
            match post.lead_id() {
                Some(id) => {
                    let entry = tally.leads.entry(id).or_default();
                    entry.posts += 1;
                    entry.accepted += usize::from(post.accepted());
                }
                None => tally.unreadable += 1,
            }
        }
        for post in accepted {
            if let (Some(id), Some(body)) = (post.lead_id(), post.json()) {
                tally.stored.entry(id).or_insert(body);
            }
        }
        tally
    }

    /// Distinct lead_ids received.
    pub fn distinct(&self) -> usize {
        self.leads.len()
    }

    /// POSTs answered 2xx for a lead_id already accepted before: the sends
    /// the receiver had to absorb by idempotency.
    pub fn duplicates(&self) -> usize {
        self.leads.values().map(|lead| lead.accepted.saturating_sub(1)).sum()
    }

    /// Lead_ids received more than once, whatever the answers.
    pub fn resent(&self) -> usize {
        self.leads.values().filter(|lead| lead.posts > 1).count()
    }

    pub fn summary(&self) -> String {
        format!(
            "posts={} distinct={} stored={} duplicates_2xx={} unreadable={}",
            self.posts,
            self.distinct(),
            self.stored.len(),
            self.duplicates(),
            self.unreadable
        )
    }
}

// ---------------------------------------------------------------------------
// chromedriver and a headless Chromium session
// ---------------------------------------------------------------------------

pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: PathBuf,
}

impl Browser {
    pub async fn start() -> Browser {
        let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| CHROMEDRIVER.to_string());
        assert!(
            Path::new(&chromedriver).is_file() && Path::new(CHROMIUM).is_file(),
            "{chromedriver} or {CHROMIUM} is missing; `cargo xtask test` installs them \
             (apt-get install chromium chromium-driver)"
        );
        let profile = fresh_profile_dir();
        let port = free_port();
        // Its own process group, so a failed test can end chromedriver and
        // every browser process it started in one signal.
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|err| panic!("could not start {chromedriver}: {err}"));
        let mut guard = BrowserGuard { driver: Some(driver), profile: profile.clone() };

        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), chromium_options(&profile));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let webdriver = format!("http://127.0.0.1:{port}");
        // chromedriver takes a moment to listen; a refused connection before
        // that is expected, anything still failing at the deadline is not.
        let deadline = Instant::now() + WAIT;
        let client = loop {
            match ClientBuilder::new(connector.clone()).capabilities(capabilities.clone()).connect(&webdriver).await {
                Ok(client) => break client,
                Err(err) if Instant::now() >= deadline => panic!("could not start a Chromium session: {err}"),
                Err(_) => tokio::time::sleep(POLL).await,
            }
        };
        Browser { client, driver: guard.driver.take().expect("set above"), profile }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        end_process_group(&mut self.driver);
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Cleans up if `Browser::start` fails half-way.
struct BrowserGuard {
    driver: Option<Child>,
    profile: PathBuf,
}

impl Drop for BrowserGuard {
    fn drop(&mut self) {
        if let Some(driver) = self.driver.as_mut() {
            end_process_group(driver);
            let _ = std::fs::remove_dir_all(&self.profile);
        }
    }
}

/// `webdriver.json`'s Chromium options (the flags wasm-bindgen-test and the
/// browser benchmark use too) with `profile` as the browser's profile.
fn chromium_options(profile: &Path) -> Value {
    let path = root().join("webdriver.json");
    let file: Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_else(|| panic!("{} is missing or not JSON", path.display()));
    let mut options = file["goog:chromeOptions"].clone();
    let args = options["args"].as_array_mut().unwrap_or_else(|| panic!("{} has no args", path.display()));
    args.push(json!(format!("--user-data-dir={}", profile.display())));
    options
}

/// Kills chromedriver and the browser it launched (same process group).
fn end_process_group(driver: &mut Child) {
    let group = format!("-{}", driver.id());
    let _ = Command::new("kill").args(["-s", "KILL", "--", &group]).stderr(Stdio::null()).status();
    let _ = driver.kill();
    let _ = driver.wait();
}

fn fresh_profile_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "leadscore-e2e-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|err| panic!("could not create {}: {err}", dir.display()));
    dir
}

/// A port nobody listens on right now, for chromedriver to take.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap()
}
