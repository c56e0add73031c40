//! The data-plane accept loop: one HTTP/1.1 connection task per client, at most
//! `--max-connections` at once, each connection shaped by the node's [`Shaper`], and a
//! graceful shutdown that lets requests in flight
//! finish for up to [`SHUTDOWN_GRACE`] before cutting what is left.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{routes, State};
use crate::admin::{self, HEADER_READ_TIMEOUT};
use crate::limits::ConnectionLimit;
use crate::shaping::Shaper;

/// How long requests in flight may take to finish once shutdown starts.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Keeps the open-connections gauge right however the connection task ends.
struct OpenConnection(Arc<State>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.metrics.connections_open.add(-1);
    }
}

/// Accepts and serves connections until `shutdown` turns true, then shuts down gracefully.
pub async fn serve(
    listener: TcpListener,
    shaper: Shaper,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true)
        .pipeline_flush(true);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let slots = ConnectionLimit::new(state.limits.max_connections);
    loop {
        tokio::select! {
            biased;
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            (slot, (stream, peer)) = admin::accept_within(&listener, &slots, "data-plane") => {
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!(%peer, "could not set TCP_NODELAY: {e}");
                }
                state.metrics.connections_total.inc();
                state.metrics.connections_open.add(1);
                let guard = OpenConnection(Arc::clone(&state));
                let conn_state = Arc::clone(&state);
                let service = service_fn(move |req| routes::handle(Arc::clone(&conn_state), req));
                let conn = builder.serve_connection(TokioIo::new(shaper.wrap(stream)), service);
                let conn = graceful.watch(conn);
                connections.spawn(async move {
                    let _guard = (guard, slot);
                    if let Err(e) = conn.await {
                        tracing::debug!(%peer, "data-plane connection ended with an error: {e}");
                    }
                });
            }
        }
    }
    drop(listener);
    let open = connections.len();
    tracing::debug!(
        open,
        "data plane stopped accepting; finishing requests in flight"
    );
    admin::drain(graceful, connections, SHUTDOWN_GRACE, "data-plane").await;
}
