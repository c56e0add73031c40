//! `versus server`: the client-server reference target, an HTTP/1.1 object store.
//!
//! The data plane (`PUT /objects`, `GET`/`HEAD`/`DELETE /objects/{id}`, with single
//! `Range` support) is shaped by the node's network profile, and speaks HTTPS with
//! `--tls-cert`/`--tls-key` (shaping and byte counts under TLS: wire bytes);
//! the admin plane (`/healthz`, `/metrics`) listens separately and is never shaped.
//! [`run`] is the command: bind, print the ready line, serve until SIGTERM or SIGINT.
//! [`start`] is the same server in-process, for tests and benches.

mod body;
mod listener;
mod range;
mod routes;
pub mod slowdown;
mod upload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admin;
use crate::exposure::ExposureArgs;
use crate::limits::{LimitArgs, Limits};
use crate::metrics::{write_counter, write_gauge, Counter, NodeMetrics, RenderMetrics};
use crate::ready::ReadyLine;
use crate::shaping::{NetProfile, Shaper};
use crate::signals::Signals;
use crate::store::Store;
use crate::tls::TlsArgs;
use crate::units::{ByteRate, ByteSize, HumanDuration};

pub use listener::{SHUTDOWN_GRACE, TLS_HANDSHAKES, TLS_HANDSHAKE_FAILURES};
pub use routes::ROUTES;

/// Default of `--max-store-size`.
pub const DEFAULT_MAX_STORE_SIZE: u64 = 4 << 30;

/// Command-line options of `versus server`.
#[derive(clap::Args, Debug, Clone)]
pub struct ServerArgs {
    /// Address of the data plane (the object store API); port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Address of the admin plane (/healthz, /metrics), never shaped; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub admin: SocketAddr,
    /// Cap on the bytes this server sends, shared by all connections (e.g. "10MiB/s", "100Mbit/s").
    #[arg(long, value_name = "RATE")]
    pub upload: Option<ByteRate>,
    /// Cap on the bytes this server receives, shared by all connections (e.g. "10MiB/s").
    #[arg(long, value_name = "RATE")]
    pub download: Option<ByteRate>,
    /// One-way latency added to everything this server sends (e.g. "25ms").
    #[arg(long, value_name = "DUR")]
    pub latency: Option<HumanDuration>,
    /// Jitter on that latency: each piece sent is delayed by the latency ± up to this
    /// much (uniform), never overtaking the one before it (e.g. "5ms").
    #[arg(long, value_name = "DUR")]
    pub jitter: Option<HumanDuration>,
    /// Keep objects in this directory (created if needed, reloaded on start) instead of in memory.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Largest object PUT accepts; bigger uploads get 413 (e.g. "64MiB").
    #[arg(long, value_name = "SIZE", default_value = "1GiB")]
    pub max_object_size: ByteSize,
    /// Bytes the store holds at most (in memory or in --data-dir); a PUT that would pass
    /// it gets 503 while GETs go on (e.g. "512MiB").
    #[arg(long, value_name = "SIZE", default_value = "4GiB")]
    pub max_store_size: ByteSize,
    /// Request limits (body timeout, upload bytes in flight, connections).
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Exposure beyond loopback.
    #[command(flatten)]
    pub exposure: ExposureArgs,
    /// HTTPS on the data plane.
    #[command(flatten)]
    pub tls: TlsArgs,
}

impl Default for ServerArgs {
    /// The same values as the command line's defaults.
    fn default() -> Self {
        let loopback_any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        ServerArgs {
            listen: loopback_any_port,
            admin: loopback_any_port,
            upload: None,
            download: None,
            latency: None,
            jitter: None,
            data_dir: None,
            max_object_size: ByteSize(1 << 30),
            max_store_size: ByteSize(DEFAULT_MAX_STORE_SIZE),
            limits: LimitArgs::default(),
            exposure: ExposureArgs::default(),
            tls: TlsArgs::default(),
        }
    }
}

impl ServerArgs {
    /// The network profile these options describe.
    pub fn profile(&self) -> NetProfile {
        NetProfile {
            upload: self.upload,
            download: self.download,
            latency: self.latency.map(|d| d.0).unwrap_or_default(),
            jitter: self.jitter.map(|d| d.0).unwrap_or_default(),
        }
    }
}

/// What the request handlers share.
pub(crate) struct State {
    store: Store,
    metrics: Arc<NodeMetrics>,
    max_object_size: u64,
    limits: Limits,
    /// TLS handshakes that succeeded on the data plane.
    tls_handshakes: Counter,
    /// TLS handshakes that failed (or did not finish in time) on the data plane.
    tls_handshake_failures: Counter,
}

impl RenderMetrics for State {
    fn render(&self, out: &mut String) {
        self.metrics.render(out);
        let objects = i64::try_from(self.store.len()).unwrap_or(i64::MAX);
        let bytes = i64::try_from(self.store.stored_bytes()).unwrap_or(i64::MAX);
        write_gauge(
            out,
            "versus_objects_stored",
            "Objects held by this server.",
            objects,
        );
        write_gauge(
            out,
            "versus_object_bytes_stored",
            "Total size of the objects held, in bytes.",
            bytes,
        );
        write_counter(
            out,
            "versus_store_skipped_total",
            "Objects in --data-dir that could not be loaded on start (left in place, not served).",
            self.store.skipped(),
        );
        write_counter(
            out,
            listener::TLS_HANDSHAKES,
            "TLS handshakes that succeeded on the data plane (0 without --tls-cert).",
            self.tls_handshakes.get(),
        );
        write_counter(
            out,
            listener::TLS_HANDSHAKE_FAILURES,
            "TLS handshakes that failed or did not finish in time on the data plane.",
            self.tls_handshake_failures.get(),
        );
    }
}

/// A server running in this process. Dropping it starts a graceful shutdown in the
/// background; [`RunningServer::shutdown`] also waits for it to finish.
pub struct RunningServer {
    data_addr: SocketAddr,
    admin_addr: SocketAddr,
    state: Arc<State>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<anyhow::Result<()>>>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("data_addr", &self.data_addr)
            .field("admin_addr", &self.admin_addr)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// Where the data plane listens.
    pub fn data_addr(&self) -> SocketAddr {
        self.data_addr
    }

    /// Where the admin plane listens.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// The object store.
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// The server's counters.
    pub fn metrics(&self) -> &NodeMetrics {
        &self.state.metrics
    }

    /// The ready line announcing this server.
    pub fn ready_line(&self) -> ReadyLine {
        ReadyLine::new(self.data_addr.to_string(), self.admin_addr)
    }

    /// Stops accepting, lets requests in flight finish (for at most [`SHUTDOWN_GRACE`] on
    /// the data plane) and waits until both planes have stopped.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.stop.send_replace(true);
        for task in std::mem::take(&mut self.tasks) {
            task.await.context("a server task panicked")??;
        }
        Ok(())
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// Starts the server in this process (inside a Tokio runtime) and returns once both
/// planes accept connections.
pub async fn start(args: ServerArgs) -> anyhow::Result<RunningServer> {
    let token = args
        .exposure
        .check(&[("--listen", args.listen), ("--admin", args.admin)])?;
    let store = match &args.data_dir {
        Some(dir) => Store::open(dir).await.with_context(|| {
            format!(
                "could not open the object store in --data-dir {}",
                dir.display()
            )
        })?,
        None => Store::in_memory(),
    }
    .with_quota(args.max_store_size.bytes());
    let tls = args.tls.server_config()?.map(crate::tls::TlsAcceptor::from);
    slowdown::init()?;
    let shaper = Shaper::new(&args.profile());
    let limits = Limits::new(&args.limits);
    if args.limits.max_body_in_flight < args.max_object_size {
        tracing::warn!(
            "--max-body-in-flight {} is below --max-object-size {}: an upload that large will get 503",
            args.limits.max_body_in_flight,
            args.max_object_size
        );
    }
    let state = Arc::new(State {
        store,
        metrics: Arc::new(NodeMetrics::new(
            Arc::clone(shaper.counters()),
            routes::ROUTES,
        )),
        max_object_size: args.max_object_size.bytes(),
        limits: limits.clone(),
        tls_handshakes: Counter::default(),
        tls_handshake_failures: Counter::default(),
    });
    let data = TcpListener::bind(args.listen).await.with_context(|| {
        format!("could not bind the data listener on {}; pass another --listen address, or port 0 to pick a free one", args.listen)
    })?;
    let admin_listener = admin::bind(args.admin).await?;
    let data_addr = local_addr(&data, "data")?;
    let admin_addr = local_addr(&admin_listener, "admin")?;

    let (stop, stopped) = watch::channel(false);
    let data_task = tokio::spawn(listener::serve(
        data,
        listener::Plane { shaper, tls },
        Arc::clone(&state),
        stopped.clone(),
    ));
    let admin_router = admin::router(
        Arc::clone(&state) as Arc<dyn RenderMetrics>,
        axum::Router::new(),
    );
    let mut admin_stopped = stopped;
    let guard = admin::Guard { limits, token };
    let admin_task = tokio::spawn(admin::serve_guarded(
        admin_listener,
        admin_router,
        guard,
        async move {
            let _ = admin_stopped.wait_for(|stop| *stop).await;
        },
    ));
    tracing::info!(
        %data_addr, %admin_addr,
        upload = ?args.upload.map(|r| r.to_string()),
        download = ?args.download.map(|r| r.to_string()),
        latency = ?args.latency.map(|d| d.to_string()),
        data_dir = ?args.data_dir,
        tls = args.tls.enabled(),
        "object store ready"
    );
    Ok(RunningServer {
        data_addr,
        admin_addr,
        state,
        stop,
        tasks: vec![
            tokio::spawn(async move { data_task.await.context("the data plane panicked") }),
            admin_task,
        ],
    })
}

fn local_addr(listener: &TcpListener, plane: &str) -> anyhow::Result<SocketAddr> {
    listener
        .local_addr()
        .with_context(|| format!("could not read the address of the {plane} listener"))
}

/// `versus server`: starts the server, prints the ready line on stdout, serves until
/// SIGTERM or SIGINT, then shuts down gracefully. A refused exposure is bad usage: the
/// message is printed and the process exits 2, as for any other bad flag.
pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let server = start(args)
        .await
        .map_err(crate::exposure::exit_on_usage_error)?;
    let mut signals = Signals::install()?;
    server.ready_line().print()?;
    let signal = signals.recv().await;
    tracing::info!("received {signal}; shutting down");
    server.shutdown().await
}
