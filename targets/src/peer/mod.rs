//! `versus peer`: the peer-to-peer reference target, a libp2p node.
//!
//! The data plane is libp2p over TCP + Noise + Yamux, shaped by the node's network
//! profile on the raw TCP bytes (`transport`). Kademlia holds provider records, identify
//! spreads listen addresses, the chunk protocol ([`codec`]) answers manifest and holdings
//! questions, and block pipes ([`pipe`], one stream per pair of peers) carry 16 KiB blocks.
//! A fetch ([`fetch`]) swarms: it pulls blocks from several
//! providers at once, verifies each against the object's block hashes (BLAKE3 verified
//! streaming, checked against the id), and serves every block as soon as it holds it,
//! before the chunk around it is complete (cut-through). The admin plane ([`routes`], on
//! `--admin`, never shaped) publishes, fetches and reports.
//!
//! [`run`] is the command: start, print the ready line, serve until SIGTERM or SIGINT.
//! [`start`] is the same node in-process: it holds only per-peer state (identity,
//! listener, store, shaper, admin plane, metrics) and works on a current-thread runtime
//! or a multi-thread one, which is how a peer host ([`host`], `versus peers`) runs many
//! peers in one process (on one worker thread per core).

mod address_book;
mod args;
mod behaviour;
pub mod codec;
mod connections;
pub mod exchange;
pub mod fetch;
mod handle;
pub mod have;
mod holdings;
pub mod host;
mod memory;
mod metrics;
mod node;
mod outcome;
pub mod pipe;
mod provider_store;
mod records;
pub mod routes;
pub mod scheduler;
mod serve;
mod transport;
mod wire_bytes;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use libp2p::{identity::Keypair, Multiaddr, PeerId};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admin;
use crate::metrics::RenderMetrics;
use crate::ready::ReadyLine;
use crate::shaping::Shaper;

pub use args::{Misbehave, PeerArgs};
pub use connections::ConnectionArgs;
pub use fetch::{FetchError, FetchStats};
pub use holdings::Holdings;
pub use host::HostArgs;
pub use memory::ProcessMemory;
pub use metrics::{PeerMetrics, ROUTES};
pub use node::NetStatus;

/// Longest [`start`] waits for the listener to report its address.
const LISTEN_WAIT: Duration = Duration::from_secs(10);
/// Longest [`RunningPeer::shutdown`] waits for the admin plane to finish its requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A peer running in this process. Dropping it stops it in the background;
/// [`RunningPeer::shutdown`] also waits for it to stop.
pub struct RunningPeer {
    peer_id: PeerId,
    listen_addr: Multiaddr,
    admin_addr: SocketAddr,
    holdings: Arc<Holdings>,
    metrics: Arc<PeerMetrics>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<anyhow::Result<()>>>,
}

impl std::fmt::Debug for RunningPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningPeer")
            .field("peer_id", &self.peer_id)
            .field("listen_addr", &self.listen_addr)
            .field("admin_addr", &self.admin_addr)
            .finish_non_exhaustive()
    }
}

impl RunningPeer {
    /// The peer's libp2p id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// Where the data plane listens, ending in `/p2p/<peer id>` (usable as `--bootstrap`).
    pub fn listen_addr(&self) -> &Multiaddr {
        &self.listen_addr
    }

    /// Where the admin plane listens.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// The objects held, complete and partial.
    pub fn holdings(&self) -> &Holdings {
        &self.holdings
    }

    /// The peer's counters.
    pub fn metrics(&self) -> &PeerMetrics {
        &self.metrics
    }

    /// The ready line announcing this peer.
    pub fn ready_line(&self) -> ReadyLine {
        let mut line = ReadyLine::new(self.listen_addr.to_string(), self.admin_addr);
        line.peer_id = Some(self.peer_id.to_string());
        line
    }

    /// Resolves once the peer has been told to stop (`POST /kill`, [`Self::shutdown`]).
    pub fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut stop = self.stop.subscribe();
        async move {
            let _ = stop.wait_for(|stop| *stop).await;
        }
    }

    /// Stops the peer: closes every connection and lets admin requests in flight finish
    /// (fetches in flight fail), then waits until both planes have stopped.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.stop.send_replace(true);
        for task in std::mem::take(&mut self.tasks) {
            match tokio::time::timeout(SHUTDOWN_GRACE, task).await {
                Ok(joined) => joined.context("a peer task panicked")??,
                Err(_) => tracing::warn!("a peer task was still busy {SHUTDOWN_GRACE:?} after shutdown began; leaving it"),
            }
        }
        Ok(())
    }
}

impl Drop for RunningPeer {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// Starts a peer in this process (inside a Tokio runtime, current-thread or multi-thread) and
/// returns once it listens on both planes and has dialed its bootstrap peers.
pub async fn start(args: PeerArgs) -> anyhow::Result<RunningPeer> {
    let token = args.exposure.check_peer(&args.listen, args.admin)?;
    let keypair = Keypair::generate_ed25519();
    let peer_id = keypair.public().to_peer_id();
    let shaper = Shaper::new(&args.profile()).with_routes(&args.latency_to);
    let holdings = Arc::new(Holdings::new());
    let metrics = Arc::new(PeerMetrics::new(
        Arc::clone(shaper.counters()),
        Arc::clone(&holdings),
        args.upload.map(|r| r.bytes_per_sec()),
    ));
    let swarm = behaviour::build_swarm(
        &keypair,
        shaper,
        &behaviour::SwarmSettings {
            request_timeout: args.request_timeout.0,
            idle_timeout: args.idle_timeout.0,
            connections: args.connections.clone(),
            protocol_bytes: Arc::clone(&metrics.protocol_bytes),
        },
    )?;
    let pipes_control = swarm.behaviour().streams.new_control();
    let uploader: pipe::SharedUploader = Arc::new(Mutex::new(serve::Uploader::new(
        Arc::clone(&holdings),
        Arc::clone(&metrics),
        args.misbehave,
        serve::SlotSettings::for_upload(
            args.upload.map(|r| r.bytes_per_sec()),
            args.upload_slots.map(usize::from),
            args.request_timeout.0,
        ),
    )));
    let (mut node, handle) = node::Node::new(swarm, Arc::clone(&holdings), Arc::clone(&metrics));
    let listen_addr = node.listen(&args.listen, LISTEN_WAIT).await?;
    node.bootstrap(&args.bootstrap)?;
    let admin_listener = admin::bind(args.admin).await?;
    let admin_addr = admin_listener
        .local_addr()
        .context("could not read the address of the admin listener")?;
    let (stop, stopped) = watch::channel(false);

    let state = Arc::new(routes::AdminState {
        fetch: fetch::FetchContext {
            node: handle,
            pipes: pipe::Pipes::new(pipes_control.clone()),
            holdings: Arc::clone(&holdings),
            metrics: Arc::clone(&metrics),
            local: peer_id,
            settings: fetch::FetchSettings {
                fetch_timeout: args.fetch_timeout.0,
                lookup_timeout: args.lookup_timeout.0,
                request_timeout: args.request_timeout.0,
                max_per_peer: usize::from(args.max_requests_per_peer),
                max_object_size: args.max_object_size.bytes(),
            },
        },
        max_object_size: args.max_object_size.bytes(),
        active: Mutex::new(HashSet::new()),
        stop: stop.clone(),
    });
    let node_task = tokio::spawn(node.run(stopped.clone()));
    let pipes_task = tokio::spawn(pipe::accept(pipes_control, uploader, stopped.clone()));
    let router = admin::router(
        Arc::clone(&metrics) as Arc<dyn RenderMetrics>,
        routes::router(state),
    );
    let mut admin_stopped = stopped;
    let guard = admin::Guard {
        limits: crate::limits::Limits::new(&args.limits),
        token,
    };
    let admin_task = tokio::spawn(admin::serve_guarded(
        admin_listener,
        router,
        guard,
        async move {
            let _ = admin_stopped.wait_for(|stop| *stop).await;
        },
    ));
    tracing::info!(
        %peer_id, %listen_addr, %admin_addr,
        bootstrap = args.bootstrap.len(),
        upload = ?args.upload.map(|r| r.to_string()),
        download = ?args.download.map(|r| r.to_string()),
        latency = ?args.latency.map(|d| d.to_string()),
        misbehave = ?args.misbehave,
        "peer ready"
    );
    Ok(RunningPeer {
        peer_id,
        listen_addr,
        admin_addr,
        holdings,
        metrics,
        stop,
        tasks: vec![
            tokio::spawn(async move { node_task.await.context("the network task panicked") }),
            tokio::spawn(async move { pipes_task.await.context("the block-pipe task panicked") }),
            admin_task,
        ],
    })
}

/// `versus peer`: starts the peer, prints the ready line on stdout, serves until SIGTERM
/// or SIGINT (or `POST /kill`), then shuts down. A host of one ([`host::serve`]).
pub async fn run(args: PeerArgs) -> anyhow::Result<()> {
    host::serve(vec![args]).await
}
