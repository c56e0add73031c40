//! Block pipes: one long-lived stream per pair of peers (per direction) for block
//! requests and their answers, `/versus/blocks/2` (2: a request may leave out the object
//! id, a block answer its holdings).
//!
//! Why not a stream per request: on request-response every 16 KiB block cost a Yamux
//! stream opened, a protocol negotiated, a request, an answer, two closes and window
//! updates: 8-10 small frames and about 680 bytes on the wire, 4 % of what a swarm moves,
//! and most of its CPU (per frame, not per byte: syscalls, wake-ups and a timer per
//! request). On a pipe a block costs one request frame and one answer frame (tag, kind,
//! holdings, length: about 50 bytes both ways; a request names its object only when the
//! one before on the pipe named another). Manifests and holdings questions, a few
//! per download, stay on request-response ([`super::codec`]): holdings questions on the
//! pipe saved 0.3 % of the bytes at N = 64 but cost about 1 % of efficiency (7 pairs),
//! their answers queued behind the block answers of the same pipe.
//!
//! - [`Pipes`]: the asking side, a link task per remote peer ([`link`]), opened on the
//!   first request and reopened after a failure;
//! - [`accept`]: the serving side, a task per inbound stream ([`inbound`]) feeding the
//!   node's upload slots ([`super::serve::Uploader`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use futures::StreamExt as _;
use libp2p::{PeerId, StreamProtocol};
use libp2p_stream::Control;
use tokio::sync::{mpsc, oneshot, watch};

use super::codec::{Ask, Response};

mod frame;
pub mod inbound;
mod link;

pub use inbound::SharedUploader;
use link::Outbound;

/// The protocol name of a block pipe.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/versus/blocks/2");

/// Locks `mutex`, whether or not a panicking holder poisoned it (the data stays consistent:
/// no critical section here leaves it half-updated).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The asking side of a node's block pipes. Cheap to clone.
#[derive(Clone)]
pub struct Pipes {
    control: Control,
    links: Arc<Mutex<HashMap<PeerId, mpsc::UnboundedSender<Outbound>>>>,
}

impl std::fmt::Debug for Pipes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipes")
            .field("links", &lock(&self.links).len())
            .finish()
    }
}

impl Pipes {
    /// Pipes opened through `control` (from the node's `libp2p_stream` behaviour).
    pub fn new(control: Control) -> Self {
        Pipes {
            control,
            links: Arc::default(),
        }
    }

    /// Sends a block request to `peer` and waits for its answer (no timeout here: the
    /// caller bounds the wait).
    pub async fn request(&self, peer: PeerId, ask: Ask) -> Result<Response, String> {
        let (waiter, answer) = oneshot::channel();
        self.send(peer, Outbound::Ask(ask, waiter));
        answer
            .await
            .map_err(|_| format!("the block pipe to peer {peer} closed"))?
    }

    /// Sends a cancel to `peer`, without waiting (no answer comes).
    pub fn cancel(&self, peer: PeerId, ask: Ask) {
        self.send(peer, Outbound::Cancel(ask));
    }

    /// Queues `message` on the link to `peer`, opening one if there is none or it ended.
    fn send(&self, peer: PeerId, message: Outbound) {
        let mut links = lock(&self.links);
        let message = match links.get(&peer) {
            Some(link) => match link.send(message) {
                Ok(()) => return,
                Err(mpsc::error::SendError(message)) => message,
            },
            None => message,
        };
        let (link, commands) = mpsc::unbounded_channel();
        let _ = link.send(message);
        links.insert(peer, link);
        tokio::spawn(link::run(peer, self.control.clone(), commands));
    }
}

/// Serves the block pipes other peers open to this node until `stop` turns true. Each
/// stream is served by a task of its own, which also ends at `stop`.
pub async fn accept(mut control: Control, uploader: SharedUploader, stop: watch::Receiver<bool>) {
    let mut incoming = match control.accept(PROTOCOL) {
        Ok(incoming) => incoming,
        Err(e) => {
            tracing::error!("cannot serve {PROTOCOL}: {e}");
            return;
        }
    };
    let mut stopped = stop.clone();
    loop {
        tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => break,
            next = incoming.next() => {
                let Some((peer, stream)) = next else { break };
                let uploader = Arc::clone(&uploader);
                let mut stopped = stop.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = stopped.wait_for(|stop| *stop) => {}
                        () = inbound::serve(peer, stream, uploader) => {}
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
