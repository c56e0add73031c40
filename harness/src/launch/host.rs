//! Peer hosts under the process launcher: several peers in one child process
//! (`versus peers --each …`, see `versus_targets::peer::host`), each still a node of its
//! own for the cluster — its own spec, ready line, admin plane and faults.
//!
//! A fault hits one hosted peer through its admin plane, not through a signal (which
//! would hit every peer of the process): kill and leave are `POST /kill` (the peer's
//! swarm is dropped at once: its connections close, its listener goes; the others keep
//! serving), and the peer counts as gone once its admin plane stops answering. Pause and
//! resume freeze a process, so they cannot hit one hosted peer: they are refused with
//! [`CANNOT_PAUSE`]. A peer started again (restart, join) gets a process of its own.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use versus_targets::peer::host::host_argv;
use versus_targets::ready::ReadyLine;

use super::http_client::request;
use super::launcher::Signal;
use super::process::{ChildProcess, LaunchError, NodeProcess};
use crate::plan::nodes::{NodeSpec, TargetArgs};

/// Why a hosted peer cannot be paused.
pub(crate) const CANNOT_PAUSE: &str = "pause and resume freeze a whole process, and this peer shares its process with others (a peer host); set architectures.peers_per_process = 1 to pause single peers";

/// Longest a `POST /kill` may take to be answered.
const KILL_TIMEOUT: Duration = Duration::from_secs(2);
/// How often [`wait_gone`] looks whether the admin plane still answers.
const GONE_POLL: Duration = Duration::from_millis(20);

/// `peers 3–66`, for messages about a host.
fn host_name(specs: &[NodeSpec]) -> String {
    match (specs.first(), specs.last()) {
        (Some(first), Some(last)) if specs.len() > 1 => {
            format!(
                "{}s {}–{} (one host process)",
                first.role, first.index, last.index
            )
        }
        (Some(only), _) => only.name(),
        _ => "an empty peer host".into(),
    }
}

/// Starts the peers `specs` in one process and waits for their ready lines.
pub(super) async fn start(
    specs: Vec<NodeSpec>,
    ready_timeout: Duration,
) -> Result<Vec<NodeProcess>, LaunchError> {
    let name = host_name(&specs);
    let refuse = |why: String| LaunchError::Hosting {
        peers: specs.len(),
        why,
    };
    let peers = specs
        .iter()
        .map(|spec| match &spec.args {
            TargetArgs::Peer(args) => Ok(args.clone()),
            TargetArgs::Server(_) => Err(refuse(format!("{} is not a peer", spec.name()))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let argv = host_argv(&peers).map_err(|e| refuse(e.to_string()))?;
    let (process, ready) = ChildProcess::start(name, argv, specs.len(), ready_timeout).await?;
    let process = Arc::new(process);
    Ok(specs
        .into_iter()
        .zip(ready)
        .map(|(spec, ready)| NodeProcess::hosted(spec, ready, Arc::clone(&process)))
        .collect())
}

/// Carries out `signal` on one hosted peer: kill and terminate through `POST /kill`;
/// pause and resume cannot (the cluster refuses them first, see [`CANNOT_PAUSE`]).
pub(super) async fn signal(spec: &NodeSpec, ready: &ReadyLine, signal: Signal) {
    match signal {
        Signal::Kill | Signal::Terminate => {
            let killed = request(
                ready.admin,
                None,
                Method::POST,
                "/kill",
                Bytes::new(),
                KILL_TIMEOUT,
            )
            .await;
            match killed {
                Ok((StatusCode::OK, _)) => {}
                Ok((status, body)) => tracing::warn!(
                    "{} answered POST /kill with {status}: {}",
                    spec.name(),
                    String::from_utf8_lossy(&body)
                ),
                // Already gone (killed before, or its host died).
                Err(e) => tracing::debug!("{}: {e}", spec.name()),
            }
        }
        Signal::Pause | Signal::Resume => {
            tracing::warn!("{}: {CANNOT_PAUSE}", spec.name());
        }
    }
}

/// Waits up to `grace` for a hosted peer's admin plane to stop answering; true if it
/// did (the peer has stopped).
pub(super) async fn wait_gone(ready: &ReadyLine, grace: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + grace;
    loop {
        let answer = request(
            ready.admin,
            None,
            Method::GET,
            "/healthz",
            Bytes::new(),
            GONE_POLL.max(Duration::from_millis(200)),
        )
        .await;
        if answer.is_err() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(GONE_POLL).await;
    }
}
