//! What is recorded of one operation: its kind (`get`, `put`, `tls_handshake` for a
//! connection's TLS set-up, and `req:<name>` for each named request of a url workload)
//! and how it ended (the payload bytes it moved, or the kind of error). Names are part
//! of the report contract.

use std::fmt;
use std::sync::Arc;

use crate::metric::REQUEST_PREFIX;
use crate::scenario::request::MAX_REQUEST_NAMES;

use serde::{Deserialize, Serialize};

/// The kinds of operation a workload issues. Names are part of the report contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// Fetch an object (also each user's download in a flash crowd).
    Get,
    /// Publish an object.
    Put,
    /// A new connection's TLS handshake (HTTPS targets only), measured apart from the
    /// request it was opened for. Not a request: availability and error rates leave it
    /// out (a failed handshake also fails its request).
    TlsHandshake,
    /// A named request of a url workload (`req:<name>`): the index of its name in the
    /// run's [`OpNames`], below [`MAX_REQUEST_NAMES`].
    Request(u8),
}

/// The report name of [`OpKind::TlsHandshake`].
pub(crate) const TLS_HANDSHAKE: &str = "tls_handshake";

/// Whether the operation named `name` in a report is a request (`get`, `put`), not a
/// connection's set-up (`tls_handshake`).
pub(crate) fn is_request(name: &str) -> bool {
    name != TLS_HANDSHAKE
}

/// The kinds before the requests in index order.
const FIXED_KINDS: usize = 3;

impl OpKind {
    /// How many kinds there are: the dense indices are `0..COUNT`.
    pub const COUNT: usize = FIXED_KINDS + MAX_REQUEST_NAMES;

    /// Dense index for per-kind arrays, below [`OpKind::COUNT`].
    pub fn index(self) -> usize {
        match self {
            OpKind::Get => 0,
            OpKind::Put => 1,
            OpKind::TlsHandshake => 2,
            OpKind::Request(i) => FIXED_KINDS + usize::from(i),
        }
    }

    /// The kind with dense index `index`, if any.
    pub fn from_index(index: usize) -> Option<OpKind> {
        match index {
            0 => Some(OpKind::Get),
            1 => Some(OpKind::Put),
            2 => Some(OpKind::TlsHandshake),
            i if i < Self::COUNT => u8::try_from(i - FIXED_KINDS).ok().map(OpKind::Request),
            _ => None,
        }
    }

    /// The report name: `get`, `put` or `tls_handshake`; `request` for every named
    /// request (its own name is in the run's [`OpNames`]).
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Get => "get",
            OpKind::Put => "put",
            OpKind::TlsHandshake => TLS_HANDSHAKE,
            OpKind::Request(_) => "request",
        }
    }
}

/// The report names of a run's operations: each kind's own, and `req:<name>` for each
/// named request. Cheap to clone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpNames {
    requests: Arc<[String]>,
}

impl OpNames {
    /// Names for requests named `names` (the first [`MAX_REQUEST_NAMES`]; the requests
    /// file allows no more), [`OpKind::Request`]`(i)` being `names[i]`.
    pub fn new<I: IntoIterator<Item = String>>(names: I) -> Self {
        Self {
            requests: names
                .into_iter()
                .take(MAX_REQUEST_NAMES)
                .map(|n| format!("{REQUEST_PREFIX}{n}"))
                .collect(),
        }
    }

    /// The report name of `kind`.
    pub fn name(&self, kind: OpKind) -> &str {
        match kind {
            OpKind::Request(i) => self
                .requests
                .get(usize::from(i))
                .map_or(kind.name(), String::as_str),
            other => other.name(),
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
    /// The server answered 1xx or 3xx: not the object asked for.
    HttpOther,
    /// The response body was cut short or could not be read.
    Body,
    /// The bytes received do not match the content id.
    Verify,
    /// The TLS handshake failed: the server's certificate was not trusted, or the
    /// protocol failed.
    Tls,
}

impl ErrorKind {
    /// Every kind, in index order.
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::Connect,
        ErrorKind::Timeout,
        ErrorKind::Io,
        ErrorKind::Http4xx,
        ErrorKind::Http5xx,
        ErrorKind::HttpOther,
        ErrorKind::Body,
        ErrorKind::Verify,
        ErrorKind::Tls,
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
            ErrorKind::HttpOther => "http_other",
            ErrorKind::Body => "body",
            ErrorKind::Verify => "verify",
            ErrorKind::Tls => "tls",
        }
    }
}

/// How an operation ended: the payload bytes moved, or why it failed.
pub type Outcome = Result<u64, ErrorKind>;
