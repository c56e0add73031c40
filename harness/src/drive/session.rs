//! Drivers: how one user carries out an operation against a target.
//!
//! The load models (in `load/`) decide *when* operations happen and time them; a
//! [`Session`] only carries them out and says how it went, so every architecture is
//! timed by the same code. A session is one user's connection state (the closed model)
//! or one pooled connection (the open model).

use std::future::Future;

use bytes::Bytes;

pub(crate) use crate::record::op::{OpKind, Outcome};

/// What a user asks a target to do.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The kind, which names the histogram it is recorded in.
    pub kind: OpKind,
    /// Which of the target's endpoints (server replica, or the user's own peer) serves it.
    pub endpoint: usize,
    /// HTTP method: GET/PUT on a server, POST on a peer's admin plane.
    pub method: hyper::Method,
    /// Request path and query, such as `/objects/ab12…`.
    pub path: Bytes,
    /// Body to send (PUT).
    pub body: Option<Bytes>,
    /// When set, the response body must have this content id and size.
    pub expect: Option<versus_targets::content::ObjectId>,
    /// Payload bytes the operation delivers when the response body is not the payload
    /// itself (a peer answers a fetch with statistics): counted instead of the body.
    pub delivers: Option<u64>,
}

/// One user's (or one pooled connection's) ability to carry out operations.
pub trait Session {
    /// Carries out `op`. The caller times it and applies the timeout.
    fn execute(&mut self, op: &Operation) -> impl Future<Output = Outcome>;
    /// Drops connection state after a timeout, so the next operation starts clean.
    fn reset(&mut self);
}

/// Makes sessions; cheap to clone into every worker thread.
pub trait Connector: Clone + Send + 'static {
    /// The session type it makes.
    type Session: Session + 'static;
    /// A fresh session (no connection yet) for user or pool slot `slot`.
    fn session(&self, slot: u64) -> Self::Session;
}
