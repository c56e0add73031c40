//! The client side: the byte stream under one of the harness's HTTP connections —
//! TCP through a [`Shaper`] (which applies the user's download cap and counts wire
//! bytes), with TLS on top when the target speaks HTTPS, so the counted bytes include
//! TLS's overhead.
//!
//! [`ClientTls`] is whom a run trusts; a [`Destination`] is an address and, with TLS,
//! the name its certificate must carry. [`connect`] opens one [`Wire`] and times the
//! TLS handshake apart from the TCP connect.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;

use super::{ServerNameOwned, TlsConnector, TlsError, Trust};
use crate::shaping::{ShapedStream, Shaper};

/// TLS towards a target: whom to trust. Cheap to clone.
#[derive(Clone)]
pub struct ClientTls {
    connector: TlsConnector,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientTls(…)")
    }
}

impl ClientTls {
    /// A client that trusts `trust` (reads its certificate file now).
    pub fn new(trust: &Trust) -> Result<Self, TlsError> {
        Ok(Self {
            connector: TlsConnector::from(super::client_config(trust)?),
        })
    }

    /// The same trust, offering ALPN `h2` before `http/1.1`: the server picks HTTP/2 or
    /// HTTP/1.1, and [`Wire::alpn`] says which.
    pub fn offering_h2(&self) -> Self {
        let mut config = (**self.connector.config()).clone();
        config.alpn_protocols = vec![super::ALPN_H2.to_vec(), super::ALPN_HTTP1.to_vec()];
        Self {
            connector: TlsConnector::from(std::sync::Arc::new(config)),
        }
    }
}

/// Where to connect, and with TLS the name the certificate must carry.
#[derive(Clone, Debug)]
pub struct Destination {
    /// The socket address.
    pub addr: SocketAddr,
    /// With TLS: the client and the expected server name.
    pub tls: Option<(ClientTls, ServerNameOwned)>,
}

impl Destination {
    /// Plain TCP to `addr`.
    pub fn plain(addr: SocketAddr) -> Self {
        Self { addr, tls: None }
    }

    /// A destination at `addr`; with `tls`, the certificate must name the host of
    /// `authority` (`host:port`, as in a Host header).
    pub fn new(addr: SocketAddr, authority: &str, tls: Option<&ClientTls>) -> Result<Self, String> {
        let tls = match tls {
            None => None,
            Some(client) => {
                let host = authority
                    .parse::<http::uri::Authority>()
                    .map_err(|e| format!("{authority:?} is not host:port: {e}"))?
                    .host()
                    .to_string();
                Some((client.clone(), super::server_name(&host)?))
            }
        };
        Ok(Self { addr, tls })
    }
}

/// A stream that could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The TCP connection failed.
    #[error("cannot connect to {0}: {1}")]
    Tcp(SocketAddr, io::Error),
    /// The TLS handshake failed.
    #[error("the TLS handshake with {0} failed: {1}")]
    Tls(SocketAddr, io::Error),
}

impl ConnectError {
    /// Whether it failed because the server's certificate was not trusted.
    pub fn is_certificate(&self) -> bool {
        matches!(self, ConnectError::Tls(_, e) if super::is_certificate_error(e))
    }
}

/// An open stream, and how long its TLS handshake took (`None` without TLS).
pub struct Connected {
    /// The stream.
    pub wire: Wire,
    /// The TLS handshake's duration, from the end of the TCP connect.
    pub handshake: Option<Duration>,
}

/// Connects to `to` through `shaper` (with a route for `to`'s address, its latencies
/// both ways), with a TLS handshake on top when `to` has TLS.
pub async fn connect(to: &Destination, shaper: &Shaper) -> Result<Connected, ConnectError> {
    let stream = TcpStream::connect(to.addr)
        .await
        .map_err(|e| ConnectError::Tcp(to.addr, e))?;
    let _ = stream.set_nodelay(true);
    let shaped = shaper.wrap_outbound(stream, to.addr.ip());
    let Some((client, name)) = &to.tls else {
        return Ok(Connected {
            wire: Wire::Plain(shaped),
            handshake: None,
        });
    };
    let started = Instant::now();
    let stream = client
        .connector
        .connect(name.clone(), shaped)
        .await
        .map_err(|e| ConnectError::Tls(to.addr, e))?;
    Ok(Connected {
        wire: Wire::Tls(Box::new(stream)),
        handshake: Some(started.elapsed()),
    })
}

/// A shaped TCP stream, plain or under TLS.
#[derive(Debug)]
pub enum Wire {
    /// Plain HTTP.
    Plain(ShapedStream<TcpStream>),
    /// HTTPS (boxed: a TLS session holds its buffers and state).
    Tls(Box<TlsStream<ShapedStream<TcpStream>>>),
}

impl Wire {
    /// The application protocol the TLS handshake agreed on (ALPN), such as `h2`;
    /// `None` for plain TCP or when the server chose none.
    pub fn alpn(&self) -> Option<&[u8]> {
        match self {
            Wire::Plain(_) => None,
            Wire::Tls(s) => s.get_ref().1.alpn_protocol(),
        }
    }
}

impl AsyncRead for Wire {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Wire::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Wire::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Wire {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Wire::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Wire::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Wire::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Wire::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Wire::Plain(s) => s.is_write_vectored(),
            Wire::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Wire::Plain(s) => Pin::new(s).poll_flush(cx),
            Wire::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Wire::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Wire::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
