//! A connection flood against `versus peer` as a child process (its own pid, so its
//! resident memory can be read): bare libp2p connections that open streams and never
//! finish negotiating them, then raw TCP connections that stall in the handshake, 1,000
//! in all. The peer's connection limits refuse what is beyond them, its resident memory
//! stays bounded, and afterwards it still serves a fetch.

mod node_process;
mod peer_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use hyper::{Method, StatusCode};
use libp2p::multiaddr::Protocol;
use libp2p::Multiaddr;
use node_process::ServerProcess;
use peer_support::hostile::{bare_connection, hang_streams};
use peer_support::{http, metric, sample, TestPeer};
use tokio::net::TcpStream;
use versus_targets::metric_names::CONNECTIONS_REFUSED;
use versus_targets::peer::PeerArgs;

/// The child process of the tests that need one (see `node_process`).
#[test]
fn child_server() {
    node_process::serve_if_child();
}

/// Bare libp2p connections, each from its own identity.
const BARE: usize = 400;
/// Streams each bare connection opens and leaves hanging.
const STREAMS: usize = 64;
/// Raw TCP connections that send nothing.
const RAW: usize = 600;
/// Handshakes in flight at once while the flood is built.
const PARALLEL: usize = 32;
/// How long the flood holds its connections.
const HOLD: Duration = Duration::from_secs(6);
/// Established connections the peer is told to keep at most.
const MAX_ESTABLISHED: u32 = 200;
/// Resident-memory growth allowed under the flood.
const RSS_BOUND: u64 = 150 << 20;

fn tcp_address(addr: &Multiaddr) -> SocketAddr {
    let mut ip = None;
    let mut port = None;
    for part in addr.iter() {
        match part {
            Protocol::Ip4(a) => ip = Some(a),
            Protocol::Tcp(p) => port = Some(p),
            _ => {}
        }
    }
    SocketAddr::from((ip.expect("an IPv4 address"), port.expect("a TCP port")))
}

async fn metrics_of(admin: SocketAddr) -> String {
    let (status, body) = http(admin, Method::GET, "/metrics", bytes::Bytes::new()).await;
    assert_eq!(status, StatusCode::OK);
    String::from_utf8_lossy(&body).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_flood_leaves_memory_bounded_and_the_peer_serving() {
    let started = Instant::now();
    let max = MAX_ESTABLISHED.to_string();
    let peer = ServerProcess::start_peer(&[
        "--max-peer-connections",
        &max,
        "--max-pending-connections",
        "100",
    ]);
    let addr: Multiaddr = peer.ready.data.parse().expect("a multiaddr");
    let admin = peer.admin();
    let bytes = sample(1 << 20, 41);
    let (status, body) = http(admin, Method::POST, "/objects", bytes.clone()).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let answer: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    let id = answer["id"].as_str().expect("an id").to_string();
    let baseline = peer.memory("VmRSS");

    let connected = futures::stream::iter(0..BARE)
        .map(|_| bare_connection(&addr))
        .buffer_unordered(PARALLEL)
        .collect::<Vec<_>>()
        .await;
    let holders: Vec<_> = connected
        .into_iter()
        .flatten()
        .map(|muxer| tokio::spawn(hang_streams(muxer, STREAMS, HOLD)))
        .collect();
    let bare = holders.len();
    let tcp = tcp_address(&addr);
    let mut raw = Vec::with_capacity(RAW);
    for _ in 0..RAW {
        if let Ok(Ok(stream)) =
            tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(tcp)).await
        {
            raw.push(stream);
        }
    }

    let (mut peak, mut open_peak) = (baseline, 0.0f64);
    let hold_until = Instant::now() + HOLD;
    while Instant::now() < hold_until {
        peak = peak.max(peer.memory("VmRSS"));
        open_peak = open_peak.max(metric(&metrics_of(admin).await, "versus_connections_open"));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let refused = metric(&metrics_of(admin).await, CONNECTIONS_REFUSED);
    drop(raw);
    for holder in holders {
        holder.abort();
    }
    let growth = peak.saturating_sub(baseline);
    eprintln!(
        "flood: {bare} bare libp2p connections x {STREAMS} streams + {RAW} raw TCP; RSS {} MiB -> peak {} MiB (+{} MiB); open connections peaked at {open_peak}; {refused} refused; built and held in {:?}",
        baseline >> 20,
        peak >> 20,
        growth >> 20,
        started.elapsed()
    );
    assert!(
        growth < RSS_BOUND,
        "RSS grew by {} MiB under the flood",
        growth >> 20
    );
    assert!(
        open_peak <= f64::from(MAX_ESTABLISHED),
        "at most --max-peer-connections open: {open_peak}"
    );
    assert!(refused >= 1.0, "connections beyond the limits were refused");

    let fetcher = TestPeer::spawn(PeerArgs {
        bootstrap: vec![addr.clone()],
        ..PeerArgs::default()
    });
    let (status, stats) = fetcher.fetch(&id).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the peer still serves after the flood: {stats}"
    );
    assert!(fetcher.object(&id).await == bytes);
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "took {:?}",
        started.elapsed()
    );
}
