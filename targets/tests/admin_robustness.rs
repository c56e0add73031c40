//! Hostile and clumsy clients against real nodes on loopback: the admin planes of the
//! server and of a peer (and, for comparison, the server's data plane) must reject
//! oversized and malformed requests with a clear answer, and keep serving everyone else.
//!
//! Every exchange here is on a raw TCP connection, so the test controls every byte, and
//! is bounded by [`WAIT`]: a node that hangs fails the test instead of hanging it.

mod common;
mod peer_support;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use versus_targets::peer::PeerArgs;
use versus_targets::server::ServerArgs;
use versus_targets::units::ByteSize;

/// Longest any one exchange (or a shutdown) may take before the test fails.
const WAIT: Duration = Duration::from_secs(20);
/// The object size limit the nodes under test get.
const LIMIT: u64 = 16 << 10;
/// A valid object id nobody holds.
const UNKNOWN_ID: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What came back on one raw connection, read until the node closed it.
#[derive(Debug)]
struct Raw {
    /// The status code, if an HTTP answer came back at all.
    status: Option<u16>,
    /// The response head, lower-cased.
    head: String,
    /// The response body as text.
    body: String,
}

impl Raw {
    /// Asserts the status and that the body is a JSON error saying something useful.
    fn assert_error(&self, status: u16, hint: &str) {
        assert_eq!(self.status, Some(status), "{self:#?}");
        let json: serde_json::Value = serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("the error body is not JSON ({e}): {self:#?}"));
        let message = json["error"].as_str().unwrap_or_default();
        assert!(message.contains(hint), "{message:?} lacks {hint:?}");
    }
}

/// Sends `request` on a fresh connection and reads the answer until the node
/// closes the connection (or resets it), all within [`WAIT`].
async fn raw(addr: SocketAddr, request: &[u8]) -> Raw {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        // The node may answer and close before reading everything: a failed write is fine.
        // No half-close: hyper treats EOF mid-request as the client going away.
        let _ = stream.write_all(request).await;
        let mut got = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        got
    };
    let got = tokio::time::timeout(WAIT, exchange)
        .await
        .unwrap_or_else(|_| panic!("{addr} neither answered nor closed within {WAIT:?}"));
    let text = String::from_utf8_lossy(&got);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok());
    Raw {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

/// A request with `Connection: close`, so the node closes once it has answered.
fn request(method: &str, path: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "{method} {path} HTTP/1.1\r\nhost: t\r\nconnection: close\r\ncontent-length: {}\r\n{extra_headers}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// The node still answers `GET /healthz` with 200 "ok".
async fn assert_healthy(admin: SocketAddr) {
    let reply = raw(admin, &request("GET", "/healthz", "", b"")).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (Some(200), "ok"),
        "{reply:#?}"
    );
}

/// Abuse every node's HTTP parser shares: garbage instead of HTTP, an absurd
/// Content-Length, a huge header and too many headers. Each gets a 4xx or a closed
/// connection, never a hang; the node stays healthy.
async fn parser_abuse(addr: SocketAddr, admin: SocketAddr) {
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    let reply = raw(addr, &garbage).await;
    assert!(matches!(reply.status, None | Some(400)), "{reply:#?}");
    let reply = raw(
        addr,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello TLS?\r\n\r\n",
    )
    .await;
    assert!(matches!(reply.status, None | Some(400)), "{reply:#?}");

    let absurd =
        b"GET /healthz HTTP/1.1\r\nhost: t\r\ncontent-length: 99999999999999999999999999\r\n\r\n";
    let reply = raw(addr, absurd).await;
    assert_eq!(reply.status, Some(400), "{reply:#?}");
    let twice =
        b"GET /healthz HTTP/1.1\r\nhost: t\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nx";
    let reply = raw(addr, twice).await;
    assert!(matches!(reply.status, None | Some(400)), "{reply:#?}");

    let huge = format!("x-big: {}\r\n", "a".repeat(1 << 20));
    let reply = raw(addr, &request("GET", "/healthz", &huge, b"")).await;
    assert!(matches!(reply.status, None | Some(431)), "{reply:#?}");
    let many: String = (0..500).map(|i| format!("x-h{i}: v\r\n")).collect();
    let reply = raw(addr, &request("GET", "/healthz", &many, b"")).await;
    assert!(matches!(reply.status, None | Some(431)), "{reply:#?}");
    assert_healthy(admin).await;
}

/// A client that sends half a request and stalls must not block anyone else.
async fn slow_loris(addr: SocketAddr, admin: SocketAddr) -> Vec<TcpStream> {
    let mut stalled = Vec::new();
    for partial in [
        &b"GET /healthz HTTP/1.1\r\nhost: t\r\nx-slow"[..],
        b"POST /objects HTTP/1.1\r\nhost: t\r\ncontent-length: 100\r\n\r\nonly a few bytes",
    ] {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(partial)
            .await
            .expect("send half a request");
        stalled.push(stream);
    }
    assert_healthy(admin).await;
    stalled
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_admin_plane_rejects_bad_requests_and_keeps_serving() {
    let server = common::start(ServerArgs::default()).await;
    let admin = server.admin_addr();

    raw(admin, &request("GET", "/nope", "", b""))
        .await
        .assert_error(404, "/healthz");
    let reply = raw(admin, &request("POST", "/healthz", "", b"hello")).await;
    reply.assert_error(405, "GET");
    assert!(reply.head.contains("allow: get"), "{reply:#?}");
    raw(admin, &request("DELETE", "/metrics", "", b""))
        .await
        .assert_error(405, "GET");
    // A big body on a route that takes none: answered (405) without reading it all.
    raw(
        admin,
        &request("PUT", "/metrics", "", &vec![7u8; 256 << 10]),
    )
    .await
    .assert_error(405, "GET");

    parser_abuse(admin, admin).await;
    let stalled = slow_loris(admin, admin).await;
    let metrics = raw(admin, &request("GET", "/metrics", "", b"")).await;
    assert_eq!(metrics.status, Some(200), "{metrics:#?}");

    // A stalled client does not hold the node up when it stops.
    tokio::time::timeout(WAIT, server.shutdown())
        .await
        .expect("shutdown finishes despite a stalled admin client")
        .expect("clean shutdown");
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_data_plane_rejects_bad_requests_and_keeps_serving() {
    let server = common::start(ServerArgs {
        max_object_size: ByteSize(LIMIT),
        ..ServerArgs::default()
    })
    .await;
    let data = server.data_addr();
    let admin = server.admin_addr();

    let too_big = vec![1u8; 2 * LIMIT as usize];
    raw(data, &request("PUT", "/objects", "", &too_big))
        .await
        .assert_error(413, "--max-object-size");
    // A declared length beyond the limit is refused before any of the body is sent.
    let absurd = b"PUT /objects HTTP/1.1\r\nhost: t\r\ncontent-length: 1000000000000\r\n\r\n";
    raw(data, absurd)
        .await
        .assert_error(413, "--max-object-size");
    raw(data, &request("GET", "/objects/not-an-id", "", b""))
        .await
        .assert_error(400, "64 hex characters");
    raw(data, &request("GET", "/nope", "", b""))
        .await
        .assert_error(404, "PUT /objects");
    raw(data, &request("POST", "/objects", "", b"x"))
        .await
        .assert_error(405, "PUT");
    raw(
        data,
        &request("GET", &format!("/objects/{UNKNOWN_ID}"), "", b""),
    )
    .await
    .assert_error(404, "PUT /objects first");

    parser_abuse(data, admin).await;
    let stalled = slow_loris(data, admin).await;
    let reply = raw(data, &request("PUT", "/objects", "", b"still serving")).await;
    assert_eq!(reply.status, Some(201), "{reply:#?}");
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_admin_plane_rejects_bad_requests_and_keeps_serving() {
    let peer = peer_support::TestPeer::spawn(PeerArgs {
        max_object_size: ByteSize(LIMIT),
        ..PeerArgs::default()
    });
    let admin = peer.admin;

    let too_big = vec![1u8; 2 * LIMIT as usize];
    raw(admin, &request("POST", "/objects", "", &too_big))
        .await
        .assert_error(413, "--max-object-size");
    let absurd = b"POST /objects HTTP/1.1\r\nhost: t\r\ncontent-length: 1000000000000\r\n\r\n";
    raw(admin, absurd)
        .await
        .assert_error(413, "--max-object-size");
    let chunk = "x".repeat(10_000);
    let chunked = format!(
        "POST /objects HTTP/1.1\r\nhost: t\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n2710\r\n{chunk}\r\n2710\r\n{chunk}\r\n0\r\n\r\n"
    );
    raw(admin, chunked.as_bytes())
        .await
        .assert_error(413, "--max-object-size");
    let broken_chunks =
        b"POST /objects HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n";
    raw(admin, broken_chunks).await.assert_error(400, "body");

    raw(admin, &request("POST", "/fetch/not-an-id", "", b""))
        .await
        .assert_error(400, "64 hex characters");
    raw(
        admin,
        &request("POST", &format!("/fetch/{UNKNOWN_ID}?fresh=maybe"), "", b""),
    )
    .await
    .assert_error(400, "fresh=true|false");
    raw(admin, &request("GET", "/objects/%ff%fe", "", b""))
        .await
        .assert_error(400, "64 hex characters");
    raw(
        admin,
        &request("GET", &format!("/objects/{UNKNOWN_ID}"), "", b""),
    )
    .await
    .assert_error(404, "POST /fetch");
    raw(admin, &request("GET", "/nope", "", b""))
        .await
        .assert_error(404, "/fetch/{id}");
    raw(
        admin,
        &request("GET", &format!("/fetch/{UNKNOWN_ID}"), "", b""),
    )
    .await
    .assert_error(405, "POST");
    raw(admin, &request("DELETE", "/objects", "", b""))
        .await
        .assert_error(405, "POST");
    raw(admin, &request("POST", "/status", "", &vec![0u8; 64 << 10]))
        .await
        .assert_error(405, "GET");

    parser_abuse(admin, admin).await;
    let stalled = slow_loris(admin, admin).await;
    let reply = raw(admin, &request("POST", "/objects", "", b"still serving")).await;
    assert_eq!(reply.status, Some(201), "{reply:#?}");
    let status = raw(admin, &request("GET", "/status", "", b"")).await;
    assert_eq!(status.status, Some(200), "{status:#?}");
    assert!(status.body.contains("\"objects\":1"), "{status:#?}");
    drop(stalled);
}
