//! Fetches that must fail, and what they leave behind: an object above this peer's
//! `--max-object-size` is refused as soon as its manifest arrives, and a download that
//! fails (here: its only provider stalls, or corrupts every block) keeps no partial
//! object.

mod peer_support;

use std::time::Duration;

use hyper::StatusCode;
use peer_support::{sample, TestPeer};
use versus_targets::peer::{Misbehave, PeerArgs};
use versus_targets::units::{ByteSize, HumanDuration};

const MIB: usize = 1 << 20;

/// Asserts that `peer` holds nothing: no complete and no partial object.
async fn assert_holds_nothing(peer: &TestPeer) {
    let status = peer.status().await;
    assert_eq!(status["partial_objects"], 0, "{status}");
    assert_eq!(status["objects"], 0, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_above_max_object_size_is_refused_on_arrival() {
    let seed = TestPeer::spawn(PeerArgs::default());
    let small = TestPeer::joining(
        &seed,
        PeerArgs {
            max_object_size: ByteSize(MIB as u64),
            ..PeerArgs::default()
        },
    );
    let id = seed.publish(sample(4 * MIB, 31)).await;
    let (status, answer) = small.fetch(&id).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    let error = answer["error"].as_str().expect("an error message");
    assert!(error.contains("--max-object-size of 1MiB"), "{error}");
    assert!(error.contains("4MiB"), "names the object's size: {error}");
    assert_eq!(answer["chunks_done"], 0, "{answer}");
    assert_holds_nothing(&small).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fetch_frees_its_partial_object() {
    fails_and_frees(Misbehave::Stall, 32).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_from_a_corrupting_provider_frees_its_partial_object() {
    fails_and_frees(Misbehave::Corrupt, 33).await;
}

/// A download whose only provider misbehaves (it sends the manifest, then no good block)
/// fails, and leaves no partial object.
async fn fails_and_frees(misbehave: Misbehave, salt: u8) {
    let seed = TestPeer::spawn(PeerArgs::default());
    let bad = TestPeer::joining(
        &seed,
        PeerArgs {
            misbehave: Some(misbehave),
            ..PeerArgs::default()
        },
    );
    let id = seed.publish(sample(2 * MIB, salt)).await;
    let (status, stats) = bad.fetch(&id).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    // Only the misbehaving peer is left.
    seed.stop();
    let downloader = TestPeer::joining(
        &bad,
        PeerArgs {
            fetch_timeout: HumanDuration(Duration::from_secs(4)),
            request_timeout: HumanDuration(Duration::from_secs(2)),
            ..PeerArgs::default()
        },
    );
    let (status, answer) = downloader.fetch(&id).await;
    assert!(
        status == StatusCode::GATEWAY_TIMEOUT || status == StatusCode::BAD_GATEWAY,
        "{misbehave:?}: {status} {answer}"
    );
    assert_eq!(answer["chunks_done"], 0, "no good block arrived: {answer}");
    assert!(
        answer["chunks_total"].is_u64(),
        "the manifest arrived: {answer}"
    );
    assert_holds_nothing(&downloader).await;
}
