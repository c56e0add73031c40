//! The HTTP driver: keep-alive connections to one or more endpoints (server
//! replicas), plain or over TLS, HTTP/1.1 on the driver's own client (see
//! [`super::http1`]) or — for a url workload with `--http2` — HTTP/2 on hyper's (see
//! [`super::http2`]); GET and PUT of objects (and a url workload's requests, with their
//! headers), errors classified by kind.
//!
//! Over HTTP/1.1 a session keeps at most one connection per endpoint and opens it
//! lazily, so a closed user holds one connection and an open-model pool slot holds one
//! too. Over HTTP/2, `streams` sessions share each connection. Response bodies are
//! streamed and counted, and only buffered when they must be verified. Over TLS each
//! new connection's handshake is handed to the load as a [`Setup`] (`tls_handshake`),
//! timed apart from the request that needed it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::Full;
use hyper::header::{HeaderValue, AUTHORIZATION, HOST};
use hyper::http::uri::{self, PathAndQuery};
use hyper::{Request, StatusCode, Uri};
use versus_targets::shaping::{ByteCounters, NetProfile, Shaper};
use versus_targets::tls::ALPN_H2;
use versus_targets::units::ByteRate;

use super::http1::{Conn, HeadOf};
use super::http2::{self, Group, Http2};
use super::session::{Connector, Operation, Session, Setup};
use crate::plan::regions::UserLatency;
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

/// The headers every request to one endpoint carries, made once (`None`: a value a
/// header cannot carry, which fails every request to the endpoint).
struct EndpointHeaders {
    host: Option<HeaderValue>,
    authorization: Option<Option<HeaderValue>>,
}

impl EndpointHeaders {
    fn of(endpoint: &Endpoint) -> Self {
        Self {
            host: HeaderValue::from_str(&endpoint.authority).ok(),
            authorization: endpoint
                .bearer
                .as_ref()
                .map(|token| HeaderValue::from_str(&format!("Bearer {token}")).ok()),
        }
    }
}

/// Connections the users opened, by the protocol they spoke (counted per connection,
/// never per request).
#[derive(Debug, Default)]
pub struct ProtocolCounts {
    http1: AtomicU64,
    http2: AtomicU64,
}

impl ProtocolCounts {
    /// HTTP/1.1 connections opened so far.
    pub fn http1(&self) -> u64 {
        self.http1.load(Ordering::Relaxed)
    }

    /// HTTP/2 connections opened so far.
    pub fn http2(&self) -> u64 {
        self.http2.load(Ordering::Relaxed)
    }
}

/// Makes [`HttpSession`]s for a set of endpoints.
#[derive(Clone)]
pub struct HttpConnector {
    /// What every session shares, one pointer per session.
    shared: Arc<Shared>,
    /// Each user's download cap, applied on the harness side of the connection.
    download_cap: Option<ByteRate>,
    /// Per user (slot), a cap of its own instead of `download_cap` (peer classes).
    user_caps: Arc<[Option<ByteRate>]>,
    /// Per user (slot), the latencies of its region (regions, client-server).
    user_latency: Option<Arc<UserLatency>>,
    /// Counts the wire bytes of every session.
    shaper: Shaper,
}

/// What the sessions of a connector share.
#[derive(Clone)]
struct Shared {
    endpoints: Arc<[Endpoint]>,
    headers: Arc<[EndpointHeaders]>,
    /// Where each endpoint's connections go (with TLS, the name to check).
    destinations: Arc<[Destination]>,
    /// With `--http2`: streams per connection and the groups sharing them.
    http2: Option<Http2>,
    protocols: Arc<ProtocolCounts>,
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
        let shared = Shared {
            headers: endpoints.iter().map(EndpointHeaders::of).collect(),
            endpoints: endpoints.into(),
            destinations,
            http2: None,
            protocols: Arc::default(),
        };
        Self {
            shared: Arc::new(shared),
            download_cap,
            user_caps: Vec::new().into(),
            user_latency: None,
            shaper: Shaper::unshaped(),
        }
    }

    /// The same connector with user (slot) i capped at `caps[i]` (cycling), in place
    /// of the one cap for all; no change when `caps` is empty.
    pub fn with_user_downloads(mut self, caps: &[Option<ByteRate>]) -> Self {
        self.user_caps = caps.into();
        self
    }

    /// The same connector with user (slot) i's connections getting the latencies of
    /// `latency.routes[i]` (cycling), both ways; no change for `None` or no routes.
    pub fn with_user_latency(mut self, latency: Option<&UserLatency>) -> Self {
        self.user_latency = latency
            .filter(|l| !l.routes.is_empty())
            .map(|l| Arc::new(l.clone()));
        self
    }

    /// The same connector speaking TLS with `tls` to every endpoint, each endpoint's
    /// certificate checked against the host of its authority.
    pub fn with_tls(mut self, tls: &ClientTls) -> Result<Self, String> {
        let mut shared = Shared::clone(&self.shared);
        shared.destinations = shared
            .endpoints
            .iter()
            .map(|e| Destination::new(e.addr, &e.authority, Some(tls)))
            .collect::<Result<_, _>>()?;
        self.shared = Arc::new(shared);
        Ok(self)
    }

    /// The same connector speaking HTTP/2, `streams` sessions per connection: h2c with
    /// prior knowledge without TLS; over TLS HTTP/2 when the server picks ALPN `h2`
    /// (give [`with_tls`](Self::with_tls) a client [offering it](ClientTls::offering_h2)),
    /// HTTP/1.1 when it does not.
    pub fn with_http2(mut self, streams: u32) -> Result<Self, String> {
        let mut shared = Shared::clone(&self.shared);
        let authorities: Vec<&str> = shared
            .endpoints
            .iter()
            .map(|e| e.authority.as_str())
            .collect();
        let tls = shared.destinations.iter().any(|d| d.tls.is_some());
        shared.http2 = Some(Http2::new(streams, &authorities, tls)?);
        self.shared = Arc::new(shared);
        Ok(self)
    }

    /// Wire bytes sent and received by every session so far.
    pub fn counters(&self) -> Arc<ByteCounters> {
        self.shaper.counters().clone()
    }

    /// Connections opened so far, by protocol.
    pub fn protocols(&self) -> Arc<ProtocolCounts> {
        self.shared.protocols.clone()
    }
}

impl Connector for HttpConnector {
    type Session = HttpSession;
    fn session(&self, slot: u64) -> HttpSession {
        let shared = &self.shared;
        let download_cap = match self.user_caps.len() {
            0 => self.download_cap,
            n => self.user_caps[(slot % n as u64) as usize],
        };
        HttpSession {
            links: (0..shared.endpoints.len()).map(|_| Link::Idle).collect(),
            setup: None,
            group: shared.http2.as_ref().map(Http2::join),
            shared: shared.clone(),
            // Each user gets its own download bucket, like a peer's own access link, and
            // with regions its own region's latencies.
            // Its bytes still count into the connector's counters.
            shaper: match (download_cap, &self.user_latency) {
                (None, None) => self.shaper.clone(),
                (download, None) => Shaper::new(&NetProfile {
                    download,
                    ..NetProfile::default()
                })
                .counting_into(self.shaper.counters()),
                (download, Some(l)) => Shaper::new(&NetProfile {
                    download,
                    jitter: l.jitter,
                    ..NetProfile::default()
                })
                .with_routes(&l.routes[(slot % l.routes.len() as u64) as usize])
                .counting_into(self.shaper.counters()),
            },
        }
    }
}

/// A session's connection to one endpoint.
enum Link {
    /// None yet (or dropped after a failure).
    Idle,
    /// Its own HTTP/1.1 connection.
    Http1(Conn),
    /// A sender on its group's shared HTTP/2 connection.
    Http2(http2::Sender),
}

/// One user's keep-alive connections, at most one per endpoint.
pub struct HttpSession {
    shared: Arc<Shared>,
    links: Box<[Link]>,
    shaper: Shaper,
    /// The TLS handshake the last operation did, until the load takes it.
    setup: Option<Setup>,
    /// With HTTP/2: the sessions this one shares connections with.
    group: Option<Arc<Group>>,
}

/// A TLS handshake as it is recorded.
fn handshake_setup(took: Duration, outcome: Outcome) -> Setup {
    Setup {
        kind: OpKind::TlsHandshake,
        took,
        outcome,
    }
}

/// A response's status and what its body delivered.
pub(super) type Exchanged = (StatusCode, Received);

/// What a response's body delivered: its length, and the body itself when it must be
/// checked.
pub(super) struct Received {
    /// Body bytes.
    pub(super) bytes: u64,
    /// The body, when kept.
    pub(super) kept: Option<BytesMut>,
}

impl Received {
    /// Nothing yet; the body is kept when `keep`.
    pub(super) fn new(keep: bool) -> Self {
        Self {
            bytes: 0,
            kept: keep.then(BytesMut::new),
        }
    }

    /// Counts one body frame's data (and keeps it).
    pub(super) fn add(
        &mut self,
        frame: Result<hyper::body::Frame<Bytes>, hyper::Error>,
    ) -> Result<(), ErrorKind> {
        let frame = frame.map_err(|_| ErrorKind::Body)?;
        if let Some(data) = frame.data_ref() {
            self.add_slice(data);
        }
        Ok(())
    }

    /// Counts body bytes (and keeps them).
    pub(super) fn add_slice(&mut self, data: &[u8]) {
        self.bytes += data.len() as u64;
        if let Some(buf) = self.kept.as_mut() {
            buf.extend_from_slice(data);
        }
    }
}

/// How a session reaches an endpoint over HTTP/2: the shared connection, or its own
/// HTTP/1.1 connection when the server chose HTTP/1.1.
enum Route {
    Http2(http2::Sender),
    Http1,
}

impl HttpSession {
    /// A new stream of bytes to endpoint `index` (TCP, and TLS over it), its TLS
    /// handshake noted as the operation's set-up.
    async fn open(&mut self, index: usize) -> Result<Wire, ErrorKind> {
        let to = self
            .shared
            .destinations
            .get(index)
            .ok_or(ErrorKind::Connect)?;
        let connected = match wire::connect(to, &self.shaper).await {
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
        Ok(connected.wire)
    }

    /// Makes sure endpoint `index` has a ready HTTP/1.1 connection, reusing the idle one
    /// when it is still open.
    async fn connection(&mut self, index: usize) -> Result<(), ErrorKind> {
        let reusable = match self.links.get_mut(index) {
            Some(Link::Http1(conn)) => conn.ready(),
            _ => false,
        };
        if !reusable {
            // Boxed: connecting (a TLS handshake) is rare and its state large; the
            // exchange that needs it stays small.
            let wire = Box::pin(self.open(index)).await?;
            let conn = self.http1(wire);
            *self.links.get_mut(index).ok_or(ErrorKind::Connect)? = Link::Http1(conn);
        }
        Ok(())
    }

    /// An HTTP/1.1 connection over `wire`, counted.
    fn http1(&self, wire: Wire) -> Conn {
        self.shared.protocols.http1.fetch_add(1, Ordering::Relaxed);
        Conn::new(wire)
    }

    /// How to reach endpoint `index` over HTTP/2: this session's sender while its
    /// connection is open, else the group's (opening it when nobody has).
    async fn route(&mut self, index: usize) -> Result<Route, ErrorKind> {
        match self.links.get(index) {
            Some(Link::Http1(_)) => return Ok(Route::Http1),
            Some(Link::Http2(sender)) if !sender.is_closed() => {
                return Ok(Route::Http2(sender.clone()))
            }
            _ => {}
        }
        let group = self.group.clone().ok_or(ErrorKind::Connect)?;
        let mut slot = group.slot(index).await.ok_or(ErrorKind::Connect)?;
        if let Some(sender) = slot.open_sender() {
            self.links[index] = Link::Http2(sender.clone());
            return Ok(Route::Http2(sender));
        }
        if slot.http1_only {
            drop(slot);
            return Ok(Route::Http1);
        }
        let wire = self.open(index).await?;
        let picked_h2 = match &wire {
            Wire::Plain(_) => true,
            Wire::Tls(_) => wire.alpn() == Some(ALPN_H2),
        };
        if !picked_h2 {
            // The server chose HTTP/1.1: one connection per session, as without --http2.
            slot.http1_only = true;
            drop(slot);
            self.links[index] = Link::Http1(self.http1(wire));
            return Ok(Route::Http1);
        }
        let sender = slot.connect(wire).await?;
        self.shared.protocols.http2.fetch_add(1, Ordering::Relaxed);
        self.links[index] = Link::Http2(sender.clone());
        Ok(Route::Http2(sender))
    }

    /// The HTTP/2 request of `op`: absolute (`:scheme`, `:authority`).
    fn request(&self, op: &Operation) -> Result<Request<Full<Bytes>>, ErrorKind> {
        let shared = &self.shared;
        let endpoint = shared.headers.get(op.endpoint).ok_or(ErrorKind::Connect)?;
        let h2 = shared.http2.as_ref().ok_or(ErrorKind::Connect)?;
        let (scheme, authority) = h2.origins.get(op.endpoint).ok_or(ErrorKind::Connect)?;
        let mut parts = uri::Parts::default();
        parts.scheme = Some(scheme.clone());
        parts.authority = Some(authority.clone());
        parts.path_and_query =
            Some(PathAndQuery::from_maybe_shared(op.path.clone()).map_err(|_| ErrorKind::Http4xx)?);
        let uri = Uri::from_parts(parts).map_err(|_| ErrorKind::Http4xx)?;
        // hyper adds Content-Length for PUT and POST from the body's exact size.
        let mut request = Request::new(Full::new(op.body.clone().unwrap_or_default()));
        *request.method_mut() = op.method.clone();
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        if let Some(token) = &endpoint.authorization {
            headers.insert(AUTHORIZATION, token.clone().ok_or(ErrorKind::Http4xx)?);
        }
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

    /// `op` over HTTP/1.1, on this session's own connection.
    async fn exchange_http1(&mut self, op: &Operation) -> Result<Exchanged, ErrorKind> {
        self.connection(op.endpoint).await?;
        let HttpSession { shared, links, .. } = self;
        let Some(Link::Http1(conn)) = links.get_mut(op.endpoint) else {
            return Err(ErrorKind::Connect);
        };
        let endpoint = shared.headers.get(op.endpoint).ok_or(ErrorKind::Connect)?;
        let to = HeadOf {
            host: endpoint.host.as_ref().ok_or(ErrorKind::Http4xx)?,
            authorization: match &endpoint.authorization {
                Some(token) => Some(token.as_ref().ok_or(ErrorKind::Http4xx)?),
                None => None,
            },
        };
        conn.exchange(op, &to, op.answer.needs_body()).await
    }

    /// `op` over HTTP/2 (HTTP/1.1 when the server chose it). A request the server never
    /// processed (its connection was closing) is sent once more, on the next connection.
    async fn exchange_http2(&mut self, op: &Operation) -> Result<Exchanged, ErrorKind> {
        for attempt in 0..2 {
            let mut sender = match self.route(op.endpoint).await? {
                Route::Http1 => return self.exchange_http1(op).await,
                Route::Http2(sender) => sender,
            };
            let request = self.request(op)?;
            match sender.send_request(request).await {
                Ok(response) => return http2::read(response, op.answer.needs_body()).await,
                Err(e) if attempt == 0 && http2::unprocessed(&e) => {
                    tracing::debug!("HTTP/2 request not processed, sent again: {e}");
                    self.links[op.endpoint] = Link::Idle;
                }
                Err(_) => return Err(ErrorKind::Io),
            }
        }
        Err(ErrorKind::Io)
    }
}

impl Session for HttpSession {
    async fn execute(&mut self, op: &Operation) -> Outcome {
        let exchanged = if self.group.is_some() {
            // Boxed: HTTP/2's state (hyper's request, a connection being opened) is
            // large, and an HTTP/1.1 operation's future need not carry room for it.
            Box::pin(self.exchange_http2(op)).await
        } else {
            self.exchange_http1(op).await
        };
        let (status, received) = match exchanged {
            Ok(e) => e,
            Err(kind) => {
                if let Some(link) = self.links.get_mut(op.endpoint) {
                    *link = Link::Idle;
                }
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
        op.answer
            .delivered(received.kept.as_deref(), received.bytes)
    }

    fn reset(&mut self) {
        self.links.iter_mut().for_each(|c| *c = Link::Idle);
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
