//! What is recorded of one operation: its kind (`get`, `put`, and `tls_handshake` for a
//! connection's TLS set-up) and how it ended (the payload bytes it moved, or the kind of
//! error). Names are part of the report contract.

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
    /// A new connection's TLS handshake (HTTPS targets only), measured apart from the
    /// request it was opened for. Not a request: availability and error rates leave it
    /// out (a failed handshake also fails its request).
    TlsHandshake,
}

/// The report name of [`OpKind::TlsHandshake`].
pub(crate) const TLS_HANDSHAKE: &str = "tls_handshake";

/// Whether the operation named `name` in a report is a request (`get`, `put`), not a
/// connection's set-up (`tls_handshake`).
pub(crate) fn is_request(name: &str) -> bool {
    name != TLS_HANDSHAKE
}

impl OpKind {
    /// Every kind, in index order.
    pub const ALL: [OpKind; 3] = [OpKind::Get, OpKind::Put, OpKind::TlsHandshake];

    /// Dense index for per-kind arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The report name: `get`, `put` or `tls_handshake`.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Get => "get",
            OpKind::Put => "put",
            OpKind::TlsHandshake => TLS_HANDSHAKE,
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
