//! The npm package in `dist/npm/` as an app gets it: packed by npm, installed
//! from the tarball into small apps, bundled by esbuild and by Vite, and the
//! React recipe of docs/integrations.md built as it stands there; each build
//! is served by the harness's server and driven in headless Chromium until
//! the visitor qualifies and exactly one lead reaches the endpoint.
//!
//! Needs `cargo xtask build` output in `dist/npm/`, the packages of
//! `tests/npm/` (`npm ci --prefix tests/npm`, which `cargo xtask test` runs),
//! and Debian's chromium and chromium-driver. Each app is copied to
//! `target/npm-apps/<name>`, emptied first, so a run never sees the last one's
//! files.

#![cfg(not(target_arch = "wasm32"))]

mod e2e;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::{root, Endpoint, Harness, Server, WAIT};
use leadscore::core::Lead;
use serde_json::{json, Value};

const ENDPOINT: &str = "/v1/leads";

/// What the package holds: its manifest, the entry and its types, the global
/// types they share, the glue, the wasm, the two views and the config
/// compiler.
const PACKAGE_FILES: [&str; 11] = [
    "README.md",
    "index.d.ts",
    "index.js",
    "leadscore.d.ts",
    "leadscore_config.js",
    "leadscore_config.wasm",
    "leadscore_debug.js",
    "leadscore_privacy.js",
    "leadscore_wasm.js",
    "leadscore_wasm_bg.wasm",
    "package.json",
];

// ---------------------------------------------------------------------------
// Packages, tarballs and scratch apps
// ---------------------------------------------------------------------------

/// `tests/npm`, with the bundlers installed.
fn test_packages() -> PathBuf {
    let npm = root().join("tests/npm");
    assert!(
        npm.join("node_modules/.bin/esbuild").is_file() && npm.join("node_modules/.bin/vite").is_file(),
        "tests/npm/node_modules is missing: run `cargo xtask test` (or `npm ci --prefix tests/npm`) first"
    );
    npm
}

/// `dist/npm`, as the build left it, with sources no newer than `www/`:
/// packing a stale copy would prove nothing about them.
fn package_dir() -> PathBuf {
    let package = root().join("dist/npm");
    assert!(package.join("package.json").is_file(), "dist/npm is missing: run `cargo xtask build` first");
    for (shipped, source) in [
        ("index.js", "www/npm/index.js"),
        ("index.d.ts", "www/npm/index.d.ts"),
        ("leadscore.d.ts", "www/leadscore.d.ts"),
    ] {
        let same = std::fs::read(package.join(shipped)).ok() == std::fs::read(root().join(source)).ok();
        assert!(same, "dist/npm/{shipped} differs from {source}: run `cargo xtask build` first");
    }
    package
}

/// `target/npm-apps/NAME`, emptied.
fn scratch(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), |dir| root().join(dir));
    let dir = target.join("npm-apps").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|err| panic!("could not create {}: {err}", dir.display()));
    dir
}

/// Runs `program` in `dir` with the test packages' tools on PATH and their
/// modules on NODE_PATH (how the React recipe finds react); returns stdout,
/// or fails with everything the command printed.
fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    let npm = test_packages();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(npm.join("node_modules/.bin")).chain(std::env::split_paths(&path)))
        .expect("PATH entries without separators");
    let shown = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .env("NODE_PATH", npm.join("node_modules"))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| panic!("could not start `{shown}`: {err}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "`{shown}` in {} failed ({}):\n{stdout}\n{}",
        dir.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Packs `dist/npm` into `dir`; the tarball's path.
fn pack_into(dir: &Path) -> PathBuf {
    let package = package_dir();
    let out =
        run(dir, "npm", &["pack", "--json", "--pack-destination", &dir.to_string_lossy(), &package.to_string_lossy()]);
    let packed: Value = serde_json::from_str(&out).unwrap_or_else(|err| panic!("npm pack --json: {err}\n{out}"));
    let name = packed[0]["filename"].as_str().unwrap_or_else(|| panic!("npm pack named no tarball: {packed}"));
    dir.join(name)
}

/// Copies `tests/npm/apps/NAME` to its scratch folder and installs the
/// packed package there, as an app's own `npm install` would.
fn app_with_package(name: &str) -> PathBuf {
    let dir = scratch(name);
    copy_tree(&root().join("tests/npm/apps").join(name), &dir);
    // The app's code is one for every bundler.
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap_or_else(|err| panic!("could not create {}: {err}", src.display()));
    copy_tree(&root().join("tests/npm/apps/src"), &src);
    let tarball = pack_into(&dir);
    run(&dir, "npm", &["install", "--no-audit", "--no-fund", &tarball.to_string_lossy()]);
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    let entries = std::fs::read_dir(from).unwrap_or_else(|err| panic!("could not list {}: {err}", from.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|err| panic!("could not list {}: {err}", from.display()));
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target)
                .unwrap_or_else(|err| panic!("could not create {}: {err}", target.display()));
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|err| panic!("could not copy {}: {err}", entry.path().display()));
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("could not read {}: {err}", path.display()))
}

// ---------------------------------------------------------------------------
// Serving a build and checking what the browser fetched and posted
// ---------------------------------------------------------------------------

/// The build in `app/dist` under `/dist/`, `page` at `/` and at each of
/// the app's routes, a lead endpoint, and a browser.
async fn serve(app: &Path, page: &str, routes: &[&str]) -> (Harness, std::sync::Arc<Endpoint>) {
    let server = Server::start(app.join("dist")).await;
    for route in std::iter::once(&"/").chain(routes) {
        server.page(route, page);
    }
    let endpoint = server.endpoint(ENDPOINT);
    (Harness::on(server).await, endpoint)
}

/// Every file the page fetched under `/dist/` is in the build; the widget's
/// wasm was among them, and (the app's config has rules of its own) the
/// config compiler's, each byte for byte the package's. Returns the
/// widget's wasm's path.
fn assert_served_from_build(h: &Harness, app: &Path) -> String {
    let fetched: BTreeSet<String> = h
        .server
        .requests()
        .into_iter()
        .filter(|request| request.method == "GET")
        .filter_map(|request| request.path.strip_prefix("/dist/").map(str::to_string))
        .collect();
    for file in &fetched {
        assert!(app.join("dist").join(file).is_file(), "the page fetched /dist/{file}, which the build lacks");
    }
    let wasm: Vec<&String> = fetched.iter().filter(|file| file.ends_with(".wasm")).collect();
    assert_eq!(wasm.len(), 2, "the widget's wasm and the config compiler's, fetched {fetched:?}");
    let package = |name: &str| std::fs::read(package_dir().join(name)).unwrap_or_default();
    let built = |file: &String| std::fs::read(app.join("dist").join(file)).unwrap_or_default();
    let widget = wasm.iter().find(|file| built(file) == package("leadscore_wasm_bg.wasm"));
    assert!(wasm.iter().any(|file| built(file) == package("leadscore_config.wasm")), "{wasm:?}");
    format!("/dist/{}", widget.expect("the widget's wasm is the package's"))
}

/// Exactly one lead, for `site` at `stage`, that the collector accepts; it
/// stays the only one for a while after. Returns its body.
async fn assert_one_lead(endpoint: &Endpoint, site: &str, stage: &str) -> Value {
    let posts = endpoint.wait_for_posts(1, WAIT).await;
    endpoint.assert_at_most_until(1, Instant::now() + Duration::from_secs(2), "a second lead was posted").await;
    let lead = Lead::from_json(&posts[0].body)
        .unwrap_or_else(|err| panic!("the endpoint got a body the collector refuses: {err}\n{}", posts[0].body));
    assert_eq!(lead.site, site);
    assert_eq!(lead.stage.as_str(), stage);
    assert!(posts[0].accepted(), "{}", endpoint.log());
    posts[0].json().expect("a lead is JSON")
}

/// `count` of the lead's ledger line for `rule`.
fn ledger_count(lead: &Value, rule: &str) -> Option<u64> {
    lead["ledger"].as_array()?.iter().find(|line| line["rule_id"] == rule)?["count"].as_u64()
}

/// The two bundler apps run the same page: two demo uses make an MQL, whose
/// lead the page reports as sent; then the debug overlay is opened, which
/// imports the view the bundler emitted as a chunk.
async fn drive_demo_app(app: &Path, page: &str, site: &str) {
    let (h, endpoint) = serve(app, page, &[]).await;
    h.open("/").await;
    // Page code that wraps `fetch` and `sendBeacon` after the bundle ran
    // must never see a lead: the entry took both when it was evaluated.
    h.eval(
        "(function () { window.__seen = []; var f = window.fetch, b = navigator.sendBeacon;\
         window.fetch = function (u) { __seen.push(String(u)); return f.apply(this, arguments) };\
         navigator.sendBeacon = function (u) { __seen.push(String(u)); return b.apply(this, arguments) } })()",
    )
    .await;
    h.click("#demo").await;
    h.click("#demo").await;
    h.wait_for("the stage to be mql", "document.getElementById('stage').textContent === 'mql'").await;
    let lead = assert_one_lead(&endpoint, site, "mql").await;
    let seen = h.list("window.__seen").await;
    assert!(!seen.iter().any(|url| url.contains(ENDPOINT)), "a wrapper installed later saw the lead: {seen:?}");
    // The app's first calls, made before the module could load, were queued and replayed.
    assert_eq!(h.eval("window.scoreBeforeReady").await, Value::Null, "score() answers null until ready");
    assert_eq!(lead["identity"]["company"], "Acme", "the identify() made at start reached the lead: {lead}");
    h.wait_for("the sent callback", "document.getElementById('sent').textContent === 'mql 200'").await;
    let wasm = assert_served_from_build(&h, app);
    assert_eq!(h.server.count("GET", &wasm), 1, "the wasm is fetched once");

    h.click("#debug").await;
    let debug_fetched = || h.server.requests().iter().any(|r| r.path.starts_with("/dist/") && r.path.contains("debug"));
    let deadline = Instant::now() + WAIT;
    while !debug_fetched() {
        assert!(Instant::now() < deadline, "debug(true) fetched no debug view\n{}", h.diagnostics().await);
        tokio::time::sleep(e2e::POLL).await;
    }
    h.settle().await;
    assert_served_from_build(&h, app);
    h.assert_clean().await;
    h.finish().await;
}

// ---------------------------------------------------------------------------
// The package itself
// ---------------------------------------------------------------------------

/// `npm pack` ships exactly the package's files, under the crate's name and
/// version, with a manifest that bundlers and TypeScript read correctly.
#[test]
fn the_package_packs_exactly_its_files() {
    let package = package_dir();
    let out = run(&package, "npm", &["pack", "--dry-run", "--json", &package.to_string_lossy()]);
    let packed: Value = serde_json::from_str(&out).unwrap_or_else(|err| panic!("npm pack --json: {err}\n{out}"));
    let packed = &packed[0];
    assert_eq!(packed["name"], "leadscore");
    assert_eq!(packed["version"], env!("CARGO_PKG_VERSION"), "the version comes from Cargo.toml");
    let files: Vec<&str> = packed["files"]
        .as_array()
        .expect("npm pack lists files")
        .iter()
        .filter_map(|file| file["path"].as_str())
        .collect();
    let files: BTreeSet<&str> = files.into_iter().collect();
    assert_eq!(files, BTreeSet::from(PACKAGE_FILES), "the tarball holds exactly the package's files");
    for file in packed["files"].as_array().into_iter().flatten() {
        assert!(file["size"].as_u64() > Some(0), "an empty file in the package: {file}");
    }

    let manifest: Value = serde_json::from_str(&read(&package.join("package.json"))).expect("package.json is JSON");
    assert_eq!(manifest["name"], "leadscore");
    assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["type"], "module");
    assert_eq!(manifest["sideEffects"], json!(false));
    assert_eq!(manifest["types"], "./index.d.ts");
    assert_eq!(manifest["exports"]["."], json!({"types": "./index.d.ts", "default": "./index.js"}));
    let listed: BTreeSet<&str> =
        manifest["files"].as_array().expect("package.json lists files").iter().filter_map(Value::as_str).collect();
    for file in &listed {
        assert!(package.join(file).is_file(), "package.json lists {file}, which dist/npm lacks");
    }
    // The glue, the wasm and the views are the build's, not older copies.
    for file in [
        "leadscore_wasm.js",
        "leadscore_wasm_bg.wasm",
        "leadscore_debug.js",
        "leadscore_privacy.js",
        "leadscore_config.js",
        "leadscore_config.wasm",
    ] {
        let same = std::fs::read(package.join(file)).ok() == std::fs::read(root().join("dist").join(file)).ok();
        assert!(same, "dist/npm/{file} differs from dist/{file}: run `cargo xtask build`");
    }
}

// ---------------------------------------------------------------------------
// Bundlers
// ---------------------------------------------------------------------------

/// esbuild bundles the entry and splits off the glue and the views; the
/// app's build copies the wasm files beside them.
#[tokio::test]
async fn an_esbuild_app_scores_qualifies_and_posts_one_lead() {
    let app = app_with_package("esbuild");
    run(&app, "npm", &["run", "build"]);
    let page = read(&app.join("index.html"));
    drive_demo_app(&app, &page, "bundled-app").await;
    two_copies_count_once(&app, &page).await;
    replaced_array_methods_change_nothing(&app, &page).await;
}

/// Opens the app and clicks its demo button twice, which makes the visitor
/// an MQL: the one lead the endpoint got.
async fn two_demo_clicks(h: &Harness, endpoint: &Endpoint) -> Value {
    h.open("/").await;
    h.click("#demo").await;
    h.click("#demo").await;
    h.wait_for("the stage to be mql", "document.getElementById('stage').textContent === 'mql'").await;
    assert_one_lead(endpoint, "bundled-app", "mql").await
}

/// A page whose own script replaced array methods before the app ran: the
/// entry's queue, its replay and its history wrapping use none of them (nor
/// the array iterator, which the browser driver itself needs here), so the
/// app still qualifies and posts.
async fn replaced_array_methods_change_nothing(app: &Path, page: &str) {
    let tag = r#"<script type="module" src="/dist/main.js"></script>"#;
    let hostile = "<script>
        Array.prototype.splice = Array.prototype.indexOf = function () { throw new Error('page array method') };
        </script>";
    let (h, endpoint) = serve(app, &page.replace(tag, &format!("{hostile}{tag}")), &[]).await;
    let lead = two_demo_clicks(&h, &endpoint).await;
    assert_eq!(ledger_count(&lead, "demo"), Some(2), "{lead}");
    h.eval("history.pushState(null, '', '/pricing')").await;
    assert_eq!(h.errors().await, Vec::<String>::new(), "nothing is thrown into the page");
    assert_eq!(h.leadscore_lines().await, Vec::<String>::new());
    h.finish().await;
}

/// Two copies of the package on one page (the same bundle under a second
/// URL is a second module instance, as a second bundle would be): the second
/// says so in one line and stays off, the first counts each event once.
async fn two_copies_count_once(app: &Path, page: &str) {
    let tag = r#"<script type="module" src="/dist/main.js"></script>"#;
    assert!(page.contains(tag), "the app's page loads /dist/main.js");
    let twice = page.replace(tag, &format!(r#"{tag}<script type="module" src="/dist/main.js?second-copy"></script>"#));
    let (h, endpoint) = serve(app, &twice, &[]).await;
    let lead = two_demo_clicks(&h, &endpoint).await;
    assert_eq!(ledger_count(&lead, "demo"), Some(2), "two clicks, each counted once: {lead}");
    let line = h.wait_for_one_line().await;
    assert!(line.contains("another copy"), "the second copy should say why it is off: {line}");
    assert_eq!(h.errors().await, Vec::<String>::new(), "nothing is thrown into the page");
    h.finish().await;
}

/// Vite copies the wasm the entry names with `new URL(…, import.meta.url)`
/// into its assets, under a hashed name, by itself.
#[tokio::test]
async fn a_vite_app_scores_qualifies_and_posts_one_lead() {
    let app = app_with_package("vite");
    run(&app, "npm", &["run", "build"]);
    let page = read(&app.join("dist/index.html"));
    drive_demo_app(&app, &page, "bundled-app").await;
    let assets = std::fs::read_dir(app.join("dist/assets")).expect("Vite writes dist/assets");
    let wasm = assets.filter_map(Result::ok).filter(|entry| entry.file_name().to_string_lossy().ends_with(".wasm"));
    assert_eq!(wasm.count(), 2, "Vite copied the widget's wasm and the config compiler's into its assets, once each");
}

// ---------------------------------------------------------------------------
// docs/integrations.md: React with react-router
// ---------------------------------------------------------------------------

/// The recipe's blocks, in order: (language, code) of each fenced block
/// after a `<!-- recipe: react-router -->` line.
fn react_recipe() -> Vec<(String, String)> {
    const MARKER: &str = "<!-- recipe: react-router -->";
    let doc = read(&root().join("docs/integrations.md"));
    let mut blocks = Vec::new();
    for after in doc.split(MARKER).skip(1) {
        let mut lines = after.lines().skip_while(|line| line.trim().is_empty());
        let fence = lines.next().unwrap_or_default();
        let language = fence.strip_prefix("```").unwrap_or_else(|| {
            panic!("`{MARKER}` in docs/integrations.md must be followed by a fenced code block, not `{fence}`")
        });
        let code: Vec<&str> = lines.take_while(|line| !line.starts_with("```")).collect();
        blocks.push((language.trim().to_string(), code.join("\n") + "\n"));
    }
    assert!(!blocks.is_empty(), "docs/integrations.md has no `{MARKER}` blocks (section \"React with react-router\")");
    blocks
}

/// The file a recipe block is, from its first line: `// src/main.jsx` or
/// `<!-- index.html -->`.
fn recipe_file(code: &str) -> &str {
    let first = code.lines().next().unwrap_or_default().trim();
    let name =
        first.strip_prefix("//").or_else(|| first.strip_prefix("<!--").and_then(|rest| rest.strip_suffix("-->")));
    let name = name.map(str::trim).filter(|name| !name.is_empty() && !name.contains(' '));
    name.unwrap_or_else(|| panic!("a react-router recipe block must start by naming its file, not `{first}`"))
}

/// The React recipe, built with its own commands: following react-router
/// `<Link>`s counts each route as a page view (the lead's ledger and
/// evidence say which), and subscribing makes the visitor an MQL whose one
/// lead is posted, which the recipe's banner then shows.
#[tokio::test]
async fn the_react_router_recipe_counts_route_changes_and_posts_one_lead() {
    let app = scratch("react-router");
    std::fs::write(app.join("package.json"), r#"{"name": "react-router-recipe", "private": true, "type": "module"}"#)
        .expect("write package.json");
    let tarball = pack_into(&app);
    run(&app, "npm", &["install", "--no-audit", "--no-fund", &tarball.to_string_lossy()]);
    let mut page = None;
    let mut commands = Vec::new();
    for (language, code) in react_recipe() {
        if language == "sh" {
            commands.extend(code.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_string));
            continue;
        }
        let file = app.join(recipe_file(&code));
        std::fs::create_dir_all(file.parent().expect("a file has a folder")).expect("create the recipe's folders");
        std::fs::write(&file, &code).unwrap_or_else(|err| panic!("could not write {}: {err}", file.display()));
        if language == "html" {
            page = Some(code);
        }
    }
    assert!(!commands.is_empty(), "the react-router recipe has no build commands (a ```sh block)");
    for command in &commands {
        run(&app, "sh", &["-c", command]);
    }
    let page = page.expect("the react-router recipe has its page (an ```html block)");

    let routes = ["/pricing", "/docs/getting-started", "/contact"];
    let (h, endpoint) = serve(&app, &page, &routes).await;
    h.open("/").await;
    h.wait_for("the app to render", "document.querySelector('h1') !== null").await;
    h.click("#accept").await;
    for (link, heading) in
        [("/pricing", "Pricing"), ("/docs/getting-started", "Getting started"), ("/pricing", "Pricing")]
    {
        h.click(&format!("nav a[href='{link}']")).await;
        h.wait_for(
            &format!("the {link} route"),
            &format!(
                "location.pathname === {} && document.querySelector('h1').textContent === {}",
                json!(link),
                json!(heading)
            ),
        )
        .await;
    }
    assert!(
        h.eval("document.getElementById('sales-banner') === null").await == json!(true),
        "the banner shows before the visitor qualified"
    );
    h.click("nav a[href='/']").await;
    h.wait_for("the newsletter form", "document.querySelector('input[name=email]') !== null").await;
    h.type_into("input[name=email]", "ada@acme.example").await;
    h.click("form button").await;
    h.wait_for("the sales banner", "document.getElementById('sales-banner') !== null").await;

    let lead = assert_one_lead(&endpoint, "acme", "mql").await;
    assert_eq!(ledger_count(&lead, "pricing-view"), Some(2), "two route changes to /pricing: {}", lead["ledger"]);
    assert_eq!(ledger_count(&lead, "docs-view"), Some(1), "one route change to the docs: {}", lead["ledger"]);
    assert_eq!(ledger_count(&lead, "newsletter"), Some(1));
    assert_eq!(lead["identity"]["email"], "ada@acme.example");
    let viewed: Vec<&str> = lead["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|event| event["name"] == "page_view")
        .filter_map(|event| event["url"].as_str())
        .collect();
    assert_eq!(viewed, ["/pricing", "/docs/getting-started", "/pricing"], "the page views the rules kept, in order");

    // The banner's own link is a route change too, and sends nothing more.
    h.click("#sales-banner a").await;
    h.wait_for("the contact route", "location.pathname === '/contact'").await;
    h.settle().await;
    assert_eq!(endpoint.count(), 1, "{}", endpoint.log());
    assert_served_from_build(&h, &app);
    h.assert_clean().await;
    h.finish().await;
}
