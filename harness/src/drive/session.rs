//! Drivers: how one user carries out an operation against a target.
//!
//! The load models (in `load/`) decide *when* operations happen and time them; a
//! [`Session`] only carries them out and says how it went, so every architecture is
//! timed by the same code. A session is one user's connection state (the closed model)
//! or one pooled connection (the open model).

use std::future::Future;

use bytes::Bytes;

pub use crate::record::op::{ErrorKind, OpKind, Outcome};
use versus_targets::content::ObjectId;

/// What a user asks a target to do.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The kind, which names the histogram it is recorded in.
    pub kind: OpKind,
    /// Which of the target's endpoints (server replica, or the user's own peer) serves it.
    pub endpoint: usize,
    /// Other endpoints that can answer it (replicas of the object), asked in order when
    /// `endpoint` cannot be reached.
    pub fallbacks: Option<std::sync::Arc<[usize]>>,
    /// HTTP method: GET/PUT on a server, POST on a peer's admin plane.
    pub method: hyper::Method,
    /// Request path and query, such as `/objects/ab12…`.
    pub path: Bytes,
    /// Headers besides Host (a `Host` here replaces it): a url workload's.
    pub headers: Option<std::sync::Arc<[(hyper::header::HeaderName, hyper::header::HeaderValue)]>>,
    /// Body to send (PUT).
    pub body: Option<Bytes>,
    /// What a good answer is, and which bytes it delivered.
    pub answer: Answer,
}

/// What a successful answer (2xx) must be, and what it delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The body is the payload and counts; with `verify`, it must be exactly the object
    /// with that content id.
    Payload {
        /// The object the body must be, when checked.
        verify: Option<ObjectId>,
    },
    /// The body is a peer's statistics of a fetch (`POST /fetch/{id}`): it must name
    /// this object and its size, and the bytes it says the fetch moved count (none for
    /// an object the peer already held).
    FetchStats {
        /// The object asked for.
        id: ObjectId,
        /// Its size.
        size: u64,
    },
}

impl Answer {
    /// Whether the body must be kept to check it.
    pub fn needs_body(&self) -> bool {
        !matches!(self, Answer::Payload { verify: None })
    }

    /// Checks a successful answer's `body` (kept when [`Answer::needs_body`]);
    /// `received` is the body's length. Returns the payload bytes delivered.
    pub fn delivered(&self, body: Option<&[u8]>, received: u64) -> Result<u64, ErrorKind> {
        match self {
            Answer::Payload { verify: None } => Ok(received),
            Answer::Payload { verify: Some(id) } => {
                let body = body.ok_or(ErrorKind::Verify)?;
                versus_targets::content::verify_object(id, body).map_err(|_| ErrorKind::Verify)?;
                Ok(received)
            }
            Answer::FetchStats { id, size } => {
                let stats: serde_json::Value = serde_json::from_slice(body.ok_or(ErrorKind::Body)?)
                    .map_err(|_| ErrorKind::Body)?;
                let named = stats["id"].as_str() == Some(id.to_string().as_str());
                if !named || stats["size"].as_u64() != Some(*size) {
                    return Err(ErrorKind::Verify);
                }
                let moved = stats["bytes"].as_u64().ok_or(ErrorKind::Body)?;
                Ok(moved.min(*size))
            }
        }
    }
}

/// A connection's set-up that the last operation had to do, timed apart from it (a TLS
/// handshake), to be recorded as an operation of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// The kind it is recorded as (`tls_handshake`).
    pub kind: OpKind,
    /// How long it took.
    pub took: std::time::Duration,
    /// How it ended (no payload: `Ok(0)`).
    pub outcome: Outcome,
}

/// One user's (or one pooled connection's) ability to carry out operations.
pub trait Session {
    /// Carries out `op`. The caller times it and applies the timeout.
    fn execute(&mut self, op: &Operation) -> impl Future<Output = Outcome>;
    /// Drops connection state after a timeout, so the next operation starts clean.
    fn reset(&mut self);
    /// The set-up the last [`Session::execute`] did, if any (taken: asked once).
    fn take_setup(&mut self) -> Option<Setup> {
        None
    }
}

/// Makes sessions; cheap to clone into every worker thread.
pub trait Connector: Clone + Send + 'static {
    /// The session type it makes.
    type Session: Session + 'static;
    /// A fresh session (no connection yet) for user or pool slot `slot`.
    fn session(&self, slot: u64) -> Self::Session;
}
