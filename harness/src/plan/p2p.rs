//! The peer-to-peer plan: a seed peer (the swarm's "server", with the server's upload
//! cap) and one `versus peer` per user, joining through the seed. A flash crowd's object
//! is published at the seed; a fetch workload's objects are spread over the users'
//! peers. User i asks its own peer, through the peer's admin plane, to fetch through the
//! swarm. The last `corrupt_peers` + `stall_peers` users' peers misbehave.

use hyper::Method;
use versus_targets::peer::{Misbehave, PeerArgs};
use versus_targets::units::{ByteRate, HumanDuration};

use super::arch_plan::{common, fetch_workload, ArchPlan, Endpoints, WorkloadPlan};
use super::load::ModelPlan;
use super::nodes::{NodeSpec, TargetArgs};
use super::objects::{CatalogEntry, ObjectPlan};
use crate::arch::{Arch, Role};
use crate::scenario::Scenario;

/// Users (peers besides the seed) the load plan needs.
fn user_peers(scenario: &Scenario, model: &ModelPlan) -> usize {
    match model {
        ModelPlan::Closed(c) => c.users as usize,
        ModelPlan::Open(o) => o.connections.min(scenario.load.users) as usize,
    }
}

/// The options of one peer; `upload` is the seed's (server) or a user's cap.
fn peer_args(scenario: &Scenario, upload: Option<ByteRate>) -> PeerArgs {
    let net = &scenario.network;
    PeerArgs {
        upload,
        download: net.download,
        latency: (!net.latency.0.is_zero()).then_some(HumanDuration(net.latency.0)),
        fetch_timeout: HumanDuration(scenario.load.timeout.0),
        ..PeerArgs::default()
    }
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

fn nodes(scenario: &Scenario, users: usize) -> Vec<NodeSpec> {
    let seed = NodeSpec {
        role: Role::Seed,
        index: 0,
        args: TargetArgs::Peer(peer_args(scenario, scenario.network.server_upload)),
        joins_seed: false,
    };
    let peers = (0..users).map(|index| NodeSpec {
        role: Role::Peer,
        index,
        args: TargetArgs::Peer(PeerArgs {
            misbehave: misbehaviour(scenario, index, users),
            ..peer_args(scenario, scenario.network.peer_upload)
        }),
        joins_seed: true,
    });
    std::iter::once(seed).chain(peers).collect()
}

fn entry(object: &ObjectPlan, query: &str) -> CatalogEntry {
    CatalogEntry {
        id: object.id,
        path: format!("/fetch/{}{query}", object.id).into(),
        endpoint: 0,
        method: Method::POST,
        delivers: Some(object.size as u64),
    }
}

/// Plans the scenario on peer-to-peer.
pub(super) fn plan(scenario: &Scenario) -> ArchPlan {
    let (load, one_shot, ready_timeout) = common(scenario);
    let users = user_peers(scenario, &load.model);
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
            net.download.map(|d| d.bytes_per_sec() as f64),
            net.peer_upload
                .map(|u| u.bytes_per_sec() as f64 * users as f64),
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
        nodes: nodes(scenario, users),
        objects,
        catalog,
        workload,
        // The answer to a fetch is statistics, not the object: the peer verifies.
        verify: false,
        endpoints: Endpoints::AdminPlanes(Role::Peer),
        user_download: None,
        load,
        faults,
        bound_s,
        one_shot,
        data_dirs: false,
        swarm: true,
        ready_timeout,
        // Noise already encrypts every peer connection.
        tls: None,
        allow_remote_target: false,
    }
}
