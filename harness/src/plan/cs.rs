//! The client-server plan: `servers` replicas of `versus server`; a flash crowd's object
//! on every replica (users spread over them round-robin), a fetch workload's objects each
//! on the replica rendezvous hashing picks (on the first `replication` it ranks: a user
//! whose replica cannot be reached asks the next). Each user's download cap is applied
//! on the harness side of its connection (its class's, with peer classes). With faults
//! on the servers each replica keeps its objects in a data directory, so one started
//! again serves them again. With `network.tls` the data planes speak HTTPS
//! ([`TlsPlan::Generated`]). With `emulation = "kernel"` the servers' upload cap is their
//! containers' kernel's. With regions the replicas listen in the server region and each
//! user applies its region's latencies to and from it in the harness.

use hyper::Method;
use versus_targets::server::ServerArgs;
use versus_targets::units::{ByteSize, HumanDuration};

use super::arch_plan::{common, fetch_workload, ArchPlan, Endpoints, TlsPlan, WorkloadPlan};
use super::links::{self, KernelLink};
use super::nodes::{NodeSpec, TargetArgs};
use super::objects::{CatalogEntry, ObjectPlan};
use super::regions::RegionPlan;
use super::routing::replicas_for;
use crate::arch::{Arch, Role};
use crate::scenario::Scenario;

/// The smallest `--max-object-size` the servers get.
const MIN_MAX_OBJECT: u64 = 1 << 30;

/// The options of every replica, and what its kernel applies (`emulation = "kernel"`).
fn server_args(scenario: &Scenario) -> (ServerArgs, Option<KernelLink>) {
    let net = &scenario.network;
    let placed = links::place(links::server_link(net, false), net);
    let args = ServerArgs {
        upload: placed.upload,
        latency: (!net.latency.0.is_zero()).then_some(HumanDuration(net.latency.0)),
        jitter: (!net.jitter.0.is_zero()).then_some(net.jitter),
        max_object_size: ByteSize(scenario.workload.object_size.bytes().max(MIN_MAX_OBJECT)),
        ..ServerArgs::default()
    };
    (args, placed.kernel)
}

/// The catalogue entry of `object`: asked of `endpoint`; with `fallbacks`, of the
/// other replicas that hold it when `endpoint` cannot be reached.
fn entry(object: &ObjectPlan, endpoint: usize, fallbacks: &[usize]) -> CatalogEntry {
    CatalogEntry {
        id: object.id,
        path: format!("/objects/{}", object.id).into(),
        endpoint,
        fallbacks: (!fallbacks.is_empty()).then(|| fallbacks.into()),
        method: Method::GET,
        delivers: None,
    }
}

/// Plans the scenario on client-server.
pub(super) fn plan(scenario: &Scenario) -> ArchPlan {
    let (load, one_shot, ready_timeout) = common(scenario);
    let replicas = scenario.architectures.servers.max(1) as usize;
    let (args, kernel) = server_args(scenario);
    let regions = RegionPlan::of(&scenario.network, scenario.load.users as usize);
    let args = match &regions {
        Some(r) => r.place_server(args),
        None => args,
    };
    let nodes = (0..replicas)
        .map(|index| NodeSpec {
            role: Role::Server,
            index,
            args: TargetArgs::Server(args.clone()),
            joins_seed: false,
            kernel,
        })
        .collect();
    // The users' own links: their download caps are applied in the harness.
    let user_links = links::user_links(&scenario.network, scenario.load.users as usize);
    let w = &scenario.workload;
    let size = w.object_size.bytes() as usize;
    let (objects, catalog, workload, bound_s);
    if one_shot {
        let object = ObjectPlan::new(0, size, (0..replicas).collect());
        let e = entry(&object, 0, &[]);
        let net = &scenario.network;
        bound_s = super::bounds::client_server(
            size as f64,
            f64::from(scenario.load.users),
            net.server_upload
                .map(|u| u.bytes_per_sec() as f64 * replicas as f64),
            links::min_download(&user_links),
        );
        workload = WorkloadPlan::OneShot {
            entry: e.clone(),
            endpoints: replicas,
        };
        catalog = vec![e];
        objects = vec![object];
    } else {
        let copies = scenario.architectures.replication.max(1) as usize;
        objects = (0..u64::from(w.objects))
            .map(|index| {
                let id = ObjectPlan::new(index, size, Vec::new()).id;
                ObjectPlan::new(index, size, replicas_for(&id, replicas, copies))
            })
            .collect::<Vec<_>>();
        catalog = objects
            .iter()
            .map(|o| entry(o, o.holders[0], &o.holders[1..]))
            .collect();
        workload = fetch_workload(scenario, None);
        bound_s = None;
    }
    let faults = super::faults::plan(scenario, Arch::Cs, replicas, 0, load.model.duration());
    ArchPlan {
        arch: Arch::Cs,
        target: format!(
            "versus server × {replicas}{}",
            if scenario.network.tls { " (HTTPS)" } else { "" }
        ),
        users: scenario.load.users as usize,
        nodes,
        objects,
        catalog,
        workload,
        verify: w.verify,
        endpoints: Endpoints::DataPlanes(Role::Server),
        user_download: scenario.network.download,
        user_downloads: if links::heterogeneous(&scenario.network) {
            user_links.iter().map(|l| l.download).collect()
        } else {
            Vec::new()
        },
        tls: scenario.network.tls.then_some(TlsPlan::Generated),
        user_latency: regions.as_ref().map(RegionPlan::user_latency),
        regions,
        data_dirs: !faults.is_empty(),
        load,
        faults,
        bound_s,
        one_shot,
        swarm: false,
        ready_timeout,
        allow_remote_target: false,
        peers_per_process: 1,
    }
}
