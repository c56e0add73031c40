//! Nothing the harness starts outlives it, however it ends: SIGKILL of the harness while
//! a swarm starts or while a server is being published to, with a wrapper in
//! `VERSUS_TARGET_EXE` whose own child the kernel's parent-death signal cannot reach, and
//! two Ctrl-Cs; a run that fails after others finished keeps them in a partial report;
//! and a URL beyond loopback is refused unless asked for.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::{
    describe, marker, processes_with, read_report, temp_dir, versus_marked, wait_bounded,
    write_file,
};

/// The shipped flash crowd.
const FLASH_CROWD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/flash-crowd.toml");

/// A wrapper that runs the real binary as its child (no `exec`), as a profiler would.
fn wrapper(dir: &Path, fail_for: Option<&str>) -> PathBuf {
    let refuse = fail_for.map_or(String::new(), |cmd| {
        format!("[ \"$1\" = {cmd} ] && {{ echo refused >&2; exit 9; }}\n")
    });
    let path = dir.join("wrapper.sh");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\n{refuse}\"{}\" \"$@\"\n",
            env!("CARGO_BIN_EXE_versus")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn start(mark: &str, args: &[&str], wrapper: &Path, tmp: &Path) -> Child {
    versus_marked(mark)
        .args(args)
        .env("VERSUS_TARGET_EXE", wrapper)
        .env("TMPDIR", tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("versus starts")
}

/// Waits up to `limit` for `done`; false if it never held.
fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

fn scratch_dirs(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.starts_with("versus-scratch-"))
                .collect()
        })
        .unwrap_or_default()
}

/// A harness starting a 12-peer swarm under a wrapper, once at least six of its
/// processes run (or 30 s passed: then `started` is false).
fn start_swarm(dir: &Path) -> (String, Child, bool) {
    let mark = marker();
    let wrap = wrapper(dir, None);
    let out = dir.join("out");
    let args = [
        "run",
        FLASH_CROWD,
        "--arch",
        "p2p",
        "--users",
        "12",
        "--progress",
        "none",
        "--out",
        out.to_str().unwrap(),
    ];
    let harness = start(&mark, &args, &wrap, dir);
    let started = wait_for(Duration::from_secs(30), || processes_with(&mark).len() >= 6);
    (mark, harness, started)
}

/// Every process carrying `mark` ends within `limit`.
fn assert_all_gone(mark: &str, limit: Duration) {
    assert!(
        wait_for(limit, || processes_with(mark).is_empty()),
        "processes left behind: {:?}",
        processes_with(mark)
    );
}

fn kill_harness(child: &mut Child) {
    // SAFETY: SIGKILL to the harness we started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    let _ = child.wait();
}

#[test]
fn sigkill_while_the_swarm_starts_leaves_no_node() {
    let dir = temp_dir();
    let (mark, mut harness, started) = start_swarm(dir.path());
    kill_harness(&mut harness);
    assert!(started, "the swarm never started");
    assert_all_gone(&mark, Duration::from_secs(10));
}

#[test]
fn sigkill_while_publishing_leaves_no_node_and_the_next_start_removes_the_scratch() {
    let dir = temp_dir();
    let mark = marker();
    let wrap = wrapper(dir.path(), None);
    let out = dir.path().join("out");
    // A server fault gives the replica a scratch data directory; a large object makes
    // the publish step last.
    let scenario = write_file(
        dir.path(),
        "publish.toml",
        "name = \"publish\"\n[workload]\nkind = \"flash-crowd\"\nobject_size = \"256MiB\"\n\
         [load]\nusers = 1\nduration = \"3s\"\ntimeout = \"60s\"\n[architectures]\np2p = false\n\
         [[faults]]\nat = \"1s\"\naction = \"kill\"\ntarget = \"server:0\"\nduration = \"1s\"\n",
    );
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--progress",
        "none",
        "--out",
        out.to_str().unwrap(),
    ];
    let mut harness = start(&mark, &args, &wrap, dir.path());
    let publishing = wait_for(Duration::from_secs(30), || {
        !processes_with(&mark).is_empty() && !scratch_dirs(dir.path()).is_empty()
    });
    kill_harness(&mut harness);
    assert!(publishing, "the server never started");
    assert_all_gone(&mark, Duration::from_secs(10));
    assert!(
        !scratch_dirs(dir.path()).is_empty(),
        "SIGKILL leaves the scratch directory"
    );
    // The next harness that makes a scratch directory removes the orphan first.
    let small = write_file(
        dir.path(),
        "small.toml",
        "name = \"small\"\n[workload]\nkind = \"fetch\"\nobjects = 2\nobject_size = \"4KiB\"\n\
         [load]\nusers = 1\nduration = \"2s\"\n[architectures]\np2p = false\n\
         [[faults]]\nat = \"1s\"\naction = \"pause\"\ntarget = \"server:0\"\nduration = \"200ms\"\n",
    );
    let next = start(
        &mark,
        &[
            "run",
            small.to_str().unwrap(),
            "--progress",
            "none",
            "--out",
            out.to_str().unwrap(),
        ],
        &wrap,
        dir.path(),
    );
    let done = wait_bounded(next, Duration::from_secs(60));
    assert_eq!(done.status.code(), Some(0), "{}", describe(&done));
    assert_eq!(scratch_dirs(dir.path()), Vec::<String>::new());
    assert!(processes_with(&mark).is_empty());
}

#[test]
fn two_ctrl_cs_while_the_swarm_starts_stop_every_node() {
    let dir = temp_dir();
    let (mark, harness, started) = start_swarm(dir.path());
    for _ in 0..2 {
        // SAFETY: SIGINT to the harness we started.
        unsafe {
            libc::kill(harness.id() as i32, libc::SIGINT);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let done = wait_bounded(harness, Duration::from_secs(30));
    assert!(started, "the swarm never started");
    assert_eq!(done.status.code(), Some(130), "{}", describe(&done));
    assert_all_gone(&mark, Duration::from_secs(5));
}

#[test]
fn a_failed_run_keeps_the_finished_ones_in_a_partial_report() {
    let dir = temp_dir();
    let mark = marker();
    let wrap = wrapper(dir.path(), Some("peer"));
    let out = dir.path().join("out");
    let scenario = write_file(
        dir.path(),
        "both.toml",
        "name = \"both\"\n[workload]\nkind = \"fetch\"\nobjects = 2\nobject_size = \"4KiB\"\n\
         [load]\nusers = 2\nduration = \"1s\"\n",
    );
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--progress",
        "none",
        "--out",
        out.to_str().unwrap(),
    ];
    let done = wait_bounded(
        start(&mark, &args, &wrap, dir.path()),
        Duration::from_secs(60),
    );
    assert_eq!(done.status.code(), Some(3), "{}", describe(&done));
    let report = read_report(&out);
    let runs = report["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "the client-server run is kept");
    assert_eq!(runs[0]["arch"], "cs");
    let why = report["incomplete"].as_str().expect("incomplete says why");
    assert!(why.contains("refused"), "{why}");
    assert!(processes_with(&mark).is_empty());
}

#[test]
fn a_url_beyond_loopback_is_refused_unless_allowed() {
    let dir = temp_dir();
    // A documentation address (TEST-NET-1): nothing is sent, the address is refused first.
    let out = support::run_versus(
        &[
            "run",
            "--url",
            "http://192.0.2.1:9/",
            "--duration",
            "1s",
            "--progress",
            "none",
            "--out",
            dir.path().to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--allow-remote-target") && stderr.contains("192.0.2.1"),
        "{stderr}"
    );
}
