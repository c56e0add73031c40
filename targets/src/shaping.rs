//! The network profile, applied by a node to its own data plane (portable, no root).
//!
//! A [`Shaper`] holds one node's profile: an upload cap and a download cap, each a
//! [`TokenBucket`] shared by all of the node's connections (on the upload side, writes
//! of at most [`SPARSE_WRITE`] bytes pass the queued bulk, as on a fair-queueing link),
//! and a one-way latency (with
//! optional jitter) added to the data the node sends. [`Shaper::wrap`] turns any stream into a [`ShapedStream`] that
//! applies the profile and counts the bytes it moves into the shaper's [`ByteCounters`].
//! With no cap and no latency the wrapper only counts bytes.
//!
//! With [`LatencyRoute`]s (regions), a connection the node opens to a routed address
//! gets the route's latencies instead, in both directions ([`Shaper::wrap_outbound`]):
//! what it sends is delayed by the route's `out`, what it receives by its `back`.
//!
//! The harness reuses the same wrapper on its client side, with a per-user shaper whose
//! profile has only a download cap.

mod bucket;
mod delay;
mod inbound;
pub mod route;

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf, ReadHalf};

pub use bucket::{TokenBucket, BURST_TIME, MAX_BURST, MIN_BURST, SPARSE_WRITE};
pub use delay::CLOSE_GRACE;
pub use route::{IpBlock, LatencyRoute};

use crate::units::ByteRate;
use bucket::Throttle;
use delay::DelayLine;
use inbound::DelayedRead;

/// Bytes that may be in flight on one delayed connection, at least (see [`Shaper::wrap`]).
pub const DELAY_WINDOW: usize = 4 << 20;

/// What a node's network looks like from the outside.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetProfile {
    /// Cap on the bytes the node sends per second, over all its connections.
    pub upload: Option<ByteRate>,
    /// Cap on the bytes the node receives per second, over all its connections.
    pub download: Option<ByteRate>,
    /// One-way latency added to the bytes the node sends.
    pub latency: Duration,
    /// Each piece sent is delayed by `latency` ± up to this much (uniform), never
    /// overtaking the piece before it.
    pub jitter: Duration,
}

impl NetProfile {
    /// True when the profile changes nothing.
    pub fn is_unshaped(&self) -> bool {
        self.upload.is_none()
            && self.download.is_none()
            && self.latency.is_zero()
            && self.jitter.is_zero()
    }
}

/// Bytes moved through shaped streams, shared by all the streams of one shaper.
#[derive(Debug, Default)]
pub struct ByteCounters {
    read: AtomicU64,
    written: AtomicU64,
}

impl ByteCounters {
    /// Bytes received so far.
    pub fn read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// Bytes sent so far (accepted for sending: with added latency some may still be queued).
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    fn add_read(&self, n: usize) {
        self.read.fetch_add(n as u64, Ordering::Relaxed);
    }

    fn add_written(&self, n: usize) {
        self.written.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// One node's network profile, shared by all its connections. Cloning is cheap and the
/// clones share the caps and the counters.
#[derive(Debug, Clone)]
pub struct Shaper {
    upload: Option<Arc<TokenBucket>>,
    download: Option<Arc<TokenBucket>>,
    latency: Duration,
    jitter: Duration,
    window: usize,
    /// Latencies by destination, for the connections the node opens.
    routes: Arc<[LatencyRoute]>,
    counters: Arc<ByteCounters>,
}

impl Shaper {
    /// A shaper applying `profile`, with fresh counters.
    pub fn new(profile: &NetProfile) -> Self {
        let window = match profile.upload {
            Some(rate) => delay_window(rate, profile.latency + profile.jitter),
            None => DELAY_WINDOW,
        };
        Shaper {
            upload: profile.upload.map(|r| Arc::new(TokenBucket::new(r))),
            download: profile.download.map(|r| Arc::new(TokenBucket::new(r))),
            latency: profile.latency,
            jitter: profile.jitter,
            window,
            routes: Arc::new([]),
            counters: Arc::new(ByteCounters::default()),
        }
    }

    /// The same shaper with latencies by destination for the connections the node
    /// opens ([`Shaper::wrap_outbound`]); the delay window grows to cover the longest.
    pub fn with_routes(mut self, routes: &[LatencyRoute]) -> Self {
        if let Some(upload) = self.upload.as_ref().map(|b| ByteRate(b.rate())) {
            let longest = routes
                .iter()
                .map(|r| r.out.max(r.back))
                .max()
                .unwrap_or_default();
            self.window = self.window.max(delay_window(upload, longest + self.jitter));
        }
        self.routes = routes.into();
        self
    }

    /// The same shaper counting into `counters` (shared with another shaper) instead of
    /// its own.
    pub fn counting_into(mut self, counters: &Arc<ByteCounters>) -> Self {
        self.counters = Arc::clone(counters);
        self
    }

    /// A shaper that only counts bytes.
    pub fn unshaped() -> Self {
        Self::new(&NetProfile::default())
    }

    /// The byte counters of every stream this shaper wrapped.
    pub fn counters(&self) -> &Arc<ByteCounters> {
        &self.counters
    }

    /// The added one-way latency.
    pub fn latency(&self) -> Duration {
        self.latency
    }

    /// Wraps a stream so it follows this shaper's profile.
    ///
    /// With added latency, a background task delivers the delayed bytes, so this must be
    /// called inside a Tokio runtime; up to `max(4 MiB, 2 × upload × latency)` bytes are
    /// in flight per connection.
    pub fn wrap<S>(&self, io: S) -> ShapedStream<S>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        self.wrap_with(io, self.latency, None)
    }

    /// Wraps a stream this node opened to `remote`: with a route for `remote`, its `out`
    /// latency is added to what is sent and its `back` latency to what is received (the
    /// opener applies both directions); otherwise as [`Shaper::wrap`].
    pub fn wrap_outbound<S>(&self, io: S, remote: std::net::IpAddr) -> ShapedStream<S>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        match route::route_for(&self.routes, remote) {
            Some(r) => self.wrap_with(io, r.out, Some(r.back)),
            None => self.wrap(io),
        }
    }

    /// Wraps `io` with `out` added to what it sends and, when given, `back` to what it
    /// receives.
    fn wrap_with<S>(&self, io: S, out: Duration, back: Option<Duration>) -> ShapedStream<S>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = if out.is_zero() && back.is_none_or(|b| b.is_zero()) && self.jitter.is_zero() {
            Io::Direct(io)
        } else {
            let (read, write) = tokio::io::split(io);
            let read = match back {
                Some(back) if !back.is_zero() || !self.jitter.is_zero() => {
                    Inbound::Delayed(DelayedRead::spawn(read, back, self.jitter, self.window))
                }
                _ => Inbound::Direct(read),
            };
            Io::Delayed {
                read,
                line: DelayLine::spawn(write, out, self.jitter, self.window),
            }
        };
        ShapedStream {
            io,
            up: self.upload.clone().map(|b| Throttle::new(b, true)),
            down: self.download.clone().map(|b| Throttle::new(b, false)),
            counters: Arc::clone(&self.counters),
        }
    }
}

/// Bytes that may be in flight on a connection capped at `rate` with `latency`: enough
/// to keep the link busy for two latencies, at least [`DELAY_WINDOW`].
fn delay_window(rate: ByteRate, latency: Duration) -> usize {
    let bdp = u128::from(rate.bytes_per_sec()) * latency.as_nanos() * 2 / 1_000_000_000;
    usize::try_from(bdp).unwrap_or(usize::MAX).max(DELAY_WINDOW)
}

#[derive(Debug)]
enum Io<S> {
    Direct(S),
    Delayed { read: Inbound<S>, line: DelayLine },
}

/// The receiving side of a delayed stream: as it arrives, or through a delay line.
#[derive(Debug)]
enum Inbound<S> {
    Direct(ReadHalf<S>),
    Delayed(DelayedRead),
}

/// A stream that applies a [`Shaper`]'s profile: caps, added latency on what it sends,
/// and byte counting. Create it with [`Shaper::wrap`].
#[derive(Debug)]
pub struct ShapedStream<S> {
    io: Io<S>,
    up: Option<Throttle>,
    down: Option<Throttle>,
    counters: Arc<ByteCounters>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> ShapedStream<S> {
    fn poll_read_inner(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.io {
            Io::Direct(io) => Pin::new(io).poll_read(cx, buf),
            Io::Delayed {
                read: Inbound::Direct(read),
                ..
            } => Pin::new(read).poll_read(cx, buf),
            Io::Delayed {
                read: Inbound::Delayed(read),
                ..
            } => read.poll_read(cx, buf),
        }
    }

    fn poll_write_inner(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.io {
            Io::Direct(io) => Pin::new(io).poll_write(cx, buf),
            Io::Delayed { line, .. } => line.poll_write(cx, buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for ShapedStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(down) = this.down.as_mut() else {
            let before = buf.filled().len();
            let result = std::task::ready!(this.poll_read_inner(cx, buf));
            this.counters.add_read(buf.filled().len() - before);
            return Poll::Ready(result);
        };
        let grant = std::task::ready!(down.poll_grant(cx, buf.remaining()));
        let got = if grant >= buf.remaining() {
            let before = buf.filled().len();
            std::task::ready!(this.poll_read_inner(cx, buf))?;
            buf.filled().len() - before
        } else {
            let mut limited = buf.take(grant);
            let start = limited.filled().as_ptr();
            std::task::ready!(this.poll_read_inner(cx, &mut limited))?;
            if limited.filled().as_ptr() != start {
                return Poll::Ready(Err(io::Error::other(
                    "inner stream swapped the read buffer",
                )));
            }
            let got = limited.filled().len();
            // SAFETY: the inner stream initialized and filled `got` bytes of the unfilled
            // part of `buf` (checked above that it wrote into the same memory).
            unsafe { buf.assume_init(got) };
            buf.advance(got);
            got
        };
        if let Some(down) = this.down.as_mut() {
            down.consume(got);
        }
        this.counters.add_read(got);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for ShapedStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let limit = match this.up.as_mut() {
            Some(up) => std::task::ready!(up.poll_grant(cx, buf.len())),
            None => buf.len(),
        };
        let n = std::task::ready!(this.poll_write_inner(cx, &buf[..limit]))?;
        if let Some(up) = this.up.as_mut() {
            up.consume(n);
        }
        this.counters.add_written(n);
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match (&mut this.io, this.up.is_none()) {
            (Io::Direct(io), true) => {
                let n = std::task::ready!(Pin::new(io).poll_write_vectored(cx, bufs))?;
                this.counters.add_written(n);
                Poll::Ready(Ok(n))
            }
            _ => {
                let first = bufs
                    .iter()
                    .find(|b| !b.is_empty())
                    .map_or(&[][..], |b| &**b);
                Pin::new(this).poll_write(cx, first)
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Direct(io) => self.up.is_none() && io.is_write_vectored(),
            Io::Delayed { .. } => false,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Direct(io) => Pin::new(io).poll_flush(cx),
            Io::Delayed { line, .. } => line.poll_flush(),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Direct(io) => Pin::new(io).poll_shutdown(cx),
            Io::Delayed { line, .. } => line.poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests;
