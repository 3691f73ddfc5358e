//! A collector on a loopback port with a fresh SQLite file, and leads made by
//! the real engine, for the HTTP tests.
#![allow(dead_code)] // each test file uses a different part of the kit

pub mod haproxy;
pub mod pg;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use leadscore::core::lead::lead_id;
use leadscore::core::{Config, Engine, Event, EventId, Lead, Stage, State, Timestamp};
use leadscore_collector::settings::{Database, Overrides, Settings, SettingsFile};
use leadscore_collector::{start_split, Clock, Running};

/// The site every test posts for.
pub const SITE_JSON: &str = r#"{"site":"acme","preset":"b2b-saas","endpoint":"/v1/leads"}"#;
/// The admin token of test collectors.
pub const TOKEN: &str = "test-admin-token-0123456789";
/// The origin allowed to post for `acme`.
pub const ORIGIN: &str = "https://acme.example";
/// 2026-01-01T00:00:00Z: leads are created from here.
pub const T0: u64 = 1_767_225_600_000;
/// What a test collector's clock reads when it starts: the time
/// [`Visitor::qualify`]'s journey ends, so its leads arrive as they are sent.
pub const RECEIVED: u64 = T0 + 3 * 86_400_000;

/// A running test collector.
pub struct Collector {
    pub running: Option<Running>,
    pub base: String,
    /// The admin side's own address, when it has one.
    pub admin_base: Option<String>,
    pub dir: PathBuf,
    pub client: reqwest::Client,
    pub clock: Clock,
    /// Where it stores: SQLite in `dir`, or, when `LEADSCORE_TEST_STORE` is
    /// `postgres` (`cargo xtask test` runs the suites both ways), a
    /// throwaway PostgreSQL server of its own.
    pub database: Database,
    settings: String,
    postgres: Option<Arc<pg::PgServer>>,
}

/// Whether this run's collectors store in PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("LEADSCORE_TEST_STORE").is_ok_and(|store| store == "postgres")
}

pub fn temp_dir() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "leadscore-collector-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Collector {
    /// A collector for site `acme` (origin [`ORIGIN`]), with `extra` TOML
    /// appended to its settings.
    pub async fn start(extra: &str) -> Collector {
        Collector::start_in(temp_dir(), extra).await
    }

    /// A collector over the database already in `dir`.
    pub async fn start_in(dir: PathBuf, extra: &str) -> Collector {
        std::fs::write(dir.join("acme.json"), SITE_JSON).unwrap();
        let text = format!("{extra}\n[[sites]]\nconfig = \"acme.json\"\norigins = [\"{ORIGIN}\"]\n");
        Collector::launch(dir, &text).await
    }

    /// A collector with `settings` (TOML; paths relative to `dir`), its
    /// database in `dir` and the test admin token.
    pub async fn launch(dir: PathBuf, settings: &str) -> Collector {
        Collector::launch_split(dir, settings, false).await
    }

    /// [`Collector::launch`], with the admin side on its own listener when
    /// `split` (its address in `admin_base`).
    pub async fn launch_split(dir: PathBuf, settings: &str, split: bool) -> Collector {
        Collector::launch_with(dir, settings, split, Clock::starting_at(leadscore::core::Timestamp(RECEIVED))).await
    }

    /// A collector on the real clock, for leads a real browser makes now.
    pub async fn launch_now(dir: PathBuf, settings: &str) -> Collector {
        Collector::launch_with(dir, settings, false, Clock::default()).await
    }

    async fn launch_with(dir: PathBuf, settings: &str, split: bool, clock: Clock) -> Collector {
        let postgres = on_postgres().then(|| Arc::new(pg::PgServer::start()));
        Collector::run(dir, settings.to_string(), split, clock, postgres).await
    }

    async fn run(
        dir: PathBuf,
        settings: String,
        split: bool,
        clock: Clock,
        postgres: Option<Arc<pg::PgServer>>,
    ) -> Collector {
        let database = match &postgres {
            Some(server) => server.url.clone(),
            None => dir.join("leads.db").display().to_string(),
        };
        let text = format!("database = \"{database}\"\nadmin_token = \"{TOKEN}\"\n{settings}");
        let file: SettingsFile = toml::from_str(&text).unwrap_or_else(|err| panic!("test settings: {err}\n{text}"));
        let checked = Settings::from_file(file, &dir, Overrides::default()).unwrap();
        let database = checked.database.clone();
        let store = database.open().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin_listener =
            if split { Some(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()) } else { None };
        let running = start_split(checked, store, clock.clone(), listener, admin_listener).unwrap();
        let base = format!("http://{}", running.addr);
        let admin_base = running.admin_addr.map(|addr| format!("http://{addr}"));
        let client = reqwest::Client::new();
        Collector { running: Some(running), base, admin_base, dir, client, clock, database, settings, postgres }
    }

    /// Stops this collector and starts another over the same database.
    pub async fn restart(&mut self) -> Collector {
        self.stop().await;
        let clock = self.clock.clone();
        Collector::run(self.dir.clone(), self.settings.clone(), false, clock, self.postgres.clone()).await
    }

    /// How many leads the database holds, read over a connection of its own.
    pub fn stored_leads(&self) -> usize {
        // Store calls block; off the async test's thread, as the server runs them.
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let store = self.database.open().unwrap();
                    let filter = leadscore_collector::store::LeadFilter { limit: 10_000, ..Default::default() };
                    store.leads(&filter).unwrap().len()
                })
                .join()
                .unwrap()
        })
    }

    /// Stops the server, finishing requests in flight; the database stays.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await.unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Posts `body` as the widget does (`text/plain`, from [`ORIGIN`]).
    pub async fn post(&self, body: &str) -> reqwest::Response {
        self.client
            .post(self.url("/v1/leads"))
            .header("content-type", "text/plain;charset=UTF-8")
            .header("origin", ORIGIN)
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    /// An admin GET answered with JSON.
    pub async fn admin_get(&self, path: &str) -> serde_json::Value {
        let response = self.client.get(self.url(path)).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// An admin POST of JSON; the status and the answer.
    pub async fn admin_post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let response = self.client.post(self.url(path)).bearer_auth(TOKEN).json(&body).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Logs in to the dashboard: the session cookie (`name=value`) and the
    /// CSRF token its forms carry.
    pub async fn login(&self) -> (String, String) {
        let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let login = browser.post(self.url("/admin/login")).form(&[("token", TOKEN)]).send().await.unwrap();
        assert_eq!(login.status(), 303, "login");
        let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
        let page =
            browser.get(self.url("/admin")).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
        let csrf = page.split("name=\"csrf\" value=\"").nth(1).and_then(|rest| rest.split('"').next());
        (cookie, csrf.expect("the dashboard's forms carry a CSRF token").to_string())
    }

    /// The stored leads, newest first.
    pub async fn leads(&self) -> Vec<serde_json::Value> {
        self.admin_get("/v1/admin/leads").await["leads"].as_array().unwrap().clone()
    }
}

/// Polls `check` every 20 ms until it returns `Some`, for at most 15 s.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A visitor of `acme` scored by the real engine.
pub struct Visitor {
    pub engine: Engine,
    pub now: Timestamp,
    next_id: u64,
}

impl Visitor {
    pub fn new(visitor_id: &str) -> Visitor {
        let config = Arc::new(Config::parse(SITE_JSON).unwrap());
        let mut engine = Engine::new(config, State::new(visitor_id, Timestamp(T0)));
        engine.ensure_erasure_secret(|| secret_of(visitor_id));
        Visitor { engine, now: Timestamp(T0), next_id: 1 }
    }

    pub fn track(&mut self, name: &str, url: &str) {
        self.now = self.now.plus_millis(1000);
        self.next_id += 1;
        let event = Event::new(EventId(self.next_id), self.now, name).unwrap().with_url(url);
        self.engine.handle_event(event);
    }

    pub fn page(&mut self, path: &str) {
        if self.engine.begin_activity(self.now) {
            self.track("visit", path);
        }
        self.track("page_view", path);
    }

    pub fn next_day(&mut self) {
        self.now = self.now.plus_millis(86_400_000);
    }

    /// Repeat visits, pricing three times, an email and a newsletter signup: an MQL.
    pub fn qualify(email: &str, visitor_id: &str) -> Visitor {
        let mut visitor = Visitor::new(visitor_id);
        for _ in 0..3 {
            visitor.page("/pricing");
            visitor.next_day();
        }
        visitor.engine.identify(visitor.now, [("email", email), ("job_title", "CTO")]).unwrap();
        visitor.track("form_submit", "/newsletter");
        visitor.track("newsletter_signup", "/newsletter");
        assert_eq!(visitor.engine.stage(visitor.now), Stage::Mql, "the test journey must reach mql");
        visitor
    }

    /// The lead for the visitor's stage now, sent now.
    pub fn lead(&self) -> Lead {
        let mut lead =
            Lead::from_engine(&self.engine, self.now, "https://acme.example/newsletter?utm_source=news&email=x")
                .unwrap();
        lead.sent_at = Some(self.now);
        lead
    }
}

/// The erasure secret the test visitor `visitor_id` keeps, as a browser
/// keeps its own.
pub fn secret_of(visitor_id: &str) -> String {
    leadscore::core::sha256::sha256_hex(format!("secret of {visitor_id}").as_bytes())[..32].to_string()
}

/// An MQL lead for `email` from a visitor named after it.
pub fn mql_lead(email: &str) -> Lead {
    Visitor::qualify(email, &format!("v-{email}")).lead()
}

/// The same visitor, later asking for a quote: a sales-ready lead.
pub fn sales_ready_lead(email: &str) -> Lead {
    let mut visitor = Visitor::qualify(email, &format!("v-{email}"));
    visitor.track("quote_request", "/quote");
    let lead = visitor.lead();
    assert_eq!(lead.stage, Stage::SalesReady);
    lead
}

/// `lead` claiming another stage, with the id that stage has.
pub fn claiming(mut lead: Lead, stage: Stage) -> Lead {
    lead.stage = stage;
    lead.lead_id = lead_id(&lead.site, &lead.visitor_id, stage);
    lead
}
