//! Answering the block protocol, with upload slots.
//!
//! Manifest and holdings questions (request-response) are answered at once by
//! [`answer_question`]. Block requests arrive on the block pipes ([`super::pipe`]) and
//! their answers go out through a few **upload slots**: at most `slots` blocks are being
//! sent at any time, taken from the requesting peers in turn (round robin), and only a
//! short queue waits behind them; a
//! request beyond that is answered `Busy` at once, so the requester asks someone else
//! instead of waiting. Sending a few blocks at full speed rather than every requested block
//! at a trickle gets blocks into the swarm early, where peers can trade them (BitTorrent's
//! reason for upload slots). A slot frees when the pipe has written the answer (or lost
//! its stream), or after the request timeout at the latest. A requester that got a block
//! elsewhere cancels its queued request for it, so the queue never sends it twice.
//!
//! Both are sized by the upload cap ([`SlotSettings::for_upload`]): a fast uploader (a
//! seed) gets more slots and a queue holding about [`QUEUE_WAIT`] of sending, so it never
//! turns requesters away while its link could still carry their blocks. Of a peer's
//! queued requests the block this node has sent least often goes first, so a seed spreads
//! distinct blocks over the swarm (the idea of BitTorrent's super-seeding).
//!
//! The deliberate faults live here too: `corrupt` flips bytes in the blocks it sends,
//! `stall` keeps block requests and never answers them.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use libp2p::PeerId;
use tokio::time::Instant;

use super::args::Misbehave;
use super::codec::{Ask, Request, Response};
use super::have::Have;
use super::holdings::{BlockLookup, Holdings};
use super::metrics::{PeerMetrics, ROUTE_CHUNK, ROUTE_HAVE, ROUTE_MANIFEST};
use crate::content::{ObjectId, BLOCK_SIZE};

/// Requests a stalling peer keeps unanswered at most (the oldest are dropped beyond).
const MAX_STALLED: usize = 4096;
/// Sending time the block queue holds at most, at the upload cap.
pub const QUEUE_WAIT: Duration = Duration::from_millis(1000);
/// Upload rate one automatic upload slot stands for.
const RATE_PER_SLOT: u64 = 2 << 20;
/// Upload slots chosen automatically, at most.
const MAX_AUTO_SLOTS: usize = 8;
/// Upload slots without an upload cap (when not set explicitly).
const UNCAPPED_SLOTS: usize = 4;
/// Blocks whose send count is remembered, at most (one counter per block).
const MAX_SEND_COUNTS: usize = 1 << 16;

/// Where the answer to one block request goes (a pipe's writer), as the uploader sees it.
pub trait Reply {
    /// False once the requester can no longer receive the answer (its stream is gone).
    fn is_open(&self) -> bool;
}

/// One upload slot in use, to hand back with [`Uploader::on_done`] once its answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotId(u64);

/// An answer to send: where, what, and the upload slot it occupies until written.
pub struct Answer<R> {
    /// Where the answer goes.
    pub reply: R,
    /// The answer.
    pub response: Response,
    /// The slot a block answer holds (`None` for every other answer).
    pub slot: Option<SlotId>,
}

impl<R> Answer<R> {
    fn at_once(reply: R, response: Response) -> Self {
        Answer {
            reply,
            response,
            slot: None,
        }
    }
}

struct Queued<R> {
    object: ObjectId,
    index: u32,
    reply: R,
}

/// Upload-slot settings.
#[derive(Debug, Clone, Copy)]
pub struct SlotSettings {
    /// Blocks sent at once, at most.
    pub slots: usize,
    /// Block requests waiting for a slot, at most; more are answered `Busy`.
    pub queue: usize,
    /// A slot whose completion was never reported is reclaimed after this long.
    pub reclaim_after: Duration,
}

impl SlotSettings {
    /// Slots and queue for an upload cap of `upload` bytes per second (`None`: uncapped):
    /// `slots` if given, else one per 2 MiB/s (2 to 8); a queue of [`QUEUE_WAIT`] worth of
    /// blocks at that rate, at least two per slot.
    pub fn for_upload(upload: Option<u64>, slots: Option<usize>, reclaim_after: Duration) -> Self {
        let slots = slots.unwrap_or_else(|| match upload {
            Some(rate) => usize::try_from(rate.div_ceil(RATE_PER_SLOT))
                .unwrap_or(MAX_AUTO_SLOTS)
                .clamp(2, MAX_AUTO_SLOTS),
            None => UNCAPPED_SLOTS,
        });
        let slots = slots.max(1);
        let queue_by_rate = upload.map_or(0, |rate| {
            let bytes = u128::from(rate) * QUEUE_WAIT.as_millis() / 1000;
            usize::try_from(bytes / u128::from(BLOCK_SIZE)).unwrap_or(usize::MAX)
        });
        SlotSettings {
            slots,
            queue: queue_by_rate.clamp(2 * slots, 64 * slots),
            reclaim_after,
        }
    }
}

/// Answers a manifest or holdings question (request-response) from `holdings` at once,
/// noting the asker as a requester of the object; `None` for a block request or a
/// cancel, which belong on a pipe.
pub fn answer_question(
    holdings: &Holdings,
    metrics: &PeerMetrics,
    peer: PeerId,
    ask: Ask,
) -> Option<Response> {
    let Ask { request, have } = ask;
    let object = request.object();
    let (route, response) = match request {
        Request::Manifest(_) => (
            ROUTE_MANIFEST,
            holdings
                .manifest(&object)
                .map_or(Response::NotFound, |(m, h, have)| {
                    Response::Manifest(m, h, have)
                }),
        ),
        Request::Have(_) => (
            ROUTE_HAVE,
            holdings
                .have(&object)
                .map_or(Response::NotFound, Response::Have),
        ),
        Request::Block(..) | Request::Cancel(..) => return None,
    };
    holdings.note_requester(&object, peer, have);
    let status = if matches!(response, Response::NotFound) {
        404
    } else {
        200
    };
    metrics.node.requests.record(route, status);
    Some(response)
}

/// The serving side of block requests: upload slots, their queue, and the faults.
pub struct Uploader<R> {
    holdings: Arc<Holdings>,
    metrics: Arc<PeerMetrics>,
    misbehave: Option<Misbehave>,
    settings: SlotSettings,
    next_slot: u64,
    sending: HashMap<SlotId, Instant>,
    queues: HashMap<PeerId, VecDeque<Queued<R>>>,
    turn: VecDeque<PeerId>,
    queued: usize,
    stalled: VecDeque<R>,
    /// How often each block was sent, to send the least sent first.
    sent: HashMap<(ObjectId, u32), u32>,
}

impl<R> Uploader<R> {
    /// The node's counters (the pipes read the wire bytes from them).
    pub fn metrics(&self) -> &Arc<PeerMetrics> {
        &self.metrics
    }
}

impl<R: Reply> Uploader<R> {
    /// Serves from `holdings`, counting into `metrics`.
    pub fn new(
        holdings: Arc<Holdings>,
        metrics: Arc<PeerMetrics>,
        misbehave: Option<Misbehave>,
        settings: SlotSettings,
    ) -> Self {
        Uploader {
            holdings,
            metrics,
            misbehave,
            settings: SlotSettings {
                slots: settings.slots.max(1),
                ..settings
            },
            next_slot: 0,
            sending: HashMap::new(),
            queues: HashMap::new(),
            turn: VecDeque::new(),
            queued: 0,
            stalled: VecDeque::new(),
            sent: HashMap::new(),
        }
    }

    /// Drops `peer`'s queued request for block `index` of `object`; returns its answer
    /// (`Cancelled`) if one was queued. `have` is what the asker holds now.
    pub fn on_cancel(
        &mut self,
        peer: PeerId,
        object: ObjectId,
        index: u32,
        have: Option<Have>,
    ) -> Vec<Answer<R>> {
        self.holdings.note_requester(&object, peer, have);
        let Some(queue) = self.queues.get_mut(&peer) else {
            return Vec::new();
        };
        let Some(pos) = queue
            .iter()
            .position(|q| q.object == object && q.index == index)
        else {
            return Vec::new();
        };
        let Some(dropped) = queue.remove(pos) else {
            return Vec::new();
        };
        self.queued = self.queued.saturating_sub(1);
        self.metrics.cancelled.inc();
        vec![Answer::at_once(dropped.reply, Response::Cancelled)]
    }

    /// Takes `peer`'s request for block `index` of `object` (`have`: what the asker holds
    /// now); returns the answers to send now.
    pub fn on_block_request(
        &mut self,
        peer: PeerId,
        reply: R,
        object: ObjectId,
        index: u32,
        have: Option<Have>,
    ) -> Vec<Answer<R>> {
        self.holdings.note_requester(&object, peer, have);
        if self.misbehave == Some(Misbehave::Stall) {
            tracing::debug!(%peer, %object, index, "stalling a block request on purpose (--misbehave stall)");
            if self.stalled.len() >= MAX_STALLED {
                self.stalled.pop_front();
            }
            self.stalled.push_back(reply);
            return Vec::new();
        }
        let Some(have) = self.holdings.have(&object) else {
            self.metrics.node.requests.record(ROUTE_CHUNK, 404);
            return vec![Answer::at_once(reply, Response::NotFound)];
        };
        if !have.contains(index as usize) {
            self.metrics.node.requests.record(ROUTE_CHUNK, 404);
            return vec![Answer::at_once(reply, Response::Missing(have))];
        }
        self.reclaim_stale();
        let free_riding = self.misbehave == Some(Misbehave::FreeRide);
        if free_riding
            || (self.queued >= self.settings.queue && self.sending.len() >= self.settings.slots)
        {
            self.metrics.node.requests.record(ROUTE_CHUNK, 503);
            return vec![Answer::at_once(reply, Response::Busy(have))];
        }
        let queue = self.queues.entry(peer).or_default();
        if queue.is_empty() {
            self.turn.push_back(peer);
        }
        queue.push_back(Queued {
            object,
            index,
            reply,
        });
        self.queued += 1;
        self.pump()
    }

    /// The answer holding `slot` was written, or its stream is gone: the slot is free.
    pub fn on_done(&mut self, slot: SlotId) -> Vec<Answer<R>> {
        self.sending.remove(&slot);
        self.pump()
    }

    /// Frees slots whose completion was never reported (bounded by the request timeout).
    fn reclaim_stale(&mut self) {
        let limit = self.settings.reclaim_after;
        self.sending.retain(|_, started| started.elapsed() < limit);
    }

    /// Starts queued answers while slots are free, one peer at a time in turn, and
    /// counts the time during which at least one slot is in use.
    fn pump(&mut self) -> Vec<Answer<R>> {
        let mut answers = Vec::new();
        while self.sending.len() < self.settings.slots {
            let Some(peer) = self.turn.pop_front() else {
                break;
            };
            let Some(queue) = self.queues.get_mut(&peer) else {
                continue;
            };
            let sent = &self.sent;
            let least_sent = queue
                .iter()
                .enumerate()
                .min_by_key(|(_, q)| sent.get(&(q.object, q.index)).copied().unwrap_or(0))
                .map(|(i, _)| i);
            let Some(next) = least_sent.and_then(|i| queue.remove(i)) else {
                self.queues.remove(&peer);
                continue;
            };
            if queue.is_empty() {
                self.queues.remove(&peer);
            } else {
                self.turn.push_back(peer);
            }
            self.queued = self.queued.saturating_sub(1);
            if !next.reply.is_open() {
                continue; // the requester's stream is gone
            }
            let response = self.block_response(&next.object, next.index);
            let mut slot = None;
            if matches!(response, Response::Block(..)) {
                if self.sent.len() < MAX_SEND_COUNTS {
                    *self.sent.entry((next.object, next.index)).or_default() += 1;
                } else if let Some(n) = self.sent.get_mut(&(next.object, next.index)) {
                    *n += 1;
                }
                let id = SlotId(self.next_slot);
                self.next_slot += 1;
                self.sending.insert(id, Instant::now());
                slot = Some(id);
                self.metrics.node.requests.record(ROUTE_CHUNK, 200);
            } else {
                self.metrics.node.requests.record(ROUTE_CHUNK, 404);
            }
            answers.push(Answer {
                reply: next.reply,
                response,
                slot,
            });
        }
        self.metrics.upload_busy.set(!self.sending.is_empty());
        answers
    }

    fn block_response(&self, object: &ObjectId, index: u32) -> Response {
        match self.holdings.block(object, index as usize) {
            BlockLookup::Found(bytes, have) => {
                self.metrics.node.chunks_served.inc();
                self.metrics
                    .node
                    .object_bytes_served
                    .add(bytes.len() as u64);
                let bytes = if self.misbehave == Some(Misbehave::Corrupt) {
                    corrupt(&bytes)
                } else {
                    bytes
                };
                Response::Block(bytes, Some(have))
            }
            BlockLookup::Missing(have) => Response::Missing(have),
            BlockLookup::Unknown => Response::NotFound,
        }
    }
}

/// A copy of `bytes` with one byte flipped, in the middle (`--misbehave corrupt`): the
/// smallest corruption, which block verification must still catch.
fn corrupt(bytes: &Bytes) -> Bytes {
    let mut copy = bytes.to_vec();
    match copy.get_mut(bytes.len() / 2) {
        Some(b) => *b ^= 0x01,
        None => copy.push(0),
    }
    Bytes::from(copy)
}
