//! One outbound block pipe: the stream this node opened to one remote peer. It carries
//! this node's block requests and cancels to that peer, tagged, and routes the answers
//! that come back (in whatever order the peer's upload slots release them) to whoever
//! waits for them.
//!
//! The link ends when its stream fails (the connection dropped, the peer stopped), or
//! after [`IDLE`] without a request while nothing is awaited; every request still waiting
//! then fails with the reason, and the next request to that peer opens a new link.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use futures::{AsyncReadExt as _, AsyncWriteExt as _};
use libp2p::PeerId;
use libp2p_stream::Control;
use tokio::sync::{mpsc, oneshot};

use super::super::codec::{Ask, Response};
use super::frame::{read_answer, write_ask, NO_ANSWER};
use super::{lock, PROTOCOL};

/// Longest the opening of a pipe may take (a dial included, if the peer is not connected).
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// A link with nothing to send and nothing awaited closes after this long.
const IDLE: Duration = Duration::from_secs(60);
/// Awaited answers beyond which those nobody waits for any more are forgotten.
const PRUNE_ABOVE: usize = 1024;

/// Who waits for the answer to one request.
pub type Waiter = oneshot::Sender<Result<Response, String>>;

/// What a link is given to send.
pub enum Outbound {
    /// A request, and who waits for its answer.
    Ask(Ask, Waiter),
    /// A cancel: no answer comes.
    Cancel(Ask),
}

/// Runs the link to `peer` until its stream fails or it idles out.
pub async fn run(
    peer: PeerId,
    mut control: Control,
    mut commands: mpsc::UnboundedReceiver<Outbound>,
) {
    let why = match tokio::time::timeout(OPEN_TIMEOUT, control.open_stream(peer, PROTOCOL)).await {
        Ok(Ok(stream)) => exchange(peer, stream, &mut commands).await,
        Ok(Err(e)) => format!("could not open a block pipe to peer {peer}: {e}"),
        Err(_) => format!("could not open a block pipe to peer {peer} within {OPEN_TIMEOUT:?}"),
    };
    tracing::debug!(%peer, "block pipe closed: {why}");
    // Requests queued meanwhile fail with the same reason.
    commands.close();
    while let Ok(command) = commands.try_recv() {
        if let Outbound::Ask(_, waiter) = command {
            let _ = waiter.send(Err(why.clone()));
        }
    }
}

/// Sends requests and routes answers until the stream fails or the link idles; returns why it ended.
async fn exchange(
    peer: PeerId,
    stream: libp2p::Stream,
    commands: &mut mpsc::UnboundedReceiver<Outbound>,
) -> String {
    let (mut input, mut output) = stream.split();
    // Shared by the reading and the writing half of this one task (never across an await).
    let waiting: Mutex<HashMap<u32, Waiter>> = Mutex::default();
    let reading = async {
        loop {
            match read_answer(&mut input).await {
                Ok((tag, response)) => {
                    if let Some(waiter) = lock(&waiting).remove(&tag) {
                        let _ = waiter.send(Ok(response));
                    }
                }
                Err(e) => {
                    return format!("the block pipe to peer {peer} failed while reading: {e}")
                }
            }
        }
    };
    let writing = async {
        let mut last_tag = NO_ANSWER;
        loop {
            let command = match tokio::time::timeout(IDLE, commands.recv()).await {
                Ok(Some(command)) => command,
                Ok(None) => return "the node stopped".to_string(),
                Err(_) if lock(&waiting).is_empty() => return format!("idle for {IDLE:?}"),
                Err(_) => continue,
            };
            let (tag, ask) = match command {
                Outbound::Ask(ask, waiter) => {
                    last_tag = last_tag.wrapping_add(1).max(1);
                    let mut waiting = lock(&waiting);
                    if waiting.len() > PRUNE_ABOVE {
                        waiting.retain(|_, w| !w.is_closed());
                    }
                    waiting.insert(last_tag, waiter);
                    (last_tag, ask)
                }
                Outbound::Cancel(ask) => (NO_ANSWER, ask),
            };
            if let Err(e) = write_ask(&mut output, tag, &ask).await {
                return format!("the block pipe to peer {peer} failed while writing: {e}");
            }
            if commands.is_empty() {
                if let Err(e) = output.flush().await {
                    return format!("the block pipe to peer {peer} failed while writing: {e}");
                }
            }
        }
    };
    let why = tokio::select! {
        why = reading => why,
        why = writing => why,
    };
    for (_, waiter) in lock(&waiting).drain() {
        let _ = waiter.send(Err(why.clone()));
    }
    why
}
