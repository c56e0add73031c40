//! `POST /objects` fails loudly: once a peer's provider store is full (8,192 keys: its own
//! room and the remote budget, unused here), a new object is answered 507 with a JSON
//! error and is not kept, instead of a 201 for an object nobody can find.

mod peer_support;

use futures::StreamExt as _;
use hyper::{Method, StatusCode};
use peer_support::{http, TestPeer};
use versus_targets::peer::PeerArgs;

/// Keys a peer's provider store holds (`peer::records::STORE_KEYS`).
const STORE_KEYS: usize = 8_192;

fn tiny_object(n: usize) -> bytes::Bytes {
    bytes::Bytes::from(format!("object {n}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publication_that_cannot_be_recorded_fails_loudly_and_keeps_nothing() {
    let peer = TestPeer::spawn(PeerArgs::default());
    let admin = peer.admin;
    let statuses: Vec<StatusCode> = futures::stream::iter(0..STORE_KEYS)
        .map(|n| async move {
            http(admin, Method::POST, "/objects", tiny_object(n))
                .await
                .0
        })
        .buffered(8)
        .collect()
        .await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    assert_eq!(
        created, STORE_KEYS,
        "a lone peer records every object that fits"
    );

    let (status, body) = http(admin, Method::POST, "/objects", tiny_object(STORE_KEYS)).await;
    let answer: serde_json::Value = serde_json::from_slice(&body).expect("a JSON answer");
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{answer}");
    let error = answer["error"].as_str().expect("an error message");
    assert!(
        error.contains("publish on another peer"),
        "says what to do: {error}"
    );
    assert!(error.contains("not kept"), "{error}");
    let status = peer.status().await;
    assert_eq!(
        status["objects"], STORE_KEYS,
        "the refused object is not held: {status}"
    );
}
