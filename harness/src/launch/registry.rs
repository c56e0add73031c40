//! Everything the harness has started that must not outlive it: the process groups of
//! its nodes, the containers and networks of its docker runs, and its scratch
//! directories. A node or directory registers when it is made
//! and leaves when it is stopped or removed; a second Ctrl-C, which cannot wait for an
//! orderly stop, kills whatever is still registered and removes it before the harness
//! exits ([`kill_and_remove_all`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Process groups (each node leads its own) still running.
static GROUPS: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());
/// Scratch directories still on disk.
static SCRATCH: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
/// Docker runs (their label values) whose containers and network may still exist.
static DOCKER_RUNS: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Docker run `run` started making containers.
pub(crate) fn docker_run_started(run: &str) {
    if let Ok(mut r) = DOCKER_RUNS.lock() {
        r.insert(run.to_string());
    }
}

/// Docker run `run`'s containers and network are removed.
pub(crate) fn docker_run_removed(run: &str) {
    if let Ok(mut r) = DOCKER_RUNS.lock() {
        r.remove(run);
    }
}

/// Node `pid` started, leading its own process group.
fn started(pid: u32) {
    if pid > 0 {
        if let Ok(mut g) = GROUPS.lock() {
            g.insert(pid);
        }
    }
}

/// A node being started: registered, and killed with its group if the start ends
/// before [`Starting::hand_over`].
pub(crate) struct Starting(u32);

impl Starting {
    /// Registers node `pid`.
    pub(crate) fn new(pid: u32) -> Self {
        started(pid);
        Starting(pid)
    }

    /// The node is running and owned by its handle now.
    pub(crate) fn hand_over(self) {
        std::mem::forget(self);
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        signal_group(self.0, libc::SIGKILL);
        stopped(self.0);
    }
}

/// Node `pid` has been stopped and reaped.
pub(crate) fn stopped(pid: u32) {
    if let Ok(mut g) = GROUPS.lock() {
        g.remove(&pid);
    }
}

/// True while node `pid` is registered.
pub(crate) fn is_live(pid: u32) -> bool {
    GROUPS.lock().is_ok_and(|g| g.contains(&pid))
}

/// Sends `signal` to the process group node `pid` leads. Never to group 0 or 1 (that
/// would be the harness's own group, or every process).
pub(crate) fn signal_group(pid: u32, signal: libc::c_int) {
    if pid > 1 {
        // SAFETY: killpg(2) on a group our own child leads.
        unsafe {
            libc::killpg(pid as libc::pid_t, signal);
        }
    }
}

/// Scratch directory `path` was created.
pub(crate) fn created(path: &Path) {
    if let Ok(mut s) = SCRATCH.lock() {
        s.insert(path.to_path_buf());
    }
}

/// Scratch directory `path` was removed.
pub(crate) fn removed(path: &Path) {
    if let Ok(mut s) = SCRATCH.lock() {
        s.remove(path);
    }
}

/// Kills every registered process group, removes the containers and networks of every
/// registered docker run and every registered scratch directory: the last thing the
/// harness does when it must leave at once.
pub fn kill_and_remove_all() {
    let groups: Vec<u32> = GROUPS
        .lock()
        .map(|g| g.iter().copied().collect())
        .unwrap_or_default();
    for pid in groups {
        signal_group(pid, libc::SIGKILL);
    }
    let runs: Vec<String> = DOCKER_RUNS
        .lock()
        .map(|r| r.iter().cloned().collect())
        .unwrap_or_default();
    for run in runs {
        super::docker::engine::remove_run_blocking(&run);
    }
    let dirs: Vec<PathBuf> = SCRATCH
        .lock()
        .map(|s| s.iter().cloned().collect())
        .unwrap_or_default();
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}
