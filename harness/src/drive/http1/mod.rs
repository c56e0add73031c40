//! One keep-alive HTTP/1.1 connection of the driver: a small client of its own, as
//! wrk's is, instead of hyper's (whose connection costs some 12 KiB of buffers while
//! idle and a channel, a header map and a body channel per request).
//!
//! A request's head is written straight from the [`Operation`] into a reused buffer;
//! the response head is parsed in place (httparse) and its body framed as RFC 9112
//! says (no body for HEAD, 1xx, 204 and 304; chunked; `Content-Length`; else until the
//! connection closes). Between operations a connection holds no buffer at all: the
//! buffers are pooled per worker thread (see [`super::buffers`]) and taken only while
//! an exchange runs, so thousands of idle users cost little memory.

use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Waker};

use bytes::{Buf, BytesMut};
use hyper::header::{HeaderName, HeaderValue, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use hyper::{Method, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use versus_targets::tls::client::Wire;

use super::buffers::{self, Pooled};
use super::http::{Exchanged, Received};
use super::session::Operation;
use crate::record::op::ErrorKind;

/// The largest response head (status line and headers) accepted.
const MAX_HEAD: usize = 64 * 1024;
/// The most headers a response head may have.
const MAX_HEADERS: usize = 100;
/// A request body up to this size is written with its head, in one write.
const INLINE_BODY: usize = 16 * 1024;

/// The headers every request to one endpoint carries, besides the operation's own.
pub(super) struct HeadOf<'a> {
    /// The Host header's value (replaced by a `Host` among the operation's headers).
    pub(super) host: &'a HeaderValue,
    /// An Authorization header's value, when the endpoint needs one.
    pub(super) authorization: Option<&'a HeaderValue>,
}

/// Writes the HTTP/1.1 request head of `op` into `out` (cleared first). A request with
/// a body, or a POST, PUT or PATCH, says its `Content-Length` (unless the operation's
/// own headers frame it), as hyper did.
pub(super) fn encode_head(
    op: &Operation,
    endpoint: &HeadOf<'_>,
    out: &mut Vec<u8>,
) -> Result<(), ErrorKind> {
    // A path comes from a parsed URL; a control byte or a space would split the line.
    if op.path.is_empty() || op.path.iter().any(|b| *b <= b' ' || *b == 0x7f) {
        return Err(ErrorKind::Http4xx);
    }
    out.clear();
    out.extend_from_slice(op.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(&op.path);
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let own: &[(HeaderName, HeaderValue)] = op.headers.as_deref().unwrap_or(&[]);
    if !own.iter().any(|(name, _)| name == HOST) {
        header(out, HOST.as_str(), endpoint.host);
    }
    if let Some(token) = endpoint.authorization {
        header(out, "authorization", token);
    }
    for (name, value) in own {
        header(out, name.as_str(), value);
    }
    let framed = own
        .iter()
        .any(|(name, _)| name == CONTENT_LENGTH || name == TRANSFER_ENCODING);
    let wants_length = matches!(op.method, Method::POST | Method::PUT | Method::PATCH);
    if !framed && (op.body.is_some() || wants_length) {
        let length = op.body.as_ref().map_or(0, |b| b.len());
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(length.to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

fn header(out: &mut Vec<u8>, name: &str, value: &HeaderValue) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// One keep-alive HTTP/1.1 connection.
pub(super) struct Conn {
    wire: Wire,
    /// The connection can carry another request: the last response ended cleanly on a
    /// connection both sides keep open.
    reusable: bool,
}

impl Conn {
    /// An HTTP/1.1 connection over `wire`.
    pub(super) fn new(wire: Wire) -> Self {
        Conn {
            wire,
            reusable: true,
        }
    }

    /// Whether the connection can take the next request. A keep-alive connection the
    /// server has closed (`Connection: close`, an idle timeout) cannot: it is not an
    /// error, the caller opens a new one. Never waits: the socket is asked once whether
    /// it has ended (which costs no system call while nothing arrived).
    pub(super) fn ready(&mut self) -> bool {
        if !self.reusable {
            return false;
        }
        let mut byte = [0u8; 1];
        let mut buf = ReadBuf::new(&mut byte);
        let mut cx = Context::from_waker(Waker::noop());
        // Pending: nothing to read, the connection is open and idle. Anything else (the
        // end of the stream, an error, bytes nobody asked for) ends it.
        self.reusable = Pin::new(&mut self.wire)
            .poll_read(&mut cx, &mut buf)
            .is_pending();
        self.reusable
    }

    /// Sends `op` to the endpoint `to` and reads the whole response; the body is kept
    /// when `keep`.
    pub(super) async fn exchange(
        &mut self,
        op: &Operation,
        to: &HeadOf<'_>,
        keep: bool,
    ) -> Result<Exchanged, ErrorKind> {
        let mut buffers = buffers::take();
        let exchanged = self.exchange_with(op, to, keep, &mut buffers).await;
        buffers::give(buffers);
        exchanged
    }

    async fn exchange_with(
        &mut self,
        op: &Operation,
        to: &HeadOf<'_>,
        keep: bool,
        buffers: &mut Pooled,
    ) -> Result<Exchanged, ErrorKind> {
        encode_head(op, to, buffers.write())?;
        // Until the response has been read to its end, the connection is not reusable
        // (an exchange cut short by a timeout leaves it so).
        self.reusable = false;
        let sent = self.send(op, buffers.write()).await;
        let mut reader = Reader {
            wire: &mut self.wire,
            buf: buffers.read(),
            chunk: buffers::READ_FIRST,
        };
        match reader.response(op.method == Method::HEAD, keep).await {
            Ok((exchanged, reusable)) => {
                self.reusable = reusable && sent.is_ok() && reader.buf.is_empty();
                Ok(exchanged)
            }
            // A server may answer before it read the whole request, and close: its
            // answer is taken; without one, the failed send is the error.
            Err(kind) => Err(if sent.is_err() { ErrorKind::Io } else { kind }),
        }
    }

    /// Writes the request whose head is in `out`: with its body when small, in one write.
    async fn send(&mut self, op: &Operation, out: &mut Vec<u8>) -> std::io::Result<()> {
        let body = op.body.as_deref().unwrap_or_default();
        if body.len() <= INLINE_BODY {
            out.extend_from_slice(body);
            self.wire.write_all(out).await?;
        } else {
            self.wire.write_all(out).await?;
            self.wire.write_all(body).await?;
        }
        self.wire.flush().await
    }
}

/// Reads one response from the wire into a buffer.
struct Reader<'a> {
    wire: &'a mut Wire,
    buf: &'a mut BytesMut,
    /// How much the next read asks for at least.
    chunk: usize,
}

/// How a response body is delimited.
enum Framing {
    /// No body.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Until the server closes the connection.
    Close,
}

/// What a response head says.
struct Head {
    status: StatusCode,
    framing: Framing,
    /// Both sides keep the connection open after this response.
    keep_alive: bool,
}

impl Reader<'_> {
    /// Reads more bytes into the buffer; `false` at the end of the stream. Reads start
    /// small (a small response in one read) and grow while they come back full.
    async fn fill(&mut self) -> Result<bool, std::io::Error> {
        if self.buf.capacity() - self.buf.len() < self.chunk / 2 {
            self.buf.reserve(self.chunk);
        }
        let room = self.buf.capacity() - self.buf.len();
        let n = self.wire.read_buf(self.buf).await?;
        if n == room {
            self.chunk = (self.chunk * 2).min(buffers::READ_MAX);
        }
        Ok(n > 0)
    }

    /// The whole response: its status and body, and whether the connection stays open.
    async fn response(
        &mut self,
        head_only: bool,
        keep: bool,
    ) -> Result<(Exchanged, bool), ErrorKind> {
        let head = loop {
            let head = self.head(head_only).await?;
            // Informational answers (100 Continue, 103 Early Hints) precede the real one.
            if !head.status.is_informational() || head.status == StatusCode::SWITCHING_PROTOCOLS {
                break head;
            }
        };
        if head.status == StatusCode::SWITCHING_PROTOCOLS {
            return Ok(((head.status, Received::new(false)), false));
        }
        let mut received = Received::new(keep);
        let ended = match head.framing {
            Framing::Empty => true,
            Framing::Length(n) => {
                self.exact(n, &mut received).await?;
                true
            }
            Framing::Chunked => {
                self.chunked(&mut received).await?;
                true
            }
            Framing::Close => {
                self.until_closed(&mut received).await?;
                false
            }
        };
        Ok(((head.status, received), ended && head.keep_alive))
    }

    /// Reads and parses a response head, leaving the buffer at its body.
    async fn head(&mut self, head_only: bool) -> Result<Head, ErrorKind> {
        loop {
            if !self.buf.is_empty() {
                if let Some((length, head)) = parse_head(self.buf, head_only)? {
                    self.buf.advance(length);
                    return Ok(head);
                }
                if self.buf.len() >= MAX_HEAD {
                    return Err(ErrorKind::Io);
                }
            }
            if !self.fill().await.map_err(|_| ErrorKind::Io)? {
                return Err(ErrorKind::Io);
            }
        }
    }

    /// Takes up to `n` buffered body bytes into `received`; returns how many it took.
    fn take(&mut self, n: u64, received: &mut Received) -> u64 {
        let n = n.min(self.buf.len() as u64) as usize;
        received.add_slice(&self.buf[..n]);
        self.buf.advance(n);
        n as u64
    }

    /// A body of exactly `n` bytes.
    async fn exact(&mut self, mut n: u64, received: &mut Received) -> Result<(), ErrorKind> {
        loop {
            n -= self.take(n, received);
            if n == 0 {
                return Ok(());
            }
            if !self.fill().await.map_err(|_| ErrorKind::Body)? {
                return Err(ErrorKind::Body);
            }
        }
    }

    /// A body that ends when the connection does.
    async fn until_closed(&mut self, received: &mut Received) -> Result<(), ErrorKind> {
        loop {
            self.take(u64::MAX, received);
            if !self.fill().await.map_err(|_| ErrorKind::Body)? {
                return Ok(());
            }
        }
    }

    /// A chunked body, its trailers skipped.
    async fn chunked(&mut self, received: &mut Received) -> Result<(), ErrorKind> {
        loop {
            let size = loop {
                match httparse::parse_chunk_size(self.buf) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        self.buf.advance(used);
                        break size;
                    }
                    Ok(httparse::Status::Partial) if self.buf.len() < MAX_HEAD => {
                        self.more().await?
                    }
                    _ => return Err(ErrorKind::Body),
                }
            };
            if size == 0 {
                return self.trailers().await;
            }
            self.exact(size, received).await?;
            self.crlf().await?;
        }
    }

    /// The line end after a chunk's data.
    async fn crlf(&mut self) -> Result<(), ErrorKind> {
        while self.buf.len() < 2 {
            self.more().await?;
        }
        if &self.buf[..2] != b"\r\n" {
            return Err(ErrorKind::Body);
        }
        self.buf.advance(2);
        Ok(())
    }

    /// The trailer section after the last chunk, up to its empty line.
    async fn trailers(&mut self) -> Result<(), ErrorKind> {
        loop {
            if self.buf.starts_with(b"\r\n") {
                self.buf.advance(2);
                return Ok(());
            }
            if let Some(at) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                self.buf.advance(at + 4);
                return Ok(());
            }
            if self.buf.len() >= MAX_HEAD {
                return Err(ErrorKind::Body);
            }
            self.more().await?;
        }
    }

    /// More body bytes; the stream may not end here.
    async fn more(&mut self) -> Result<(), ErrorKind> {
        match self.fill().await {
            Ok(true) => Ok(()),
            _ => Err(ErrorKind::Body),
        }
    }
}

/// Parses the response head at the start of `buf`: its length and what it says, or
/// `None` when it is not all there yet.
fn parse_head(buf: &[u8], head_only: bool) -> Result<Option<(usize, Head)>, ErrorKind> {
    // Left uninitialized: the parser writes only the headers it finds (a response has a
    // handful; filling all MAX_HEADERS first cost more than parsing them).
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buf,
        &mut headers,
    );
    let length = match parsed {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(ErrorKind::Io),
    };
    let code = response.code.ok_or(ErrorKind::Io)?;
    let status = StatusCode::from_u16(code).map_err(|_| ErrorKind::Io)?;
    let mut keep_alive = response.version == Some(1);
    let (mut content_length, mut chunked, mut coded) = (None, false, false);
    for h in response.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = parse_length(h.value).ok_or(ErrorKind::Io)?;
            if content_length.is_some_and(|m| m != n) {
                return Err(ErrorKind::Io);
            }
            content_length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            coded = true;
            // Chunked when it is the last coding applied.
            chunked = tokens(h.value)
                .last()
                .is_some_and(|t| t.eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in tokens(h.value) {
                if token.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case(b"keep-alive") && response.version == Some(0) {
                    keep_alive = true;
                }
            }
        }
    }
    let framing = if head_only
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        Framing::Empty
    } else if coded {
        if chunked {
            Framing::Chunked
        } else {
            Framing::Close
        }
    } else {
        match content_length {
            Some(n) => Framing::Length(n),
            None => Framing::Close,
        }
    };
    Ok(Some((
        length,
        Head {
            status,
            framing,
            keep_alive,
        },
    )))
}

/// The comma-separated tokens of a header value, trimmed.
fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|b| *b == b',')
        .map(|t| t.trim_ascii())
        .filter(|t| !t.is_empty())
}

/// A `Content-Length` value: digits only (none too many for a u64).
fn parse_length(value: &[u8]) -> Option<u64> {
    let digits = value.trim_ascii();
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

#[cfg(test)]
mod tests;
