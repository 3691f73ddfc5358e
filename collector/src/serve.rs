//! The HTTP/1 server loop: accepting connections under a cap, serving each
//! with hyper under the header, body and idle timeouts of
//! [`ServerLimits`], and a graceful shutdown that stops waiting at a
//! deadline. axum's own `serve` has none of these limits, so a client that
//! sends one byte a second, or opens a connection and says nothing, would
//! hold a socket and a task for ever.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::settings::ServerLimits;

/// The largest request body any route reads, buffered by [`read_bodies`];
/// routes bound their own bodies further (a lead: 64 KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Serves `router` on `listener` until `shutdown` turns `true`; then stops
/// accepting, lets each connection finish the request it is serving, and
/// returns once all are closed or `limits.shutdown_timeout` has passed,
/// closing what is left.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    let (closing, closing_watch) = watch::channel(false);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors, or the peer gave up before we took
                // it: say so, and give the system a moment before the next try.
                tracing::warn!(%err, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, cap = limits.max_connections, "connection refused: the connection cap is reached");
            refuse(stream);
            continue;
        };
        let (router, closing) = (router.clone(), closing_watch.clone());
        connections.spawn(async move {
            serve_connection(stream, peer, router, limits, closing).await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = closing.send(true);
    let drained =
        tokio::time::timeout(limits.shutdown_timeout, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(open = connections.len(), "shutdown deadline passed; closing the connections still open");
        connections.shutdown().await;
    }
    Ok(())
}

/// Answers a connection over the cap with `503` and closes it, without
/// waiting on the client.
fn refuse(stream: TcpStream) {
    const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
retry-after: 1\r\nconnection: close\r\ncontent-length: 45\r\n\r\n{\"error\":\"too many connections; retry later\"}";
    let _ = stream.try_write(BUSY);
}

/// One connection: hyper with the header timeout, and an idle watchdog that
/// closes it gracefully once no byte has moved either way for
/// `limits.idle_timeout` (a request in flight is finished first).
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ServerLimits,
    mut closing: watch::Receiver<bool>,
) {
    let started = Instant::now();
    let activity = Arc::new(AtomicU64::new(0));
    let io = TokioIo::new(Watched { inner: stream, activity: activity.clone(), started });
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request.map(Body::new))
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut stopping = false;
    loop {
        let last = Duration::from_millis(activity.load(Ordering::Relaxed));
        let idle_until = tokio::time::Instant::from_std(started + last + limits.idle_timeout);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(%peer, %err, "connection closed");
                }
                return;
            }
            _ = tokio::time::sleep_until(idle_until), if !stopping => {
                let moved = Duration::from_millis(activity.load(Ordering::Relaxed));
                if moved == last {
                    tracing::debug!(%peer, "idle connection closed");
                    connection.as_mut().graceful_shutdown();
                    stopping = true;
                }
            }
            _ = closing.wait_for(|close| *close), if !stopping => {
                connection.as_mut().graceful_shutdown();
                stopping = true;
            }
        }
    }
}

/// A socket that notes when a byte last moved, in milliseconds since the
/// connection opened.
struct Watched {
    inner: TcpStream,
    activity: Arc<AtomicU64>,
    started: Instant,
}

impl Watched {
    fn touch(&self) {
        self.activity.store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, bytes);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Middleware: reads every request body whole, within `body_timeout` and
/// [`MAX_BODY_BYTES`], before a handler sees it. A body that does not arrive
/// in time is answered `408` and the connection closed; one too large, `413`.
pub fn read_bodies(
    body_timeout: Duration,
) -> impl Fn(Request, Next) -> Pin<Box<dyn Future<Output = Response> + Send>> + Clone + Send + Sync + 'static {
    move |request: Request, next: Next| {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            match tokio::time::timeout(body_timeout, axum::body::to_bytes(body, MAX_BODY_BYTES)).await {
                Ok(Ok(bytes)) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
                Ok(Err(_)) => {
                    let message = format!("the body is larger than {MAX_BODY_BYTES} bytes");
                    crate::error(StatusCode::PAYLOAD_TOO_LARGE, None, message)
                }
                Err(_) => {
                    tracing::info!(path = %parts.uri.path(), "request body too slow; connection closed");
                    let secs = body_timeout.as_secs_f64();
                    let mut response = crate::error(
                        StatusCode::REQUEST_TIMEOUT,
                        None,
                        format!("the body did not arrive within {secs} s"),
                    );
                    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
                    response.into_response()
                }
            }
        })
    }
}
