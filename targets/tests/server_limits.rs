//! The server's request limits under hostile clients, on real loopback sockets: a flood
//! of slow uploads is cut by the body timeout while other clients are served, the upload
//! bytes buffered at once stay within the budget (the child's resident memory shows it),
//! the connection cap holds, and a full store answers 503 JSON while GETs go on.

mod common;
mod node_process;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{sample, start, Client};
use hyper::{Method, StatusCode};
use node_process::ServerProcess;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use versus_targets::limits::LimitArgs;
use versus_targets::server::ServerArgs;
use versus_targets::units::ByteSize;

const MIB: usize = 1 << 20;

/// The child process of the tests that need one (see `node_process`).
#[test]
fn child_server() {
    node_process::serve_if_child();
}

/// Opens a connection and sends the head of a PUT declaring `declared` bytes.
async fn start_upload(addr: SocketAddr, declared: usize) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head =
        format!("PUT /objects HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {declared}\r\n\r\n");
    stream.write_all(head.as_bytes()).await.expect("send head");
    stream
}

/// Waits up to `limit` for the server to close `stream` (EOF or reset, after any answer);
/// returns whether it did.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {} // an answer (408); the close follows
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_flood_is_cut_within_the_body_timeout_and_others_are_served() {
    let server = ServerProcess::start(&["--body-timeout", "2s"]);
    let addr = server.data();
    let before = server.memory("VmRSS");
    let started = Instant::now();
    // 50 connections, each declaring 64 MiB and sending one byte every 10 s (at most
    // twice): the server must close each before its next byte is due.
    let flood: Vec<_> = (0..50)
        .map(|_| {
            tokio::spawn(async move {
                let mut stream = start_upload(addr, 64 * MIB).await;
                for _ in 0..2 {
                    if stream.write_all(b"x").await.is_err() {
                        return true;
                    }
                    if closed_within(&mut stream, Duration::from_secs(10)).await {
                        return true;
                    }
                }
                false
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut other = Client::connect(addr).await;
    let reply = other
        .send(Method::PUT, "/objects", &[], sample(MIB, 7))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let mut cut = 0;
    for task in flood {
        cut += usize::from(task.await.expect("flood task"));
    }
    let peak = server.memory("VmHWM");
    eprintln!(
        "slow-body flood: {cut}/50 cut after {:?} (body timeout 2 s, next byte due at 10 s); RSS before {} MiB, peak {} MiB",
        started.elapsed(),
        before >> 20,
        peak >> 20
    );
    assert_eq!(cut, 50, "every slow upload is closed before its next byte");
    assert!(
        peak < before + 64 * MIB as u64,
        "50 declared 64 MiB uploads must not cost their declared size: peak RSS {} MiB",
        peak >> 20
    );
    let reply = Client::connect(addr).await.get("/objects").await;
    assert_eq!(
        reply.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "still serving"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_bytes_in_flight_stay_within_the_budget() {
    let server = ServerProcess::start(&["--body-timeout", "3s", "--max-body-in-flight", "32MiB"]);
    let addr = server.data();
    let before = server.memory("VmRSS");
    // 20 uploads declare 64 MiB, send 8 MiB at once, then stall: 160 MiB offered.
    let uploads: Vec<_> = (0..20u8)
        .map(|i| {
            tokio::spawn(async move {
                let mut stream = start_upload(addr, 64 * MIB).await;
                let chunk = sample(MIB, i);
                for _ in 0..8 {
                    if stream.write_all(&chunk).await.is_err() {
                        break;
                    }
                }
                closed_within(&mut stream, Duration::from_secs(15)).await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let during = server.memory("VmRSS");
    let mut other = Client::connect(addr).await;
    let small = other
        .send(Method::PUT, "/objects", &[], sample(1000, 1))
        .await;
    let mut closed = 0;
    for task in uploads {
        closed += usize::from(task.await.expect("upload task"));
    }
    let peak = server.memory("VmHWM");
    eprintln!(
        "upload budget 32 MiB, 160 MiB offered: RSS before {} MiB, during {} MiB, peak {} MiB; {closed}/20 closed",
        before >> 20,
        during >> 20,
        peak >> 20
    );
    assert_eq!(closed, 20, "every stalled upload is closed");
    assert!(
        peak < before + 96 * MIB as u64,
        "peak RSS {} MiB grew more than 96 MiB over {} MiB",
        peak >> 20,
        before >> 20
    );
    assert_ne!(small.status, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn the_connection_cap_holds_new_clients_until_one_closes() {
    let server = start(ServerArgs {
        limits: LimitArgs {
            max_connections: 2,
            ..LimitArgs::default()
        },
        ..ServerArgs::default()
    })
    .await;
    let mut first = Client::connect(server.data_addr()).await;
    let mut second = Client::connect(server.data_addr()).await;
    for client in [&mut first, &mut second] {
        assert_eq!(
            client.get("/objects").await.status,
            StatusCode::METHOD_NOT_ALLOWED
        );
    }
    let mut third = TcpStream::connect(server.data_addr())
        .await
        .expect("connect");
    let request = b"GET /objects HTTP/1.1\r\nhost: x\r\n\r\n";
    third.write_all(request).await.expect("send");
    let mut buf = [0u8; 256];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "a third connection is not served while two are open"
    );
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(10), third.read(&mut buf))
        .await
        .expect("served once a slot is free")
        .expect("read");
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 405"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_full_store_answers_503_json_and_still_serves_gets() {
    for on_disk in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let server = start(ServerArgs {
            max_store_size: ByteSize(MIB as u64),
            data_dir: on_disk.then(|| dir.path().to_path_buf()),
            ..ServerArgs::default()
        })
        .await;
        let mut client = Client::connect(server.data_addr()).await;
        let kept = sample(600 << 10, 1);
        let id = client.put(kept.clone()).await;
        let refused = Client::connect(server.data_addr())
            .await
            .send(Method::PUT, "/objects", &[], sample(600 << 10, 2))
            .await;
        assert_eq!(
            refused.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "disk: {on_disk}"
        );
        let message = refused.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(message.contains("--max-store-size"), "{message}");
        assert_eq!(refused.header("retry-after").as_deref(), Some("1"));

        let mut reader = Client::connect(server.data_addr()).await;
        let got = reader.get(&format!("/objects/{id}")).await;
        assert_eq!((got.status, got.bytes()), (StatusCode::OK, kept));
        // Room again once an object is deleted.
        let path = format!("/objects/{id}");
        let delete = reader.send(Method::DELETE, &path, &[], Bytes::new()).await;
        assert_eq!(delete.status, StatusCode::NO_CONTENT);
        reader.put(sample(600 << 10, 2)).await;
        assert_eq!(server.store().stored_bytes(), 600 << 10);
        server.shutdown().await.unwrap();
    }
}
