//! One target node as a child process: `<this executable> server …` (or `peer …`), or
//! several peers in one (a peer host, `peers …`, see [`super::host`]), each process
//! started in its own process group (a terminal's Ctrl-C reaches only the harness, which
//! then stops its nodes in order), killed by the kernel if the harness dies
//! (PR_SET_PDEATHSIG), killed on drop, and stopped with SIGTERM then SIGKILL.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use versus_targets::ready::ReadyLine;

use super::launcher::{Launcher, Node, Signal};
use super::registry;
use crate::plan::nodes::NodeSpec;
use crate::record::resources::Probe;
use versus_targets::harness_watch::HARNESS_PID_ENV;

/// Lines of a node's stderr kept for error messages.
pub(super) const STDERR_TAIL: usize = 20;

/// Environment variable naming another executable to launch targets with (a wrapper
/// such as a profiler, or a stand-in in tests). By default the harness runs itself.
pub const TARGET_EXE_ENV: &str = "VERSUS_TARGET_EXE";

/// A node that could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The process could not be spawned.
    #[error("cannot start {name} ({exe}): {source}; set {TARGET_EXE_ENV} to a versus binary if this one cannot run")]
    Spawn {
        /// Node name.
        name: String,
        /// Executable tried.
        exe: String,
        /// Why.
        source: std::io::Error,
    },
    /// It exited before printing its ready line.
    #[error("{name} exited ({status}) before it was ready; its last output:\n{stderr}")]
    Exited {
        /// Node name.
        name: String,
        /// Exit status.
        status: String,
        /// Last lines of its stderr.
        stderr: String,
    },
    /// The container engine could not start it.
    #[error("cannot start {name} in a container: {source}")]
    Container {
        /// Node name.
        name: String,
        /// What the engine said.
        source: super::docker::engine::DockerError,
    },
    /// An attached node (`--attach`) could not be reached in time.
    #[error("{name} (attached): {why}")]
    Attach {
        /// Node name.
        name: String,
        /// Why.
        why: String,
    },
    /// A peer host could not be started as asked.
    #[error("cannot host {peers} peers in one process: {why}")]
    Hosting {
        /// Peers asked for.
        peers: usize,
        /// Why.
        why: String,
    },
    /// It printed no ready line in time.
    #[error("{name} printed no ready line within {timeout:?} (raise architectures.ready_timeout if the machine is slow); its last output:\n{stderr}")]
    NotReady {
        /// Node name.
        name: String,
        /// How long we waited.
        timeout: Duration,
        /// Last lines of its stderr.
        stderr: String,
    },
}

/// A child process of the harness: one node, or a peer host of several
/// ([`super::host`]). Dropping it kills its process group.
pub(super) struct ChildProcess {
    /// For messages: the node's name, or the host's.
    name: String,
    /// Its process id.
    pub(super) pid: u32,
    child: Child,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

/// A running node.
pub struct NodeProcess {
    /// What was started.
    pub spec: NodeSpec,
    /// Its process id (the host's, for a hosted peer).
    pub pid: u32,
    /// Its ready line (addresses, peer id).
    pub ready: ReadyLine,
    process: Process,
}

/// The process a node runs in.
enum Process {
    /// Its own.
    Own(Box<ChildProcess>),
    /// A peer host's, shared with the other peers it hosts; the last one stops it.
    Hosted(Arc<ChildProcess>),
}

/// The executable targets are launched with: the override, else this very binary.
/// `/proc/self/exe` runs the image this process was started from even if the file has
/// since been replaced (a rebuild during a long sweep), where the path would not.
fn target_exe() -> String {
    std::env::var(TARGET_EXE_ENV)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            let own = std::path::Path::new("/proc/self/exe");
            if own.exists() {
                return own.display().to_string();
            }
            std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "versus".to_string())
        })
}

pub(super) fn tail(lines: &Mutex<VecDeque<String>>) -> String {
    let lines = lines
        .lock()
        .map(|l| l.iter().cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    if lines.is_empty() {
        "  (nothing)".to_string()
    } else {
        lines
            .iter()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl ChildProcess {
    /// Starts `<exe> argv` as `name` and waits up to `ready_timeout` for `count` ready
    /// lines (one per node it runs), returned in the order printed.
    pub(super) async fn start(
        name: String,
        argv: Vec<std::ffi::OsString>,
        count: usize,
        ready_timeout: Duration,
    ) -> Result<(Self, Vec<ReadyLine>), LaunchError> {
        let exe = target_exe();
        let mut command = node_command(&exe, argv);
        let mut child = command.spawn().map_err(|source| LaunchError::Spawn {
            name: name.clone(),
            exe: exe.clone(),
            source,
        })?;
        let pid = child.id().unwrap_or(0);
        // Until the node is handed over, anything that ends this start (an error, or the
        // start being dropped on Ctrl-C) kills it with its group.
        let starting = registry::Starting::new(pid);
        let stderr_lines = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL)));
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(keep_stderr(name.clone(), stderr, stderr_lines.clone()));
        }
        let stdout = child.stdout.take();
        let waited = tokio::time::timeout(ready_timeout, read_ready_lines(stdout, count)).await;
        match waited {
            Ok(Some((ready, rest))) => {
                tokio::spawn(drain(rest));
                starting.hand_over();
                let process = ChildProcess {
                    name,
                    pid,
                    child,
                    stderr: stderr_lines,
                };
                Ok((process, ready))
            }
            Ok(None) => {
                let status = match tokio::time::timeout(Duration::from_secs(2), child.wait()).await
                {
                    Ok(Ok(s)) => s.to_string(),
                    _ => "closed its output".to_string(),
                };
                // Let the stderr reader catch up with the last lines.
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err(LaunchError::Exited {
                    name,
                    status,
                    stderr: tail(&stderr_lines),
                })
            }
            Err(_) => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                Err(LaunchError::NotReady {
                    name,
                    timeout: ready_timeout,
                    stderr: tail(&stderr_lines),
                })
            }
        }
    }

    /// True while the process runs.
    fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `signal` to its process group (it and anything a wrapper started), if it
    /// runs.
    fn send(&mut self, signal: libc::c_int) {
        if self.is_running() {
            registry::signal_group(self.pid, signal);
        }
    }

    /// The last lines it wrote to stderr.
    pub(super) fn stderr_tail(&self) -> String {
        tail(&self.stderr)
    }

    /// Asks it to stop (SIGTERM), then kills it after `grace`.
    pub(super) async fn stop_within(mut self, grace: Duration) {
        if self.is_running() {
            registry::signal_group(self.pid, libc::SIGTERM);
            if tokio::time::timeout(grace, self.child.wait())
                .await
                .is_err()
            {
                tracing::warn!(
                    "{} did not stop within {grace:?} of SIGTERM; killing it",
                    self.name
                );
                registry::signal_group(self.pid, libc::SIGKILL);
            }
        }
        let _ = self.child.wait().await;
        // Whatever a wrapper left in the group goes with it.
        registry::signal_group(self.pid, libc::SIGKILL);
        registry::stopped(self.pid);
    }
}

impl NodeProcess {
    /// Starts `spec` in its own process and waits up to `ready_timeout` for its ready
    /// line.
    pub async fn start(spec: NodeSpec, ready_timeout: Duration) -> Result<Self, LaunchError> {
        let (process, mut ready) =
            ChildProcess::start(spec.name(), spec.args.to_argv(), 1, ready_timeout).await?;
        let ready = ready.pop().ok_or_else(|| LaunchError::Exited {
            name: spec.name(),
            status: "printed no ready line".into(),
            stderr: process.stderr_tail(),
        })?;
        Ok(Self {
            spec,
            pid: process.pid,
            ready,
            process: Process::Own(Box::new(process)),
        })
    }

    /// One of the peers of the host `process`, which announced it with `ready`.
    pub(super) fn hosted(spec: NodeSpec, ready: ReadyLine, process: Arc<ChildProcess>) -> Self {
        Self {
            spec,
            pid: process.pid,
            ready,
            process: Process::Hosted(process),
        }
    }

    /// The last lines its process wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        match &self.process {
            Process::Own(p) => p.stderr_tail(),
            Process::Hosted(p) => p.stderr_tail(),
        }
    }
}

/// The command that starts `argv` with `exe`: its own process group, killed by the
/// kernel when the harness dies (and not started at all if it already has), told which
/// harness to watch.
fn node_command(exe: &str, argv: Vec<std::ffi::OsString>) -> Command {
    let mut command = Command::new(exe);
    let harness = std::process::id();
    command
        .args(argv)
        .env(HARNESS_PID_ENV, harness.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    // SAFETY: prctl and getppid are async-signal-safe and touch only the child being
    // created.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The harness may have died between fork and prctl: then no signal
            // would ever come, so do not start at all.
            if libc::getppid() as u32 != harness {
                return Err(std::io::Error::other(
                    "the harness exited while starting this node",
                ));
            }
            Ok(())
        });
    }
    command
}

/// Reads stdout until the ready line; `None` if it closes first.
pub(super) async fn read_ready(
    stdout: Option<ChildStdout>,
) -> Option<(ReadyLine, BufReader<ChildStdout>)> {
    let (mut lines, reader) = read_ready_lines(stdout, 1).await?;
    Some((lines.pop()?, reader))
}

/// Reads stdout until `count` ready lines; `None` if it closes first.
async fn read_ready_lines(
    stdout: Option<ChildStdout>,
    count: usize,
) -> Option<(Vec<ReadyLine>, BufReader<ChildStdout>)> {
    let mut reader = BufReader::new(stdout?);
    let mut line = String::new();
    let mut ready = Vec::with_capacity(count);
    while ready.len() < count {
        line.clear();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        ready.extend(ReadyLine::parse(&line));
    }
    Some((ready, reader))
}

/// Keeps reading a node's stdout so it never blocks on a full pipe.
async fn drain(mut reader: BufReader<ChildStdout>) {
    let mut line = String::new();
    while reader.read_line(&mut line).await.is_ok_and(|n| n > 0) {
        line.clear();
    }
}

pub(super) async fn keep_stderr(
    name: String,
    stderr: tokio::process::ChildStderr,
    lines: Arc<Mutex<VecDeque<String>>>,
) {
    let mut reader = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = reader.next_line().await {
        tracing::debug!(target: "versus::target", "{name}: {line}");
        if let Ok(mut l) = lines.lock() {
            if l.len() == STDERR_TAIL {
                l.pop_front();
            }
            l.push_back(line);
        }
    }
}

impl Drop for ChildProcess {
    /// A process dropped without being stopped (an error path) is killed with its group.
    fn drop(&mut self) {
        if registry::is_live(self.pid) {
            registry::signal_group(self.pid, libc::SIGKILL);
            registry::stopped(self.pid);
        }
    }
}

/// Starts every node as a child process of this executable (or of
/// [`TARGET_EXE_ENV`]) on loopback.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessLauncher;

impl Launcher for ProcessLauncher {
    type Node = NodeProcess;

    async fn launch(
        &self,
        spec: NodeSpec,
        ready_timeout: Duration,
    ) -> Result<NodeProcess, LaunchError> {
        NodeProcess::start(spec, ready_timeout).await
    }

    async fn launch_host(
        &self,
        specs: Vec<NodeSpec>,
        ready_timeout: Duration,
    ) -> Result<Vec<NodeProcess>, LaunchError> {
        super::host::start(specs, ready_timeout).await
    }
}

impl Node for NodeProcess {
    fn spec(&self) -> &NodeSpec {
        &self.spec
    }

    fn ready(&self) -> &ReadyLine {
        &self.ready
    }

    fn probe(&self) -> Option<Probe> {
        (self.pid > 0).then_some(Probe::Process(self.pid))
    }

    fn pausable(&self) -> Result<(), String> {
        match self.process {
            Process::Own(_) => Ok(()),
            Process::Hosted(_) => Err(super::host::CANNOT_PAUSE.to_string()),
        }
    }

    async fn signal(&mut self, signal: Signal) {
        match &mut self.process {
            Process::Own(p) => p.send(match signal {
                Signal::Kill => libc::SIGKILL,
                Signal::Terminate => libc::SIGTERM,
                Signal::Pause => libc::SIGSTOP,
                Signal::Resume => libc::SIGCONT,
            }),
            Process::Hosted(_) => super::host::signal(&self.spec, &self.ready, signal).await,
        }
    }

    async fn wait_exit(&mut self, grace: Duration) -> bool {
        match &mut self.process {
            Process::Own(p) => tokio::time::timeout(grace, p.child.wait()).await.is_ok(),
            Process::Hosted(_) => super::host::wait_gone(&self.ready, grace).await,
        }
    }

    async fn stop(self, grace: Duration) {
        match self.process {
            Process::Own(p) => (*p).stop_within(grace).await,
            // The last peer of a host stops the host.
            Process::Hosted(host) => {
                if let Ok(host) = Arc::try_unwrap(host) {
                    host.stop_within(grace).await;
                }
            }
        }
    }
}
