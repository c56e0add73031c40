//! Before the load: start the plan's nodes (a seed before the peers that join it, the
//! peers one per process or several per process as the plan hosts them, each
//! server with its scratch data directory when the plan wants one, and with the run's
//! certificate over TLS, see `tls.rs`), wait for a swarm to join and settle, publish the
//! objects where the plan puts them, and resolve the endpoints users talk to (over TLS:
//! checking first that a handshake succeeds).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use hyper::{Method, StatusCode};
use tokio::time::Instant;
use versus_targets::argv::Multiaddr;
use versus_targets::tls::client::{ClientTls, Destination};

use super::tls::{check_handshakes, RunTls};
use crate::arch::Role;
use crate::drive::http::{Endpoint, HttpConnector};
use crate::drive::session::{Answer, Connector, Operation, Session};
use crate::error::Failure;
use crate::launch::cluster::Cluster;
use crate::launch::http_client::{publish, request};
use crate::launch::launcher::{Launcher, Node};
use crate::launch::scratch::ScratchDir;
use crate::plan::nodes::{NodeSpec, TargetArgs};
use crate::plan::{ArchPlan, Endpoints};
use crate::record::op::OpKind;

/// The swarm counts as settled when all its nodes together use less CPU than this.
const SETTLED_CORES: f64 = 0.3;
/// The swarm may take at least this long to settle, whatever `ready_timeout` is: a load
/// that starts during the DHT's bootstrap measures the bootstrap too (N = 256 in 5 hosts,
/// settle cut at 10 s: efficiency 0.165 against 0.224, redundant bytes 15.8 % against
/// 6.3 %, when the join check no longer happened to add seconds before it).
const SETTLE_AT_LEAST: Duration = Duration::from_secs(60);
/// Peers asked at once whether they joined the swarm.
const JOIN_CHECKS: usize = 64;
/// Round trips used to measure the admin-plane overhead.
const OVERHEAD_SAMPLES: usize = 50;

/// What the load needs from a launched, published cluster.
pub(super) struct Ready {
    /// Where users send their requests.
    pub(super) endpoints: Vec<Endpoint>,
    /// With TLS: whom the users trust.
    pub(super) tls: Option<ClientTls>,
    /// Peer-to-peer: median admin-plane round trip, µs.
    pub(super) admin_overhead_us: Option<u64>,
}

/// A scratch directory for the servers' data, when the plan wants them to keep it.
pub(super) fn scratch_dirs(plan: &ArchPlan) -> anyhow::Result<Option<ScratchDir>> {
    if !plan.data_dirs {
        return Ok(None);
    }
    let dir = ScratchDir::new("servers").map_err(|e| {
        Failure::CannotRun(format!(
            "cannot create a data directory for the servers under {}: {e}; set TMPDIR to a writable directory",
            std::env::temp_dir().display()
        ))
    })?;
    Ok(Some(dir))
}

/// Where the nodes are started from: the servers' data directories and certificate.
#[derive(Clone, Copy, Default)]
pub(super) struct Scratch<'a> {
    /// The servers' data directories live under it.
    pub(super) data: Option<&'a ScratchDir>,
    /// The run's TLS.
    pub(super) tls: Option<&'a RunTls>,
}

/// The spec of `node` as it is started: with its data directory and certificate, and
/// joining `seed`.
fn as_started(node: &NodeSpec, scratch: Scratch<'_>, seed: Option<&Multiaddr>) -> NodeSpec {
    let mut spec = node.clone();
    if let TargetArgs::Server(args) = &mut spec.args {
        if let Some(dir) = scratch.data {
            args.data_dir = Some(dir.path().join(format!("server-{}", node.index)));
        }
        if let Some(files) = scratch.tls.and_then(RunTls::files) {
            args.tls = files.server_args();
        }
    }
    if node.joins_seed {
        spec.args = spec.args.bootstrapping(seed.cloned());
    }
    spec
}

/// Starts the plan's nodes: first those that join nobody, then those that join the seed.
pub(super) async fn launch<L: Launcher>(
    cluster: &mut Cluster<L>,
    plan: &ArchPlan,
    scratch: Scratch<'_>,
) -> anyhow::Result<()> {
    let cannot = |e: crate::launch::process::LaunchError| Failure::CannotRun(e.to_string());
    let (joiners, first): (Vec<&NodeSpec>, Vec<&NodeSpec>) =
        plan.nodes.iter().partition(|n| n.joins_seed);
    let specs = first.iter().map(|n| as_started(n, scratch, None)).collect();
    cluster
        .add(specs, plan.ready_timeout)
        .await
        .map_err(cannot)?;
    if joiners.is_empty() {
        return Ok(());
    }
    let seed = cluster
        .nodes()
        .iter()
        .find(|n| n.spec().role == Role::Seed)
        .map(|n| n.ready().data.clone())
        .unwrap_or_default();
    let seed: Multiaddr = seed.parse().map_err(|_| {
        Failure::CannotRun(format!("the seed announced an unusable address {seed:?}"))
    })?;
    let started = Instant::now();
    let specs: Vec<NodeSpec> = joiners
        .iter()
        .map(|n| as_started(n, scratch, Some(&seed)))
        .collect();
    let hosts = if plan.peers_per_process > 1 {
        let groups: Vec<Vec<NodeSpec>> = specs
            .chunks(plan.peers_per_process)
            .map(<[NodeSpec]>::to_vec)
            .collect();
        let hosts = groups.len();
        cluster
            .add_hosted(groups, plan.ready_timeout)
            .await
            .map_err(cannot)?;
        hosts
    } else {
        let processes = specs.len();
        cluster
            .add(specs, plan.ready_timeout)
            .await
            .map_err(cannot)?;
        processes
    };
    tracing::info!(
        "{} peers started in {:?} ({hosts} processes)",
        joiners.len(),
        started.elapsed()
    );
    Ok(())
}

/// Waits for a swarm, publishes the objects, and resolves the users' endpoints.
pub(super) async fn prepare<L: Launcher>(
    cluster: &Cluster<L>,
    plan: &ArchPlan,
    tls: Option<&RunTls>,
) -> anyhow::Result<Ready> {
    let tls = tls.map(|t| t.client().clone());
    if plan.swarm {
        wait_for_swarm(cluster, plan.ready_timeout).await?;
        // Let the DHT bootstrap (a burst of connections and queries) finish first: the
        // measurement is of the workload, not of the swarm's start-up.
        let limit = plan.ready_timeout.max(SETTLE_AT_LEAST);
        let settled = cluster.settle(SETTLED_CORES, limit).await;
        tracing::info!("swarm settled {settled:?} after every peer joined");
        if settled >= limit {
            tracing::warn!(
                "the swarm was still busy (its DHT bootstrap: {SETTLED_CORES} cores or more) {settled:?} after every peer joined; the load starts anyway and shares the CPU with it at first; raise architectures.ready_timeout (the settle limit is the larger of it and {SETTLE_AT_LEAST:?}) to let it settle"
            );
        }
    }
    for object in &plan.objects {
        let bytes = object.bytes();
        for &holder in &object.holders {
            let node = &cluster.nodes()[holder];
            let (to, method) = match &node.spec().args {
                TargetArgs::Server(_) => {
                    let addr = data_address(node)?;
                    let to = Destination::new(addr, &addr.to_string(), tls.as_ref())
                        .map_err(Failure::CannotRun)?;
                    (to, Method::PUT)
                }
                TargetArgs::Peer(_) => (Destination::plain(node.ready().admin), Method::POST),
            };
            publish(&to, node.bearer(), method, &bytes, &object.id).await?;
        }
    }
    let endpoints = endpoints(cluster, &plan.endpoints, plan.allow_remote_target)?;
    if let Some(client) = &tls {
        check_handshakes(&endpoints, client).await?;
    }
    let admin_overhead_us = match (plan.swarm, endpoints.first()) {
        (true, Some(first)) => admin_overhead(first.clone()).await,
        _ => None,
    };
    Ok(Ready {
        endpoints,
        tls,
        admin_overhead_us,
    })
}

fn data_address(node: &impl Node) -> Result<SocketAddr, Failure> {
    node.ready().data.parse().map_err(|_| {
        Failure::CannotRun(format!(
            "{} announced an unusable address {:?}",
            node.spec().name(),
            node.ready().data
        ))
    })
}

/// `::ffff:127.x.y.z` is loopback too.
fn is_mapped_loopback(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        std::net::IpAddr::V4(_) => false,
    }
}

fn endpoints<L: Launcher>(
    cluster: &Cluster<L>,
    wanted: &Endpoints,
    allow_remote: bool,
) -> Result<Vec<Endpoint>, Failure> {
    let of_role = |role: Role| {
        cluster
            .nodes()
            .iter()
            .filter(move |n| n.spec().role == role)
    };
    match wanted {
        Endpoints::DataPlanes(role) => of_role(*role)
            .map(|n| data_address(n).map(Endpoint::at))
            .collect(),
        Endpoints::AdminPlanes(role) => Ok(of_role(*role)
            .map(|n| Endpoint {
                bearer: n.bearer().map(Into::into),
                ..Endpoint::at(n.ready().admin)
            })
            .collect()),
        Endpoints::Url(target) => {
            let addr = target
                .resolve()
                .map_err(|e| Failure::CannotRun(e.to_string()))?;
            if !allow_remote && !addr.ip().is_loopback() && !is_mapped_loopback(addr.ip()) {
                return Err(Failure::Usage(format!(
                    "{} resolves to {}, which is not a loopback address; pass --allow-remote-target to drive a server you are allowed to load",
                    target.authority,
                    addr.ip()
                )));
            }
            Ok(vec![Endpoint {
                authority: target.authority.clone(),
                ..Endpoint::at(addr)
            }])
        }
    }
}

/// Waits until every peer is connected and has a non-empty routing table.
async fn wait_for_swarm<L: Launcher>(
    cluster: &Cluster<L>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let deadline = started + timeout;
    if cluster.nodes().len() < 2 {
        return Ok(());
    }
    // Every node is asked at once (at most JOIN_CHECKS at a time): asked one after the
    // other, a thousand loaded peers took a minute to answer, and that minute was
    // counted as the swarm's.
    let waits = cluster.nodes().iter().map(|node| async move {
        while !joined(node.ready().admin, node.bearer()).await {
            if Instant::now() > deadline {
                return Err(node.spec().name());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    });
    let mut waits = futures_util::stream::iter(waits).buffer_unordered(JOIN_CHECKS);
    while let Some(result) = waits.next().await {
        if let Err(name) = result {
            return Err(Failure::CannotRun(format!(
                "{name} did not join the swarm within {timeout:?} (raise architectures.ready_timeout on a slow machine)"
            ))
            .into());
        }
    }
    tracing::info!(
        "every peer joined the swarm {:?} after the peers started",
        started.elapsed()
    );
    Ok(())
}

/// True when the peer at `admin` says it has connections and a routing table.
async fn joined(admin: SocketAddr, bearer: Option<&str>) -> bool {
    let status = request(
        admin,
        bearer,
        Method::GET,
        "/status",
        Bytes::new(),
        Duration::from_secs(5),
    )
    .await;
    status.ok().is_some_and(|(code, body)| {
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let peers = v["connected_peers"].as_array().map_or(0, Vec::len);
        code == StatusCode::OK && peers > 0 && v["routing_table_size"].as_u64() > Some(0)
    })
}

/// Median round trip of `GET /healthz` on a peer's admin plane, in microseconds: the
/// overhead the harness adds to every P2P operation by driving it over HTTP.
/// Measured through the same keep-alive driver the load uses.
async fn admin_overhead(endpoint: Endpoint) -> Option<u64> {
    let mut session = HttpConnector::new(vec![endpoint], None).session(0);
    let op = Operation {
        kind: OpKind::Get,
        endpoint: 0,
        fallbacks: None,
        method: Method::GET,
        path: Bytes::from_static(b"/healthz"),
        headers: None,
        body: None,
        answer: Answer::Payload { verify: None },
    };
    let mut samples = Vec::with_capacity(OVERHEAD_SAMPLES);
    for _ in 0..=OVERHEAD_SAMPLES {
        let sent = Instant::now();
        tokio::time::timeout(Duration::from_secs(5), session.execute(&op))
            .await
            .ok()?
            .ok()?;
        samples.push(sent.elapsed().as_micros() as u64);
    }
    // The first round trip opened the connection; the load reuses connections too.
    samples.remove(0);
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied()
}
