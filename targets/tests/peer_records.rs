//! Inbound Kademlia provider records are held within a budget: a hostile client that
//! announces thousands of random keys to a peer does not stop that peer from announcing
//! its own objects, and the refusals show in `/metrics`.

mod peer_support;

use std::time::Duration;

use hyper::{Method, StatusCode};
use peer_support::hostile::announce_keys;
use peer_support::{http, metric, sample, TestPeer};
use versus_targets::metric_names::{PROVIDER_RECORDS_REFUSED, REMOTE_PROVIDER_KEYS};
use versus_targets::peer::PeerArgs;
use versus_targets::units::HumanDuration;

/// More keys than the peer's whole provider store held before the budget (4,096).
const HOSTILE_KEYS: usize = 4_200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_provider_records_leave_room_for_own_announcements() {
    let target = TestPeer::spawn(PeerArgs::default());
    let finished = announce_keys(&target.addr, HOSTILE_KEYS, 16, Duration::from_secs(60)).await;
    assert_eq!(
        finished, HOSTILE_KEYS,
        "every hostile announcement got through within 60 s"
    );

    let bytes = sample(300 << 10, 21);
    let (status, body) = http(target.admin, Method::POST, "/objects", bytes.clone()).await;
    let answer: serde_json::Value = serde_json::from_slice(&body).expect("a JSON answer");
    if status == StatusCode::CREATED {
        let id = answer["id"].as_str().expect("an id");
        let fetcher = TestPeer::joining(
            &target,
            PeerArgs {
                lookup_timeout: HumanDuration(Duration::from_secs(5)),
                ..PeerArgs::default()
            },
        );
        let (status, stats) = fetcher.fetch(id).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "a 201 publication can be fetched: {stats}"
        );
        assert!(fetcher.object(id).await == bytes);
    } else {
        assert!(status.is_server_error(), "{status} {answer}");
        assert!(answer["error"].is_string(), "{answer}");
    }

    let metrics = target.metrics().await;
    let refused = metric(&metrics, PROVIDER_RECORDS_REFUSED);
    let kept = metric(&metrics, REMOTE_PROVIDER_KEYS);
    eprintln!("hostile records: {HOSTILE_KEYS} announced, {kept} keys kept, {refused} refused");
    assert!(refused >= 1.0, "refusals are counted:\n{metrics}");
    // Kademlia's announcements are fire-and-forget: a few may not arrive at all.
    assert!(
        kept < HOSTILE_KEYS as f64 && kept + refused >= 0.9 * HOSTILE_KEYS as f64,
        "most hostile records were refused, not kept: {kept} kept, {refused} refused"
    );
}
