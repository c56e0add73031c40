//! What is recorded of one operation: its kind (`get`, `put`) and how it ended (the
//! payload bytes it moved, or the kind of error). Names are part of the report contract.

use std::fmt;

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
    /// The server answered 1xx or 3xx: not the object asked for.
    HttpOther,
    /// The response body was cut short or could not be read.
    Body,
    /// The bytes received do not match the content id.
    Verify,
}

impl ErrorKind {
    /// Every kind, in index order.
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::Connect,
        ErrorKind::Timeout,
        ErrorKind::Io,
        ErrorKind::Http4xx,
        ErrorKind::Http5xx,
        ErrorKind::HttpOther,
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
            ErrorKind::HttpOther => "http_other",
            ErrorKind::Body => "body",
            ErrorKind::Verify => "verify",
        }
    }
}

/// How an operation ended: the payload bytes moved, or why it failed.
pub type Outcome = Result<u64, ErrorKind>;
