//! Response bodies of the object store, without boxing.
//!
//! Small answers and in-memory objects are one `Bytes` frame (a reference-counted slice of
//! the stored object, never a copy). Objects on disk stream chunk by chunk, each chunk read
//! and verified before it is sent; if a chunk fails verification mid-stream, the body ends
//! with an error, so the connection is cut and the client sees a truncated response —
//! corrupt bytes are never sent.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

use crate::metrics::NodeMetrics;
use crate::store::{StoreError, StoredObject};

type ChunkFuture = Pin<Box<dyn Future<Output = Result<Bytes, StoreError>> + Send>>;

/// The body of every data-plane response.
pub enum ObjectBody {
    /// Zero or one frame of bytes.
    Full(Option<Bytes>),
    /// Verified chunks of an object on disk.
    Chunks(Box<ChunkStream>),
}

impl ObjectBody {
    /// A body of `bytes` (no frame at all when empty).
    pub fn full(bytes: Bytes) -> Self {
        ObjectBody::Full((!bytes.is_empty()).then_some(bytes))
    }

    /// An empty body.
    pub fn empty() -> Self {
        ObjectBody::Full(None)
    }
}

/// Streams `range` of an object chunk by chunk; the first chunk is read up front so a
/// corrupt start is answered with an error status instead of a cut connection.
pub struct ChunkStream {
    object: Arc<StoredObject>,
    metrics: Arc<NodeMetrics>,
    range: Range<u64>,
    remaining: u64,
    next: usize,
    end: usize,
    ready: Option<Bytes>,
    pending: Option<ChunkFuture>,
}

impl ChunkStream {
    /// Starts streaming `range` (non-empty) of `object`: reads and verifies its first chunk.
    pub async fn start(
        object: Arc<StoredObject>,
        metrics: Arc<NodeMetrics>,
        range: Range<u64>,
    ) -> Result<Self, StoreError> {
        let chunks = object.manifest().chunks_covering(range.clone());
        let first = object.read_chunk(chunks.start).await?;
        let mut stream = ChunkStream {
            object,
            metrics,
            remaining: range.end - range.start,
            range,
            next: chunks.start + 1,
            end: chunks.end,
            ready: None,
            pending: None,
        };
        stream.ready = Some(stream.part_of(chunks.start, first));
        Ok(stream)
    }

    /// The part of chunk `index` that lies within the range, counted as served.
    fn part_of(&self, index: usize, chunk: Bytes) -> Bytes {
        let Some(chunk_range) = self.object.manifest().chunk_range(index) else {
            return Bytes::new();
        };
        let lo = self.range.start.max(chunk_range.start) - chunk_range.start;
        let hi = self.range.end.min(chunk_range.end) - chunk_range.start;
        let part = chunk.slice(lo as usize..hi as usize);
        self.metrics.chunks_served.inc();
        self.metrics.object_bytes_served.add(part.len() as u64);
        part
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, StoreError>>> {
        if let Some(ready) = self.ready.take() {
            self.remaining -= ready.len() as u64;
            return Poll::Ready(Some(Ok(ready)));
        }
        if self.next >= self.end {
            return Poll::Ready(None);
        }
        let index = self.next;
        let pending = self.pending.get_or_insert_with(|| {
            let object = Arc::clone(&self.object);
            Box::pin(async move { object.read_chunk(index).await })
        });
        let result = std::task::ready!(pending.as_mut().poll(cx));
        self.pending = None;
        self.next += 1;
        match result {
            Ok(chunk) => {
                let part = self.part_of(index, chunk);
                self.remaining -= part.len() as u64;
                Poll::Ready(Some(Ok(part)))
            }
            Err(err) => {
                if matches!(err, StoreError::Corrupt { .. }) {
                    self.metrics.verification_failures.inc();
                }
                tracing::error!("cutting a response short: {err}");
                self.next = self.end;
                Poll::Ready(Some(Err(err)))
            }
        }
    }
}

impl http_body::Body for ObjectBody {
    type Data = Bytes;
    type Error = StoreError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StoreError>>> {
        match self.get_mut() {
            ObjectBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            ObjectBody::Chunks(stream) => stream
                .poll_next(cx)
                .map(|next| next.map(|chunk| chunk.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ObjectBody::Full(bytes) => bytes.is_none(),
            ObjectBody::Chunks(stream) => stream.ready.is_none() && stream.next >= stream.end,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ObjectBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            ObjectBody::Chunks(stream) => SizeHint::with_exact(stream.remaining),
        }
    }
}
