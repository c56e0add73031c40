//! The client-server architecture: start `servers` replicas of `versus server`, publish
//! the workload's objects (each on the replica rendezvous hashing picks; a flash crowd's
//! object on every replica), drive the users against them, scrape their metrics, stop
//! them. Each user's download cap is applied on the harness side of its connection.
//! With faults on the servers, each replica keeps its objects in a scratch `--data-dir`,
//! so a replica started again after a crash serves them again.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use hyper::Method;
use tokio_util::sync::CancellationToken;
use versus_targets::content::Manifest;

use super::{drive_targets, finish, ArchRun, Finish, Nodes};
use crate::analysis::bounds;
use crate::driver::http::{Endpoint, HttpConnector};
use crate::error::Failure;
use crate::launch::cluster::Cluster;
use crate::launch::http_client::publish;
use crate::launch::process::NodeSpec;
use crate::launch::scratch::ScratchDir;
use crate::plan::load_plan;
use crate::progress::ProgressMode;
use crate::routing::replica_for;
use crate::scenario::model::{Popularity, WorkloadKind};
use crate::scenario::Scenario;
use crate::workload::{object_bytes, CatalogEntry, Fetch, OneShot};

/// The command-line arguments of every server replica.
fn server_args(scenario: &Scenario, data_dir: Option<String>) -> Vec<String> {
    let net = &scenario.network;
    let mut args = vec![
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--admin".into(),
        "127.0.0.1:0".into(),
    ];
    if let Some(up) = net.server_upload {
        args.extend(["--upload".into(), up.to_string()]);
    }
    if !net.latency.0.is_zero() {
        args.extend(["--latency".into(), net.latency.to_string()]);
    }
    let largest = scenario.workload.object_size.bytes().max(1 << 30);
    args.extend(["--max-object-size".into(), largest.to_string()]);
    if let Some(dir) = data_dir {
        args.extend(["--data-dir".into(), dir]);
    }
    args
}

/// Runs the scenario on client-server.
pub async fn run(
    scenario: &Scenario,
    progress: ProgressMode,
    stop: &CancellationToken,
) -> anyhow::Result<ArchRun> {
    let replicas = scenario.architectures.servers as usize;
    let faulted = scenario.faults.iter().any(|f| f.target.arch() == "cs");
    let scratch = if faulted {
        let dir = ScratchDir::new("servers").map_err(|e| {
            Failure::CannotRun(format!(
                "cannot create a data directory for the servers under {}: {e}; set TMPDIR to a writable directory",
                std::env::temp_dir().display()
            ))
        })?;
        Some(dir)
    } else {
        None
    };
    let specs = (0..replicas)
        .map(|index| NodeSpec {
            command: "server",
            role: "server",
            index,
            args: server_args(
                scenario,
                scratch.as_ref().map(|d| {
                    d.path()
                        .join(format!("server-{index}"))
                        .display()
                        .to_string()
                }),
            ),
        })
        .collect();
    let mut cluster = Cluster::start(specs, scenario.architectures.ready_timeout.0)
        .await
        .map_err(|e| Failure::CannotRun(e.to_string()))?;
    let result = run_on(&mut cluster, scenario, progress, stop).await;
    cluster.stop().await;
    drop(scratch);
    result
}

async fn run_on(
    cluster: &mut Cluster,
    scenario: &Scenario,
    progress: ProgressMode,
    stop: &CancellationToken,
) -> anyhow::Result<ArchRun> {
    let mut endpoints = Vec::new();
    for node in cluster.nodes() {
        let addr: SocketAddr = node.ready.data.parse().map_err(|_| {
            Failure::CannotRun(format!(
                "{} announced an unusable address {:?}",
                node.spec.name(),
                node.ready.data
            ))
        })?;
        endpoints.push(Endpoint {
            addr,
            authority: addr.to_string(),
        });
    }
    let w = &scenario.workload;
    let size = w.object_size.bytes() as usize;
    let mut plan = load_plan(scenario);
    let one_shot = w.kind == WorkloadKind::FlashCrowd;
    let mut paths = Vec::new();
    let (workload, bound_s): (Arc<dyn crate::workload::Workload>, Option<f64>) = if one_shot {
        let bytes = object_bytes(0, size);
        let id = Manifest::of(&bytes).id();
        for endpoint in &endpoints {
            publish(endpoint.addr, Method::PUT, &bytes, &id).await?;
        }
        let entry = CatalogEntry {
            id,
            path: Bytes::from(format!("/objects/{id}")),
            endpoint: 0,
            method: Method::GET,
            delivers: None,
        };
        paths.push(entry.path.clone());
        let users = f64::from(scenario.load.users);
        let upload = scenario
            .network
            .server_upload
            .map(|u| u.bytes_per_sec() as f64 * endpoints.len() as f64);
        let download = scenario.network.download.map(|d| d.bytes_per_sec() as f64);
        let bound = bounds::client_server(size as f64, users, upload, download);
        (
            Arc::new(OneShot::new(entry, endpoints.len(), w.verify)),
            bound,
        )
    } else {
        let mut catalog = Vec::with_capacity(w.objects as usize);
        for index in 0..u64::from(w.objects) {
            let bytes = object_bytes(index, size);
            let id = Manifest::of(&bytes).id();
            let endpoint = replica_for(&id, endpoints.len());
            publish(endpoints[endpoint].addr, Method::PUT, &bytes, &id).await?;
            let path = Bytes::from(format!("/objects/{id}"));
            paths.push(path.clone());
            catalog.push(CatalogEntry {
                id,
                path,
                endpoint,
                method: Method::GET,
                delivers: None,
            });
        }
        let zipf = (w.popularity == Popularity::Zipf).then_some(w.zipf_exponent);
        (Arc::new(Fetch::new(catalog, zipf, w.verify)), None)
    };
    let servers = cluster.nodes().len();
    let users = scenario.load.users as usize;
    let (nodes, gate) = Nodes::prepare(
        cluster,
        scenario,
        "cs",
        (servers, 0),
        users,
        &mut plan,
        paths,
    );
    let connector = HttpConnector::new(endpoints, scenario.network.download);
    let targeted = drive_targets(
        &plan,
        connector,
        workload,
        Some(nodes),
        progress,
        stop,
        "cs",
    )
    .await?;
    let f = Finish {
        arch: "cs",
        target: format!("versus server × {servers}"),
        plan: &plan,
        traffic: targeted.traffic,
        bound_s,
        one_shot,
        faults: targeted.faults,
        gate,
    };
    let mut done = finish(f, targeted.driven);
    done.report.servers = Some(servers as u32);
    Ok(done)
}
