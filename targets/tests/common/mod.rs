//! Helpers shared by the integration tests: a minimal HTTP/1.1 client over one real
//! loopback connection (hyper's low-level client), and server start-up shortcuts.

#![allow(dead_code)] // each test crate uses a different subset

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use versus_targets::server::{self, RunningServer, ServerArgs};

/// Starts a server in-process with the given options.
pub async fn start(args: ServerArgs) -> RunningServer {
    server::start(args).await.expect("server starts")
}

/// One keep-alive HTTP/1.1 connection.
pub struct Client {
    addr: SocketAddr,
    sender: SendRequest<Full<Bytes>>,
}

/// A response, with its body collected (or the error that cut it short).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Result<Bytes, String>,
}

impl Reply {
    /// The body, which must have arrived whole.
    pub fn bytes(&self) -> Bytes {
        self.body.clone().expect("complete body")
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.bytes()).expect("JSON body")
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header").to_string())
    }
}

impl Client {
    /// Opens a connection to `addr`.
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self::over(addr, stream).await
    }

    /// Opens an HTTPS connection to `addr` (127.0.0.1) trusting `tls`; the TLS
    /// handshake's error when it fails.
    pub async fn connect_tls(
        addr: SocketAddr,
        tls: &versus_targets::tls::client::ClientTls,
    ) -> Result<Client, versus_targets::tls::client::ConnectError> {
        use versus_targets::tls::client::{connect, Destination};
        let to = Destination::new(addr, &addr.to_string(), Some(tls)).expect("an IP address");
        let connected = connect(&to, &versus_targets::shaping::Shaper::unshaped()).await?;
        Ok(Self::over(addr, connected.wire).await)
    }

    async fn over<S>(addr: SocketAddr, io: S) -> Client
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, conn) = http1::handshake(TokioIo::new(io)).await.expect("handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Client { addr, sender }
    }

    /// Sends one request and collects the response.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Reply {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string());
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req.body(Full::new(body)).expect("valid request");
        self.sender.ready().await.expect("connection ready");
        let response = self.sender.send_request(req).await.expect("response");
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map(|c| c.to_bytes())
            .map_err(|e| e.to_string());
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.send(Method::GET, path, &[], Bytes::new()).await
    }

    /// PUTs `bytes` and returns the id from the 201 answer.
    pub async fn put(&mut self, bytes: Bytes) -> String {
        let reply = self.send(Method::PUT, "/objects", &[], bytes).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.json()["id"].as_str().expect("id").to_string()
    }
}

/// Deterministic test bytes.
pub fn sample(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| {
            (i as u64)
                .wrapping_mul(2654435761)
                .wrapping_add(u64::from(seed)) as u8
                ^ (i >> 9) as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

/// Fetches the admin plane's /metrics text.
pub async fn metrics_text(server: &RunningServer) -> String {
    let reply = Client::connect(server.admin_addr())
        .await
        .get("/metrics")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    String::from_utf8(reply.bytes().to_vec()).expect("UTF-8 metrics")
}
