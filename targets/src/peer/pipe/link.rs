//! One outbound block pipe: the stream this node opened to one remote peer. It carries
//! this node's block requests and cancels to that peer, tagged, and routes the answers
//! that come back (in whatever order the peer's upload slots release them) to whoever
//! waits for them.
//!
//! A stream that fails while requests wait is reopened and those requests sent again, up
//! to [`REOPENS`] times in a row without an answer in between. A pipe can be lost without
//! anything wrong with the peer: `libp2p-stream` hands inbound streams to the accepting
//! task through a channel of one slot and drops a stream that arrives while the slot is
//! taken (two peers opening pipes to one node at the same moment; rust-libp2p#5651), and
//! a connection of a simultaneous dial may close under the stream. Failing those requests
//! instead counted as two failures and banned a healthy provider for the whole download.
//!
//! The link ends when a stream cannot be opened (the peer is gone: a dial is refused at
//! once), when reopening did not help, or after [`IDLE`] without a request while nothing
//! is awaited; every request still waiting then fails with the reason, and the next
//! request to that peer opens a new link.

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
/// Streams reopened in a row, none of them answering, before the waiting requests fail.
const REOPENS: u32 = 4;
/// Pause before the first reopening, doubled for each further one (50, 100, 200, 400 ms).
const REOPEN_PAUSE: Duration = Duration::from_millis(50);

/// Who waits for the answer to one request.
pub type Waiter = oneshot::Sender<Result<Response, String>>;

/// What a link is given to send.
pub enum Outbound {
    /// A request, and who waits for its answer.
    Ask(Ask, Waiter),
    /// A cancel: no answer comes.
    Cancel(Ask),
}

/// A request sent and not answered yet: kept whole, to be sent again on a new stream.
struct Awaited {
    ask: Ask,
    waiter: Waiter,
}

/// Requests awaiting their answers, by tag. Shared by the reading and the writing half of
/// the link's one task (never held across an await).
type AwaitedByTag = Mutex<HashMap<u32, Awaited>>;

/// How one stream of a link ended.
struct Ended {
    why: String,
    /// The stream failed (rather than the node stopping or the link idling out).
    failed: bool,
    /// Answers the stream delivered before it ended.
    answers: u64,
}

/// Runs the link to `peer` until a stream cannot be (re)opened, reopening does not help,
/// the node stops, or the link idles out.
pub async fn run(
    peer: PeerId,
    mut control: Control,
    mut commands: mpsc::UnboundedReceiver<Outbound>,
) {
    let awaited = AwaitedByTag::default();
    let mut last_tag = NO_ANSWER;
    let mut reopened = 0u32;
    let why = loop {
        let stream = match tokio::time::timeout(OPEN_TIMEOUT, control.open_stream(peer, PROTOCOL))
            .await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => break format!("could not open a block pipe to peer {peer}: {e}"),
            Err(_) => {
                break format!("could not open a block pipe to peer {peer} within {OPEN_TIMEOUT:?}")
            }
        };
        let ended = exchange(peer, stream, &mut commands, &awaited, &mut last_tag).await;
        if !ended.failed {
            break ended.why;
        }
        reopened = if ended.answers > 0 { 1 } else { reopened + 1 };
        lock(&awaited).retain(|_, a| !a.waiter.is_closed());
        // Requests not written yet count too: a stream dropped at once can fail before
        // its writer took the first one from the queue.
        let waiting = lock(&awaited).len() + commands.len();
        if waiting == 0 || reopened > REOPENS {
            break ended.why;
        }
        tracing::debug!(%peer, waiting, reopened, "reopening a block pipe: {}", ended.why);
        tokio::time::sleep(REOPEN_PAUSE * 2u32.pow(reopened - 1)).await;
    };
    tracing::debug!(%peer, "block pipe closed: {why}");
    for (_, a) in lock(&awaited).drain() {
        let _ = a.waiter.send(Err(why.clone()));
    }
    // Requests queued meanwhile fail with the same reason.
    commands.close();
    while let Ok(command) = commands.try_recv() {
        if let Outbound::Ask(_, waiter) = command {
            let _ = waiter.send(Err(why.clone()));
        }
    }
}

/// Sends the requests still awaited from an earlier stream (in the order first sent),
/// then new requests, and routes answers, until the stream fails, the node stops or the
/// link idles out.
async fn exchange(
    peer: PeerId,
    stream: libp2p::Stream,
    commands: &mut mpsc::UnboundedReceiver<Outbound>,
    awaited: &AwaitedByTag,
    last_tag: &mut u32,
) -> Ended {
    let (mut input, mut output) = stream.split();
    let mut answers = 0u64;
    let reading = async {
        loop {
            match read_answer(&mut input).await {
                Ok((tag, response)) => {
                    answers += 1;
                    if let Some(a) = lock(awaited).remove(&tag) {
                        let _ = a.waiter.send(Ok(response));
                    }
                }
                Err(e) => {
                    return format!("the block pipe to peer {peer} failed while reading: {e}")
                }
            }
        }
    };
    let writing = async {
        let result: Result<std::convert::Infallible, (String, bool)> = async {
            let failed = |e: std::io::Error| {
                (
                    format!("the block pipe to peer {peer} failed while writing: {e}"),
                    true,
                )
            };
            // The object this stream named last (requests for it leave the id out).
            let mut named = None;
            let mut resend: Vec<(u32, Ask)> = lock(awaited)
                .iter()
                .map(|(tag, a)| (*tag, a.ask.clone()))
                .collect();
            resend.sort_unstable_by_key(|(tag, _)| *tag);
            for (tag, ask) in &resend {
                write_ask(&mut output, &mut named, *tag, ask)
                    .await
                    .map_err(failed)?;
            }
            loop {
                output.flush().await.map_err(failed)?;
                let command = match tokio::time::timeout(IDLE, commands.recv()).await {
                    Ok(Some(command)) => command,
                    Ok(None) => return Err(("the node stopped".to_string(), false)),
                    Err(_) if lock(awaited).is_empty() => {
                        return Err((format!("idle for {IDLE:?}"), false))
                    }
                    Err(_) => continue,
                };
                let mut next = Some(command);
                // Everything queued goes out before one flush.
                while let Some(command) = next.take().or_else(|| commands.try_recv().ok()) {
                    let (tag, ask) = match command {
                        Outbound::Ask(ask, waiter) => {
                            *last_tag = last_tag.wrapping_add(1).max(1);
                            let mut awaited = lock(awaited);
                            if awaited.len() > PRUNE_ABOVE {
                                awaited.retain(|_, a| !a.waiter.is_closed());
                            }
                            awaited.insert(
                                *last_tag,
                                Awaited {
                                    ask: ask.clone(),
                                    waiter,
                                },
                            );
                            (*last_tag, ask)
                        }
                        Outbound::Cancel(ask) => (NO_ANSWER, ask),
                    };
                    write_ask(&mut output, &mut named, tag, &ask)
                        .await
                        .map_err(failed)?;
                }
            }
        }
        .await;
        match result {
            Err(ended) => ended,
            Ok(never) => match never {},
        }
    };
    let (why, failed) = tokio::select! {
        why = reading => (why, true),
        ended = writing => ended,
    };
    Ended {
        why,
        failed,
        answers,
    }
}
