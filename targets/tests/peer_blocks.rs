//! Block-level swarming end to end: a peer forwards blocks of a chunk it does not hold
//! whole yet (cut-through), and a 16-peer flash crowd ends with byte-identical copies.
//! Real libp2p peers on loopback, each on its own thread and current-thread runtime.

mod peer_support;

use std::time::{Duration, Instant};

use futures::future::join_all;
use hyper::StatusCode;
use peer_support::{metric, sample, TestPeer};
use versus_targets::content::{verify_object, ObjectId, CHUNK_SIZE};
use versus_targets::peer::PeerArgs;
use versus_targets::units::{ByteRate, HumanDuration};

const MIB: usize = 1 << 20;
/// Longest the tests below wait for a condition they poll.
const POLL_LIMIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_serves_blocks_of_a_chunk_it_does_not_hold_whole_yet() {
    // One chunk (256 KiB, 16 blocks) from a seed sending 64 KiB/s: about 4 s to get it all.
    let seed = TestPeer::spawn(PeerArgs {
        upload: Some(ByteRate(64 * 1024)),
        ..PeerArgs::default()
    });
    let first = TestPeer::joining(&seed, PeerArgs::default());
    let second = TestPeer::joining(&seed, PeerArgs::default());
    let bytes = sample(CHUNK_SIZE as usize, 11);
    let id = seed.publish(bytes.clone()).await;

    let fetches = join_all([first.fetch(&id), second.fetch(&id)]);
    let watch = async {
        // Wait until `first` has served a block to `second`; at that moment it must
        // still be assembling the object (its only chunk is not whole yet).
        let started = Instant::now();
        loop {
            let served = metric(&first.metrics().await, "versus_chunks_served_total");
            let status = first.status().await;
            if served > 0.0 {
                return (served, status);
            }
            assert!(
                started.elapsed() < POLL_LIMIT,
                "the first downloader never served a block"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let (results, (served, status)) = tokio::join!(fetches, watch);
    eprintln!("the first downloader had served {served} block(s) while its status was {status}");
    assert_eq!(
        (
            status["partial_objects"].as_u64(),
            status["objects"].as_u64()
        ),
        (Some(1), Some(0)),
        "it served while the chunk was still partial: {status}"
    );
    for (peer, (code, stats)) in [&first, &second].into_iter().zip(&results) {
        assert_eq!(*code, StatusCode::OK, "{stats}");
        let got = peer.object(&id).await;
        assert!(got == bytes, "byte-identical copy at {}", peer.peer_id);
    }
    let from_first = results[1].1["chunks_by_peer"][first.peer_id.to_string()]
        .as_u64()
        .unwrap_or(0);
    assert!(
        from_first > 0,
        "the second downloader kept blocks from the first: {}",
        results[1].1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sixteen_peer_flash_crowd_ends_with_identical_copies() {
    // u_s = 2 MiB/s, u_i = 1 MiB/s, F = 2 MiB: bound max(1 s, 16 x 2 / 18) = 1.8 s; the
    // seed alone would need 16 s. Bounded by the fetch timeout and the admin timeout.
    let capped = |rate: usize| PeerArgs {
        upload: Some(ByteRate(rate as u64)),
        fetch_timeout: HumanDuration(Duration::from_secs(60)),
        ..PeerArgs::default()
    };
    let seed = TestPeer::spawn(capped(2 * MIB));
    let peers: Vec<TestPeer> = (0..16)
        .map(|_| TestPeer::joining(&seed, capped(MIB)))
        .collect();
    let bytes = sample(2 * MIB, 12);
    let id = seed.publish(bytes.clone()).await;
    let object: ObjectId = id.parse().expect("an object id");
    let started = Instant::now();
    let results = join_all(peers.iter().map(|p| p.fetch(&id))).await;
    let makespan = started.elapsed();
    for (peer, (status, stats)) in peers.iter().zip(&results) {
        assert_eq!(*status, StatusCode::OK, "{stats}");
        let got = peer.object(&id).await;
        verify_object(&object, &got).expect("each copy hashes to the id");
        assert!(got == bytes, "byte-identical copy at {}", peer.peer_id);
    }
    let seed_sent = metric(&seed.metrics().await, "versus_bytes_sent_total");
    eprintln!(
        "16-peer flash crowd of 2 MiB in {makespan:?} (bound 1.8 s); the seed sent {:.1} MiB",
        seed_sent / MIB as f64
    );
    assert!(
        seed_sent < (16 * 2 * MIB) as f64,
        "peers traded among themselves: the seed sent {seed_sent} bytes"
    );
    // Every peer timed its fetch's phases, in order, within the fetch it answered.
    for (peer, (_, stats)) in peers.iter().zip(&results) {
        let text = peer.metrics().await;
        assert_eq!(metric(&text, "versus_fetches_timed_total"), 1.0, "{text}");
        let lookup = metric(&text, "versus_fetch_lookup_microseconds_total");
        let first = metric(&text, "versus_fetch_first_block_microseconds_total");
        let total = metric(&text, "versus_fetch_microseconds_total");
        assert!(
            0.0 < lookup && lookup <= first && first <= total,
            "{lookup} {first} {total}"
        );
        let answered_ms = stats["duration_ms"].as_f64().expect("duration_ms");
        assert!(
            total / 1000.0 <= answered_ms + 1.0,
            "{total} µs vs {answered_ms} ms"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_slow_uplink_blocks_are_handed_out_no_faster_than_they_leave() {
    // A seed sending 32 KiB/s (half a second a block) has 2 upload slots. Each holds its
    // block until the shaper let it out, so the block bytes handed to libp2p run ahead of
    // the bytes on the wire by at most the two blocks in the slots (and one being
    // replaced); freed as soon as yamux took them, they ran ahead by as much as the
    // downloaders asked for (up to a stream window, 256 KiB, each).
    const BLOCK: f64 = 16.0 * 1024.0;
    let seed = TestPeer::spawn(PeerArgs {
        upload: Some(ByteRate(32 * 1024)),
        ..PeerArgs::default()
    });
    let peers: Vec<TestPeer> = (0..4)
        .map(|_| TestPeer::joining(&seed, PeerArgs::default()))
        .collect();
    let bytes = sample(CHUNK_SIZE as usize, 12);
    let id = seed.publish(bytes.clone()).await;
    let counters = |text: &str| {
        (
            metric(text, "versus_object_bytes_served_total"),
            metric(text, "versus_bytes_sent_total"),
        )
    };
    let (served0, sent0) = counters(&seed.metrics().await);
    let mut fetches = Box::pin(join_all(peers.iter().map(|p| p.fetch(&id))));
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut lead_max = 0.0_f64;
    let results = loop {
        tokio::select! {
            results = &mut fetches => break results,
            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                assert!(Instant::now() < deadline, "the fetches took over 90 s");
                let (served, sent) = counters(&seed.metrics().await);
                lead_max = lead_max.max((served - served0) - (sent - sent0));
            }
        }
    };
    for (status, stats) in &results {
        assert_eq!(*status, StatusCode::OK, "{stats}");
    }
    for peer in &peers {
        assert!(peer.object(&id).await == bytes);
    }
    eprintln!(
        "block bytes handed out ahead of the wire: at most {:.1} blocks",
        lead_max / BLOCK
    );
    assert!(
        lead_max <= 3.0 * BLOCK,
        "the seed handed out {:.1} blocks more than it sent",
        lead_max / BLOCK
    );
}
