//! The collector's settings: a TOML file, overridden by environment
//! variables and command-line flags (clap reads both), checked once into
//! [`Settings`] so the server never re-validates them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use leadscore::core::Config;
use serde::Deserialize;

/// The settings file as written: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsFile {
    /// Address to listen on.
    pub listen: Option<SocketAddr>,
    /// A separate address for the admin API and dashboard; when set, `listen`
    /// serves only the public routes.
    pub admin_listen: Option<SocketAddr>,
    /// Where leads are stored: a SQLite file (a path or `sqlite://path`) or
    /// a PostgreSQL URL (`postgres://user@host:port/db`).
    pub database: Option<String>,
    /// Bearer token for the admin API and dashboard.
    pub admin_token: Option<String>,
    /// Leads older than this many days are deleted.
    pub retention_days: Option<u32>,
    /// Read the client address from `X-Forwarded-For` (behind a proxy only).
    pub trust_proxy: Option<bool>,
    /// A folder served at `/` (a site, the widget's `dist/`).
    pub public_dir: Option<PathBuf>,
    /// Rate limits.
    #[serde(default)]
    pub limits: LimitsFile,
    /// Webhook delivery timing.
    #[serde(default)]
    pub forwarding: ForwardingFile,
    /// Timeouts and the connection cap.
    #[serde(default)]
    pub server: ServerFile,
    /// The sites whose leads are accepted.
    #[serde(default)]
    pub sites: Vec<SiteFile>,
    /// Where leads and lifecycle changes are forwarded.
    #[serde(default)]
    pub webhooks: Vec<WebhookFile>,
}

/// `[limits]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    /// Lead posts one client address may make per minute.
    pub per_ip_per_minute: Option<u32>,
    /// Lead posts one site may receive per minute.
    pub per_site_per_minute: Option<u32>,
}

/// `[server]`: how long a client may take, and how many may be connected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerFile {
    /// A request's headers must arrive whole within this many milliseconds.
    pub header_timeout_ms: Option<u64>,
    /// A request's body must arrive whole within this many milliseconds.
    pub body_timeout_ms: Option<u64>,
    /// A connection where nothing moves for this many milliseconds is closed.
    pub idle_timeout_ms: Option<u64>,
    /// Connections served at once; more are answered `503` and closed.
    pub max_connections: Option<usize>,
    /// On shutdown, requests in flight get this many milliseconds to finish.
    pub shutdown_timeout_ms: Option<u64>,
}

/// `[forwarding]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardingFile {
    /// Delay before the first retry, in milliseconds; doubled per attempt.
    pub base_delay_ms: Option<u64>,
    /// Longest delay between retries, in milliseconds.
    pub max_delay_ms: Option<u64>,
    /// Attempts before a delivery moves to the dead-letter list.
    pub max_attempts: Option<u32>,
    /// Time allowed for one webhook request, in milliseconds.
    pub timeout_ms: Option<u64>,
}

/// `[[sites]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteFile {
    /// The rule set JSON the widget loads (a path, relative to the settings file).
    pub config: PathBuf,
    /// Origins allowed to post leads for this site, e.g. `https://acme.example`;
    /// `"*"` allows any origin.
    #[serde(default)]
    pub origins: Vec<String>,
    /// Refuse lead and erasure posts that carry no `Origin` header (what
    /// every browser sends on a POST); `true` unless set. Imports from a
    /// server go through `POST /v1/admin/import` with the admin token.
    pub require_origin: Option<bool>,
}

/// `[[webhooks]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookFile {
    /// A name for logs and the dashboard; defaults to the URL's host.
    pub name: Option<String>,
    /// Where to POST.
    pub url: String,
    /// Key for the `Leadscore-Signature` HMAC.
    pub secret: String,
    /// `lead.created`, `lead.lifecycle`; both when absent.
    pub events: Option<Vec<String>>,
}

/// A site the collector accepts leads for.
#[derive(Debug)]
pub struct Site {
    /// The checked rule set, used to re-score leads.
    pub config: Arc<Config>,
    /// The rule set JSON as written, served to widgets.
    pub config_json: String,
    /// Allowed origins; empty allows none, `*` allows all.
    pub origins: Vec<String>,
    /// Whether posts without an `Origin` header are refused.
    pub require_origin: bool,
}

impl Site {
    /// Whether a browser on `origin` may post leads for this site.
    pub fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(origin))
    }
}

/// The kinds of webhook events.
pub const WEBHOOK_EVENTS: [&str; 2] = ["lead.created", "lead.lifecycle"];

/// A forwarding target.
#[derive(Clone, Debug)]
pub struct Webhook {
    /// Shown in logs and the dashboard.
    pub name: String,
    /// Where to POST.
    pub url: String,
    /// HMAC key.
    pub secret: String,
    /// Which events it receives.
    pub events: Vec<String>,
}

/// Retry timing for webhooks.
#[derive(Clone, Copy, Debug)]
pub struct Forwarding {
    /// First retry delay, doubled per attempt.
    pub base_delay: Duration,
    /// Longest retry delay.
    pub max_delay: Duration,
    /// Attempts before a delivery is dead.
    pub max_attempts: u32,
    /// Time allowed per request.
    pub timeout: Duration,
}

/// Rate limits per minute.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Posts per client address.
    pub per_ip_per_minute: u32,
    /// Posts per site.
    pub per_site_per_minute: u32,
}

/// Where leads are stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    /// One SQLite file, the embedded default: nothing to install or run.
    Sqlite(PathBuf),
    /// A PostgreSQL server several collectors share.
    Postgres(String),
}

impl Database {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; `sqlite://path` or
    /// a plain path is a SQLite file.
    pub fn parse(text: &str) -> Result<Database, String> {
        let text = text.trim();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Database::Postgres(text.to_string()));
        }
        let path = text.strip_prefix("sqlite://").unwrap_or(text);
        if path.is_empty() {
            return Err("database: empty; give a SQLite file path or a postgres:// URL".into());
        }
        if let Some((scheme, _)) = path.split_once("://") {
            return Err(format!("database: `{scheme}://` is not a store; use a path, sqlite://path or postgres://…"));
        }
        Ok(Database::Sqlite(PathBuf::from(path)))
    }

    /// Opens the store, migrating its schema; errors say what to check.
    pub fn open(&self) -> Result<Arc<dyn crate::store::Store>, crate::store::StoreError> {
        Ok(match self {
            Database::Sqlite(path) => Arc::new(crate::store::SqliteStore::open(path)?),
            Database::Postgres(url) => Arc::new(crate::store::PostgresStore::open(url)?),
        })
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => {
                let host = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
                write!(f, "postgres://{}", host.rsplit_once('@').map_or(host, |(_, host)| host))
            }
        }
    }
}

/// Timeouts and the connection cap, checked (docs/collector.md, `[server]`).
#[derive(Clone, Copy, Debug)]
pub struct ServerLimits {
    /// Time for a request's headers, counted from the connection's start or
    /// the previous response.
    pub header_timeout: Duration,
    /// Time for a request's body, counted once its headers are read.
    pub body_timeout: Duration,
    /// Time a connection may sit with no byte moving either way.
    pub idle_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Time requests in flight get to finish on shutdown.
    pub shutdown_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> ServerLimits {
        ServerLimits::from_file(&ServerFile::default())
    }
}

impl ServerLimits {
    fn from_file(file: &ServerFile) -> ServerLimits {
        let millis = |value: Option<u64>, default: u64| Duration::from_millis(value.unwrap_or(default).max(1));
        ServerLimits {
            header_timeout: millis(file.header_timeout_ms, 10_000),
            body_timeout: millis(file.body_timeout_ms, 20_000),
            idle_timeout: millis(file.idle_timeout_ms, 5_000),
            max_connections: file.max_connections.unwrap_or_else(default_max_connections).max(1),
            shutdown_timeout: millis(file.shutdown_timeout_ms, 10_000),
        }
    }
}

/// File descriptors kept free of connections: the database, its WAL,
/// webhook requests, logs.
const RESERVED_FDS: usize = 64;

/// 1,024 connections, or fewer when the process may open fewer files, so
/// the cap is reached before `accept` starts failing.
fn default_max_connections() -> usize {
    let limit = std::fs::read_to_string("/proc/self/limits").ok().and_then(|text| open_files_limit(&text));
    match limit {
        Some(limit) => 1_024.min(limit.saturating_sub(RESERVED_FDS)).max(16),
        None => 1_024,
    }
}

/// The soft "Max open files" limit in the text of `/proc/self/limits`.
fn open_files_limit(limits: &str) -> Option<usize> {
    let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

/// Checked settings.
#[derive(Debug)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The admin side's own address, if it has one.
    pub admin_listen: Option<SocketAddr>,
    /// Where leads are stored.
    pub database: Database,
    /// Admin bearer token (at least 16 characters).
    pub admin_token: String,
    /// Whether the token was generated at start (then it is logged once).
    pub admin_token_generated: bool,
    /// Retention in days; `None` keeps leads until erased.
    pub retention_days: Option<u32>,
    /// Trust `X-Forwarded-For`.
    pub trust_proxy: bool,
    /// Folder served at `/`.
    pub public_dir: Option<PathBuf>,
    /// Rate limits.
    pub limits: Limits,
    /// Webhook timing.
    pub forwarding: Forwarding,
    /// Timeouts and the connection cap.
    pub server: ServerLimits,
    /// Sites by name.
    pub sites: BTreeMap<String, Site>,
    /// Forwarding targets.
    pub webhooks: Vec<Webhook>,
}

/// Values from flags or the environment, which win over the file.
#[derive(Debug, Default)]
pub struct Overrides {
    /// `--listen` / `LEADSCORE_LISTEN`.
    pub listen: Option<SocketAddr>,
    /// `--admin-listen` / `LEADSCORE_ADMIN_LISTEN`.
    pub admin_listen: Option<SocketAddr>,
    /// `--database` / `LEADSCORE_DATABASE`.
    pub database: Option<String>,
    /// `--admin-token` / `LEADSCORE_ADMIN_TOKEN`.
    pub admin_token: Option<String>,
    /// `--retention-days` / `LEADSCORE_RETENTION_DAYS`.
    pub retention_days: Option<u32>,
    /// `--public-dir` / `LEADSCORE_PUBLIC_DIR`.
    pub public_dir: Option<PathBuf>,
    /// `--site` (repeatable): rule set files accepted from any origin.
    pub sites: Vec<PathBuf>,
}

/// Default listen address: loopback only, so nothing is exposed by accident.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

impl Settings {
    /// Reads `path` (if any) and applies `overrides`.
    pub fn load(path: Option<&Path>, overrides: Overrides) -> Result<Settings, String> {
        let (file, base) = match path {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
                let file: SettingsFile =
                    toml::from_str(&text).map_err(|err| format!("{}: {}", path.display(), err.to_string().trim()))?;
                (file, path.parent().map(Path::to_path_buf).unwrap_or_default())
            }
            None => (SettingsFile::default(), PathBuf::new()),
        };
        Settings::from_file(file, &base, overrides)
    }

    /// Checks a parsed file; relative site paths resolve against `base`.
    pub fn from_file(file: SettingsFile, base: &Path, overrides: Overrides) -> Result<Settings, String> {
        let (admin_token, admin_token_generated) = match overrides.admin_token.or(file.admin_token) {
            Some(token) if token.trim().len() < 16 => {
                return Err("admin_token: must be at least 16 characters (use a long random value)".into())
            }
            Some(token) => (token.trim().to_string(), false),
            None => (random_token()?, true),
        };
        let mut sites = BTreeMap::new();
        let site_files = file
            .sites
            .into_iter()
            .map(|site| (base.join(&site.config), site.origins, site.require_origin.unwrap_or(true)));
        let flag_sites = overrides.sites.into_iter().map(|path| (path, vec!["*".to_string()], true));
        for (index, (path, origins, require_origin)) in site_files.chain(flag_sites).enumerate() {
            let config_json = std::fs::read_to_string(&path)
                .map_err(|err| format!("sites[{index}].config: {}: {err}", path.display()))?;
            let config = Config::parse(&config_json)
                .map_err(|err| format!("sites[{index}].config: {}: {err}", path.display()))?;
            for origin in &origins {
                if origin != "*" && !(origin.starts_with("http://") || origin.starts_with("https://")) {
                    return Err(format!(
                        "sites[{index}].origins: `{origin}` is not an origin; write it as https://host[:port]"
                    ));
                }
            }
            let name = config.site().to_string();
            let site = Site { config: Arc::new(config), config_json, origins, require_origin };
            if sites.insert(name.clone(), site).is_some() {
                return Err(format!("sites[{index}]: site `{name}` is configured twice"));
            }
        }
        let mut webhooks = Vec::new();
        for (index, hook) in file.webhooks.into_iter().enumerate() {
            if !(hook.url.starts_with("http://") || hook.url.starts_with("https://")) {
                return Err(format!("webhooks[{index}].url: `{}` must start with https:// or http://", hook.url));
            }
            if hook.secret.len() < 16 {
                return Err(format!("webhooks[{index}].secret: must be at least 16 characters"));
            }
            let events = hook.events.unwrap_or_else(|| WEBHOOK_EVENTS.map(String::from).to_vec());
            if let Some(unknown) = events.iter().find(|event| !WEBHOOK_EVENTS.contains(&event.as_str())) {
                return Err(format!(
                    "webhooks[{index}].events: unknown event `{unknown}`; expected {}",
                    WEBHOOK_EVENTS.join(" or ")
                ));
            }
            let name = hook.name.unwrap_or_else(|| host_of(&hook.url).to_string());
            webhooks.push(Webhook { name, url: hook.url, secret: hook.secret, events });
        }
        let forwarding = Forwarding {
            base_delay: Duration::from_millis(file.forwarding.base_delay_ms.unwrap_or(5_000).max(1)),
            max_delay: Duration::from_millis(file.forwarding.max_delay_ms.unwrap_or(3_600_000).max(1)),
            max_attempts: file.forwarding.max_attempts.unwrap_or(12).max(1),
            timeout: Duration::from_millis(file.forwarding.timeout_ms.unwrap_or(10_000).max(1)),
        };
        let limits = Limits {
            per_ip_per_minute: file.limits.per_ip_per_minute.unwrap_or(120).max(1),
            per_site_per_minute: file.limits.per_site_per_minute.unwrap_or(6_000).max(1),
        };
        Ok(Settings {
            listen: overrides.listen.or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default")),
            admin_listen: overrides.admin_listen.or(file.admin_listen),
            database: Database::parse(&overrides.database.or(file.database).unwrap_or_else(|| "leadscore.db".into()))?,
            admin_token,
            admin_token_generated,
            retention_days: overrides.retention_days.or(file.retention_days).filter(|days| *days > 0),
            trust_proxy: file.trust_proxy.unwrap_or(false),
            public_dir: overrides.public_dir.or(file.public_dir.map(|dir| base.join(dir))),
            limits,
            forwarding,
            server: ServerLimits::from_file(&file.server),
            sites,
            webhooks,
        })
    }
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

/// 32 hex digits from the operating system's random source.
pub fn random_token() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|err| format!("no random source for an admin token: {err}"))?;
    Ok(crate::hex(&bytes))
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    #[test]
    fn the_database_is_a_path_or_a_url() {
        assert_eq!(Database::parse("leads.db"), Ok(Database::Sqlite("leads.db".into())));
        assert_eq!(Database::parse("sqlite:///var/lib/leads.db"), Ok(Database::Sqlite("/var/lib/leads.db".into())));
        let url = "postgres://lead:secret@db.example:5432/leads";
        assert_eq!(Database::parse(url), Ok(Database::Postgres(url.into())));
        assert!(matches!(Database::parse("postgresql://db/leads"), Ok(Database::Postgres(_))));
        assert!(Database::parse("mysql://db/leads").unwrap_err().contains("`mysql://` is not a store"));
        assert!(Database::parse("").is_err());
        assert_eq!(Database::parse(url).unwrap().to_string(), "postgres://db.example:5432/leads", "no password shown");
    }

    #[test]
    fn the_connection_cap_stays_under_the_open_files_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max processes             95000                95000                processes\n\
                      Max open files            256                  4096                 files\n";
        assert_eq!(open_files_limit(limits), Some(256));
        assert_eq!(open_files_limit("Max open files            unlimited            unlimited   files"), None);
        let cap = default_max_connections();
        assert!((16..=1_024).contains(&cap), "{cap}");
        if let Some(limit) = std::fs::read_to_string("/proc/self/limits").ok().and_then(|text| open_files_limit(&text))
        {
            assert!(cap <= limit.saturating_sub(RESERVED_FDS).max(16), "{cap} under {limit}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, String> {
        let file: SettingsFile = toml::from_str(text).map_err(|err| err.to_string())?;
        Settings::from_file(file, Path::new(""), Overrides::default())
    }

    #[test]
    fn defaults_listen_on_loopback_and_generate_a_token() {
        let settings = parse("").unwrap();
        assert_eq!(settings.listen.to_string(), DEFAULT_LISTEN);
        assert!(settings.admin_token_generated);
        assert_eq!(settings.admin_token.len(), 32);
        assert_eq!(settings.retention_days, None);
    }

    #[test]
    fn overrides_win_over_the_file() {
        let file: SettingsFile =
            toml::from_str("listen = \"127.0.0.1:1\"\nadmin_token = \"file-token-0123456789\"").unwrap();
        let overrides = Overrides {
            listen: Some("127.0.0.1:2".parse().unwrap()),
            admin_token: Some("flag-token-0123456789".into()),
            ..Overrides::default()
        };
        let settings = Settings::from_file(file, Path::new(""), overrides).unwrap();
        assert_eq!(settings.listen.port(), 2);
        assert_eq!(settings.admin_token, "flag-token-0123456789");
        assert!(!settings.admin_token_generated);
    }

    #[test]
    fn errors_name_the_key_and_the_fix() {
        let cases = [
            ("admin_token = \"short\"", "admin_token: must be at least 16 characters"),
            ("colour = 1", "unknown field `colour`"),
            ("[[webhooks]]\nurl = \"ftp://x\"\nsecret = \"0123456789abcdef\"", "webhooks[0].url"),
            ("[[webhooks]]\nurl = \"https://x\"\nsecret = \"short\"", "webhooks[0].secret"),
            (
                "[[webhooks]]\nurl = \"https://x\"\nsecret = \"0123456789abcdef\"\nevents = [\"lead.deleted\"]",
                "unknown event `lead.deleted`",
            ),
            ("[[sites]]\nconfig = \"/nonexistent/site.json\"", "sites[0].config: /nonexistent/site.json"),
        ];
        for (text, expected) in cases {
            let error = parse(text).expect_err(text);
            assert!(error.contains(expected), "{text}: got {error}");
        }
    }

    #[test]
    fn webhook_names_default_to_the_host() {
        let settings =
            parse("[[webhooks]]\nurl = \"https://hooks.example:8443/leads?x=1\"\nsecret = \"0123456789abcdef\"")
                .unwrap();
        assert_eq!(settings.webhooks[0].name, "hooks.example:8443");
        assert_eq!(settings.webhooks[0].events, WEBHOOK_EVENTS);
    }

    #[test]
    fn origins_match_exactly_or_by_star() {
        let config = Arc::new(Config::parse(r#"{"site":"acme","preset":"b2b-saas"}"#).unwrap());
        let site = Site {
            config,
            config_json: String::new(),
            origins: vec!["https://acme.example".into()],
            require_origin: true,
        };
        assert!(site.allows("https://acme.example"));
        assert!(!site.allows("https://evil.example"));
        assert!(!site.allows("https://acme.example.evil"));
        let open = Site { origins: vec!["*".into()], ..site };
        assert!(open.allows("https://anything.example"));
    }
}
