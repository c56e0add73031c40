//! The handle to the swarm task ([`NodeHandle`]) and the [`Command`]s it sends: send a
//! chunk-protocol request, look up providers, announce or withdraw a provider record,
//! report status. Cheap to clone; downloads and admin routes hold one each.

use libp2p::PeerId;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use super::codec::{Ask, Response};
use super::exchange::Question;
use super::records::MAX_OWN_KEYS;
use crate::content::ObjectId;

/// Commands queued for the swarm task at most; senders wait beyond that.
pub(super) const COMMAND_QUEUE: usize = 1024;
/// Provider batches buffered per lookup.
const PROVIDER_BATCHES: usize = 64;

/// Who waits for the answer to a question, and the fellow downloaders it names.
pub(super) type AnswerWaiter = oneshot::Sender<Result<(Response, Vec<PeerId>), String>>;

/// What the rest of the node asks of the swarm task.
pub(super) enum Command {
    Request {
        peer: PeerId,
        request: Question,
        reply: AnswerWaiter,
    },
    FindProviders {
        id: ObjectId,
        dial: usize,
        reply: mpsc::Sender<Vec<PeerId>>,
    },
    Provide {
        id: ObjectId,
        reply: Option<oneshot::Sender<Result<(), ProvideError>>>,
    },
    StopProviding {
        id: ObjectId,
    },
    Status {
        reply: oneshot::Sender<NetStatus>,
    },
}

/// The network side of `GET /status`.
#[derive(Debug, Clone, Serialize)]
pub struct NetStatus {
    /// This node's peer id.
    pub peer_id: String,
    /// Addresses the data plane listens on, each ending in `/p2p/<peer id>`.
    pub listen_addrs: Vec<String>,
    /// Peers with at least one open connection.
    pub connected_peers: Vec<String>,
    /// Peers in the Kademlia routing table.
    pub routing_table_size: usize,
}

/// Why announcing this node as a provider failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvideError {
    /// The local provider record could not be stored: nobody can find the object here.
    #[error("could not record this peer as a provider of {id}: {reason}; this peer's provider store is full (it keeps room for {MAX_OWN_KEYS} objects of its own at least, more while few other peers' records are held): publish on another peer, or restart this one")]
    Local {
        /// The object.
        id: ObjectId,
        /// What the store said.
        reason: String,
    },
    /// The announcement query failed or timed out.
    #[error("the provider announcement of {id} did not reach the peers closest to it: {reason}")]
    Network {
        /// The object.
        id: ObjectId,
        /// What Kademlia said.
        reason: String,
    },
    /// The swarm task is gone.
    #[error("{STOPPED}")]
    Stopped,
}

/// A cheap handle to the swarm task.
#[derive(Clone, Debug)]
pub struct NodeHandle {
    pub(super) commands: mpsc::Sender<Command>,
}

const STOPPED: &str = "the peer's network task has stopped (the peer is shutting down)";

impl NodeHandle {
    async fn send(&self, command: Command) -> Result<(), String> {
        self.commands
            .send(command)
            .await
            .map_err(|_| STOPPED.to_string())
    }

    /// Sends a chunk-protocol question to `peer` and waits for the answer (the request
    /// timeout applies on the swarm side), asking it to name up to `fellows_wanted` fellow
    /// downloaders of the object: the answer comes with those named (their addresses are
    /// in the swarm's address book, so they can be dialed by id).
    pub async fn request(
        &self,
        peer: PeerId,
        ask: Ask,
        fellows_wanted: u8,
    ) -> Result<(Response, Vec<PeerId>), String> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Request {
            peer,
            request: Question {
                ask,
                fellows_wanted,
            },
            reply,
        })
        .await?;
        answer.await.map_err(|_| STOPPED.to_string())?
    }

    /// Starts a DHT lookup of the providers of `id`; batches of providers arrive on the
    /// receiver, which closes when the lookup ends. Up to `dial` providers found that are
    /// not connected yet are dialed while the lookup still knows their addresses.
    pub async fn find_providers(
        &self,
        id: ObjectId,
        dial: usize,
    ) -> Result<mpsc::Receiver<Vec<PeerId>>, String> {
        let (reply, batches) = mpsc::channel(PROVIDER_BATCHES);
        self.send(Command::FindProviders { id, dial, reply })
            .await?;
        Ok(batches)
    }

    /// Announces this node as a provider of `id` and waits for the announcement to reach
    /// the peers closest to the key.
    pub async fn provide(&self, id: ObjectId) -> Result<(), ProvideError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Provide {
            id,
            reply: Some(reply),
        })
        .await
        .map_err(|_| ProvideError::Stopped)?;
        answer.await.map_err(|_| ProvideError::Stopped)?
    }

    /// Announces this node as a provider of `id` without waiting.
    pub async fn provide_in_background(&self, id: ObjectId) {
        let _ = self.send(Command::Provide { id, reply: None }).await;
    }

    /// Queues `command` without waiting: at once if the queue has room (so commands
    /// queued this way keep their order), else from a task.
    fn queue_now(&self, command: Command) {
        match self.commands.try_send(command) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(command)) => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    let commands = self.commands.clone();
                    runtime.spawn(async move { commands.send(command).await });
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// As [`NodeHandle::provide_in_background`], without waiting for room in the queue.
    pub fn provide_soon(&self, id: ObjectId) {
        self.queue_now(Command::Provide { id, reply: None });
    }

    /// As [`NodeHandle::stop_providing`], without waiting (usable in `Drop`).
    pub fn stop_providing_soon(&self, id: ObjectId) {
        self.queue_now(Command::StopProviding { id });
    }

    /// Stops announcing this node as a provider of `id` (its local record goes; records
    /// already held by other peers expire on their own, and a peer that asks gets "not found").
    pub async fn stop_providing(&self, id: ObjectId) -> Result<(), String> {
        self.send(Command::StopProviding { id }).await
    }

    /// The network status.
    pub async fn status(&self) -> Result<NetStatus, String> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Status { reply }).await?;
        answer.await.map_err(|_| STOPPED.to_string())
    }
}
