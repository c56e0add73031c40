//! Drivers: how one user carries out an operation against a target.
//!
//! The load models (in `load/`) decide *when* operations happen and time them; a
//! [`Session`] only carries them out and says how it went, so every architecture is
//! timed by the same code. A session is one user's connection state (the closed model)
//! or one pooled connection (the open model).

pub mod http;

use std::fmt;
use std::future::Future;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// The kinds of operation a workload issues. Names are part of the report contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// Fetch an object (also each user's download in a flash crowd).
    Get,
    /// Publish an object.
    Put,
}

impl OpKind {
    /// Every kind, in index order.
    pub const ALL: [OpKind; 2] = [OpKind::Get, OpKind::Put];

    /// Dense index for per-kind arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The report name: `get` or `put`.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Get => "get",
            OpKind::Put => "put",
        }
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an operation failed. Names are part of the report contract (`errors{<kind>}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The TCP connection (or the HTTP handshake) could not be made.
    Connect,
    /// The operation did not finish within the scenario's timeout.
    Timeout,
    /// The connection failed after the request was sent and before the response head.
    Io,
    /// The server answered 4xx.
    Http4xx,
    /// The server answered 5xx.
    Http5xx,
    /// The response body was cut short or could not be read.
    Body,
    /// The bytes received do not match the content id.
    Verify,
}

impl ErrorKind {
    /// Every kind, in index order.
    pub const ALL: [ErrorKind; 7] = [
        ErrorKind::Connect,
        ErrorKind::Timeout,
        ErrorKind::Io,
        ErrorKind::Http4xx,
        ErrorKind::Http5xx,
        ErrorKind::Body,
        ErrorKind::Verify,
    ];

    /// Dense index for per-kind arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The report name, such as `http_5xx`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Io => "io",
            ErrorKind::Http4xx => "http_4xx",
            ErrorKind::Http5xx => "http_5xx",
            ErrorKind::Body => "body",
            ErrorKind::Verify => "verify",
        }
    }
}

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

/// How an operation ended: the payload bytes moved, or why it failed.
pub type Outcome = Result<u64, ErrorKind>;

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
