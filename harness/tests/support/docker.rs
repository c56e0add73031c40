//! Docker helpers shared by the tests that need an engine: whether one answers (else
//! the test says it is skipped), the test image built once per test binary, the
//! containers and networks a harness left, and a sweep that removes them when a test
//! ends (also when it fails).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::{describe, versus};

/// The image the tests build and run.
pub const IMAGE: &str = "versus:test";

/// One test at a time.
pub static SERIAL: Mutex<()> = Mutex::new(());

/// True when a Docker engine answers; otherwise says why the test is skipped.
pub fn engine_answers(test: &str) -> bool {
    let ok = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipping {test}: no Docker engine answers (`docker info` failed)");
    }
    ok
}

/// Builds [`IMAGE`] once per test binary.
pub fn image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let started = Instant::now();
        let out = versus()
            .args(["image", "--tag", IMAGE])
            .output()
            .expect("versus image runs");
        assert!(out.status.success(), "versus image: {}", describe(&out));
        eprintln!(
            "{} ({:?})",
            String::from_utf8_lossy(&out.stdout).trim(),
            started.elapsed()
        );
    });
    IMAGE
}

/// Lines of `docker args…`.
pub fn docker(args: &[&str]) -> Vec<String> {
    let out = Command::new("docker").args(args).output().expect("docker");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Containers and networks of the harness with process id `pid`.
pub fn left_by(pid: u32) -> (Vec<String>, Vec<String>) {
    let filter = format!("label=versus.harness_pid={pid}");
    (
        docker(&["ps", "-aq", "--filter", &filter]),
        docker(&["network", "ls", "-q", "--filter", &filter]),
    )
}

/// Removes whatever the harness `pid` left, when the test ends (also when it fails).
pub struct Sweep(pub u32);

impl Drop for Sweep {
    fn drop(&mut self) {
        let (containers, networks) = left_by(self.0);
        if !containers.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(containers.iter().map(String::as_str));
            docker(&args);
        }
        if !networks.is_empty() {
            let mut args = vec!["network", "rm"];
            args.extend(networks.iter().map(String::as_str));
            docker(&args);
        }
    }
}

pub fn start(scenario: &str, out: &Path) -> Child {
    versus()
        .args(["run", scenario, "--out"])
        .arg(out)
        .args(["--progress", "none"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("versus starts")
}

/// Waits up to `limit` for `done`; false if it never held.
pub fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

/// Running containers of harness `pid`: (run label, container id) → address.
pub fn addresses(pid: u32) -> BTreeMap<(String, String), String> {
    let filter = format!("label=versus.harness_pid={pid}");
    let format = "{{.Label \"versus.run\"}} {{.ID}}";
    let mut found = BTreeMap::new();
    for line in docker(&["ps", "--filter", &filter, "--format", format]) {
        let Some((run, id)) = line.split_once(' ') else {
            continue;
        };
        let ip = docker(&[
            "inspect",
            "--format",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            id,
        ]);
        if let Some(ip) = ip.first() {
            found.insert((run.to_string(), id.to_string()), ip.clone());
        }
    }
    found
}
