//! The container backend: every node of a run is a container of the scratch image
//! ([`image`]) on a bridge network made for the run ([`network`]), each with its own
//! address. The harness stays on the host and reaches every node at its address.
//!
//! - A node listens on its container's address (beyond loopback, so with
//!   `--allow-remote` and a per-run bearer token for its admin plane, passed in the
//!   environment); its ready line is read from `docker logs -f`.
//! - Its CPU and memory are sampled from its container's cgroup.
//! - Faults are container operations: `docker kill` (SIGKILL, or SIGTERM to leave),
//!   `docker pause` / `unpause`; a node started again is a fresh container on the
//!   address the old one had.
//! - With `network.emulation = "kernel"` each container's caps and loss are applied in
//!   its network namespace once it is ready ([`shaping`]); they go with it. A
//!   `partition` fault drops packets between the two groups' addresses there too.
//! - Every container and the network carry the run's label and the harness's pid; the
//!   run's are removed at its end ([`DockerLauncher::remove`]) and on a second Ctrl-C
//!   ([`super::registry`]); those of a harness that died are removed when the next one
//!   starts a docker run ([`engine::remove_orphans`]).

pub mod engine;
pub mod image;
mod network;
mod partition;
pub mod shaping;

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::process::Command;
use versus_targets::exposure::TOKEN_ENV;
use versus_targets::ready::ReadyLine;

use self::engine::{label, DockerError, HARNESS_PID_LABEL, NODE_LABEL, ROLE_LABEL, RUN_LABEL};
use self::network::RunNetwork;
use self::shaping::{Emulated, Namespace};
use super::launcher::{Launcher, Node, Signal};
use super::process::{keep_stderr, read_ready, tail, LaunchError, STDERR_TAIL};
use super::registry;
use crate::plan::nodes::{NodeSpec, TargetArgs};
use crate::plan::regions::RegionPlan;
use crate::record::resources::{Cgroup, Probe};

/// Runs numbered within this harness.
static RUNS: AtomicU32 = AtomicU32::new(0);

/// Starts nodes as containers of one image on one run's network. Cheap to clone; the
/// clones share the run.
#[derive(Debug, Clone)]
pub struct DockerLauncher(Arc<Run>);

#[derive(Debug)]
struct Run {
    /// The run's id, the value of its label.
    id: String,
    /// The image every node runs.
    image: String,
    network: RunNetwork,
    /// The admin planes' bearer token.
    token: Arc<str>,
    /// Containers started, for unique names.
    started: AtomicU32,
}

impl DockerLauncher {
    /// Prepares a run on `image`: checks the engine and the image, removes what dead
    /// harnesses left behind, and makes the run's network.
    pub async fn start(image: &str) -> Result<DockerLauncher, DockerError> {
        engine::check_engine().await?;
        let orphans = engine::remove_orphans().await;
        if orphans > 0 {
            tracing::warn!("removed the containers of {orphans} run(s) whose harness had died");
        }
        engine::check_image(image).await?;
        let id = format!(
            "{}-{}-{:04x}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed),
            rand::random::<u16>()
        );
        registry::docker_run_started(&id);
        let network = match RunNetwork::create(&id).await {
            Ok(n) => n,
            Err(e) => {
                registry::docker_run_removed(&id);
                return Err(e);
            }
        };
        Ok(DockerLauncher(Arc::new(Run {
            id,
            image: image.to_string(),
            network,
            token: format!("{:032x}", rand::random::<u128>()).into(),
            started: AtomicU32::new(0),
        })))
    }

    /// The run's id (the value of its `versus.run` label).
    pub fn run_id(&self) -> &str {
        &self.0.id
    }

    /// Removes every container of the run and its network.
    pub async fn remove(&self) {
        engine::remove_run(&self.0.id).await;
        registry::docker_run_removed(&self.0.id);
    }

    /// Starts `spec` in a container and waits up to `ready_timeout` for its ready line.
    async fn start_node(
        &self,
        spec: NodeSpec,
        ready_timeout: Duration,
    ) -> Result<ContainerNode, LaunchError> {
        let run = &self.0;
        let failed = |source: DockerError| LaunchError::Container {
            name: spec.name(),
            source,
        };
        let region = RegionPlan::region_of(listen_ip(&spec.args));
        let fresh = match region {
            Some(r) => run.network.allocate_in(r),
            None => run.network.allocate(),
        };
        let ip = match own_address(&spec.args) {
            Some(ip) => ip,
            None => fresh.ok_or_else(|| {
                failed(DockerError::Failed {
                    command: "run".into(),
                    stderr: "the run's subnet (or the region's block of it) has no address left"
                        .into(),
                })
            })?,
        };
        let spec = NodeSpec {
            args: run.network.in_region_blocks(placed(&spec.args, ip)),
            ..spec
        };
        let id = self.run_container(&spec, ip).await.map_err(failed)?;
        let started = async {
            let ready = wait_ready(&spec, &id, ip, ready_timeout).await?;
            let pid = container_pid(&id).await;
            if let Some(link) = spec.kernel {
                let emulated = Emulated {
                    link,
                    ip,
                    admin_port: ready.admin.port(),
                };
                let pid = pid.ok_or_else(|| {
                    failed(DockerError::Failed {
                        command: format!("inspect {id}"),
                        stderr:
                            "no process id for the container: cannot enter its network namespace"
                                .into(),
                    })
                })?;
                Namespace { pid }
                    .emulate(&emulated)
                    .await
                    .map_err(|e| failed(DockerError::Emulation(e)))?;
            }
            Ok::<_, LaunchError>((ready, pid))
        };
        match started.await {
            Ok((ready, pid)) => Ok(ContainerNode {
                probe: probe(&id, pid),
                pid,
                ip,
                spec,
                ready,
                id,
                token: run.token.clone(),
            }),
            Err(e) => {
                let _ = engine::run(&["rm", "-f", "-v", &id]).await;
                Err(e)
            }
        }
    }

    /// `docker run -d` of `spec` at `ip`; returns the container's id.
    async fn run_container(&self, spec: &NodeSpec, ip: Ipv4Addr) -> Result<String, DockerError> {
        let run = &self.0;
        let n = run.started.fetch_add(1, Ordering::Relaxed);
        let name = format!("versus-{}-{}{}-{n}", run.id, spec.role, spec.index);
        let mut args: Vec<String> = [
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            &run.network.name,
            "--ip",
            &ip.to_string(),
            "--label",
            &label(RUN_LABEL, &run.id),
            "--label",
            &label(HARNESS_PID_LABEL, &std::process::id().to_string()),
            "--label",
            &label(ROLE_LABEL, &spec.role.to_string()),
            "--label",
            &label(NODE_LABEL, &spec.index.to_string()),
            // The value comes from the client's environment: not on a command line.
            "--env",
            TOKEN_ENV,
        ]
        .map(str::to_string)
        .to_vec();
        if let TargetArgs::Server(server) = &spec.args {
            if let Some(dir) = &server.data_dir {
                prepare_data_dir(dir).map_err(|e| DockerError::Failed {
                    command: "run".into(),
                    stderr: format!("cannot prepare the data directory {}: {e}", dir.display()),
                })?;
                let dir = dir.display();
                args.extend(["--volume".into(), format!("{dir}:{dir}")]);
            }
        }
        if let Some(user) = container_user() {
            args.extend(["--user".into(), user]);
        }
        args.push(run.image.clone());
        args.extend(
            spec.args
                .to_argv()
                .into_iter()
                .map(|a| a.to_string_lossy().into_owned()),
        );
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut command = Command::new("docker");
        command
            .args(&argv)
            .env(TOKEN_ENV, &*run.token)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        engine::output(command, &argv[..2]).await
    }
}

/// The address a node's data plane listens on (unspecified when unreadable).
fn listen_ip(args: &TargetArgs) -> IpAddr {
    let ip = match args {
        TargetArgs::Server(a) => Some(a.listen.ip()),
        TargetArgs::Peer(a) => a
            .listen
            .to_string()
            .strip_prefix("/ip4/")
            .and_then(|rest| rest.split('/').next())
            .and_then(|ip| ip.parse().ok()),
    };
    ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// The address a node's spec already names (it is started again where it was), if any.
fn own_address(args: &TargetArgs) -> Option<Ipv4Addr> {
    match listen_ip(args) {
        IpAddr::V4(v4) if !v4.is_loopback() && !v4.is_unspecified() => Some(v4),
        _ => None,
    }
}

/// `args` on address `ip` (the ports kept), exposed beyond loopback: the token comes
/// from the environment.
fn placed(args: &TargetArgs, ip: Ipv4Addr) -> TargetArgs {
    let at = |addr: SocketAddr| SocketAddr::new(IpAddr::V4(ip), addr.port());
    match args {
        TargetArgs::Server(a) => {
            let mut a = a.clone();
            a.listen = at(a.listen);
            a.admin = at(a.admin);
            a.exposure.allow_remote = true;
            a.exposure.token_file = None;
            TargetArgs::Server(a)
        }
        TargetArgs::Peer(a) => {
            let mut a = a.clone();
            let text = a.listen.to_string();
            let port = text
                .split_once("/tcp/")
                .and_then(|(_, rest)| rest.split('/').next())
                .unwrap_or("0");
            if let Ok(listen) = format!("/ip4/{ip}/tcp/{port}").parse() {
                a.listen = listen;
            }
            a.admin = at(a.admin);
            a.exposure.allow_remote = true;
            a.exposure.token_file = None;
            TargetArgs::Peer(a)
        }
    }
}

/// Reads container `id`'s output until its ready line (its addresses mapped to `ip`
/// should it announce the unspecified address).
async fn wait_ready(
    spec: &NodeSpec,
    id: &str,
    ip: Ipv4Addr,
    timeout: Duration,
) -> Result<ReadyLine, LaunchError> {
    let mut logs = Command::new("docker")
        .args(["logs", "--follow", id])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| LaunchError::Container {
            name: spec.name(),
            source: DockerError::NoClient(e),
        })?;
    let stderr = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL)));
    if let Some(err) = logs.stderr.take() {
        tokio::spawn(keep_stderr(spec.name(), err, stderr.clone()));
    }
    let waited = tokio::time::timeout(timeout, read_ready(logs.stdout.take())).await;
    // The follower is not needed once the line is read (killed on drop).
    drop(logs);
    match waited {
        Ok(Some((ready, _))) => Ok(mapped(ready, ip)),
        Ok(None) => {
            let status = engine::run(&["inspect", "--format", "exit code {{.State.ExitCode}}", id])
                .await
                .unwrap_or_else(|_| "closed its output".into());
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err(LaunchError::Exited {
                name: spec.name(),
                status,
                stderr: tail(&stderr),
            })
        }
        Err(_) => Err(LaunchError::NotReady {
            name: spec.name(),
            timeout,
            stderr: tail(&stderr),
        }),
    }
}

/// A ready line's unspecified addresses (`0.0.0.0`) as the container's `ip`.
fn mapped(mut ready: ReadyLine, ip: Ipv4Addr) -> ReadyLine {
    if ready.admin.ip().is_unspecified() {
        ready.admin.set_ip(IpAddr::V4(ip));
    }
    ready.data = ready
        .data
        .replacen("/ip4/0.0.0.0/", &format!("/ip4/{ip}/"), 1);
    if let Some(port) = ready.data.strip_prefix("0.0.0.0:") {
        ready.data = format!("{ip}:{port}");
    }
    ready
}

/// The main process of container `id`, if it runs.
async fn container_pid(id: &str) -> Option<u32> {
    engine::run(&["inspect", "--format", "{{.State.Pid}}", id])
        .await
        .ok()?
        .parse()
        .ok()
        .filter(|pid| *pid > 0)
}

/// What to sample of container `id` (main process `pid`): its cgroup, else its
/// process.
fn probe(id: &str, pid: Option<u32>) -> Option<Probe> {
    let pid = pid?;
    match Cgroup::of_pid(pid) {
        Some(group) => Some(Probe::Cgroup(group)),
        None => {
            tracing::info!(
                "container {id}: its cgroup is not readable here; sampling its process {pid}"
            );
            Some(Probe::Process(pid))
        }
    }
}

/// Containers run as the image's user when the harness is root, else as the harness's
/// own user, so it can remove what they write in a shared data directory.
fn container_user() -> Option<String> {
    // SAFETY: getuid and getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    (uid != 0).then(|| format!("{uid}:{gid}"))
}

/// Creates a server's data directory, owned by the image's user when the harness is
/// root (the container runs as that user then).
fn prepare_data_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    if container_user().is_none() {
        let (uid, gid) = image::IMAGE_USER;
        std::os::unix::fs::chown(dir, Some(uid), Some(gid))?;
    }
    Ok(())
}

/// A node running in a container.
#[derive(Debug)]
pub struct ContainerNode {
    spec: NodeSpec,
    ready: ReadyLine,
    /// The container's id.
    id: String,
    /// Its main process (its network namespace), while it runs.
    pid: Option<u32>,
    /// Its address on the run's network.
    ip: Ipv4Addr,
    probe: Option<Probe>,
    token: Arc<str>,
}

impl ContainerNode {
    /// Runs `docker args… <id>`; a container already gone is not an error worth more
    /// than a debug line.
    async fn on_container(&self, args: &[&str]) {
        let mut argv = args.to_vec();
        argv.push(&self.id);
        if let Err(e) = engine::run(&argv).await {
            tracing::debug!("{}: {e}", self.spec.name());
        }
    }
}

impl Launcher for DockerLauncher {
    type Node = ContainerNode;

    async fn launch(
        &self,
        spec: NodeSpec,
        ready_timeout: Duration,
    ) -> Result<ContainerNode, LaunchError> {
        self.start_node(spec, ready_timeout).await
    }
}

impl Node for ContainerNode {
    fn spec(&self) -> &NodeSpec {
        &self.spec
    }

    fn ready(&self) -> &ReadyLine {
        &self.ready
    }

    fn probe(&self) -> Option<Probe> {
        self.probe.clone()
    }

    fn bearer(&self) -> Option<&str> {
        Some(&self.token)
    }

    fn address(&self) -> Option<IpAddr> {
        Some(IpAddr::V4(self.ip))
    }

    async fn isolate(&mut self, others: &[IpAddr]) -> Result<(), String> {
        let pid = self
            .pid
            .ok_or_else(|| "the container has no process to enter".to_string())?;
        Namespace { pid }
            .isolate(others)
            .await
            .map_err(|e| e.to_string())
    }

    async fn signal(&mut self, signal: Signal) {
        let args: &[&str] = match signal {
            Signal::Kill => &["kill"],
            Signal::Terminate => &["kill", "--signal", "TERM"],
            Signal::Pause => &["pause"],
            Signal::Resume => &["unpause"],
        };
        self.on_container(args).await;
    }

    async fn wait_exit(&mut self, grace: Duration) -> bool {
        let waited = tokio::time::timeout(grace, engine::run(&["wait", &self.id])).await;
        matches!(waited, Ok(Ok(_)))
    }

    async fn stop(self, grace: Duration) {
        let seconds = grace.as_secs().max(1).to_string();
        self.on_container(&["stop", "--time", &seconds]).await;
        self.on_container(&["rm", "--force", "--volumes"]).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use versus_targets::peer::PeerArgs;
    use versus_targets::server::ServerArgs;

    #[test]
    fn nodes_are_placed_on_their_address_and_exposed() {
        let ip = Ipv4Addr::new(10, 200, 0, 7);
        let server = placed(&TargetArgs::Server(ServerArgs::default()), ip);
        let TargetArgs::Server(s) = &server else {
            panic!("a server stays a server")
        };
        assert_eq!(s.listen.ip(), IpAddr::V4(ip));
        assert_eq!(s.admin.ip(), IpAddr::V4(ip));
        assert!(s.exposure.allow_remote);
        assert_eq!(own_address(&server), Some(ip));
        let peer = placed(&TargetArgs::Peer(PeerArgs::default()), ip);
        let TargetArgs::Peer(p) = &peer else {
            panic!("a peer stays a peer")
        };
        assert_eq!(p.listen.to_string(), "/ip4/10.200.0.7/tcp/0");
        assert_eq!(own_address(&peer), Some(ip));
        assert_eq!(own_address(&TargetArgs::Peer(PeerArgs::default())), None);
    }

    #[test]
    fn unspecified_addresses_map_to_the_container() {
        let ip = Ipv4Addr::new(10, 200, 0, 9);
        let admin: SocketAddr = "0.0.0.0:9000".parse().unwrap();
        let ready = mapped(ReadyLine::new("0.0.0.0:8080", admin), ip);
        assert_eq!(ready.data, "10.200.0.9:8080");
        assert_eq!(ready.admin, "10.200.0.9:9000".parse().unwrap());
        let peer = mapped(ReadyLine::new("/ip4/0.0.0.0/tcp/4001/p2p/12D3", admin), ip);
        assert_eq!(peer.data, "/ip4/10.200.0.9/tcp/4001/p2p/12D3");
    }
}
