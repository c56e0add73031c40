//! The object store's HTTP API on a real loopback socket: PUT/GET/HEAD/DELETE, Range,
//! error statuses, the body limit, metrics accuracy, the admin plane and the CLI options.

mod common;

use bytes::Bytes;
use clap::Parser;
use common::{metrics_text, sample, start, Client};
use hyper::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use versus_targets::content::{Manifest, CHUNK_SIZE};
use versus_targets::metrics::sample as metric;
use versus_targets::server::ServerArgs;
use versus_targets::units::ByteSize;

#[tokio::test]
async fn put_then_get_returns_identical_bytes_and_the_content_id() {
    let server = start(ServerArgs::default()).await;
    let mut client = Client::connect(server.data_addr()).await;
    let bytes = sample(2 * CHUNK_SIZE as usize + 1234, 1);

    let reply = client
        .send(Method::PUT, "/objects", &[], bytes.clone())
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let json = reply.json();
    let id = json["id"].as_str().unwrap().to_string();
    assert_eq!(id, Manifest::of(&bytes).id().to_string());
    assert_eq!(json["size"].as_u64(), Some(bytes.len() as u64));
    assert_eq!(reply.header("location"), Some(format!("/objects/{id}")));

    // Same bytes, same id; the object is stored once.
    assert_eq!(client.put(bytes.clone()).await, id);
    assert_eq!(server.store().len(), 1);

    let reply = client.get(&format!("/objects/{id}")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.bytes(), bytes);
    assert_eq!(
        reply.header("content-length"),
        Some(bytes.len().to_string())
    );
    assert_eq!(reply.header("accept-ranges").as_deref(), Some("bytes"));

    let reply = client
        .send(Method::HEAD, &format!("/objects/{id}"), &[], Bytes::new())
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header("content-length"),
        Some(bytes.len().to_string())
    );
    assert!(reply.bytes().is_empty());

    let empty_id = client.put(Bytes::new()).await;
    let reply = client.get(&format!("/objects/{empty_id}")).await;
    assert_eq!((reply.status, reply.bytes().len()), (StatusCode::OK, 0));

    let delete = client
        .send(Method::DELETE, &format!("/objects/{id}"), &[], Bytes::new())
        .await;
    assert_eq!(delete.status, StatusCode::NO_CONTENT);
    let delete = client
        .send(Method::DELETE, &format!("/objects/{id}"), &[], Bytes::new())
        .await;
    assert_eq!(delete.status, StatusCode::NOT_FOUND);
    assert_eq!(
        client.get(&format!("/objects/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let server = start(ServerArgs::default()).await;
    let mut client = Client::connect(server.data_addr()).await;
    let unknown = Manifest::of(b"never stored").id();

    let reply = client.get(&format!("/objects/{unknown}")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.json()["error"]
        .as_str()
        .unwrap()
        .contains(&unknown.to_string()));

    let reply = client.get("/objects/not-an-id").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.json()["error"]
        .as_str()
        .unwrap()
        .contains("64 hex characters"));

    let reply = client
        .send(Method::POST, "/objects", &[], Bytes::new())
        .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header("allow").as_deref(), Some("PUT"));
    let reply = client
        .send(
            Method::PUT,
            &format!("/objects/{unknown}"),
            &[],
            Bytes::new(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        client.get("/nothing/here").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn range_requests() {
    let server = start(ServerArgs::default()).await;
    let mut client = Client::connect(server.data_addr()).await;
    let bytes = sample(CHUNK_SIZE as usize + 1000, 2);
    let path = format!("/objects/{}", client.put(bytes.clone()).await);
    let size = bytes.len();
    let cs = CHUNK_SIZE as usize;

    let cases = [
        ("bytes=0-99", 0..100),
        ("bytes=10-", 10..size),
        ("bytes=-5", size - 5..size),
        (&format!("bytes={}-{}", cs - 10, cs + 9), cs - 10..cs + 10),
        ("bytes=5-999999999", 5..size),
    ];
    for (header, expected) in cases {
        let reply = client
            .send(Method::GET, &path, &[("range", header)], Bytes::new())
            .await;
        assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT, "{header}");
        assert_eq!(reply.bytes(), bytes.slice(expected.clone()), "{header}");
        let content_range = format!("bytes {}-{}/{size}", expected.start, expected.end - 1);
        assert_eq!(
            reply.header("content-range"),
            Some(content_range),
            "{header}"
        );
    }

    let reply = client
        .send(
            Method::GET,
            &path,
            &[("range", &format!("bytes={size}-"))],
            Bytes::new(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        reply.header("content-range"),
        Some(format!("bytes */{size}"))
    );

    // Multiple ranges are not supported: the whole object comes back.
    let reply = client
        .send(
            Method::GET,
            &path,
            &[("range", "bytes=0-1,5-6")],
            Bytes::new(),
        )
        .await;
    assert_eq!(
        (reply.status, reply.bytes()),
        (StatusCode::OK, bytes.clone())
    );

    let reply = client
        .send(Method::HEAD, &path, &[("range", "bytes=0-9")], Bytes::new())
        .await;
    assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(reply.header("content-length").as_deref(), Some("10"));
}

#[tokio::test]
async fn uploads_beyond_the_limit_get_413() {
    let server = start(ServerArgs {
        max_object_size: ByteSize(1024),
        ..ServerArgs::default()
    })
    .await;
    let mut client = Client::connect(server.data_addr()).await;
    assert!(!client.put(sample(1024, 3)).await.is_empty());
    let reply = client
        .send(Method::PUT, "/objects", &[], sample(1025, 3))
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(reply.json()["error"]
        .as_str()
        .unwrap()
        .contains("--max-object-size of 1KiB"));

    // Without a declared length, the limit applies while reading the chunked body.
    let mut raw = TcpStream::connect(server.data_addr()).await.unwrap();
    let chunk = "x".repeat(800);
    let request = format!(
        "PUT /objects HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n320\r\n{chunk}\r\n320\r\n{chunk}\r\n0\r\n\r\n"
    );
    raw.write_all(request.as_bytes()).await.unwrap();
    let mut head = [0u8; 12];
    raw.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 413");
}

#[tokio::test]
async fn metrics_count_data_plane_bytes_exactly() {
    let server = start(ServerArgs::default()).await;
    let body = sample(10_000, 4);
    let id = Client::connect(server.data_addr())
        .await
        .put(body.clone())
        .await;
    let before = metrics_text(&server).await;
    let sent_before = metric(&before, "versus_bytes_sent_total").unwrap();
    let received_before = metric(&before, "versus_bytes_received_total").unwrap();

    // A raw request, so every byte on the wire is known.
    let request = format!("GET /objects/{id} HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n");
    let mut raw = TcpStream::connect(server.data_addr()).await.unwrap();
    raw.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    raw.read_to_end(&mut response).await.unwrap();
    assert!(response.ends_with(&body));

    let after = metrics_text(&server).await;
    let sent = metric(&after, "versus_bytes_sent_total").unwrap() - sent_before;
    let received = metric(&after, "versus_bytes_received_total").unwrap() - received_before;
    assert_eq!(
        sent as usize,
        response.len(),
        "headers and body, nothing else"
    );
    assert_eq!(received as usize, request.len());
    assert!(sent as usize >= body.len() && (sent as usize) < body.len() + 512);
    assert_eq!(
        metric(
            &after,
            "versus_requests_total{route=\"get\",status=\"200\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &after,
            "versus_requests_total{route=\"put\",status=\"201\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(&after, "versus_object_bytes_served_total"),
        Some(body.len() as f64)
    );
    assert_eq!(metric(&after, "versus_objects_stored"), Some(1.0));
    assert_eq!(metric(&after, "versus_connections_total"), Some(2.0));
}

#[tokio::test]
async fn admin_plane_serves_health_and_metrics() {
    let server = start(ServerArgs::default()).await;
    assert_ne!(server.admin_addr(), server.data_addr());
    let mut admin = Client::connect(server.admin_addr()).await;
    let health = admin.get("/healthz").await;
    assert_eq!(
        (health.status, health.bytes()),
        (StatusCode::OK, Bytes::from("ok"))
    );
    let metrics = admin.get("/metrics").await;
    assert!(metrics
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    assert!(String::from_utf8_lossy(&metrics.bytes())
        .contains("# TYPE versus_bytes_sent_total counter"));
    // The admin plane is not the object store, and its traffic is not counted.
    assert_eq!(admin.get("/objects").await.status, StatusCode::NOT_FOUND);
    let text = metrics_text(&server).await;
    assert_eq!(metric(&text, "versus_bytes_received_total"), Some(0.0));
    let ready = server.ready_line();
    assert_eq!(ready.data, server.data_addr().to_string());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn binding_a_taken_port_says_what_to_do() {
    let first = start(ServerArgs::default()).await;
    let err = versus_targets::server::start(ServerArgs {
        listen: first.data_addr(),
        ..ServerArgs::default()
    })
    .await
    .unwrap_err();
    let message = format!("{err:#}");
    assert!(
        message.contains(&first.data_addr().to_string()) && message.contains("--listen"),
        "{message}"
    );
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
}

#[test]
fn command_line_options() {
    let defaults = Cli::try_parse_from(["versus"]).unwrap().server;
    let expected = ServerArgs::default();
    assert_eq!(
        (defaults.listen, defaults.admin),
        (expected.listen, expected.admin)
    );
    assert_eq!(defaults.max_object_size, expected.max_object_size);
    assert_eq!(defaults.max_store_size, expected.max_store_size);
    assert!(!defaults.exposure.allow_remote && defaults.exposure.token_file.is_none());

    let args = Cli::try_parse_from([
        "versus",
        "--listen",
        "127.0.0.1:8080",
        "--upload",
        "2MiB/s",
        "--download",
        "100Mbit/s",
        "--latency",
        "25ms",
        "--data-dir",
        "/tmp/x",
        "--max-object-size",
        "64MiB",
    ])
    .unwrap()
    .server;
    let profile = args.profile();
    assert_eq!(profile.upload.unwrap().bytes_per_sec(), 2 << 20);
    assert_eq!(profile.download.unwrap().bytes_per_sec(), 12_500_000);
    assert_eq!(profile.latency, std::time::Duration::from_millis(25));
    assert_eq!(args.max_object_size.bytes(), 64 << 20);

    let err = Cli::try_parse_from(["versus", "--upload", "fast"])
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("2MiB/s"), "{err}");
    let help = Cli::try_parse_from(["versus", "--help"])
        .err()
        .unwrap()
        .to_string();
    for flag in [
        "--listen",
        "--admin",
        "--upload",
        "--download",
        "--latency",
        "--data-dir",
        "--max-object-size",
        "--max-store-size",
        "--body-timeout",
        "--max-body-in-flight",
        "--max-connections",
        "--allow-remote",
        "--token-file",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}
