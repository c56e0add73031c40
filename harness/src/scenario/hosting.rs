//! `[architectures] peers_per_process`: how many users' peers share one process (a peer
//! host, `versus peers`), so that a thousand peers fit on one machine. `"auto"` (the
//! default) keeps one process per peer for small swarms, where it costs little and lets
//! every fault reach single peers, and hosts up to 128 peers per process above — fewer
//! when the open-file limit says so: in a flash crowd every peer ends up connected to
//! nearly every other (measured: ~250 descriptors per peer at N = 256), so a host of K
//! peers holds about K × N sockets, and a host out of descriptors fails. A number fixes
//! it. The seed always has a process of its own.

use serde::{Deserialize, Serialize};

use super::faults::FaultAction;
use super::model::{LauncherKind, Scenario};

/// Largest swarm `"auto"` still gives one process per peer.
pub const AUTO_OWN_PROCESS_UP_TO: usize = 64;
/// Most peers `"auto"` puts in one host.
pub const AUTO_MAX_PER_HOST: usize = 128;
/// Descriptors one peer is assumed to hold beyond one per other peer (listeners,
/// admin connections, handshakes in progress).
pub const FDS_PER_PEER_EXTRA: usize = 32;
/// Most peers one process may host (what `versus peers` accepts).
pub const MAX_PER_PROCESS: u32 = versus_targets::peer::host::MAX_HOSTED as u32;

/// `peers_per_process = "auto" | K`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Raw", into = "Raw")]
pub enum PeersPerProcess {
    /// One process per peer up to [`AUTO_OWN_PROCESS_UP_TO`] peers (and whenever a
    /// fault pauses peers, or with containers); hosts of at most [`AUTO_MAX_PER_HOST`]
    /// peers above, at least two.
    #[default]
    Auto,
    /// This many peers per process (the last one may have fewer).
    Fixed(u32),
}

/// How the value is written: `"auto"` or a number.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Raw {
    Count(u32),
    Word(String),
}

impl TryFrom<Raw> for PeersPerProcess {
    type Error = String;

    fn try_from(raw: Raw) -> Result<Self, String> {
        match raw {
            Raw::Count(k) => Ok(PeersPerProcess::Fixed(k)),
            Raw::Word(w) if w == "auto" => Ok(PeersPerProcess::Auto),
            Raw::Word(w) => Err(format!(
                "{w:?} is not \"auto\" or a number of peers per process (1 to {MAX_PER_PROCESS})"
            )),
        }
    }
}

impl From<PeersPerProcess> for Raw {
    fn from(p: PeersPerProcess) -> Raw {
        match p {
            PeersPerProcess::Auto => Raw::Word("auto".into()),
            PeersPerProcess::Fixed(k) => Raw::Count(k),
        }
    }
}

/// True when a fault of the scenario pauses peers (which needs a process per peer).
fn pauses_peers(s: &Scenario) -> bool {
    s.faults
        .iter()
        .any(|f| f.action == FaultAction::Pause && f.target.role() == crate::arch::Role::Peer)
}

/// The open-file limit a peer host gets (`versus` raises its soft limit to the hard
/// one at start, and its children inherit the hard one).
pub fn process_fd_limit() -> u64 {
    rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(_, hard)| hard)
}

/// Peers of a swarm of `peers` one process can host within `fd_limit` descriptors
/// (three quarters of it, for margin), at least 1.
pub fn fits_in_fds(peers: usize, fd_limit: u64) -> usize {
    let budget = usize::try_from(fd_limit / 4 * 3).unwrap_or(usize::MAX);
    (budget / (peers + FDS_PER_PEER_EXTRA)).max(1)
}

impl PeersPerProcess {
    /// Peers per process for a swarm of `peers` users' peers in `s`, where a process may
    /// open `fd_limit` files.
    pub fn resolve(self, s: &Scenario, peers: usize, fd_limit: u64) -> usize {
        match self {
            PeersPerProcess::Fixed(k) => (k as usize).clamp(1, peers.max(1)),
            PeersPerProcess::Auto => {
                let own = peers <= AUTO_OWN_PROCESS_UP_TO
                    || s.architectures.launcher != LauncherKind::Process
                    || pauses_peers(s)
                    || !s.network.regions.is_empty();
                if own {
                    return 1;
                }
                let hosts = peers
                    .div_ceil(AUTO_MAX_PER_HOST)
                    .max(peers.div_ceil(fits_in_fds(peers, fd_limit)))
                    .max(2);
                peers.div_ceil(hosts)
            }
        }
    }

    /// The rules across keys: a number within bounds, hosts only with processes, no
    /// pause of peers that share a process. The problem as (key, message).
    pub(super) fn check(self, s: &Scenario) -> Result<(), (String, String)> {
        let PeersPerProcess::Fixed(k) = self else {
            return Ok(());
        };
        let key = "architectures.peers_per_process".to_string();
        if k == 0 || k > MAX_PER_PROCESS {
            return Err((key, format!("must be \"auto\" or 1 to {MAX_PER_PROCESS}")));
        }
        if k > 1 && !s.network.regions.is_empty() {
            return Err((key, "peer hosts are not yet supported with network.regions (a 16-peer swarm in hosts of 4 across two regions did not form within 60 s); set 1 or \"auto\"".into()));
        }
        if k > 1 && s.architectures.launcher != LauncherKind::Process {
            return Err((key, "hosting several peers in one process needs launcher = \"process\"; with containers every peer has its own, so set 1 or \"auto\"".into()));
        }
        if k > 1 && pauses_peers(s) {
            return Err((key, "a pause fault on peers freezes a whole process, and hosted peers share one; set 1 (or \"auto\") to pause single peers".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(extra: &str) -> Scenario {
        let text = format!("name = \"t\"\n[workload]\nkind = \"flash-crowd\"\n{extra}");
        crate::scenario::parse("t", &text, &[]).unwrap()
    }

    #[test]
    fn auto_keeps_small_swarms_in_their_own_processes() {
        let s = scenario("");
        let auto = PeersPerProcess::Auto;
        let many = 1 << 20;
        assert_eq!(auto.resolve(&s, 16, many), 1);
        assert_eq!(auto.resolve(&s, 64, many), 1);
        assert_eq!(auto.resolve(&s, 65, many), 33);
        assert_eq!(auto.resolve(&s, 256, many), 128);
        assert_eq!(auto.resolve(&s, 1000, many), 125);
        // 20,000 descriptors: 15,000 / (N + 32) peers per host.
        assert_eq!(auto.resolve(&s, 256, 20_000), 52);
        assert_eq!(auto.resolve(&s, 1000, 20_000), 14);
        assert_eq!(PeersPerProcess::Fixed(8).resolve(&s, 4, many), 4);
        assert_eq!(PeersPerProcess::Fixed(8).resolve(&s, 64, many), 8);
        let pausing = scenario(
            "[[faults]]\nat = \"1s\"\naction = \"pause\"\ntarget = \"peers\"\ncount = 1\n",
        );
        assert_eq!(auto.resolve(&pausing, 1000, many), 1);
    }

    #[test]
    fn hosts_are_refused_where_they_cannot_work() {
        let pausing =
            "[[faults]]\nat = \"1s\"\naction = \"pause\"\ntarget = \"peers\"\ncount = 1\n";
        let hosted = "[architectures]\npeers_per_process = 8\n";
        let e = crate::scenario::parse(
            "t",
            &format!("name = \"t\"\n[workload]\nkind = \"flash-crowd\"\n{hosted}{pausing}"),
            &[],
        )
        .unwrap_err();
        assert_eq!(
            e.key.as_deref(),
            Some("architectures.peers_per_process"),
            "{e}"
        );
        let docker = "[architectures]\npeers_per_process = 8\nlauncher = \"docker\"\n";
        assert!(crate::scenario::parse(
            "t",
            &format!("name = \"t\"\n[workload]\nkind = \"flash-crowd\"\n{docker}"),
            &[]
        )
        .is_err());
        let zero = "[architectures]\npeers_per_process = 0\n";
        assert!(crate::scenario::parse(
            "t",
            &format!("name = \"t\"\n[workload]\nkind = \"flash-crowd\"\n{zero}"),
            &[]
        )
        .is_err());
    }

    #[test]
    fn reads_auto_or_a_number() {
        #[derive(Deserialize)]
        struct T {
            p: PeersPerProcess,
        }
        let t: T = toml::from_str("p = \"auto\"").unwrap();
        assert_eq!(t.p, PeersPerProcess::Auto);
        let t: T = toml::from_str("p = 64").unwrap();
        assert_eq!(t.p, PeersPerProcess::Fixed(64));
        assert!(toml::from_str::<T>("p = \"many\"").is_err());
    }
}
