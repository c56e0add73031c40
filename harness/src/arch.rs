//! The two architectures Versus sets side by side, and the roles processes play in them. Inside the code an architecture is
//! always this enum; `"cs"` and `"p2p"` exist only in its (de)serialisation, as the report
//! contract spells them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Client-server or peer-to-peer.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// Client-server: the HTTP object store (or any HTTP server at a URL).
    Cs,
    /// Peer-to-peer: the libp2p swarm.
    P2p,
}

impl Arch {
    /// Both, in report order.
    pub const ALL: [Arch; 2] = [Arch::Cs, Arch::P2p];

    /// The short name of the report contract: `cs` or `p2p`.
    pub const fn name(self) -> &'static str {
        match self {
            Arch::Cs => "cs",
            Arch::P2p => "p2p",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Arch {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Arch::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| format!("unknown architecture `{s}`: expected cs or p2p"))
    }
}

/// What a process does in a run; the key of `traffic.<role>` and `resources.<role>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A client-server replica (`versus server`).
    Server,
    /// The peer-to-peer swarm's first holder, with the server's upload cap.
    Seed,
    /// A user's own peer.
    Peer,
    /// The load generator itself.
    Harness,
}

impl Role {
    /// The report name: `server`, `seed`, `peer` or `harness`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Seed => "seed",
            Role::Peer => "peer",
            Role::Harness => "harness",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_the_contract_spells_it() {
        assert_eq!(serde_json::to_string(&Arch::Cs).unwrap(), "\"cs\"");
        assert_eq!(serde_json::to_string(&Arch::P2p).unwrap(), "\"p2p\"");
        assert_eq!(serde_json::from_str::<Arch>("\"p2p\"").unwrap(), Arch::P2p);
        assert_eq!("cs".parse::<Arch>().unwrap(), Arch::Cs);
        assert!("mesh".parse::<Arch>().is_err());
    }
}
