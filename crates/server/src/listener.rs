//! The accept loop: HTTP/1.1 connections served with hyper under a cap, so that slow or
//! stalled clients cannot use up the process's file descriptors or starve `/healthz`.
//!
//! * At most `max_connections` sockets are served at once (lowered to fit the open-file
//!   limit). A socket accepted when all are taken gets the slot of the connection idle
//!   longest (one with no request in flight: a stalled head, or a kept-alive connection
//!   waiting): a request in flight is never cut, while a client that has sent nothing
//!   usable has no claim on its slot. If every connection has a request in flight, the
//!   newcomer waits briefly, then gets `/healthz` answered or `503` (`ApiError::Busy`)
//!   without a slot. Up to `SPARE` such sockets at a time; past that the loop stops
//!   accepting, and new connections wait in the kernel's backlog, costing no descriptor.
//! * A head must end within `header_timeout` of its first byte and a connection with no
//!   request is closed after `idle_timeout` (`slots::Activity`); a peer that takes no bytes
//!   of an answer for `idle_timeout` is dropped (`io::Socket`). The body deadline is a
//!   layer of the router (`http::body_timeout`), since it is answered with `408`.
//! * `accept` errors (EMFILE) are logged once and retried after a pause, never spun on.
//! * On the stop token: no more accepts, idle connections close, in-flight requests finish.
//!
//! hyper's own `header_read_timeout` is not used: it also runs while a kept-alive connection
//! waits for its next request, which would make the header timeout the idle timeout too.

mod files;
mod io;
mod slots;

use crate::config::{Config, ConnectionLimits};
use crate::http::answered::Holding;
use crate::http::error::{self, ApiError};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use axum::Router;
use files::{cap_for, open_files_limit};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use io::Socket;
use slots::{Activity, Slots};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinSet;
use tokio::time::{sleep, sleep_until, timeout};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Sockets held at once beyond the cap: waiting for an evicted connection's slot, or being
/// answered without one.
const SPARE: usize = 32;
/// How long a newcomer waits for a slot before it is answered without one.
const SLOT_WAIT: Duration = Duration::from_secs(1);
/// The header timeout of a connection answered without a slot.
const OVERFLOW_HEAD: Duration = Duration::from_secs(2);
/// A request head (request line and headers) larger than this is answered `431` by hyper;
/// it also bounds what a connection buffers.
const MAX_HEAD: usize = 64 * 1024;
/// The pause after an `accept` error such as EMFILE before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

struct Shared {
    router: Router,
    /// Answers every request with `503` and the error body.
    busy: Router,
    slots: Arc<Slots>,
    limits: ConnectionLimits,
    stop: CancellationToken,
}

/// Serves `router` on `listener` until `stop` is cancelled, then lets in-flight requests
/// finish. Handlers get the peer as `ConnectInfo<SocketAddr>`; upgrades (the device
/// stream's WebSocket) are enabled.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: &Config,
    stop: CancellationToken,
) {
    let limits = config.connections;
    let cap = cap_for(limits.max, open_files_limit(), config.webhook_concurrency);
    tracing::info!(max_connections = cap, "accepting connections");
    let busy = Router::new()
        .fallback(|| async { ApiError::Busy.into_response() })
        .layer(axum::middleware::from_fn(error::correlate));
    let shared = Arc::new(Shared {
        router,
        busy,
        slots: Arc::new(Slots::new(cap, SPARE)),
        limits,
        stop: stop.clone(),
    });
    let mut tasks = JoinSet::new();
    let mut errors = AcceptErrors::default();
    // One spare permit is in hand before each accept: with none free, new connections wait
    // in the kernel's backlog rather than in a descriptor of ours.
    let mut spare = None;
    loop {
        let held = match spare.take() {
            Some(held) => held,
            None => tokio::select! {
                permit = shared.slots.take_spare() => match permit {
                    Some(permit) => permit,
                    None => break,
                },
                _ = stop.cancelled() => break,
            },
        };
        let (stream, peer) = match next(&listener, &mut tasks, &mut errors, &stop).await {
            Next::Socket(stream, peer) => (stream, peer),
            Next::Again => {
                spare = Some(held);
                continue;
            }
            Next::Stop => break,
        };
        match shared.slots.try_take() {
            Some(slot) => {
                spare = Some(held);
                tasks.spawn(connection(shared.clone(), stream, peer, slot));
            }
            None => {
                tasks.spawn(without_slot(shared.clone(), stream, peer, held));
            }
        }
    }
    drop(listener);
    while let Some(done) = tasks.join_next().await {
        report(done);
    }
}

/// Serves one connection in its slot until it ends, times out, is evicted, or the server stops.
async fn connection(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    slot: OwnedSemaphorePermit,
) {
    let registered = shared.slots.register();
    let activity = registered.activity.clone();
    let limits = shared.limits;
    let socket = Socket::new(stream, activity.clone(), limits.idle_timeout, slot);
    let router = shared.router.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let in_flight = activity.request();
        let answer = answer(router.clone(), request, peer);
        async move { Ok::<_, Infallible>(answer.await.map(|body| Holding::body(body, in_flight))) }
    });
    let mut builder = http1::Builder::new();
    builder
        .header_read_timeout(None)
        .max_header_size(MAX_HEAD)
        .max_buf_size(MAX_HEAD);
    let mut conn = pin!(builder
        .serve_connection(TokioIo::new(socket), service)
        .with_upgrades());
    let activity = registered.activity.clone();
    let mut draining = false;
    let closed = loop {
        let deadline = activity.deadline(&limits);
        let due = async {
            match deadline {
                Some(at) => sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = activity.changed() => {}
            () = due => if let Some(expired) = activity.expired(&limits) {
                break expired.label();
            },
            () = activity.evicted() => if activity.accept_eviction() {
                break "evicted";
            },
            () = shared.stop.cancelled(), if !draining => {
                if activity.is_idle() {
                    return;
                }
                conn.as_mut().graceful_shutdown();
                draining = true;
            }
        }
    };
    // Dropping the connection closes the socket. No request is in flight on it: hyper runs
    // the service in this task, so none can have started since `activity` was read.
    metrics::counter!("kassa_http_connections_closed_total", "reason" => closed).increment(1);
}

/// A socket accepted while every slot was taken: it takes the slot of the idlest connection,
/// or, if none frees up in time, gets one request answered without a slot.
async fn without_slot(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    spare: OwnedSemaphorePermit,
) {
    let evicted = shared.slots.evict_idlest();
    let slot = async {
        if let Some(heir) = evicted {
            if let Ok(slot) = heir.await {
                return Some(slot);
            }
        }
        shared.slots.take().await
    };
    let slot = tokio::select! {
        slot = timeout(SLOT_WAIT, slot) => slot.ok().flatten(),
        _ = shared.stop.cancelled() => return,
    };
    if let Some(slot) = slot {
        drop(spare);
        return connection(shared, stream, peer, slot).await;
    }
    metrics::counter!("kassa_http_connections_overflow_total").increment(1);
    let limits = shared.limits;
    let socket = Socket::new(
        stream,
        Arc::new(Activity::new()),
        limits.idle_timeout,
        spare,
    );
    let (router, busy) = (shared.router.clone(), shared.busy.clone());
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let healthz =
            request.method() == axum::http::Method::GET && request.uri().path() == "/healthz";
        let target = if healthz { &router } else { &busy };
        let answer = answer(target.clone(), request, peer);
        async move { Ok::<_, Infallible>(answer.await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout.min(OVERFLOW_HEAD))
        .keep_alive(false)
        .max_header_size(MAX_HEAD)
        .max_buf_size(MAX_HEAD);
    if let Err(e) = builder
        .serve_connection(TokioIo::new(socket), service)
        .await
    {
        tracing::debug!(error = %e, "connection without a slot ended with an error");
    }
}

/// Runs `router` on a request from `peer`.
async fn answer(router: Router, mut request: Request<Incoming>, peer: SocketAddr) -> Response {
    request.extensions_mut().insert(ConnectInfo(peer));
    match router.oneshot(request.map(Body::new)).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

enum Next {
    Socket(TcpStream, SocketAddr),
    Again,
    Stop,
}

/// The next accepted socket, reaping finished connection tasks meanwhile.
async fn next(
    listener: &TcpListener,
    tasks: &mut JoinSet<()>,
    errors: &mut AcceptErrors,
    stop: &CancellationToken,
) -> Next {
    tokio::select! {
        accepted = listener.accept() => match accepted {
            Ok((stream, peer)) => Next::Socket(stream, peer),
            Err(e) if is_peer_error(&e) => Next::Again,
            Err(e) => {
                errors.failed(&e);
                tokio::select! {
                    _ = sleep(ACCEPT_BACKOFF) => Next::Again,
                    _ = stop.cancelled() => Next::Stop,
                }
            }
        },
        Some(done) = tasks.join_next(), if !tasks.is_empty() => {
            report(done);
            Next::Again
        }
        _ = stop.cancelled() => Next::Stop,
    }
}

/// `accept` failures that are the server's (EMFILE, ENFILE, ENOBUFS): each is followed by a
/// pause, and they are logged at most once a minute, with their count, so a descriptor
/// shortage neither spins a core nor floods the log.
#[derive(Default)]
struct AcceptErrors {
    unlogged: u64,
    logged_at: Option<std::time::Instant>,
}

impl AcceptErrors {
    fn failed(&mut self, e: &std::io::Error) {
        metrics::counter!("kassa_http_accept_errors_total").increment(1);
        self.unlogged += 1;
        if self
            .logged_at
            .is_some_and(|at| at.elapsed() < Duration::from_secs(60))
        {
            return;
        }
        tracing::warn!(
            error = %e,
            failures = self.unlogged,
            "cannot accept connections; retrying after a pause (is the open-file limit too low?)"
        );
        self.unlogged = 0;
        self.logged_at = Some(std::time::Instant::now());
    }
}

/// The peer gave up on this one connection; the next accept is unaffected.
fn is_peer_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(
        e.kind(),
        K::ConnectionAborted | K::ConnectionReset | K::ConnectionRefused | K::Interrupted
    )
}

fn report(done: Result<(), tokio::task::JoinError>) {
    if let Err(e) = done {
        if e.is_panic() {
            tracing::error!(error = %e, "connection task panicked");
        }
    }
}
