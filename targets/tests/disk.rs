//! The persisted store through the server: objects survive a restart, and a byte flipped
//! on disk is answered with an error — the corrupt bytes are never sent.

mod common;

use bytes::Bytes;
use common::{metrics_text, sample, start, Client};
use hyper::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use versus_targets::content::{ObjectId, CHUNK_SIZE};
use versus_targets::metrics::sample as metric;
use versus_targets::server::ServerArgs;
use versus_targets::store::data_file;

fn on_disk(dir: &std::path::Path) -> ServerArgs {
    ServerArgs {
        data_dir: Some(dir.to_path_buf()),
        ..ServerArgs::default()
    }
}

fn flip_byte(dir: &std::path::Path, id: &str, at: usize) {
    let id: ObjectId = id.parse().unwrap();
    let path = data_file(dir, &id);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[at] ^= 0x20;
    std::fs::write(&path, bytes).unwrap();
}

#[tokio::test]
async fn objects_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = sample(CHUNK_SIZE as usize * 3 + 7, 5);
    let server = start(on_disk(dir.path())).await;
    let id = Client::connect(server.data_addr())
        .await
        .put(bytes.clone())
        .await;
    server.shutdown().await.unwrap();

    let server = start(on_disk(dir.path())).await;
    let mut client = Client::connect(server.data_addr()).await;
    let reply = client.get(&format!("/objects/{id}")).await;
    assert_eq!(
        (reply.status, reply.bytes()),
        (StatusCode::OK, bytes.clone())
    );
    let reply = client
        .send(
            Method::GET,
            &format!("/objects/{id}"),
            &[("range", "bytes=262140-262150")],
            Bytes::new(),
        )
        .await;
    assert_eq!(reply.bytes(), bytes.slice(262_140..262_151));
}

#[tokio::test]
async fn a_flipped_byte_on_disk_is_an_error_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(on_disk(dir.path())).await;
    let mut client = Client::connect(server.data_addr()).await;

    // A one-chunk object: the error comes as a status.
    let small = sample(1000, 6);
    let id = client.put(small.clone()).await;
    flip_byte(dir.path(), &id, 500);
    let reply = client.get(&format!("/objects/{id}")).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    let message = reply.json()["error"].as_str().unwrap().to_string();
    assert!(
        message.contains("corrupt") && message.contains(&id),
        "{message}"
    );
    assert!(!reply
        .bytes()
        .windows(16)
        .any(|w| small.windows(16).any(|s| s == w)));

    // A three-chunk object corrupted in its second chunk: the response starts streaming,
    // then is cut; the corrupt chunk never leaves.
    let big = sample(CHUNK_SIZE as usize * 2 + 100, 7);
    let id = client.put(big.clone()).await;
    flip_byte(dir.path(), &id, CHUNK_SIZE as usize + 10);
    // On the wire: at most the headers and a prefix of the intact first chunk, then the
    // connection ends (the response may be cut before anything was flushed).
    for _ in 0..3 {
        let mut raw = TcpStream::connect(server.data_addr()).await.unwrap();
        let request = format!("GET /objects/{id} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n");
        raw.write_all(request.as_bytes()).await.unwrap();
        let mut wire = Vec::new();
        let _ = raw.read_to_end(&mut wire).await; // may end with a reset
        let body = match wire.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(end_of_head) => &wire[end_of_head + 4..],
            None => &[][..],
        };
        assert!(
            body.len() <= CHUNK_SIZE as usize && big.starts_with(body),
            "{} body bytes",
            body.len()
        );
    }
    let range = format!("bytes={}-{}", CHUNK_SIZE, CHUNK_SIZE + 20);
    let mut fresh = Client::connect(server.data_addr()).await;
    let reply = fresh
        .send(
            Method::GET,
            &format!("/objects/{id}"),
            &[("range", &range)],
            Bytes::new(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    // Intact chunks are still served.
    let reply = fresh
        .send(
            Method::GET,
            &format!("/objects/{id}"),
            &[("range", "bytes=0-99")],
            Bytes::new(),
        )
        .await;
    assert_eq!(reply.bytes(), big.slice(0..100));

    let text = metrics_text(&server).await;
    assert_eq!(
        metric(&text, "versus_verification_failures_total"),
        Some(5.0)
    );
}
