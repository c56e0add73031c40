//! Peer hosts: several peers in one runtime (as `versus peers` runs them), each with its
//! own identity, addresses, store, shaping and metrics. A flash crowd through a host of
//! eight peers and a separate seed ends with byte-identical copies; killing one hosted
//! peer (`POST /kill`) drops that peer only, and the others keep serving.

mod peer_support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::join_all;
use hyper::{Method, StatusCode};
use peer_support::{http, metric, sample, TestHost, TestPeer};
use versus_targets::content::{verify_object, ObjectId};
use versus_targets::peer::PeerArgs;
use versus_targets::units::{ByteRate, HumanDuration};

const MIB: usize = 1 << 20;

fn capped(rate: usize) -> PeerArgs {
    PeerArgs {
        upload: Some(ByteRate(rate as u64)),
        fetch_timeout: HumanDuration(Duration::from_secs(60)),
        ..PeerArgs::default()
    }
}

fn joining(seed: &TestPeer, rate: usize) -> PeerArgs {
    PeerArgs {
        bootstrap: vec![seed.addr.clone()],
        ..capped(rate)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_of_eight_peers_completes_a_flash_crowd_with_identical_copies() {
    let seed = TestPeer::spawn(capped(2 * MIB));
    // Each hosted peer its own upload cap: 1 MiB/s, 512 KiB/s, 1 MiB/s, …
    let args = (0..8)
        .map(|i| joining(&seed, if i % 2 == 0 { MIB } else { MIB / 2 }))
        .collect();
    let (_host, peers) = TestHost::spawn(args);
    let ids: HashSet<_> = peers.iter().map(|p| p.peer_id).collect();
    let addrs: HashSet<_> = peers.iter().map(|p| p.addr.to_string()).collect();
    let admins: HashSet<_> = peers.iter().map(|p| p.admin).collect();
    assert_eq!((ids.len(), addrs.len(), admins.len()), (8, 8, 8));
    assert!(!ids.contains(&seed.peer_id));
    for peer in &peers {
        assert_eq!(peer.status().await["peer_id"], peer.peer_id.to_string());
    }

    let bytes = sample(2 * MIB, 31);
    let id = seed.publish(bytes.clone()).await;
    let object: ObjectId = id.parse().expect("an object id");
    let started = Instant::now();
    let results = join_all(peers.iter().map(|p| p.fetch(&id))).await;
    eprintln!("8 hosted peers fetched 2 MiB in {:?}", started.elapsed());
    for (peer, (status, stats)) in peers.iter().zip(&results) {
        assert_eq!(*status, StatusCode::OK, "{stats}");
        let got = peer.object(&id).await;
        verify_object(&object, &got).expect("each copy hashes to the id");
        assert!(got == bytes, "byte-identical copy at {}", peer.peer_id);
        // Each peer counts its own traffic: at least the object came in.
        let received = metric(&peer.metrics().await, "versus_bytes_received_total");
        assert!(received >= (2 * MIB) as f64, "{received}");
    }
    let seed_sent = metric(&seed.metrics().await, "versus_bytes_sent_total");
    assert!(
        seed_sent < (8 * 2 * MIB) as f64,
        "hosted peers traded among themselves: the seed sent {seed_sent} bytes"
    );
}

/// True once nothing accepts TCP connections at `addr` any more.
async fn refuses(addr: std::net::SocketAddr) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// The TCP address of a `/ip4/…/tcp/…/p2p/…` multiaddr.
fn socket_of(addr: &libp2p::Multiaddr) -> std::net::SocketAddr {
    use libp2p::multiaddr::Protocol;
    let mut ip = None;
    let mut port = None;
    for part in addr.iter() {
        match part {
            Protocol::Ip4(a) => ip = Some(std::net::IpAddr::V4(a)),
            Protocol::Tcp(p) => port = Some(p),
            _ => {}
        }
    }
    std::net::SocketAddr::new(ip.expect("an ip4 address"), port.expect("a tcp port"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_hosted_peer_drops_only_that_peer() {
    let seed = TestPeer::spawn(capped(2 * MIB));
    let args = (0..4).map(|_| joining(&seed, MIB)).collect();
    let (_host, peers) = TestHost::spawn(args);
    let bytes = sample(MIB, 32);
    let id = seed.publish(bytes.clone()).await;
    // Everyone holds the object, then peer 0 is killed.
    for peer in &peers {
        assert_eq!(peer.fetch(&id).await.0, StatusCode::OK);
    }
    let victim = &peers[0];
    let (status, body) = http(victim.admin, Method::POST, "/kill", Bytes::new()).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let answer: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(answer["killed"], victim.peer_id.to_string());
    assert!(refuses(victim.admin).await, "the admin plane closed");
    assert!(refuses(socket_of(&victim.addr)).await, "the listener went");
    // The others still serve, each other and newcomers: a new peer fetches from the
    // swarm with the seed gone too.
    let survivors = &peers[1..];
    for peer in survivors {
        let victim_id = victim.peer_id.to_string();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = peer.status().await;
            let connected = status["connected_peers"].as_array().expect("a list");
            if !connected
                .iter()
                .any(|p| p.as_str() == Some(victim_id.as_str()))
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} still connected to the killed peer: {connected:?}",
                peer.peer_id
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(peer.object(&id).await == bytes);
    }
    let late = TestPeer::joining(&survivors[0], capped(MIB));
    drop(seed);
    let (status, stats) = late.fetch(&id).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert!(late.object(&id).await == bytes);
}
