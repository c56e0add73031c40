//! The data-plane accept loop: one HTTP/1.1 connection task per client, at most
//! `--max-connections` at once, each connection shaped by the node's [`Shaper`], and a
//! graceful shutdown that lets requests in flight
//! finish for up to [`SHUTDOWN_GRACE`] before cutting what is left.
//!
//! With TLS, the handshake runs in the connection's own task over the shaped stream, so
//! the shaping and the byte counters see the wire bytes (records, handshake and all);
//! a client has [`HEADER_READ_TIMEOUT`] to finish it, and a failed handshake is counted
//! ([`TLS_HANDSHAKE_FAILURES`]) and logged, and only ends that connection.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{routes, State};
use crate::admin::{self, HEADER_READ_TIMEOUT};
use crate::limits::ConnectionLimit;
use crate::shaping::{ShapedStream, Shaper};
use crate::tls::TlsAcceptor;

/// The /metrics series counting failed TLS handshakes on the data plane.
pub const TLS_HANDSHAKE_FAILURES: &str = "versus_tls_handshake_failures_total";
/// The /metrics series counting TLS handshakes that succeeded.
pub const TLS_HANDSHAKES: &str = "versus_tls_handshakes_total";

/// What every data-plane connection goes through: the node's shaping, then TLS if on.
pub(super) struct Plane {
    /// The node's network profile and byte counters.
    pub(super) shaper: Shaper,
    /// The TLS acceptor, when the data plane speaks HTTPS.
    pub(super) tls: Option<TlsAcceptor>,
}

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
pub(super) async fn serve(
    listener: TcpListener,
    plane: Plane,
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
                let accepted = Accepted {
                    io: plane.shaper.wrap(stream),
                    peer,
                    builder: builder.clone(),
                    watcher: graceful.watcher(),
                };
                let served = accepted.serve(plane.tls.clone(), Arc::clone(&state));
                connections.spawn(async move {
                    let _guard = (guard, slot);
                    served.await;
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

/// One accepted data-plane connection, shaped, before any byte is read.
struct Accepted {
    io: ShapedStream<TcpStream>,
    peer: std::net::SocketAddr,
    builder: http1::Builder,
    watcher: Watcher,
}

impl Accepted {
    /// The TLS handshake when `tls` is on, then HTTP/1.1 until the connection ends or
    /// shutdown closes it.
    async fn serve(self, tls: Option<TlsAcceptor>, state: Arc<State>) {
        let Accepted {
            io,
            peer,
            builder,
            watcher,
        } = self;
        let served = match tls {
            None => serve_connection(&builder, watcher, io, state).await,
            Some(acceptor) => match handshake(&acceptor, io, &state, peer).await {
                Some(tls) => serve_connection(&builder, watcher, tls, state).await,
                None => return,
            },
        };
        if let Err(e) = served {
            tracing::debug!(%peer, "data-plane connection ended with an error: {e}");
        }
    }
}

/// The TLS handshake on a new connection, within [`HEADER_READ_TIMEOUT`]; `None` (counted
/// and logged) when it fails.
async fn handshake(
    acceptor: &TlsAcceptor,
    shaped: ShapedStream<TcpStream>,
    state: &State,
    peer: std::net::SocketAddr,
) -> Option<tokio_rustls::server::TlsStream<ShapedStream<TcpStream>>> {
    match tokio::time::timeout(HEADER_READ_TIMEOUT, acceptor.accept(shaped)).await {
        Ok(Ok(tls)) => {
            state.tls_handshakes.inc();
            Some(tls)
        }
        Ok(Err(e)) => {
            state.tls_handshake_failures.inc();
            tracing::info!(%peer, "data-plane TLS handshake failed: {e}");
            None
        }
        Err(_) => {
            state.tls_handshake_failures.inc();
            tracing::info!(%peer, "data-plane TLS handshake not finished within {HEADER_READ_TIMEOUT:?}; closing");
            None
        }
    }
}

/// Serves HTTP/1.1 on one connection (plain or TLS) until it ends or shutdown closes it.
async fn serve_connection<I>(
    builder: &http1::Builder,
    watcher: Watcher,
    io: I,
    state: Arc<State>,
) -> hyper::Result<()>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| routes::handle(Arc::clone(&state), req));
    watcher
        .watch(builder.serve_connection(TokioIo::new(io), service))
        .await
}
