//! The leadscore collector: a small server that receives leads from the
//! widget, re-checks each claimed score with the same Rust engine, stores
//! leads in SQLite, forwards them to webhooks and runs the sales funnel
//! (MQL → SAL → SQL → won/lost) behind an admin API and a dashboard.
//!
//! The binary (`src/main.rs`) only reads settings and signals; everything
//! else is here so tests start the same server on a loopback port.
#![deny(missing_docs)]

pub mod admin;
pub mod dashboard;
pub mod forward;
pub mod ingest;
pub mod public;
pub mod ratelimit;
pub mod serve;
pub mod settings;
pub mod store;
pub mod verify;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use ratelimit::RateLimiter;
use settings::Settings;
use store::{Millis, Store};

/// The collector's clock: the system time plus an offset tests can move, so
/// retention and retries are tested without waiting.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset: Arc<AtomicI64>,
}

impl Clock {
    /// Milliseconds since the Unix epoch.
    pub fn now(&self) -> Millis {
        let system = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_millis() as Millis);
        system + self.offset.load(Ordering::Relaxed)
    }

    /// A clock that reads `at` now and runs on from there, for tests whose
    /// leads were made at a fixed time.
    pub fn starting_at(at: Millis) -> Clock {
        let clock = Clock::default();
        clock.offset.store(at - clock.now(), Ordering::Relaxed);
        clock
    }

    /// Moves this clock (and its clones) forward.
    pub fn advance(&self, by: Duration) {
        self.offset.fetch_add(by.as_millis() as i64, Ordering::Relaxed);
    }
}

/// Everything a request handler needs.
pub struct App {
    /// Checked settings.
    pub settings: Settings,
    /// Where leads live.
    pub store: Arc<dyn Store>,
    /// Time.
    pub clock: Clock,
    /// Posts per client address.
    pub ip_limits: RateLimiter<IpAddr>,
    /// Posts per site.
    pub site_limits: RateLimiter<String>,
    /// Dashboard login attempts per client address.
    pub login_limits: RateLimiter<IpAddr>,
    /// Wakes the forwarder when a delivery is queued.
    pub wake: Arc<Notify>,
}

impl App {
    /// Names of the webhooks subscribed to `event`.
    pub fn targets(&self, event: &str) -> Vec<String> {
        self.settings
            .webhooks
            .iter()
            .filter(|hook| hook.events.iter().any(|e| e == event))
            .map(|hook| hook.name.clone())
            .collect()
    }

    /// Runs a blocking store call off the async threads.
    pub async fn blocking<R: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&dyn Store) -> Result<R, store::StoreError> + Send + 'static,
    ) -> Result<R, store::StoreError> {
        store::blocking(self.store.clone(), work).await
    }
}

/// A running collector.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The admin side's own address, when it has one.
    pub admin_addr: Option<SocketAddr>,
    /// Shared state, for tests that look inside.
    pub app: Arc<App>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    admin_server: Option<JoinHandle<std::io::Result<()>>>,
    workers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting connections, lets requests in flight finish, stops the
    /// background workers, and returns when all are done.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        let served = self.server.await.unwrap_or_else(|err| Err(std::io::Error::other(err)));
        let admin_served = match self.admin_server {
            Some(server) => server.await.unwrap_or_else(|err| Err(std::io::Error::other(err))),
            None => Ok(()),
        };
        for worker in self.workers {
            let _ = worker.await;
        }
        served.and(admin_served)
    }

    /// A sender that starts a graceful shutdown when sent `true`, for code
    /// that cannot own the [`Running`] (a signal handler, a test).
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// Starts the collector on `listener` with `store`: the HTTP server, the
/// webhook forwarder and the retention sweep; every route on the one
/// listener.
pub fn start(
    settings: Settings,
    store: Arc<dyn Store>,
    clock: Clock,
    listener: TcpListener,
) -> std::io::Result<Running> {
    start_split(settings, store, clock, listener, None)
}

/// [`start`], with the admin API and dashboard on `admin_listener` when
/// given (the `admin_listen` setting), off the public site's origin: then
/// `listener` serves only the public routes.
pub fn start_split(
    settings: Settings,
    store: Arc<dyn Store>,
    clock: Clock,
    listener: TcpListener,
    admin_listener: Option<TcpListener>,
) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let admin_addr = admin_listener.as_ref().map(TcpListener::local_addr).transpose()?;
    let app = Arc::new(App {
        ip_limits: RateLimiter::new(settings.limits.per_ip_per_minute),
        site_limits: RateLimiter::new(settings.limits.per_site_per_minute),
        login_limits: RateLimiter::new(admin::auth::LOGINS_PER_MINUTE),
        settings,
        store,
        clock,
        wake: Arc::new(Notify::new()),
    });
    let (shutdown, watching) = watch::channel(false);
    let mut workers = Vec::new();
    if !app.settings.webhooks.is_empty() {
        let forwarder = forward::Forwarder {
            store: app.store.clone(),
            webhooks: app.settings.webhooks.clone(),
            timing: app.settings.forwarding,
            clock: app.clock.clone(),
            wake: app.wake.clone(),
        };
        workers.push(tokio::spawn(forwarder.run(watching.clone())));
    }
    if app.settings.retention_days.is_some() {
        workers.push(tokio::spawn(retention_sweep(app.clone(), watching.clone())));
    }
    let limits = app.settings.server;
    let (server, admin_server) = match admin_listener {
        None => (tokio::spawn(serve::serve(listener, router(app.clone()), limits, watching)), None),
        Some(admin_listener) => {
            let public = serve::serve(listener, public_router(app.clone()), limits, watching.clone());
            let admin = serve::serve(admin_listener, admin_router(app.clone()), limits, watching);
            (tokio::spawn(public), Some(tokio::spawn(admin)))
        }
    };
    Ok(Running { addr, admin_addr, app, shutdown, server, admin_server, workers })
}

/// Every route the collector answers, on one listener.
pub fn router(app: Arc<App>) -> Router {
    finish(Router::new().merge(ingest::routes()).merge(admin::routes(app.clone())).merge(public::routes()), app)
}

/// The public routes only: what browsers on the sites call.
pub fn public_router(app: Arc<App>) -> Router {
    finish(Router::new().merge(ingest::routes()).merge(public::routes()), app)
}

/// The admin routes only, for their own listener.
pub fn admin_router(app: Arc<App>) -> Router {
    finish(admin::routes(app.clone()), app)
}

fn finish(routes: Router<Arc<App>>, app: Arc<App>) -> Router {
    let bodies = serve::read_bodies(app.settings.server.body_timeout);
    routes.layer(axum::middleware::from_fn(bodies)).with_state(app)
}

/// Deletes leads past the retention period, hourly.
async fn retention_sweep(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        match admin::apply_retention(&app).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "retention: old leads deleted"),
            Err(err) => tracing::error!(%err, "retention sweep failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// A JSON answer.
pub fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body.to_string()).into_response()
}

/// A JSON error answer: `{"error": message, "field": field}`.
pub fn error(status: StatusCode, field: Option<&str>, message: impl Into<String>) -> Response {
    json_response(status, json!({ "error": message.into(), "field": field }))
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A random number in `[0, 1)` for retry jitter.
pub fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::getrandom(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// `2026-01-02T03:04:05Z` for milliseconds since the epoch (the core's
/// civil-date conversion; times before 1970 print as 1970).
pub fn iso8601(millis: Millis) -> String {
    leadscore::core::Timestamp(millis.max(0) as u64).iso8601()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_formats_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_767_225_600_000), "2026-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400_000 + 3_723_000), "2000-02-29T01:02:03Z");
    }

    #[test]
    fn random_units_are_in_range() {
        for _ in 0..100 {
            let unit = random_unit();
            assert!((0.0..1.0).contains(&unit), "{unit}");
        }
    }

    #[test]
    fn the_clock_moves_when_told() {
        let clock = Clock::default();
        let before = clock.now();
        clock.clone().advance(Duration::from_secs(86_400));
        assert!(clock.now() - before >= 86_400_000);
    }
}
