//! The serving end of block pipes: a stream a remote peer opened to this node is read
//! for block requests and cancels, which go to the node's [`Uploader`]; its answers are
//! written back on the same stream as the uploader releases them, a partial peer's
//! holdings on at most one of them every [`TELL_HOLDINGS_EVERY`].
//!
//! Bounded: a stream has at most [`MAX_UNANSWERED`] requests read and not yet answered
//! (beyond, this side stops reading and the asker's writes wait), and an upload slot
//! frees once its answer is written (behind a slow upload cap, once the shaper has let the
//! whole block out), or is dropped unwritten because the stream failed ([`SlotRelease`]).

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{AsyncReadExt as _, AsyncWriteExt as _};
use libp2p::PeerId;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use super::super::codec::{Request, Response};
use super::super::fetch::TELL_HOLDINGS_EVERY;
use super::super::have::Have;
use super::super::metrics::PeerMetrics;
use super::super::serve::{Answer, Reply, SlotId, Uploader};
use super::frame::{read_ask, write_answer};
use super::lock;

/// An uplink slower than a block in this long is slow: there a block answer holds its
/// upload slot until the shaper has let the whole block out. At 32 KiB/s (half a second a
/// block) that kept 32,549 blocks in a 256-peer crowd instead of 19,914. A fast uplink's
/// slot frees as soon as libp2p took the block: waiting left it idle between blocks (at
/// N = 64 and 512 KiB/s, efficiency 0.886 -> 0.868 and 11 % more CPU per GiB,
/// interleaved, 3 runs each).
const SLOW_UPLINK_BLOCK: Duration = Duration::from_millis(250);
/// Longest a block answer holds its upload slot waiting for its bytes to leave the shaper.
const ON_THE_WIRE_WAIT: Duration = Duration::from_secs(10);
/// Requests of one stream read and not yet answered, at most.
pub const MAX_UNANSWERED: usize = 256;

/// A node's uploader, shared by the streams it serves.
pub type SharedUploader = Arc<Mutex<Uploader<PipeReply>>>;

/// Where one block request's answer goes: its stream's writer, under the request's tag.
pub struct PipeReply {
    tag: u32,
    out: mpsc::UnboundedSender<Outgoing>,
    _unanswered: OwnedSemaphorePermit,
}

impl Reply for PipeReply {
    fn is_open(&self) -> bool {
        !self.out.is_closed()
    }
}

/// An answer on its way to the writer.
struct Outgoing {
    tag: u32,
    response: Response,
    _slot: Option<SlotRelease>,
    _unanswered: OwnedSemaphorePermit,
}

/// Frees an upload slot when dropped: after its answer is written, or unwritten.
struct SlotRelease {
    slot: SlotId,
    uploader: SharedUploader,
}

impl Drop for SlotRelease {
    fn drop(&mut self) {
        let answers = lock(&self.uploader).on_done(self.slot);
        dispatch(&self.uploader, answers);
    }
}

/// Hands answers to the writers of their streams (never under the uploader's lock).
fn dispatch(uploader: &SharedUploader, answers: Vec<Answer<PipeReply>>) {
    for Answer {
        reply,
        response,
        slot,
    } in answers
    {
        let PipeReply {
            tag,
            out,
            _unanswered,
        } = reply;
        let outgoing = Outgoing {
            tag,
            response,
            _slot: slot.map(|slot| SlotRelease {
                slot,
                uploader: Arc::clone(uploader),
            }),
            _unanswered,
        };
        // A stream gone meanwhile: the answer is dropped here, its slot freed.
        let _ = out.send(outgoing);
    }
}

/// Waits (at most [`ON_THE_WIRE_WAIT`]) until the node's shaper has let out `target`
/// bytes in all: where the block has left, queued behind the blocks before it
/// ([`PeerMetrics::queue_on_the_wire`]; each waiting for 16 KiB of its own, two slots
/// handed out two blocks per block sent). Behind a slow uplink ([`SLOW_UPLINK_BLOCK`]) a
/// block answer holds its upload slot until then, not merely until libp2p took it: yamux
/// accepts a stream's writes into its buffers up to the receiver's window (256 KiB and
/// more), so with a slot freed at once a node serving many peers behind a 32 KiB/s uplink
/// had megabytes queued in its connections, and its answers arrived after the asker's
/// 30 s request timeout (a 256-peer crowd: some 70,000 block requests timed out).
async fn until_on_the_wire(metrics: &PeerMetrics, target: u64, rate: u64) {
    let deadline = tokio::time::Instant::now() + ON_THE_WIRE_WAIT;
    loop {
        let sent = metrics.wire_bytes_sent();
        if sent >= target {
            return;
        }
        let micros = (target - sent).saturating_mul(1_000_000) / rate.max(1);
        let wake = tokio::time::Instant::now() + Duration::from_micros(micros.max(1_000));
        if wake >= deadline {
            tokio::time::sleep_until(deadline).await;
            return;
        }
        tokio::time::sleep_until(wake).await;
    }
}

/// Serves the pipe `stream` that `peer` opened, until it fails or closes.
pub async fn serve(peer: PeerId, stream: libp2p::Stream, uploader: SharedUploader) {
    let (mut input, mut output) = stream.split();
    let (out, mut outgoing) = mpsc::unbounded_channel::<Outgoing>();
    let unanswered = Arc::new(Semaphore::new(MAX_UNANSWERED));
    let reading = async {
        let mut named = None;
        loop {
            let Ok(permit) = Arc::clone(&unanswered).acquire_owned().await else {
                return io::Error::other("the request budget closed");
            };
            let (tag, ask) = match read_ask(&mut input, &mut named).await {
                Ok(frame) => frame,
                Err(e) => return e,
            };
            let answers = match ask.request {
                Request::Block(object, index) => {
                    let reply = PipeReply {
                        tag,
                        out: out.clone(),
                        _unanswered: permit,
                    };
                    lock(&uploader).on_block_request(peer, reply, object, index, ask.have)
                }
                Request::Cancel(object, index) => {
                    lock(&uploader).on_cancel(peer, object, index, ask.have)
                }
                Request::Manifest(_) | Request::Have(_) => {
                    return io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a manifest or holdings question on a block pipe (they belong on /versus/chunks/4)",
                    )
                }
            };
            dispatch(&uploader, answers);
        }
    };
    let metrics = Arc::clone(lock(&uploader).metrics());
    let writing = async {
        let mut told: Option<Instant> = None;
        while let Some(mut answer) = outgoing.recv().await {
            if let Response::Block(_, have @ Some(Have::Some(_))) = &mut answer.response {
                let now = Instant::now();
                if told.is_some_and(|t| now.duration_since(t) < TELL_HOLDINGS_EVERY) {
                    *have = None;
                } else {
                    told = Some(now);
                }
            }
            let block_len = match &answer.response {
                Response::Block(bytes, _) => bytes.len() as u64,
                _ => 0,
            };
            // Held until the block has left, behind a slow uplink only.
            let wait = metrics.upload_rate().filter(|rate| {
                block_len > rate.saturating_mul(SLOW_UPLINK_BLOCK.as_millis() as u64) / 1000
            });
            let left_at = wait.map(|_| metrics.queue_on_the_wire(block_len));
            write_answer(&mut output, answer.tag, &answer.response).await?;
            if outgoing.is_empty() || wait.is_some() {
                output.flush().await?;
            }
            if let (Some(rate), Some(left_at)) = (wait, left_at) {
                until_on_the_wire(&metrics, left_at, rate).await;
            }
            // The answer (and its upload slot) is released here.
        }
        Ok::<(), io::Error>(())
    };
    tokio::select! {
        e = reading => tracing::debug!(%peer, "stopped reading a block pipe: {e}"),
        result = writing => if let Err(e) = result {
            tracing::debug!(%peer, "stopped writing a block pipe: {e}");
        },
    }
}
