//! The network profile measured from outside, on real loopback sockets: upload and download
//! caps, added latency, and an admin plane that none of it touches.

mod common;

use std::time::{Duration, Instant};

use common::{sample, start, Client};
use hyper::{Method, StatusCode};
use versus_targets::server::{RunningServer, ServerArgs};
use versus_targets::units::{ByteRate, HumanDuration};

const MIB: usize = 1 << 20;

/// Puts `bytes` on a server directly (bypassing its download cap is not possible, so
/// tests that cap downloads upload small objects).
async fn stored(server: &RunningServer, bytes: bytes::Bytes) -> String {
    Client::connect(server.data_addr()).await.put(bytes).await
}

#[tokio::test]
async fn upload_cap_paces_a_large_get() {
    let server = start(ServerArgs {
        upload: Some(ByteRate(MIB as u64)),
        ..ServerArgs::default()
    })
    .await;
    let bytes = sample(4 * MIB, 8);
    let id = stored(&server, bytes.clone()).await;
    let mut client = Client::connect(server.data_addr()).await;
    let started = Instant::now();
    let reply = client.get(&format!("/objects/{id}")).await;
    let took = started.elapsed().as_secs_f64();
    eprintln!("4 MiB at 1 MiB/s: {took:.3}s");
    assert_eq!(reply.bytes(), bytes);
    assert!(
        (3.6..=4.4).contains(&took),
        "4 MiB at 1 MiB/s took {took:.2}s"
    );
}

#[tokio::test]
async fn upload_cap_is_shared_by_all_connections() {
    let server = start(ServerArgs {
        upload: Some(ByteRate(MIB as u64)),
        ..ServerArgs::default()
    })
    .await;
    let id = stored(&server, sample(MIB, 9)).await;
    let started = Instant::now();
    let mut downloads = Vec::new();
    for _ in 0..2 {
        let (addr, path) = (server.data_addr(), format!("/objects/{id}"));
        downloads.push(tokio::spawn(async move {
            Client::connect(addr).await.get(&path).await.bytes().len()
        }));
    }
    for download in downloads {
        assert_eq!(download.await.unwrap(), MIB);
    }
    let took = started.elapsed().as_secs_f64();
    assert!(
        (1.8..=2.2).contains(&took),
        "2 × 1 MiB at 1 MiB/s took {took:.2}s"
    );
}

#[tokio::test]
async fn download_cap_paces_a_put() {
    let server = start(ServerArgs {
        download: Some(ByteRate(MIB as u64)),
        ..ServerArgs::default()
    })
    .await;
    let bytes = sample(2 * MIB, 10);
    let mut client = Client::connect(server.data_addr()).await;
    let started = Instant::now();
    client.put(bytes).await;
    let took = started.elapsed().as_secs_f64();
    // The kernel's socket buffers absorb some bytes before the cap bites.
    assert!(
        (1.5..=2.3).contains(&took),
        "2 MiB at 1 MiB/s down took {took:.2}s"
    );
}

/// Median round trip of small GETs on one keep-alive connection.
async fn median_round_trip(server: &RunningServer, path: &str) -> Duration {
    let mut client = Client::connect(server.data_addr()).await;
    assert_eq!(client.get(path).await.status, StatusCode::OK); // warm up
    let mut times = Vec::new();
    for _ in 0..9 {
        let started = Instant::now();
        assert_eq!(client.get(path).await.status, StatusCode::OK);
        times.push(started.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

#[tokio::test]
async fn added_latency_lengthens_the_round_trip() {
    let plain = start(ServerArgs::default()).await;
    let delayed = start(ServerArgs {
        latency: Some(HumanDuration(Duration::from_millis(25))),
        ..ServerArgs::default()
    })
    .await;
    let bytes = sample(1024, 11);
    let id = stored(&plain, bytes.clone()).await;
    assert_eq!(stored(&delayed, bytes).await, id);
    let path = format!("/objects/{id}");

    let base = median_round_trip(&plain, &path).await;
    let slow = median_round_trip(&delayed, &path).await;
    let added = slow.saturating_sub(base);
    eprintln!("round trip: {base:?} plain, {slow:?} with 25 ms");
    assert!(
        added >= Duration::from_millis(24) && added <= Duration::from_millis(60),
        "round trip {base:?} without latency, {slow:?} with 25 ms"
    );
}

#[tokio::test]
async fn latency_does_not_reduce_throughput() {
    let server = start(ServerArgs {
        latency: Some(HumanDuration(Duration::from_millis(25))),
        ..ServerArgs::default()
    })
    .await;
    let bytes = sample(8 * MIB, 12);
    let id = stored(&server, bytes.clone()).await;
    let mut client = Client::connect(server.data_addr()).await;
    let started = Instant::now();
    assert_eq!(client.get(&format!("/objects/{id}")).await.bytes(), bytes);
    // Two 4 MiB windows in flight per latency: about 50 ms plus copying, far from the
    // seconds it would take if every write waited for the latency.
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(1500),
        "8 MiB with 25 ms latency took {took:?}"
    );
}

#[tokio::test]
async fn admin_plane_is_not_shaped() {
    let server = start(ServerArgs {
        upload: Some(ByteRate(512)),
        download: Some(ByteRate(512)),
        latency: Some(HumanDuration(Duration::from_millis(300))),
        ..ServerArgs::default()
    })
    .await;
    let mut admin = Client::connect(server.admin_addr()).await;
    let started = Instant::now();
    for _ in 0..5 {
        let metrics = admin.get("/metrics").await;
        assert!(
            metrics.bytes().len() > 1024,
            "the metrics page outweighs two seconds of the cap"
        );
        assert_eq!(admin.get("/healthz").await.status, StatusCode::OK);
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(250),
        "10 admin requests took {took:?}"
    );

    // The data plane, meanwhile, is slow.
    let mut data = Client::connect(server.data_addr()).await;
    let started = Instant::now();
    let reply = data
        .send(Method::GET, "/nothing", &[], bytes::Bytes::new())
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(started.elapsed() >= Duration::from_millis(300));
}
