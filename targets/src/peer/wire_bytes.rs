//! Bytes a peer sends, by protocol: what its Yamux streams carry for Kademlia, identify,
//! the block pipes and the question protocol (manifests and holdings). The rest of
//! `versus_bytes_sent_total` (the shaper's count of wire bytes) is Yamux and Noise
//! framing and the handshakes. This is how a swarm's bytes beyond N·F are told apart
//! (reports/swarm-bench/block-pipes.md, section 10).
//!
//! [`CountingMuxer`] wraps a connection's muxer; each of its streams learns its protocol
//! from the first bytes this side writes on it: multistream-select's proposal (the
//! dialer) or echo (the listener) holds the protocol's name in plain text before any
//! payload. A stream whose first [`SNIFF_LIMIT`] bytes name none of the known protocols,
//! or that closes before naming one, counts as "other". Every peer here speaks all of
//! the protocols, so a proposal is never refused and the first name written is the one
//! the stream carries.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::{AsyncRead, AsyncWrite};
use libp2p::core::muxing::{StreamMuxer, StreamMuxerEvent};

/// Label values of `versus_stream_bytes_sent_total{protocol=…}`, in counter order.
pub const LABELS: [&str; 5] = ["kademlia", "identify", "blocks", "questions", "other"];
/// The "other" counter.
const OTHER: usize = 4;
/// A stream that names no known protocol in this many written bytes counts as "other"
/// (multistream-select's header and proposal take about 40).
pub const SNIFF_LIMIT: usize = 128;

/// The protocol names looked for, by counter (identify and its push variant share one);
/// a test checks them against the protocols' definitions.
const NAMES: [&[u8]; 4] = [
    b"/versus/kad/1.0.0",
    b"/ipfs/id/",
    b"/versus/blocks/2",
    b"/versus/chunks/4",
];

/// Stream payload bytes sent by one node, per protocol.
#[derive(Debug, Default)]
pub struct ProtocolBytes {
    sent: [AtomicU64; LABELS.len()],
}

impl ProtocolBytes {
    /// The counts, in the order of [`LABELS`].
    pub fn snapshot(&self) -> [u64; LABELS.len()] {
        std::array::from_fn(|i| self.sent[i].load(Ordering::Relaxed))
    }

    fn add(&self, kind: usize, bytes: u64) {
        self.sent[kind].fetch_add(bytes, Ordering::Relaxed);
    }
}

/// A muxer whose streams count what they send into a [`ProtocolBytes`].
pub struct CountingMuxer<M> {
    inner: M,
    counts: Arc<ProtocolBytes>,
}

impl<M> CountingMuxer<M> {
    /// Wraps `inner`; its streams count into `counts`.
    pub fn new(inner: M, counts: Arc<ProtocolBytes>) -> Self {
        CountingMuxer { inner, counts }
    }
}

impl<M> StreamMuxer for CountingMuxer<M>
where
    M: StreamMuxer + Unpin,
    M::Substream: Unpin,
{
    type Substream = CountedStream<M::Substream>;
    type Error = M::Error;

    fn poll_inbound(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Substream, Self::Error>> {
        let this = self.get_mut();
        let opened = Pin::new(&mut this.inner).poll_inbound(cx);
        opened.map_ok(|s| CountedStream::new(s, Arc::clone(&this.counts)))
    }

    fn poll_outbound(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Self::Substream, Self::Error>> {
        let this = self.get_mut();
        let opened = Pin::new(&mut this.inner).poll_outbound(cx);
        opened.map_ok(|s| CountedStream::new(s, Arc::clone(&this.counts)))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }

    fn poll(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<StreamMuxerEvent, Self::Error>> {
        Pin::new(&mut self.get_mut().inner).poll(cx)
    }
}

/// A stream that counts what this side writes, under the protocol it names first.
pub struct CountedStream<S> {
    inner: S,
    counts: Arc<ProtocolBytes>,
    /// The counter, once the protocol is known.
    kind: Option<usize>,
    /// The first bytes written, while the protocol is not known yet.
    sniffed: Vec<u8>,
}

impl<S> CountedStream<S> {
    fn new(inner: S, counts: Arc<ProtocolBytes>) -> Self {
        CountedStream {
            inner,
            counts,
            kind: None,
            sniffed: Vec::new(),
        }
    }

    fn wrote(&mut self, data: &[u8]) {
        if let Some(kind) = self.kind {
            self.counts.add(kind, data.len() as u64);
            return;
        }
        self.sniffed.extend_from_slice(data);
        let named = NAMES.iter().position(|name| contains(&self.sniffed, name));
        let kind = match named {
            Some(kind) => kind,
            None if self.sniffed.len() >= SNIFF_LIMIT => OTHER,
            None => return,
        };
        self.kind = Some(kind);
        self.counts.add(kind, self.sniffed.len() as u64);
        self.sniffed = Vec::new();
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

impl<S> Drop for CountedStream<S> {
    fn drop(&mut self) {
        if self.kind.is_none() && !self.sniffed.is_empty() {
            self.counts.add(OTHER, self.sniffed.len() as u64);
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for CountedStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for CountedStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = written {
            this.wrote(&buf[..n]);
        }
        written
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(counts: &Arc<ProtocolBytes>) -> CountedStream<()> {
        CountedStream::new((), Arc::clone(counts))
    }

    #[test]
    fn bytes_count_under_the_protocol_the_stream_names_first() {
        let counts = Arc::new(ProtocolBytes::default());
        let mut pipe = stream(&counts);
        // multistream-select: header, then the proposal, each length-prefixed.
        pipe.wrote(b"\x13/multistream/1.0.0\n");
        assert_eq!(counts.snapshot(), [0; 5], "not named yet");
        pipe.wrote(b"\x11/versus/blocks/2\n");
        pipe.wrote(&[7u8; 1000]);
        let mut kad = stream(&counts);
        kad.wrote(b"\x13/multistream/1.0.0\n\x12/versus/kad/1.0.0\nabc");
        assert_eq!(counts.snapshot(), [20 + 19 + 3, 0, 20 + 18 + 1000, 0, 0]);
    }

    #[test]
    fn the_names_are_those_of_the_protocols() {
        use super::super::{behaviour::KAD_PROTOCOL, codec, pipe};
        let defined = [KAD_PROTOCOL, pipe::PROTOCOL, codec::PROTOCOL];
        for (name, protocol) in [NAMES[0], NAMES[2], NAMES[3]].iter().zip(defined) {
            assert_eq!(*name, protocol.as_ref().as_bytes());
        }
        assert!(libp2p::identify::PROTOCOL_NAME
            .as_ref()
            .starts_with("/ipfs/id/"));
    }

    #[test]
    fn a_stream_that_names_nothing_known_counts_as_other() {
        let counts = Arc::new(ProtocolBytes::default());
        let mut unknown = stream(&counts);
        unknown.wrote(&[1u8; 100]);
        assert_eq!(counts.snapshot()[OTHER], 0, "still sniffing");
        unknown.wrote(&[1u8; 100]);
        assert_eq!(counts.snapshot()[OTHER], 200);
        let mut short = stream(&counts);
        short.wrote(b"\x13/multistream/1.0.0\n");
        drop(short);
        assert_eq!(counts.snapshot()[OTHER], 220, "closed before naming one");
    }
}
