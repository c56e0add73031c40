//! The ready line: the one JSON line a node prints on stdout once it accepts connections.
//!
//! The harness starts a node, reads its stdout until this line, and learns where the data
//! plane and the admin plane listen. Nothing else may be printed on stdout; logs go to
//! stderr. Example:
//! `{"event":"ready","data":"127.0.0.1:40123","admin":"127.0.0.1:40124"}`.

use std::io::Write as _;
use std::net::SocketAddr;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

/// The value of the `event` field.
pub const READY_EVENT: &str = "ready";

/// The content of the ready line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadyLine {
    /// Always `"ready"`.
    pub event: String,
    /// Where the data plane listens: `ip:port` for a server, a multiaddr for a peer.
    pub data: String,
    /// Where the admin plane listens.
    pub admin: SocketAddr,
    /// The libp2p peer id, for peers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_id: Option<String>,
}

impl ReadyLine {
    /// A ready line for a node whose data plane is at `data` and admin plane at `admin`.
    pub fn new(data: impl Into<String>, admin: SocketAddr) -> Self {
        ReadyLine {
            event: READY_EVENT.to_string(),
            data: data.into(),
            admin,
            peer_id: None,
        }
    }

    /// Parses a line printed by [`ReadyLine::print`]; `None` if it is not a ready line.
    pub fn parse(line: &str) -> Option<Self> {
        serde_json::from_str::<ReadyLine>(line.trim())
            .ok()
            .filter(|ready| ready.event == READY_EVENT)
    }

    /// The line as printed (JSON, no trailing newline).
    pub fn to_json(&self) -> String {
        // Serializing strings and addresses cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Prints the line on stdout, followed by a newline, and flushes.
    pub fn print(&self) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", self.to_json())
            .and_then(|()| out.flush())
            .context("could not print the ready line on stdout; is stdout closed?")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let admin: SocketAddr = "127.0.0.1:40124".parse().unwrap();
        let line = ReadyLine::new("127.0.0.1:40123", admin);
        assert_eq!(
            line.to_json(),
            r#"{"event":"ready","data":"127.0.0.1:40123","admin":"127.0.0.1:40124"}"#
        );
        assert_eq!(ReadyLine::parse(&line.to_json()), Some(line.clone()));
        let mut peer = line;
        peer.peer_id = Some("12D3Koo".into());
        assert!(peer.to_json().ends_with(r#","peer_id":"12D3Koo"}"#));
        assert_eq!(ReadyLine::parse(&peer.to_json()), Some(peer));
        assert_eq!(ReadyLine::parse("starting…"), None);
        assert_eq!(
            ReadyLine::parse(r#"{"event":"other","data":"x","admin":"127.0.0.1:1"}"#),
            None
        );
    }
}
