//! The peer-to-peer plan: a seed peer (the swarm's "server", with the server's upload
//! cap) and one `versus peer` per user, joining through the seed. A flash crowd's object
//! is published at the seed; a fetch workload's objects are spread over the users'
//! peers. User i asks its own peer, through the peer's admin plane, to fetch through the
//! swarm. The last `corrupt_peers` + `stall_peers` users' peers misbehave. Each peer's
//! caps come from its link ([`super::links`]: peer classes, free-riders, a lognormal
//! distribution), in the peer or, with `emulation = "kernel"`, in its container's kernel;
//! the bound uses the actual Σu_i and d_min. With regions each peer listens on its
//! region's address (the seed in the server region) and dials with its region's routes.
//! The users' peers run one per process or several per process (peer hosts,
//! `[architectures] peers_per_process`).

use hyper::Method;
use versus_targets::peer::{Misbehave, PeerArgs};
use versus_targets::units::HumanDuration;

use super::arch_plan::{common, fetch_workload, ArchPlan, Endpoints, WorkloadPlan};
use super::links::{self, KernelLink, Link};
use super::load::ModelPlan;
use super::nodes::{NodeSpec, TargetArgs};
use super::objects::{CatalogEntry, ObjectPlan};
use super::regions::RegionPlan;
use crate::arch::{Arch, Role};
use crate::scenario::Scenario;

/// Users (peers besides the seed) the load plan needs.
fn user_peers(scenario: &Scenario, model: &ModelPlan) -> usize {
    match model {
        ModelPlan::Closed(c) => c.users as usize,
        ModelPlan::Open(o) => o.connections.min(scenario.load.users) as usize,
    }
}

/// The options of one peer on `link` (the seed's or a user's), and what its kernel
/// applies instead with `emulation = "kernel"`.
fn peer_args(scenario: &Scenario, link: Link) -> (PeerArgs, Option<KernelLink>) {
    let net = &scenario.network;
    let placed = links::place(link, net);
    let args = PeerArgs {
        upload: placed.upload,
        download: placed.download,
        latency: (!net.latency.0.is_zero()).then_some(HumanDuration(net.latency.0)),
        jitter: (!net.jitter.0.is_zero()).then_some(net.jitter),
        fetch_timeout: HumanDuration(scenario.load.timeout.0),
        misbehave: link.free_rider().then_some(Misbehave::FreeRide),
        ..PeerArgs::default()
    };
    (args, placed.kernel)
}

/// `corrupt` or `stall` for the last users' peers, as the scenario asks.
fn misbehaviour(scenario: &Scenario, index: usize, users: usize) -> Option<Misbehave> {
    let a = &scenario.architectures;
    let from_end = users.checked_sub(index + 1)?;
    if from_end < a.corrupt_peers as usize {
        Some(Misbehave::Corrupt)
    } else if from_end < (a.corrupt_peers + a.stall_peers) as usize {
        Some(Misbehave::Stall)
    } else {
        None
    }
}

fn nodes(scenario: &Scenario, user_links: &[Link], regions: Option<&RegionPlan>) -> Vec<NodeSpec> {
    let users = user_links.len();
    let placed = |args: PeerArgs, r: Option<usize>| match (regions, r) {
        (Some(plan), Some(r)) => plan.place_peer(args, r),
        _ => args,
    };
    let (args, kernel) = peer_args(scenario, links::server_link(&scenario.network, true));
    let args = placed(args, regions.map(|r| r.server));
    let seed = NodeSpec {
        role: Role::Seed,
        index: 0,
        args: TargetArgs::Peer(args),
        joins_seed: false,
        kernel,
    };
    let peers = user_links.iter().enumerate().map(|(index, link)| {
        let (args, kernel) = peer_args(scenario, *link);
        let args = placed(args, regions.and_then(|r| r.users.get(index).copied()));
        NodeSpec {
            role: Role::Peer,
            index,
            args: TargetArgs::Peer(PeerArgs {
                misbehave: misbehaviour(scenario, index, users).or(args.misbehave),
                ..args
            }),
            joins_seed: true,
            kernel,
        }
    });
    std::iter::once(seed).chain(peers).collect()
}

fn entry(object: &ObjectPlan, query: &str) -> CatalogEntry {
    CatalogEntry {
        id: object.id,
        path: format!("/fetch/{}{query}", object.id).into(),
        endpoint: 0,
        fallbacks: None,
        method: Method::POST,
        delivers: Some(object.size as u64),
    }
}

/// Plans the scenario on peer-to-peer.
pub(super) fn plan(scenario: &Scenario) -> ArchPlan {
    let (load, one_shot, ready_timeout) = common(scenario);
    let users = user_peers(scenario, &load.model);
    let user_links = links::user_links(&scenario.network, users);
    let regions = RegionPlan::of(&scenario.network, users);
    let w = &scenario.workload;
    let size = w.object_size.bytes() as usize;
    let (objects, catalog, workload, bound_s);
    if one_shot {
        // Node 0 is the seed.
        let object = ObjectPlan::new(0, size, vec![0]);
        let e = entry(&object, "");
        let net = &scenario.network;
        bound_s = super::bounds::peer_to_peer(
            size as f64,
            users as f64,
            net.server_upload.map(|u| u.bytes_per_sec() as f64),
            links::min_download(&user_links),
            links::upload_sum(&user_links),
        );
        workload = WorkloadPlan::OneShot {
            entry: e.clone(),
            endpoints: users,
        };
        catalog = vec![e];
        objects = vec![object];
    } else {
        // Object k at user peer k mod N (node 1 + that, after the seed); each fetch
        // goes through the swarm even when the user's own peer holds it.
        objects = (0..u64::from(w.objects))
            .map(|index| ObjectPlan::new(index, size, vec![1 + index as usize % users.max(1)]))
            .collect::<Vec<_>>();
        catalog = objects.iter().map(|o| entry(o, "?fresh=true")).collect();
        workload = fetch_workload(scenario, Some(users));
        bound_s = None;
    }
    let faults = super::faults::plan(scenario, Arch::P2p, 0, users, load.model.duration());
    ArchPlan {
        arch: Arch::P2p,
        target: format!("versus peer × {users} + seed"),
        users,
        nodes: nodes(scenario, &user_links, regions.as_ref()),
        objects,
        catalog,
        workload,
        // The answer to a fetch is statistics, not the object: the peer verifies.
        verify: false,
        endpoints: Endpoints::AdminPlanes(Role::Peer),
        user_download: None,
        user_downloads: Vec::new(),
        load,
        faults,
        bound_s,
        one_shot,
        data_dirs: false,
        swarm: true,
        ready_timeout,
        // Noise already encrypts every peer connection.
        tls: None,
        regions,
        // A user asks its own peer, in its own region.
        user_latency: None,
        allow_remote_target: false,
        peers_per_process: hosting(scenario, users),
    }
}

/// Users' peers per process, warning when a fixed number may exhaust a host's
/// descriptors.
fn hosting(scenario: &Scenario, users: usize) -> usize {
    let fd_limit = crate::scenario::hosting::process_fd_limit();
    let k = scenario
        .architectures
        .peers_per_process
        .resolve(scenario, users, fd_limit);
    let fits = crate::scenario::hosting::fits_in_fds(users, fd_limit);
    if k > fits {
        tracing::warn!(
            "architectures.peers_per_process = {k}: in a swarm of {users} every peer may connect to nearly every other, and {k} peers may need more than the {fd_limit} open files a process may have; {fits} or fewer (or \"auto\") would fit"
        );
    }
    k
}
