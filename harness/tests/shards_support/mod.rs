//! Support for the shard tests: a real `versus server` process (killed on drop), the
//! targets file that attaches to it, a fixed-iteration scenario, and a common start a
//! few seconds ahead.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, SystemTime};

use versus_targets::ready::ReadyLine;

use crate::support;

/// Users × iterations of [`SCENARIO`]: every shard split of it finishes exactly this many.
pub const OPERATIONS: u64 = 9 * 12;

/// A closed, fixed-iteration fetch of 4 objects of 4 KiB by 9 users, 12 each.
pub const SCENARIO: &str = r#"
name = "shards"
[workload]
kind = "fetch"
objects = 4
object_size = "4KiB"
popularity = "uniform"
verify = true
[load]
model = "closed"
users = 9
iterations = 12
duration = "60s"
think_time = "5ms"
timeout = "10s"
[architectures]
cs = true
p2p = false
servers = 1
[thresholds]
errors.rate = "< 1%"
"#;

/// A `versus server` child process; killed when dropped.
pub struct Server {
    child: Child,
    /// Its ready line (data and admin addresses).
    pub ready: ReadyLine,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `versus server` on loopback and waits for its ready line.
    pub fn start() -> Server {
        let mut child = support::versus()
            .arg("server")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("versus server starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("ready line");
        let ready = ReadyLine::parse(&line).unwrap_or_else(|| panic!("not a ready line: {line:?}"));
        Server { child, ready }
    }

    /// Writes a targets file attaching to this server into `dir`.
    pub fn targets_file(&self, dir: &Path) -> PathBuf {
        support::write_file(
            dir,
            "targets.toml",
            &format!(
                "[[targets]]\nrole = \"server\"\ndata = \"{}\"\nadmin = \"{}\"\n",
                self.ready.data, self.ready.admin
            ),
        )
    }
}

/// A common start `ahead` from now, RFC 3339.
pub fn start_in(ahead: Duration) -> String {
    humantime::format_rfc3339_seconds(SystemTime::now() + ahead).to_string()
}

/// Runs `versus` with `args` as M concurrent processes (`args_of(i)`), waits for all
/// (bounded by `limit`), and returns their outputs in order.
pub fn run_concurrently(
    m: u32,
    args_of: impl Fn(u32) -> Vec<String>,
    limit: Duration,
) -> Vec<std::process::Output> {
    let children: Vec<Child> = (0..m)
        .map(|i| {
            support::versus()
                .args(args_of(i))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("versus starts")
        })
        .collect();
    children
        .into_iter()
        .map(|c| support::wait_bounded(c, limit))
        .collect()
}

/// The `get` operation's (count, errors, bytes) in a report.
pub fn totals(report: &serde_json::Value) -> (u64, u64, u64) {
    (
        support::num(report, "runs.0.ops.get.count"),
        support::num(report, "runs.0.ops.get.errors_total"),
        support::num(report, "runs.0.ops.get.bytes"),
    )
}
