//! The plan of every shipped scenario, built without starting a process: node counts,
//! roles and arguments, objects and where they go, and the analytical bounds against
//! hand-computed values.

use std::path::Path;

use super::nodes::{NodeSpec, TargetArgs};
use super::{ArchPlan, Endpoints, WorkloadPlan};
use crate::arch::{Arch, Role};
use crate::plan::routing::replica_for;
use crate::scenario::{self, Override, Scenario};

const MIB: u64 = 1 << 20;

fn shipped(name: &str, sets: &[&str]) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scenarios/{name}.toml"));
    let overrides: Vec<Override> = sets.iter().map(|s| Override::parse(s).unwrap()).collect();
    scenario::load_file(&path, &overrides).unwrap()
}

fn plans(s: &Scenario) -> (ArchPlan, ArchPlan) {
    (
        ArchPlan::build(s, Arch::Cs).unwrap(),
        ArchPlan::build(s, Arch::P2p).unwrap(),
    )
}

fn roles(plan: &ArchPlan) -> Vec<Role> {
    plan.nodes.iter().map(|n| n.role).collect()
}

fn upload(node: &NodeSpec) -> Option<u64> {
    match &node.args {
        TargetArgs::Server(a) => a.upload.map(|u| u.bytes_per_sec()),
        TargetArgs::Peer(a) => a.upload.map(|u| u.bytes_per_sec()),
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn quickstart_flash_crowd_and_fetch_phase() {
    let s = shipped("quickstart", &[]);
    let (cs, p2p) = plans(&s);
    // N = 8, F = 4 MiB, u_s = 16 MiB/s, u_i = 2 MiB/s.
    assert_eq!(roles(&cs), [Role::Server]);
    assert_eq!(upload(&cs.nodes[0]), Some(16 * MIB));
    assert!(cs.one_shot && !cs.data_dirs && !cs.swarm);
    assert_eq!(cs.objects.len(), 1);
    assert_eq!(cs.objects[0].holders, [0]);
    assert_eq!(cs.objects[0].size as u64, 4 * MIB);
    assert!(close(cs.bound_s, 8.0 * 4.0 / 16.0), "{:?}", cs.bound_s);
    assert!(matches!(cs.endpoints, Endpoints::DataPlanes(Role::Server)));
    assert_eq!(cs.target, "versus server × 1");

    assert_eq!(p2p.nodes.len(), 9);
    assert_eq!(p2p.nodes[0].role, Role::Seed);
    assert!(!p2p.nodes[0].joins_seed);
    assert_eq!(upload(&p2p.nodes[0]), Some(16 * MIB));
    assert!(p2p.nodes[1..]
        .iter()
        .all(|n| n.role == Role::Peer && n.joins_seed && upload(n) == Some(2 * MIB)));
    assert_eq!(p2p.objects[0].holders, [0], "published at the seed");
    // max(F/u_s, N·F/(u_s + N·u_i)) = max(0.25, 32/32).
    assert!(close(p2p.bound_s, 1.0), "{:?}", p2p.bound_s);
    assert_eq!(p2p.objects[0].id, cs.objects[0].id, "same bytes, same id");
    assert!(p2p.swarm && p2p.catalog[0].delivers == Some(4 * MIB));

    let fetch = s.phase_scenarios().pop().unwrap().1;
    let (cs, p2p) = plans(&fetch);
    assert!(!cs.one_shot && cs.bound_s.is_none());
    assert_eq!(cs.objects.len(), 16);
    assert!(cs.objects.iter().all(|o| o.holders == [0]));
    assert!(matches!(
        p2p.workload,
        WorkloadPlan::Fetch {
            own_endpoints: Some(8),
            ..
        }
    ));
    let holders: Vec<usize> = p2p.objects.iter().map(|o| o.holders[0]).collect();
    assert_eq!(&holders[..9], [1, 2, 3, 4, 5, 6, 7, 8, 1]);
    assert!(p2p.catalog.iter().all(|e| e.path.ends_with(b"?fresh=true")));
}

#[test]
fn flash_crowd_bounds_follow_kurose_and_ross() {
    let s = shipped("flash-crowd", &[]);
    let (cs, p2p) = plans(&s);
    // N = 16, F = 8 MiB, u_s = 4 MiB/s, u_i = 512 KiB/s.
    assert!(close(cs.bound_s, 16.0 * 8.0 / 4.0));
    assert!(close(p2p.bound_s, 128.0 / (4.0 + 8.0)));
    assert_eq!(p2p.nodes.len(), 17);
    assert_eq!(upload(&p2p.nodes[5]), Some(512 << 10));
    let s = shipped("flash-crowd", &["load.users=64"]);
    assert!(close(plans(&s).0.bound_s, 64.0 * 8.0 / 4.0));
}

#[test]
fn scale_out_places_objects_by_rendezvous_hashing() {
    let s = shipped("scale-out", &["architectures.servers=4"]);
    let cs = ArchPlan::build(&s, Arch::Cs).unwrap();
    assert_eq!(roles(&cs), [Role::Server; 4]);
    assert_eq!(cs.arch_servers(), Some(4));
    assert_eq!(cs.objects.len(), 64);
    for (object, entry) in cs.objects.iter().zip(&cs.catalog) {
        assert_eq!(object.holders, [replica_for(&object.id, 4)]);
        assert_eq!(entry.endpoint, object.holders[0]);
    }
    let used: std::collections::BTreeSet<usize> = cs.objects.iter().map(|o| o.holders[0]).collect();
    assert_eq!(used.len(), 4, "every replica holds some object");
    assert!(cs
        .nodes
        .iter()
        .all(|n| upload(n) == Some(8 * MIB) && n.args.command() == "server"));
}

#[test]
fn faults_give_servers_data_dirs_and_churn_hits_peers() {
    let spof = shipped("spof", &[]);
    let (cs, p2p) = plans(&spof);
    assert!(cs.data_dirs && !cs.faults.is_empty());
    assert!(cs.faults.iter().all(|f| f.target.arch() == Arch::Cs));
    assert!(p2p.faults.iter().all(|f| f.target.arch() == Arch::P2p));
    let churn = shipped("churn", &[]);
    let (cs, p2p) = plans(&churn);
    assert!(cs.faults.is_empty() && !cs.data_dirs);
    assert!(!p2p.faults.is_empty());
    assert!(p2p.faults.iter().all(|f| f.target.role() == Role::Peer));
    assert_eq!(p2p.nodes.len(), 17);
}

#[test]
fn fetch_scenarios_plan_their_catalogues() {
    for (name, objects, users, size) in [
        ("fetch-small", 64, 16, 16 << 10),
        ("ci-gate", 16, 16, 4 << 10),
        ("soak", 32, 8, 16 << 10),
    ] {
        let (cs, p2p) = plans(&shipped(name, &[]));
        assert_eq!(cs.objects.len(), objects, "{name}");
        assert!(cs.objects.iter().all(|o| o.size == size), "{name}");
        assert_eq!(roles(&cs), [Role::Server], "{name}");
        assert_eq!(p2p.nodes.len(), users + 1, "{name}");
        assert!(cs.bound_s.is_none() && p2p.bound_s.is_none(), "{name}");
        assert_eq!(cs.users, users, "{name}");
    }
}

#[test]
fn node_args_are_typed_and_round_trip_to_a_command_line() {
    let s = shipped("flash-crowd", &["network.latency=25ms"]);
    let (cs, p2p) = plans(&s);
    let argv: Vec<String> = cs.nodes[0]
        .args
        .to_argv()
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert_eq!(argv[0], "server");
    let at = |flag: &str| {
        argv.iter()
            .position(|a| a == flag)
            .map(|i| argv[i + 1].clone())
    };
    assert_eq!(at("--upload").as_deref(), Some("4MiB/s"));
    assert_eq!(at("--latency").as_deref(), Some("25ms"));
    assert_eq!(at("--listen").as_deref(), Some("127.0.0.1:0"));
    let TargetArgs::Peer(peer) = &p2p.nodes[1].args else {
        panic!("a peer");
    };
    assert_eq!(peer.fetch_timeout.0, s.load.timeout.0);
    let restarted = p2p.nodes[1]
        .args
        .at(
            "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN",
            "127.0.0.1:4002".parse().unwrap(),
        )
        .unwrap();
    let TargetArgs::Peer(again) = restarted else {
        panic!("a peer");
    };
    assert_eq!(again.listen.to_string(), "/ip4/127.0.0.1/tcp/4001");
    assert_eq!(again.admin.port(), 4002);
}

#[test]
fn a_url_workload_plans_no_nodes_and_refuses_p2p() {
    let s = crate::scenario::parse(
        "url.toml",
        "name = \"u\"\n[workload]\nkind = \"url\"\nurl = \"http://127.0.0.1:9/x?y=1\"\n",
        &[],
    )
    .unwrap();
    let cs = ArchPlan::build(&s, Arch::Cs).unwrap();
    assert!(cs.nodes.is_empty() && cs.arch_servers().is_none());
    assert!(
        matches!(&cs.workload, WorkloadPlan::Requests(r) if r.list.len() == 1 && r.list[0].target.path == "/x?y=1")
    );
    assert!(ArchPlan::build(&s, Arch::P2p).is_err());
}

#[test]
fn tls_is_planned_for_client_server_and_https_urls_only() {
    use super::TlsPlan;
    use versus_targets::tls::Trust;

    let (cs, p2p) = plans(&shipped("quickstart", &[]));
    assert_eq!((cs.tls, p2p.tls), (None, None));
    let (cs, p2p) = plans(&shipped("quickstart", &["network.tls=true"]));
    assert_eq!(cs.tls, Some(TlsPlan::Generated));
    assert_eq!(cs.target, "versus server × 1 (HTTPS)");
    assert_eq!(p2p.tls, None, "peer-to-peer has Noise already");
    // The servers get their certificate when the executor has made it.
    assert!(cs
        .nodes
        .iter()
        .all(|n| matches!(&n.args, TargetArgs::Server(a) if !a.tls.enabled())));

    let url = |u: &str| {
        let text = format!("name = \"u\"\n[workload]\nkind = \"url\"\nurl = \"{u}\"\n");
        ArchPlan::build(&scenario::parse("u.toml", &text, &[]).unwrap(), Arch::Cs).unwrap()
    };
    assert_eq!(url("http://127.0.0.1:1/").tls, None);
    assert_eq!(
        url("https://127.0.0.1:1/").tls,
        Some(TlsPlan::Url(Trust::Roots { extra: None }))
    );
}

fn misbehave(node: &NodeSpec) -> Option<versus_targets::peer::Misbehave> {
    match &node.args {
        TargetArgs::Peer(a) => a.misbehave,
        TargetArgs::Server(_) => None,
    }
}

#[test]
fn peer_classes_give_each_peer_its_caps_and_the_bounds_their_sum() {
    use versus_targets::peer::Misbehave;
    let s = shipped("classes", &[]);
    let (cs, p2p) = plans(&s);
    // 16 users: 4 fast (4 MiB/s up), 8 ordinary (1 MiB/s up, 2 MiB/s down), 4
    // free-riders; F = 4 MiB, u_s = 4 MiB/s.
    let peers = &p2p.nodes[1..];
    assert_eq!(peers.len(), 16);
    assert!(peers[..4].iter().all(|n| upload(n) == Some(4 * MIB)));
    assert!(peers[4..12].iter().all(|n| upload(n) == Some(MIB)));
    assert!(peers[12..]
        .iter()
        .all(|n| upload(n).is_none() && misbehave(n) == Some(Misbehave::FreeRide)));
    assert!(peers[..12].iter().all(|n| misbehave(n).is_none()));
    // max(F/u_s, F/d_min, N·F/(u_s + Σu_i)) = max(1, 2, 64/(4 + 16 + 8)).
    assert!(close(p2p.bound_s, 64.0 / 28.0), "{:?}", p2p.bound_s);
    // Client-server: max(N·F/u_s, F/d_min) = 16 s; users 4..12 download at 2 MiB/s.
    assert!(close(cs.bound_s, 16.0), "{:?}", cs.bound_s);
    assert_eq!(cs.user_downloads.len(), 16);
    assert_eq!(
        cs.user_downloads[4].map(|d| d.bytes_per_sec()),
        Some(2 * MIB)
    );
    assert_eq!(cs.user_downloads[0], None);
    assert!(cs
        .nodes
        .iter()
        .chain(&p2p.nodes)
        .all(|n| n.kernel.is_none()));
}

#[test]
fn kernel_emulation_moves_every_cap_to_the_containers() {
    let s = shipped(
        "classes",
        &[
            "architectures.launcher=docker",
            "network.emulation=kernel",
            "network.loss=1%",
        ],
    );
    let (cs, p2p) = plans(&s);
    for node in cs.nodes.iter().chain(&p2p.nodes) {
        assert_eq!(upload(node), None, "{}: no cap in the target", node.name());
        if let TargetArgs::Peer(a) = &node.args {
            assert_eq!(a.download, None, "{}", node.name());
        }
        let kernel = node.kernel.expect("every node has its kernel link");
        assert_eq!(kernel.loss, Some(0.01));
    }
    let kernel = |n: &NodeSpec| n.kernel.unwrap();
    assert_eq!(
        kernel(&cs.nodes[0]).upload.map(|u| u.bytes_per_sec()),
        Some(4 * MIB)
    );
    assert_eq!(
        kernel(&p2p.nodes[1]).upload.map(|u| u.bytes_per_sec()),
        Some(4 * MIB)
    );
    assert_eq!(
        kernel(&p2p.nodes[5]).download.map(|u| u.bytes_per_sec()),
        Some(2 * MIB)
    );
    assert_eq!(
        kernel(&p2p.nodes[16]).upload,
        None,
        "a free-rider is not capped"
    );
    // The bounds do not depend on who applies the caps.
    assert!(close(p2p.bound_s, 64.0 / 28.0));
}

#[test]
fn a_lognormal_distribution_sets_each_peers_upload() {
    let s = shipped(
        "flash-crowd",
        &[
            "network.upload_distribution.median=1MiB/s",
            "network.upload_distribution.sigma=0.5",
        ],
    );
    let p2p = ArchPlan::build(&s, Arch::P2p).unwrap();
    let ups: Vec<u64> = p2p.nodes[1..].iter().filter_map(upload).collect();
    assert_eq!(ups.len(), 16);
    assert!(ups.windows(2).all(|w| w[0] <= w[1]));
    assert!(ups[0] < MIB / 2 && ups[15] > 2 * MIB, "{ups:?}");
    let sum: u64 = ups.iter().sum();
    // N·F/(u_s + Σu_i) with u_s = 4 MiB/s, F = 8 MiB, N = 16.
    let expected = 16.0 * 8.0 * MIB as f64 / (4.0 * MIB as f64 + sum as f64);
    assert!(
        close(p2p.bound_s, expected),
        "{:?} vs {expected}",
        p2p.bound_s
    );
}

#[test]
fn regions_place_every_node_and_give_cs_users_their_latencies() {
    let s = shipped(
        "regions",
        &[
            "load.users=4",
            "network.server_region=us",
            "network.jitter=0ms",
        ],
    );
    let (cs, p2p) = plans(&s);
    let listen = |node: &NodeSpec| match &node.args {
        TargetArgs::Server(a) => a.listen.ip().to_string(),
        TargetArgs::Peer(a) => a.listen.to_string(),
    };
    // The seed in us (region 1), the users' peers interleaved eu, us, eu, us.
    let p2p_listen: Vec<String> = p2p.nodes.iter().map(listen).collect();
    assert_eq!(
        p2p_listen,
        [
            "/ip4/127.10.1.1/tcp/0",
            "/ip4/127.10.0.1/tcp/0",
            "/ip4/127.10.1.1/tcp/0",
            "/ip4/127.10.0.1/tcp/0",
            "/ip4/127.10.1.1/tcp/0",
        ]
    );
    let TargetArgs::Peer(first) = &p2p.nodes[1].args else {
        panic!("not a peer");
    };
    let routes: Vec<String> = first.latency_to.iter().map(|r| r.to_string()).collect();
    assert_eq!(routes, ["127.10.0.0/24=5ms", "127.10.1.0/24=40ms"]);
    assert!(first.latency.is_none(), "the matrix replaces --latency");
    assert!(p2p.user_latency.is_none(), "a P2P user asks its own peer");
    // Client-server: the replica in us, user 0 (eu) pays 40 ms each way in the harness.
    assert_eq!(listen(&cs.nodes[0]), "127.10.1.1");
    let users = cs.user_latency.as_ref().expect("CS users' latencies");
    assert_eq!(users.routes.len(), 4);
    assert_eq!(users.routes[0][0].to_string(), "0.0.0.0/0=40ms");
    assert_eq!(users.routes[1][0].to_string(), "0.0.0.0/0=5ms");
    let regions = cs.regions.as_ref().expect("regions");
    assert_eq!((regions.server, regions.counts()), (1, vec![2, 2]));
    // Deterministic: the same scenario plans the same placement.
    assert_eq!(ArchPlan::build(&s, Arch::Cs).unwrap().regions, cs.regions);
}
