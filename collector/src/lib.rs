//! The leadscore collector: a small server that receives leads from the
//! widget, re-checks each claimed score with the same Rust engine, stores
//! leads in SQLite, forwards them to webhooks and runs the sales funnel
//! (MQL → SAL → SQL → won/lost) behind an admin API and a dashboard.
//!
//! The binary (`src/main.rs`) only reads settings and signals; everything
//! else is here so tests start the same server on a loopback port.
#![deny(missing_docs)]

pub mod admin;
pub mod clock;
pub mod dashboard;
pub mod forward;
pub mod http;
pub mod ingest;
pub mod insights;
pub mod public;
pub mod ratelimit;
pub mod serve;
pub mod settings;
pub mod simulate;
pub mod store;
pub mod text;
pub mod verify;

pub use clock::Clock;
pub use http::{error, json_response, ApiError};
pub use text::hex;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use ratelimit::RateLimiter;
use settings::Settings;
use store::Store;

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
    finish(
        Router::new().merge(ingest::routes(app.clone())).merge(admin::routes(app.clone())).merge(public::routes()),
        app,
    )
}

/// The public routes only: what browsers on the sites call.
pub fn public_router(app: Arc<App>) -> Router {
    finish(Router::new().merge(ingest::routes(app.clone())).merge(public::routes()), app)
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
