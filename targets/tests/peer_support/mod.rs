//! Helpers for the peer integration tests: real peers, each on its own thread with its own
//! current-thread Tokio runtime (as `versus peer` runs), and a minimal HTTP client for
//! their admin planes. Everything a test starts is stopped when its handle drops.

#![allow(dead_code)] // each test crate uses a different subset

pub mod hostile;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use libp2p::{Multiaddr, PeerId};
use tokio::net::TcpStream;
use versus_targets::peer::{self, PeerArgs};

/// Longest one admin request may take in a test.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(90);

/// A peer running on its own thread and runtime.
pub struct TestPeer {
    pub peer_id: PeerId,
    pub addr: Multiaddr,
    pub admin: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestPeer {
    /// Starts a peer with `args` and waits until it is ready.
    pub fn spawn(args: PeerArgs) -> TestPeer {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread runtime");
            runtime.block_on(async move {
                let running = match peer::start(args).await {
                    Ok(running) => running,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("{e:#}")));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok((
                    running.peer_id(),
                    running.listen_addr().clone(),
                    running.admin_addr(),
                )));
                let _ = stop_rx.await;
                if let Err(e) = running.shutdown().await {
                    eprintln!("peer shutdown failed: {e:#}");
                }
            });
        });
        let (peer_id, addr, admin) = ready_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the peer reports within 30 s")
            .expect("the peer starts");
        TestPeer {
            peer_id,
            addr,
            admin,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Starts a peer that joins the swarm through `bootstrap`.
    pub fn joining(bootstrap: &TestPeer, mut args: PeerArgs) -> TestPeer {
        args.bootstrap = vec![bootstrap.addr.clone()];
        TestPeer::spawn(args)
    }

    /// Stops the peer and waits for its thread.
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// `POST /objects`: publishes `bytes`, returns the id text.
    pub async fn publish(&self, bytes: Bytes) -> String {
        let (status, body) = http(self.admin, Method::POST, "/objects", bytes).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&body)
        );
        let json: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        json["id"].as_str().expect("an id").to_string()
    }

    /// `POST /fetch/{id}`: status and JSON body.
    pub async fn fetch(&self, id: &str) -> (StatusCode, serde_json::Value) {
        let (status, body) = http(
            self.admin,
            Method::POST,
            &format!("/fetch/{id}"),
            Bytes::new(),
        )
        .await;
        let json = serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!(
                "fetch answered non-JSON ({e}): {}",
                String::from_utf8_lossy(&body)
            )
        });
        (status, json)
    }

    /// `GET /objects/{id}`: the object's bytes.
    pub async fn object(&self, id: &str) -> Bytes {
        let (status, body) = http(
            self.admin,
            Method::GET,
            &format!("/objects/{id}"),
            Bytes::new(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        body
    }

    /// `GET /metrics` text.
    pub async fn metrics(&self) -> String {
        let (status, body) = http(self.admin, Method::GET, "/metrics", Bytes::new()).await;
        assert_eq!(status, StatusCode::OK);
        String::from_utf8(body.to_vec()).expect("UTF-8 metrics")
    }

    /// `GET /status` JSON.
    pub async fn status(&self) -> serde_json::Value {
        let (status, body) = http(self.admin, Method::GET, "/status", Bytes::new()).await;
        assert_eq!(status, StatusCode::OK);
        serde_json::from_slice(&body).expect("JSON status")
    }
}

/// Several peers in one runtime on one thread, as `versus peers` hosts them. The peers
/// are [`TestPeer`]s without a thread of their own; dropping the host stops them all.
pub struct TestHost {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestHost {
    /// Starts one peer per `args` in one current-thread runtime and waits until all are
    /// ready; returns the host and its peers, in order.
    pub fn spawn(args: Vec<PeerArgs>) -> (TestHost, Vec<TestPeer>) {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread runtime");
            runtime.block_on(async move {
                let running = match peer::host::start_all(args).await {
                    Ok(running) => running,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("{e:#}")));
                        return;
                    }
                };
                let addresses = running
                    .iter()
                    .map(|p| (p.peer_id(), p.listen_addr().clone(), p.admin_addr()))
                    .collect::<Vec<_>>();
                let _ = ready_tx.send(Ok(addresses));
                let _ = stop_rx.await;
                for peer in running {
                    if let Err(e) = peer.shutdown().await {
                        eprintln!("hosted peer shutdown failed: {e:#}");
                    }
                }
            });
        });
        let addresses = ready_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the host reports within 60 s")
            .expect("the host starts");
        let peers = addresses
            .into_iter()
            .map(|(peer_id, addr, admin)| TestPeer {
                peer_id,
                addr,
                admin,
                stop: None,
                thread: None,
            })
            .collect();
        let host = TestHost {
            stop: Some(stop),
            thread: Some(thread),
        };
        (host, peers)
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TestPeer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// One HTTP/1.1 request on a fresh connection; panics after [`HTTP_TIMEOUT`].
pub async fn http(
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: Bytes,
) -> (StatusCode, Bytes) {
    let exchange = async {
        let stream = TcpStream::connect(addr)
            .await
            .expect("connect to the admin plane");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("HTTP handshake");
        tokio::spawn(conn);
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr.to_string())
            .body(Full::new(body))
            .expect("a valid request");
        let response = sender.send_request(request).await.expect("a response");
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("the whole body")
            .to_bytes();
        (status, body)
    };
    tokio::time::timeout(HTTP_TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| panic!("{path} on {addr} took longer than {HTTP_TIMEOUT:?}"))
}

/// `len` bytes that differ from one test to the next (`salt`).
pub fn sample(len: usize, salt: u8) -> Bytes {
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(salt);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect::<Vec<_>>()
        .into()
}

/// Reads `series` from metrics text, 0 if absent.
pub fn metric(text: &str, series: &str) -> f64 {
    versus_targets::metrics::sample(text, series).unwrap_or(0.0)
}
