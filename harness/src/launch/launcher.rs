//! The seam between the executor and whatever runs the nodes: a [`Launcher`] starts a
//! node from its typed spec and waits for its ready line; a [`Node`] can be signalled,
//! waited for and stopped. Child processes ([`super::process::ProcessLauncher`], also
//! several peers in one process: [`Launcher::launch_host`]) are one implementation; a
//! container backend is another.

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use versus_targets::ready::ReadyLine;

use super::process::LaunchError;
use crate::plan::nodes::NodeSpec;
use crate::record::resources::Probe;

/// What a fault or a shutdown does to a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// Crash it at once (SIGKILL).
    Kill,
    /// Ask it to stop (SIGTERM).
    Terminate,
    /// Freeze it (SIGSTOP, or a container's freezer).
    Pause,
    /// Thaw it (SIGCONT).
    Resume,
}

/// Starts nodes.
pub(crate) trait Launcher {
    /// A running node of this backend.
    type Node: Node;

    /// Starts `spec` and waits up to `ready_timeout` for its ready line.
    fn launch(
        &self,
        spec: NodeSpec,
        ready_timeout: Duration,
    ) -> impl Future<Output = Result<Self::Node, LaunchError>>;

    /// Starts the peers `specs` in ONE process (a peer host) and waits up to
    /// `ready_timeout` for their ready lines; the nodes come back in the order given.
    /// Only the process launcher can.
    fn launch_host(
        &self,
        specs: Vec<NodeSpec>,
        ready_timeout: Duration,
    ) -> impl Future<Output = Result<Vec<Self::Node>, LaunchError>> {
        let _ = ready_timeout;
        std::future::ready(Err(LaunchError::Hosting {
            peers: specs.len(),
            why: "only launcher = \"process\" hosts several peers in one process; set architectures.peers_per_process = 1".into(),
        }))
    }
}

/// A running node.
pub(crate) trait Node {
    /// What was started.
    fn spec(&self) -> &NodeSpec;
    /// Its ready line (addresses, peer id).
    fn ready(&self) -> &ReadyLine;
    /// What to sample for its CPU and memory (its process, its container's cgroup), if
    /// the backend exposes it.
    fn probe(&self) -> Option<Probe>;
    /// The bearer token its admin plane wants, when it is exposed beyond loopback.
    fn bearer(&self) -> Option<&str> {
        None
    }
    /// The address other nodes reach it at, when it has one of its own (a container).
    fn address(&self) -> Option<IpAddr> {
        None
    }
    /// Drops every packet to and from `others` (a partition), replacing what an earlier
    /// call dropped; an empty list heals. Only nodes with their own address can.
    fn isolate(&mut self, others: &[IpAddr]) -> impl Future<Output = Result<(), String>> {
        let _ = others;
        std::future::ready(Err(
            "a partition needs nodes with their own addresses: architectures.launcher = \"docker\""
                .to_string(),
        ))
    }
    /// Whether [`Signal::Pause`] and [`Signal::Resume`] can reach it alone; why not.
    fn pausable(&self) -> Result<(), String> {
        Ok(())
    }
    /// Sends it `signal`, if it still runs (done when this returns).
    fn signal(&mut self, signal: Signal) -> impl Future<Output = ()>;
    /// Waits up to `grace` for it to exit; true if it did.
    fn wait_exit(&mut self, grace: Duration) -> impl Future<Output = bool>;
    /// Asks it to stop, then kills it after `grace`.
    fn stop(self, grace: Duration) -> impl Future<Output = ()>;
}
