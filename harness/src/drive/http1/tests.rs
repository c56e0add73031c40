//! Tests of the HTTP/1.1 client against real loopback servers that answer with
//! known framings: 1xx, chunked with trailers, Content-Length, close-delimited, cut short.

use super::*;
use crate::drive::session::Answer;
use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use versus_targets::shaping::Shaper;
use versus_targets::tls::client::{connect, Destination};

fn op(method: Method, body: Option<&'static [u8]>) -> Operation {
    Operation {
        kind: crate::record::op::OpKind::Get,
        endpoint: 0,
        fallbacks: None,
        method,
        path: Bytes::from_static(b"/a?b=1"),
        headers: Some(
            vec![(
                HeaderName::from_static("x-one"),
                HeaderValue::from_static("1"),
            )]
            .into(),
        ),
        body: body.map(Bytes::from_static),
        answer: Answer::Payload { verify: None },
    }
}

#[test]
fn encodes_heads_as_sent() {
    let host = HeaderValue::from_static("127.0.0.1:9");
    let to = HeadOf {
        host: &host,
        authorization: None,
    };
    let mut out = Vec::new();
    encode_head(&op(Method::GET, None), &to, &mut out).unwrap();
    assert_eq!(
        out,
        b"GET /a?b=1 HTTP/1.1\r\nhost: 127.0.0.1:9\r\nx-one: 1\r\n\r\n"
    );
    encode_head(&op(Method::POST, Some(b"xyz")), &to, &mut out).unwrap();
    assert!(out.ends_with(b"x-one: 1\r\ncontent-length: 3\r\n\r\n"));
    let mut own_host = op(Method::PUT, None);
    own_host.headers = Some(vec![(HOST, HeaderValue::from_static("other"))].into());
    encode_head(&own_host, &to, &mut out).unwrap();
    assert_eq!(
        out,
        b"PUT /a?b=1 HTTP/1.1\r\nhost: other\r\ncontent-length: 0\r\n\r\n"
    );
    let mut split = op(Method::GET, None);
    split.path = Bytes::from_static(b"/a b");
    assert_eq!(encode_head(&split, &to, &mut out), Err(ErrorKind::Http4xx));
}

#[test]
fn parses_framing_and_keep_alive() {
    let framing = |text: &str, head_only| {
        let (length, head) = parse_head(text.as_bytes(), head_only).unwrap().unwrap();
        assert_eq!(length, text.len());
        let framing = match head.framing {
            Framing::Empty => "empty".to_string(),
            Framing::Length(n) => n.to_string(),
            Framing::Chunked => "chunked".to_string(),
            Framing::Close => "close".to_string(),
        };
        (head.status.as_u16(), framing, head.keep_alive)
    };
    let ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    assert_eq!(framing(ok, false), (200, "5".into(), true));
    assert_eq!(framing(ok, true), (200, "empty".into(), true));
    let chunked =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n";
    assert_eq!(framing(chunked, false), (200, "chunked".into(), false));
    let old = "HTTP/1.0 200 OK\r\n\r\n";
    assert_eq!(framing(old, false), (200, "close".into(), false));
    let kept = "HTTP/1.0 204 No Content\r\nConnection: Keep-Alive\r\n\r\n";
    assert_eq!(framing(kept, false), (204, "empty".into(), true));
    assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le", false)
        .unwrap()
        .is_none());
    let twice = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
    assert!(parse_head(twice, false).is_err());
    assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false).is_err());
}

/// A loopback server that answers each request head it reads with the next of
/// `answers`, then closes.
/// A fresh connection to `addr`.
async fn conn_to(addr: std::net::SocketAddr) -> Conn {
    let wire = connect(&Destination::plain(addr), &Shaper::unshaped())
        .await
        .unwrap()
        .wire;
    Conn::new(wire)
}

async fn server(answers: Vec<&'static [u8]>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        for answer in answers {
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                let mut chunk = [0u8; 1024];
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => seen.extend_from_slice(&chunk[..n]),
                }
            }
            seen.clear();
            // In two writes, so the client reads a head and a body apart.
            let (a, b) = answer.split_at(answer.len() / 2);
            socket.write_all(a).await.unwrap();
            tokio::task::yield_now().await;
            socket.write_all(b).await.unwrap();
        }
    });
    addr
}

#[tokio::test]
async fn reads_each_framing_and_reuses_the_connection_when_it_may() {
    let addr = server(vec![
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n",
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end",
    ])
    .await;
    let mut conn = conn_to(addr).await;
    let host = HeaderValue::from_static("h");
    let to = HeadOf {
        host: &host,
        authorization: None,
    };
    let get = op(Method::GET, None);
    let expect = [
        (200, &b"hello"[..], true),
        (200, b"abcde", true),
        (404, b"", true),
        (200, b"to the end", false),
    ];
    for (status, body, reusable) in expect {
        assert!(conn.ready());
        let (got, received) = conn.exchange(&get, &to, true).await.unwrap();
        assert_eq!(got.as_u16(), status);
        assert_eq!(received.kept.as_deref(), Some(body));
        assert_eq!(received.bytes, body.len() as u64);
        assert_eq!(conn.reusable, reusable);
    }
    assert!(!conn.ready());
}

#[tokio::test]
async fn a_closed_idle_connection_is_not_ready_and_a_cut_body_fails() {
    let addr = server(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel"]).await;
    let mut conn = conn_to(addr).await;
    let host = HeaderValue::from_static("h");
    let to = HeadOf {
        host: &host,
        authorization: None,
    };
    let got = conn.exchange(&op(Method::GET, None), &to, false).await;
    assert_eq!(got.err(), Some(ErrorKind::Body));
    assert!(!conn.ready());
    let addr = server(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"]).await;
    let mut conn = conn_to(addr).await;
    assert!(conn
        .exchange(&op(Method::GET, None), &to, false)
        .await
        .is_ok());
    // The server has closed: the idle connection learns it before the next request.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(!conn.ready());
}
