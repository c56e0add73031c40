//! The HTTP/1.1 driver on hyper: keep-alive connections to one or more endpoints
//! (server replicas), plain or over TLS, GET and PUT of objects (and a url workload's
//! requests, with their headers), errors classified by kind.
//!
//! A session keeps at most one connection per endpoint and opens it lazily, so a closed
//! user holds one connection and an open-model pool slot holds one too. Response bodies
//! are streamed and counted, and only buffered when they must be verified. Over TLS each
//! new connection's handshake is handed to the load as a [`Setup`] (`tls_handshake`),
//! timed apart from the request that needed it.

use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper::header::{AUTHORIZATION, HOST};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use versus_targets::shaping::{ByteCounters, NetProfile, Shaper};
use versus_targets::units::ByteRate;

use super::session::{Connector, Operation, Session, Setup};
use crate::record::op::{ErrorKind, OpKind, Outcome};
pub use crate::scenario::url::{Target, TargetError};
use versus_targets::tls::client::{self as wire, ClientTls, ConnectError, Destination, Wire};

/// A resolved endpoint a session can connect to.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Socket address to connect to.
    pub addr: SocketAddr,
    /// Host header value.
    pub authority: String,
    /// Bearer token sent with every request (an admin plane beyond loopback).
    pub bearer: Option<Arc<str>>,
}

impl Endpoint {
    /// `addr`, named by itself, with no token.
    pub fn at(addr: SocketAddr) -> Self {
        Endpoint {
            addr,
            authority: addr.to_string(),
            bearer: None,
        }
    }
}

/// Makes [`HttpSession`]s for a set of endpoints.
#[derive(Clone)]
pub struct HttpConnector {
    endpoints: Arc<[Endpoint]>,
    /// Where each endpoint's connections go (with TLS, the name to check).
    destinations: Arc<[Destination]>,
    /// Each user's download cap, applied on the harness side of the connection.
    download_cap: Option<ByteRate>,
    /// Per user (slot), a cap of its own instead of `download_cap` (peer classes).
    user_caps: Arc<[Option<ByteRate>]>,
    /// Counts the wire bytes of every session.
    shaper: Shaper,
}

impl HttpConnector {
    /// A connector for `endpoints`; with `download_cap`, each user gets its own cap.
    pub fn new(endpoints: Vec<Endpoint>, download_cap: Option<ByteRate>) -> Self {
        let destinations = endpoints
            .iter()
            .map(|e| Destination {
                addr: e.addr,
                tls: None,
            })
            .collect();
        Self {
            endpoints: endpoints.into(),
            destinations,
            download_cap,
            user_caps: Vec::new().into(),
            shaper: Shaper::unshaped(),
        }
    }

    /// The same connector with user (slot) i capped at `caps[i]` (cycling), in place
    /// of the one cap for all; no change when `caps` is empty.
    pub fn with_user_downloads(mut self, caps: &[Option<ByteRate>]) -> Self {
        self.user_caps = caps.into();
        self
    }

    /// The same connector speaking TLS with `tls` to every endpoint, each endpoint's
    /// certificate checked against the host of its authority.
    pub fn with_tls(mut self, tls: &ClientTls) -> Result<Self, String> {
        self.destinations = self
            .endpoints
            .iter()
            .map(|e| Destination::new(e.addr, &e.authority, Some(tls)))
            .collect::<Result<_, _>>()?;
        Ok(self)
    }

    /// Wire bytes sent and received by every session so far.
    pub fn counters(&self) -> Arc<ByteCounters> {
        self.shaper.counters().clone()
    }
}

impl Connector for HttpConnector {
    type Session = HttpSession;
    fn session(&self, slot: u64) -> HttpSession {
        let download_cap = match self.user_caps.len() {
            0 => self.download_cap,
            n => self.user_caps[(slot % n as u64) as usize],
        };
        HttpSession {
            endpoints: self.endpoints.clone(),
            destinations: self.destinations.clone(),
            connections: (0..self.endpoints.len()).map(|_| None).collect(),
            setup: None,
            // Each user gets its own download bucket, like a peer's own access link.
            shaper: match download_cap {
                Some(cap) => Shaper::new(&NetProfile {
                    download: Some(cap),
                    ..NetProfile::default()
                }),
                None => self.shaper.clone(),
            },
        }
    }
}

/// Read buffer per connection: small, because thousands of idle users each hold one.
/// hyper reads bodies through it in pieces of this size.
const READ_BUFFER: usize = 4096;

type ConnectionDriver = Connection<TokioIo<Wire>, Full<Bytes>>;

/// One keep-alive HTTP/1.1 connection. Its hyper `Connection` is polled inside the
/// user's own task while an operation runs (no task per connection, no cross-task
/// wake-up per request); between operations nothing runs for it at all.
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    driver: Pin<Box<ConnectionDriver>>,
    /// The connection has ended (closed by the server, or failed).
    ended: bool,
}

/// Awaits `fut` while driving the connection's I/O (`driver`); notes when it ends.
/// `None` when the connection ended while `fut` was still waiting: the ended connection
/// is still held here, so hyper's request handle would never learn it closed and would
/// wait forever (a server that crashed between two requests).
async fn drive<F: Future>(
    driver: &mut Pin<Box<ConnectionDriver>>,
    ended: &mut bool,
    fut: F,
) -> Option<F::Output> {
    let mut fut = pin!(fut);
    poll_fn(|cx| {
        if !*ended && driver.as_mut().poll(cx).is_ready() {
            *ended = true;
        }
        match fut.as_mut().poll(cx) {
            Poll::Ready(output) => Poll::Ready(Some(output)),
            Poll::Pending if *ended => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// One user's keep-alive connections, at most one per endpoint.
pub struct HttpSession {
    endpoints: Arc<[Endpoint]>,
    destinations: Arc<[Destination]>,
    connections: Vec<Option<Conn>>,
    shaper: Shaper,
    /// The TLS handshake the last operation did, until the load takes it.
    setup: Option<Setup>,
}

/// A TLS handshake as it is recorded.
fn handshake_setup(took: Duration, outcome: Outcome) -> Setup {
    Setup {
        kind: OpKind::TlsHandshake,
        took,
        outcome,
    }
}

impl HttpSession {
    /// A ready connection to endpoint `index`, reusing the idle one when it is still open.
    async fn connection(&mut self, index: usize) -> Result<&mut Conn, ErrorKind> {
        let slot = self.connections.get_mut(index).ok_or(ErrorKind::Connect)?;
        if let Some(conn) = slot {
            // A keep-alive connection the server has closed (`Connection: close`, idle
            // timeout) is not an error: open a new one.
            let Conn {
                sender,
                driver,
                ended,
            } = conn;
            if !*ended && matches!(drive(driver, ended, sender.ready()).await, Some(Ok(()))) {
                return slot.as_mut().ok_or(ErrorKind::Connect);
            }
        }
        let connected = match wire::connect(&self.destinations[index], &self.shaper).await {
            Ok(connected) => connected,
            Err(e @ ConnectError::Tls(..)) => {
                tracing::debug!("{e}");
                // A failed operation's duration is not recorded, only its kind.
                self.setup = Some(handshake_setup(Duration::ZERO, Err(ErrorKind::Tls)));
                return Err(ErrorKind::Tls);
            }
            Err(ConnectError::Tcp(..)) => return Err(ErrorKind::Connect),
        };
        if let Some(took) = connected.handshake {
            self.setup = Some(handshake_setup(took, Ok(0)));
        }
        let (sender, driver) = http1::Builder::new()
            .read_buf_exact_size(Some(READ_BUFFER))
            .handshake(TokioIo::new(connected.wire))
            .await
            .map_err(|_| ErrorKind::Connect)?;
        Ok(slot.insert(Conn {
            sender,
            driver: Box::pin(driver),
            ended: false,
        }))
    }

    fn request(&self, op: &Operation) -> Result<Request<Full<Bytes>>, ErrorKind> {
        let endpoint = &self.endpoints[op.endpoint];
        // hyper adds Content-Length for PUT and POST from the body's exact size.
        let mut request = Request::builder()
            .method(op.method.clone())
            .uri(Uri::from_maybe_shared(op.path.clone()).map_err(|_| ErrorKind::Http4xx)?)
            .header(HOST, endpoint.authority.as_str());
        if let Some(token) = &endpoint.bearer {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let mut request = request
            .body(Full::new(op.body.clone().unwrap_or_default()))
            .map_err(|_| ErrorKind::Http4xx)?;
        let headers = request.headers_mut();
        for (name, value) in op.headers.iter().flat_map(|h| h.iter()) {
            // A Host of the user's replaces the URL's; any other header adds to the rest.
            if name == HOST {
                headers.insert(name, value.clone());
            } else {
                headers.append(name, value.clone());
            }
        }
        Ok(request)
    }

    /// Sends `op` and reads the whole response on connection `conn`.
    async fn exchange(
        conn: &mut Conn,
        request: Request<Full<Bytes>>,
        keep: bool,
    ) -> Result<(hyper::StatusCode, u64, Option<BytesMut>), ErrorKind> {
        let Conn {
            sender,
            driver,
            ended,
        } = conn;
        let response = drive(driver, ended, sender.send_request(request))
            .await
            .ok_or(ErrorKind::Io)?
            .map_err(|_| ErrorKind::Io)?;
        let status = response.status();
        let mut body = response.into_body();
        let mut received = 0u64;
        let mut kept = keep.then(BytesMut::new);
        while let Some(frame) = drive(driver, ended, body.frame())
            .await
            .ok_or(ErrorKind::Body)?
        {
            let frame = frame.map_err(|_| ErrorKind::Body)?;
            if let Some(data) = frame.data_ref() {
                received += data.len() as u64;
                if let Some(buf) = kept.as_mut() {
                    buf.extend_from_slice(data);
                }
            }
        }
        Ok((status, received, kept))
    }
}

impl Session for HttpSession {
    async fn execute(&mut self, op: &Operation) -> Outcome {
        let request = self.request(op)?;
        let conn = self.connection(op.endpoint).await?;
        let exchanged = Self::exchange(conn, request, op.answer.needs_body()).await;
        let (status, received, kept) = match exchanged {
            Ok(e) => e,
            Err(kind) => {
                self.connections[op.endpoint] = None;
                return Err(kind);
            }
        };
        if status.is_client_error() {
            return Err(ErrorKind::Http4xx);
        }
        if status.is_server_error() {
            return Err(ErrorKind::Http5xx);
        }
        if !status.is_success() {
            // 1xx or 3xx: not what was asked for (the driver follows no redirects).
            return Err(ErrorKind::HttpOther);
        }
        op.answer.delivered(kept.as_deref(), received)
    }

    fn reset(&mut self) {
        self.connections.iter_mut().for_each(|c| *c = None);
    }

    fn take_setup(&mut self) -> Option<Setup> {
        self.setup.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let t = Target::parse("http://127.0.0.1:8080/a?b=1").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("127.0.0.1", 8080, "/a?b=1")
        );
        assert_eq!(Target::parse("http://localhost").unwrap().path, "/");
        let https = Target::parse("https://localhost/x").unwrap();
        assert_eq!(
            (https.tls, https.port, https.authority.as_str()),
            (true, 443, "localhost")
        );
        assert!(!t.tls);
        assert!(matches!(
            Target::parse("ftp://x/"),
            Err(TargetError::Scheme(..))
        ));
        assert!(Target::parse("localhost:80").is_err());
        assert!(Target::parse("http://[::1]:81/")
            .unwrap()
            .resolve()
            .unwrap()
            .is_ipv6());
    }
}
