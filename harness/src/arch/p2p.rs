//! The peer-to-peer architecture: a seed peer (the swarm's "server", with the server's
//! upload cap) and one `versus peer` process per user, bootstrapped from the seed. The
//! content is published before the run (a flash crowd's object at the seed; a fetch
//! workload's objects spread over the users' peers); then user i asks its own peer,
//! through the peer's admin plane, to fetch objects through the swarm. The harness times
//! each call; the admin-plane overhead (a `/healthz` round trip) is reported beside it.
//! The last `corrupt_peers` + `stall_peers` users' peers misbehave (they serve corrupt
//! chunks, or never answer), and faults hit the seed and the users' peers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use versus_targets::content::{Manifest, ObjectId};

use super::{drive_targets, finish, ArchRun, Finish, Nodes};
use crate::analysis::bounds;
use crate::driver::http::{Endpoint, HttpConnector};
use crate::driver::{Connector, OpKind, Operation, Session};
use crate::error::Failure;
use crate::launch::cluster::Cluster;
use crate::launch::http_client::{publish, request};
use crate::launch::process::NodeSpec;
use crate::load::ModelPlan;
use crate::plan::load_plan;
use crate::progress::ProgressMode;
use crate::scenario::model::{Network, Popularity, WorkloadKind};
use crate::scenario::Scenario;
use crate::workload::{object_bytes, CatalogEntry, Fetch, OneShot, Workload};

/// The swarm counts as settled when all its nodes together use less CPU than this.
const SETTLED_CORES: f64 = 0.3;

/// Round trips used to measure the admin-plane overhead.
const OVERHEAD_SAMPLES: usize = 50;

/// The arguments of one peer: `upload` is the seed's (server) or a user's cap.
fn peer_args(
    net: &Network,
    upload: Option<String>,
    bootstrap: Option<&str>,
    fetch_timeout: Duration,
) -> Vec<String> {
    let mut args = vec![
        "--listen".into(),
        "/ip4/127.0.0.1/tcp/0".into(),
        "--admin".into(),
        "127.0.0.1:0".into(),
    ];
    if let Some(up) = upload {
        args.extend(["--upload".into(), up]);
    }
    if let Some(down) = net.download {
        args.extend(["--download".into(), down.to_string()]);
    }
    if !net.latency.0.is_zero() {
        args.extend(["--latency".into(), net.latency.to_string()]);
    }
    if let Some(addr) = bootstrap {
        args.extend(["--bootstrap".into(), addr.to_string()]);
    }
    args.extend([
        "--fetch-timeout".into(),
        crate::units::format_duration(fetch_timeout),
    ]);
    args
}

/// Users (peers besides the seed) the plan needs.
fn user_peers(scenario: &Scenario) -> usize {
    match load_plan(scenario).model {
        ModelPlan::Closed(c) => c.users as usize,
        ModelPlan::Open(o) => o.connections.min(scenario.load.users) as usize,
    }
}

/// Runs the scenario on peer-to-peer.
pub async fn run(
    scenario: &Scenario,
    progress: ProgressMode,
    stop: &CancellationToken,
) -> anyhow::Result<ArchRun> {
    let ready_timeout = scenario.architectures.ready_timeout.0;
    let net = &scenario.network;
    let fetch_timeout = scenario.load.timeout.0;
    let seed_spec = NodeSpec {
        command: "peer",
        role: "seed",
        index: 0,
        args: peer_args(
            net,
            net.server_upload.map(|u| u.to_string()),
            None,
            fetch_timeout,
        ),
    };
    let mut cluster = Cluster::start(vec![seed_spec], ready_timeout)
        .await
        .map_err(|e| Failure::CannotRun(e.to_string()))?;
    let seed_addr = cluster.nodes()[0].ready.data.clone();
    let users = user_peers(scenario);
    let specs = (0..users)
        .map(|index| {
            let mut args = peer_args(
                net,
                net.peer_upload.map(|u| u.to_string()),
                Some(&seed_addr),
                fetch_timeout,
            );
            if let Some(kind) = misbehaviour(scenario, index, users) {
                args.extend(["--misbehave".into(), kind.into()]);
            }
            NodeSpec {
                command: "peer",
                role: "peer",
                index,
                args,
            }
        })
        .collect();
    let started = Instant::now();
    let result = match cluster.add(specs, ready_timeout).await {
        Ok(()) => {
            tracing::info!("{users} peers started in {:?}", started.elapsed());
            run_on(&mut cluster, scenario, progress, stop).await
        }
        Err(e) => Err(Failure::CannotRun(e.to_string()).into()),
    };
    cluster.stop().await;
    result
}

/// `corrupt` or `stall` for the last users' peers, as the scenario asks.
fn misbehaviour(scenario: &Scenario, index: usize, users: usize) -> Option<&'static str> {
    let a = &scenario.architectures;
    let from_end = users.checked_sub(index + 1)?;
    if from_end < a.corrupt_peers as usize {
        Some("corrupt")
    } else if from_end < (a.corrupt_peers + a.stall_peers) as usize {
        Some("stall")
    } else {
        None
    }
}

async fn run_on(
    cluster: &mut Cluster,
    scenario: &Scenario,
    progress: ProgressMode,
    stop: &CancellationToken,
) -> anyhow::Result<ArchRun> {
    let seed = cluster.nodes()[0].ready.admin;
    let peers: Vec<SocketAddr> = cluster.nodes()[1..].iter().map(|n| n.ready.admin).collect();
    wait_for_swarm(cluster, scenario.architectures.ready_timeout.0).await?;
    // Let the DHT bootstrap (a burst of connections and queries) finish first: the
    // measurement is of the workload, not of the swarm's start-up.
    let settled = cluster
        .settle(SETTLED_CORES, scenario.architectures.ready_timeout.0)
        .await;
    tracing::info!("swarm settled {settled:?} after every peer joined");
    let w = &scenario.workload;
    let size = w.object_size.bytes() as usize;
    let mut plan = load_plan(scenario);
    let one_shot = w.kind == WorkloadKind::FlashCrowd;
    let mut paths = Vec::new();
    let fetch_entry = |id: ObjectId| CatalogEntry {
        id,
        path: Bytes::from(format!("/fetch/{id}")),
        endpoint: 0,
        method: Method::POST,
        delivers: Some(size as u64),
    };
    let (workload, bound_s): (Arc<dyn Workload>, Option<f64>) = if one_shot {
        let bytes = object_bytes(0, size);
        let id = Manifest::of(&bytes).id();
        publish(seed, Method::POST, &bytes, &id).await?;
        let users = peers.len() as f64;
        let net = &scenario.network;
        let bound = bounds::peer_to_peer(
            size as f64,
            users,
            net.server_upload.map(|u| u.bytes_per_sec() as f64),
            net.download.map(|d| d.bytes_per_sec() as f64),
            net.peer_upload.map(|u| u.bytes_per_sec() as f64 * users),
        );
        paths.push(fetch_entry(id).path);
        (
            Arc::new(OneShot::new(fetch_entry(id), peers.len(), false)),
            bound,
        )
    } else {
        let mut catalog = Vec::with_capacity(w.objects as usize);
        for index in 0..u64::from(w.objects) {
            let holder = peers[index as usize % peers.len()];
            let bytes = object_bytes(index, size);
            let id = Manifest::of(&bytes).id();
            publish(holder, Method::POST, &bytes, &id).await?;
            let path = Bytes::from(format!("/fetch/{id}?fresh=true"));
            paths.push(path.clone());
            catalog.push(CatalogEntry {
                path,
                ..fetch_entry(id)
            });
        }
        let zipf = (w.popularity == Popularity::Zipf).then_some(w.zipf_exponent);
        (
            Arc::new(Fetch::new(catalog, zipf, false).per_user_endpoints(peers.len())),
            None,
        )
    };
    let overhead_us = admin_overhead(peers[0]).await;
    let endpoints = peers
        .iter()
        .map(|addr| Endpoint {
            addr: *addr,
            authority: addr.to_string(),
        })
        .collect();
    let connector = HttpConnector::new(endpoints, None);
    let users = peers.len();
    let (nodes, gate) = Nodes::prepare(
        cluster,
        scenario,
        "p2p",
        (0, users),
        users,
        &mut plan,
        paths,
    );
    let targeted = drive_targets(
        &plan,
        connector,
        workload,
        Some(nodes),
        progress,
        stop,
        "p2p",
    )
    .await?;
    let f = Finish {
        arch: "p2p",
        target: format!("versus peer × {} + seed", peers.len()),
        plan: &plan,
        traffic: targeted.traffic,
        bound_s,
        one_shot,
        faults: targeted.faults,
        gate,
    };
    let mut done = finish(f, targeted.driven);
    done.report.admin_overhead_us = overhead_us;
    Ok(done)
}

/// Waits until every peer is connected and has a non-empty routing table.
async fn wait_for_swarm(cluster: &Cluster, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    for node in cluster.nodes() {
        loop {
            let status = request(
                node.ready.admin,
                Method::GET,
                "/status",
                Bytes::new(),
                Duration::from_secs(5),
            )
            .await;
            let joined = status.ok().and_then(|(code, body)| {
                let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
                let peers = v["connected_peers"].as_array().map_or(0, Vec::len);
                (code == StatusCode::OK && peers > 0 && v["routing_table_size"].as_u64() > Some(0))
                    .then_some(())
            });
            if joined.is_some() || cluster.nodes().len() == 1 {
                break;
            }
            if Instant::now() > deadline {
                return Err(Failure::CannotRun(format!(
                    "{} did not join the swarm within {timeout:?} (raise architectures.ready_timeout on a slow machine)",
                    node.spec.name()
                ))
                .into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// Median round trip of `GET /healthz` on a peer's admin plane, in microseconds: the
/// overhead the harness adds to every P2P operation by driving it over HTTP.
/// Measured through the same keep-alive driver the load uses.
async fn admin_overhead(admin: SocketAddr) -> Option<u64> {
    let endpoint = Endpoint {
        addr: admin,
        authority: admin.to_string(),
    };
    let mut session = HttpConnector::new(vec![endpoint], None).session(0);
    let op = Operation {
        kind: OpKind::Get,
        endpoint: 0,
        method: Method::GET,
        path: Bytes::from_static(b"/healthz"),
        body: None,
        expect: None,
        delivers: None,
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
