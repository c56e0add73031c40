//! `versus server` or `versus peer` as a real child process, for tests that need its own
//! pid (resident memory, SIGKILL, exit codes). The targets crate has no binary of its
//! own, so the test executable runs itself: the child runs the `child_server` test with
//! the node's arguments in [`CHILD_ENV`] (a server) or [`CHILD_PEER_ENV`] (a peer), and
//! that test calls [`serve_if_child`], which parses them with the same clap options and
//! runs `versus_targets::server::run` or `versus_targets::peer::run`, exactly what
//! `versus server` and `versus peer` run. Without either variable `child_server` does
//! nothing and passes.
//!
//! Every child is killed (SIGKILL) and reaped when its [`ServerProcess`] is dropped.

#![allow(dead_code)] // each test crate uses a different subset

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use versus_targets::peer::PeerArgs;
use versus_targets::ready::ReadyLine;
use versus_targets::server::ServerArgs;

/// Holds a child server's arguments, JSON-encoded.
pub const CHILD_ENV: &str = "VERSUS_TEST_CHILD_SERVER_ARGS";
/// Holds a child peer's arguments, JSON-encoded.
pub const CHILD_PEER_ENV: &str = "VERSUS_TEST_CHILD_PEER_ARGS";

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Parser)]
struct PeerCli {
    #[command(flatten)]
    peer: PeerArgs,
}

/// The arguments in the environment variable `name`, with a program name first.
fn child_args(name: &str) -> Option<Vec<String>> {
    let encoded = std::env::var(name).ok()?;
    let args: Vec<String> = serde_json::from_str(&encoded).expect("child arguments as JSON");
    Some(
        std::iter::once("versus-child".to_string())
            .chain(args)
            .collect(),
    )
}

/// In the child: runs the server (or peer) with the arguments in [`CHILD_ENV`] (or
/// [`CHILD_PEER_ENV`]) and exits as `versus server` (or `versus peer`) would (0, 2 for
/// bad usage, 3 for any other error). In a normal test run: returns at once.
pub fn serve_if_child() {
    let run = if let Some(args) = child_args(CHILD_ENV) {
        let cli = Cli::try_parse_from(args).unwrap_or_else(|e| e.exit());
        futures::future::Either::Left(versus_targets::server::run(cli.server))
    } else if let Some(args) = child_args(CHILD_PEER_ENV) {
        let cli = PeerCli::try_parse_from(args).unwrap_or_else(|e| e.exit());
        futures::future::Either::Right(versus_targets::peer::run(cli.peer))
    } else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let code = match runtime.block_on(run) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            3
        }
    };
    std::process::exit(code);
}

/// A running child server.
pub struct ServerProcess {
    child: Child,
    /// Its ready line.
    pub ready: ReadyLine,
}

/// Starts the command for a child server with `args` (the test executable runs itself).
pub fn command(args: &[&str]) -> Command {
    command_for(CHILD_ENV, args)
}

/// The command for a child node whose arguments go in the variable `env`.
fn command_for(env: &str, args: &[&str]) -> Command {
    let exe = std::env::current_exe().expect("the test executable");
    let mut command = Command::new(exe);
    command
        .args(["child_server", "--exact", "--nocapture", "--test-threads=1"])
        .env(env, serde_json::to_string(args).expect("JSON"))
        .env_remove(versus_targets::exposure::TOKEN_ENV)
        .stdin(Stdio::null());
    command
}

impl ServerProcess {
    /// Starts `versus server ARGS` and waits (at most 30 s) for its ready line.
    pub fn start(args: &[&str]) -> ServerProcess {
        ServerProcess::start_with_env(args, &[])
    }

    /// Starts `versus peer ARGS` and waits (at most 30 s) for its ready line.
    pub fn start_peer(args: &[&str]) -> ServerProcess {
        ServerProcess::spawn(command_for(CHILD_PEER_ENV, args), &[])
    }

    /// As [`ServerProcess::start`], with these environment variables.
    pub fn start_with_env(args: &[&str], envs: &[(&str, &str)]) -> ServerProcess {
        ServerProcess::spawn(command(args), envs)
    }

    fn spawn(mut command: Command, envs: &[(&str, &str)]) -> ServerProcess {
        for (name, value) in envs {
            command.env(name, value);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the child node starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || read_ready(stdout, &tx));
        let ready = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(ready) => ready,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!("no ready line from the child node within 30 s ({status:?})");
            }
        };
        ServerProcess { child, ready }
    }

    /// The data plane's address.
    pub fn data(&self) -> SocketAddr {
        self.ready.data.parse().expect("a socket address")
    }

    /// The admin plane's address.
    pub fn admin(&self) -> SocketAddr {
        self.ready.admin
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A field of `/proc/<pid>/status` in bytes (`VmRSS`, `VmHWM`), given there in kB.
    pub fn memory(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("/proc/<pid>/status");
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .unwrap_or_else(|| panic!("no {field} in /proc/<pid>/status"));
        let kb: u64 = line
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .expect("a number of kB");
        kb * 1024
    }

    /// SIGKILLs the child and waits for it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Forwards the first ready line of `stdout` (after libtest's own lines), then drains it.
fn read_ready(stdout: ChildStdout, tx: &std::sync::mpsc::Sender<ReadyLine>) {
    let mut lines = BufReader::new(stdout);
    let mut line = String::new();
    while lines.read_line(&mut line).unwrap_or(0) > 0 {
        // libtest prints "test child_server ... " on the same line, before it.
        let json = line.find('{').map_or("", |at| &line[at..]);
        if let Some(ready) = ReadyLine::parse(json) {
            let _ = tx.send(ready);
            break;
        }
        line.clear();
    }
    let _ = std::io::copy(&mut lines, &mut std::io::sink());
}

/// Runs a child server that is expected to exit at once (bad usage); returns its status
/// and standard error, killing it after `limit`.
pub fn run_to_exit(args: &[&str], envs: &[(&str, &str)], limit: Duration) -> (ExitStatus, String) {
    let mut command = command(args);
    for (name, value) in envs {
        command.env(name, value);
    }
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the child server starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child server did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    (status, stderr)
}
