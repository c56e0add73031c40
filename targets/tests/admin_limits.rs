//! The admin plane's guard ([`admin::serve_guarded`]) on a real loopback socket, with a
//! route that reads its body as the peer's `POST /objects` does: a body that pauses
//! longer than the body timeout is cut, bodies past the node's upload budget are
//! refused, the connection cap holds, and a token, when given, is required.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::routing::post;
use axum::Router;
use common::Client;
use hyper::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use versus_targets::admin::{self, Guard};
use versus_targets::exposure::Token;
use versus_targets::limits::{BodyBudget, Limits};
use versus_targets::metrics::RenderMetrics;

struct NoMetrics;

impl RenderMetrics for NoMetrics {
    fn render(&self, _out: &mut String) {}
}

/// Serves an admin plane with a `POST /echo` that reads its whole body, within `guard`.
async fn serve(guard: Guard) -> (SocketAddr, watch::Sender<bool>) {
    let extra = Router::new().route(
        "/echo",
        post(|body: Bytes| async move { body.len().to_string() }),
    );
    let router = admin::router(std::sync::Arc::new(NoMetrics), extra);
    let listener = admin::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, mut stopped) = watch::channel(false);
    tokio::spawn(admin::serve_guarded(listener, router, guard, async move {
        let _ = stopped.wait_for(|s| *s).await;
    }));
    (addr, stop)
}

fn limits(body_timeout: Duration, budget: u64, max_connections: u32) -> Limits {
    Limits {
        body_timeout,
        budget: BodyBudget::new(budget),
        max_connections,
    }
}

#[tokio::test]
async fn a_slow_body_is_cut_and_the_budget_holds() {
    let guard = Guard {
        limits: limits(Duration::from_millis(500), 4096, 64),
        token: None,
    };
    let (addr, _stop) = serve(guard).await;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let head = "POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\nab";
    slow.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the slow body is cut well before 10 s");

    let mut client = Client::connect(addr).await;
    let small = client
        .send(Method::POST, "/echo", &[], Bytes::from(vec![1u8; 4000]))
        .await;
    assert_eq!(
        (small.status, small.bytes()),
        (StatusCode::OK, Bytes::from("4000"))
    );
    let mut client = Client::connect(addr).await;
    let big = client
        .send(Method::POST, "/echo", &[], Bytes::from(vec![1u8; 8000]))
        .await;
    assert_ne!(big.status, StatusCode::OK, "past the budget");
}

#[tokio::test]
async fn a_token_guards_everything_but_healthz() {
    let guard = Guard {
        limits: Limits::default(),
        token: Some(Token::new("t0ken")),
    };
    let (addr, _stop) = serve(guard).await;
    let mut client = Client::connect(addr).await;
    let denied = client
        .send(Method::POST, "/echo", &[], Bytes::from("x"))
        .await;
    assert_eq!(denied.status, StatusCode::UNAUTHORIZED);
    let allowed = client
        .send(
            Method::POST,
            "/echo",
            &[("authorization", "Bearer t0ken")],
            Bytes::from("x"),
        )
        .await;
    assert_eq!(allowed.status, StatusCode::OK);
    assert_eq!(client.get("/healthz").await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_connection_cap_holds() {
    let guard = Guard {
        limits: limits(Duration::from_secs(30), 1 << 20, 1),
        token: None,
    };
    let (addr, _stop) = serve(guard).await;
    let mut first = Client::connect(addr).await;
    assert_eq!(first.get("/healthz").await.status, StatusCode::OK);
    let mut second = TcpStream::connect(addr).await.unwrap();
    second
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let early = tokio::time::timeout(Duration::from_millis(300), second.read(&mut buf)).await;
    assert!(early.is_err(), "not served while the only slot is taken");
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(10), second.read(&mut buf))
        .await
        .expect("served once the slot is free")
        .unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
}
