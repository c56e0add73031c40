//! Attach mode (`--attach FILE`): a [`Launcher`] for targets the harness did not start.
//! "Launching" node k of a role resolves the k-th address of that role in the targets
//! file ([`file`]) and waits until its admin plane answers `/healthz`; the executor
//! then publishes, scrapes `/metrics` and drives exactly as with nodes it started.
//! Stopping an attached node leaves it running. Faults are refused: the harness cannot
//! kill, pause or restart what it does not run (use the process or docker launcher,
//! or the platform's own tooling, for those).

pub mod file;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use tokio::time::Instant;
use versus_targets::exposure::{ip_is_loopback, TOKEN_ENV};
use versus_targets::ready::ReadyLine;

pub use file::Targets;

use super::http_client::request;
use super::launcher::{Launcher, Node, Signal};
use super::process::LaunchError;
use crate::arch::Role;
use crate::error::Failure;
use crate::plan::nodes::NodeSpec;
use crate::plan::{ArchPlan, TlsPlan};
use crate::record::resources::Probe;

/// How often an attached node that does not answer yet is asked again.
const RETRY: Duration = Duration::from_millis(500);

/// "Starts" nodes by finding them in a targets file.
#[derive(Debug, Clone)]
pub struct AttachLauncher {
    targets: Targets,
    bearer: Option<String>,
    allow_remote: bool,
}

/// A node the harness did not start.
#[derive(Debug)]
pub struct AttachedNode {
    spec: NodeSpec,
    ready: ReadyLine,
    bearer: Option<String>,
}

/// The launcher for the attached `targets`, after checking that they can carry out
/// `plan`: as many nodes of each role as the plan has, no faults, no generated TLS.
pub(crate) fn launcher_for(plan: &ArchPlan, targets: &Targets) -> Result<AttachLauncher, Failure> {
    check(plan, targets)?;
    let bearer = std::env::var(TOKEN_ENV)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    Ok(AttachLauncher {
        targets: targets.clone(),
        bearer,
        allow_remote: plan.allow_remote_target,
    })
}

/// Refuses what attached targets cannot do (exit 2).
fn check(plan: &ArchPlan, targets: &Targets) -> Result<(), Failure> {
    let file = targets.file.display();
    if !plan.faults.is_empty() {
        return Err(Failure::Usage(format!(
            "--attach {file}: the scenario has [[faults]], but the harness cannot kill, pause or restart targets it did not start; drop the faults, or let versus start the targets (architectures.launcher = \"process\" or \"docker\")"
        )));
    }
    if plan.tls == Some(TlsPlan::Generated) {
        return Err(Failure::Usage(format!(
            "--attach {file}: network.tls makes a certificate for servers versus starts; attached servers do not have it (drive an https:// server with --url instead)"
        )));
    }
    for role in [Role::Server, Role::Seed, Role::Peer] {
        let wanted = plan.nodes.iter().filter(|n| n.role == role).count();
        let listed = targets.of(role).len();
        if listed < wanted {
            return Err(Failure::Usage(format!(
                "--attach {file}: the {} run needs {wanted} {role} node(s) (architectures.servers, or one peer per user), the file lists {listed}",
                plan.arch
            )));
        }
    }
    Ok(())
}

impl AttachLauncher {
    /// `host:port`, resolved, refusing a non-loopback one without leave.
    async fn resolve(&self, name: &str, what: &str, at: &str) -> Result<SocketAddr, String> {
        let addr = tokio::net::lookup_host(at)
            .await
            .map_err(|e| format!("cannot resolve its {what} address {at:?}: {e}"))?
            .next()
            .ok_or_else(|| format!("its {what} address {at:?} resolves to nothing"))?;
        if !self.allow_remote && !ip_is_loopback(addr.ip()) {
            return Err(format!(
                "{name}'s {what} address {at} is {}, not a loopback address; pass --allow-remote-target to drive targets beyond this machine",
                addr.ip()
            ));
        }
        Ok(addr)
    }

    /// Resolves the node's addresses and waits until its admin plane answers.
    async fn attach(&self, spec: &NodeSpec) -> Result<ReadyLine, String> {
        let name = spec.name();
        let listed = self.targets.of(spec.role);
        let address = listed.get(spec.index).ok_or_else(|| {
            format!(
                "{} lists {} {} node(s), none for index {}",
                self.targets.file.display(),
                listed.len(),
                spec.role,
                spec.index
            )
        })?;
        let admin = self.resolve(&name, "admin", &address.admin).await?;
        let data = match spec.role {
            Role::Server => self
                .resolve(&name, "data", &address.data)
                .await?
                .to_string(),
            _ => address.data.clone(),
        };
        let (status, _) = request(
            admin,
            self.bearer.as_deref(),
            Method::GET,
            "/healthz",
            Bytes::new(),
            Duration::from_secs(5),
        )
        .await
        .map_err(|e| e.to_string())?;
        if status != StatusCode::OK {
            return Err(format!("GET /healthz on {admin} answered {status}"));
        }
        Ok(ReadyLine::new(data, admin))
    }
}

impl Launcher for AttachLauncher {
    type Node = AttachedNode;

    async fn launch(
        &self,
        spec: NodeSpec,
        ready_timeout: Duration,
    ) -> Result<AttachedNode, LaunchError> {
        let deadline = Instant::now() + ready_timeout;
        loop {
            match self.attach(&spec).await {
                Ok(ready) => {
                    return Ok(AttachedNode {
                        spec,
                        ready,
                        bearer: self.bearer.clone(),
                    })
                }
                // A missing index or a refused address will not get better.
                Err(why) if Instant::now() + RETRY > deadline || why.contains("--allow") => {
                    return Err(LaunchError::Attach {
                        name: spec.name(),
                        why,
                    });
                }
                Err(_) => tokio::time::sleep(RETRY).await,
            }
        }
    }
}

impl Node for AttachedNode {
    fn spec(&self) -> &NodeSpec {
        &self.spec
    }

    fn ready(&self) -> &ReadyLine {
        &self.ready
    }

    fn probe(&self) -> Option<Probe> {
        // Another machine's process: its CPU and memory are not ours to sample.
        None
    }

    fn bearer(&self) -> Option<&str> {
        self.bearer.as_deref()
    }

    async fn signal(&mut self, _signal: Signal) {
        // Faults are refused before the run (see `check`); shutdown leaves it running.
    }

    async fn wait_exit(&mut self, _grace: Duration) -> bool {
        false
    }

    async fn stop(self, _grace: Duration) {}
}
