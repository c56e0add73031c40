//! `versus coordinate` with real processes: the coordinator and 3 shards (`versus run
//! --coordinator URL`, no index given: the coordinator hands them out) against an
//! attached `versus server`; the one merged report has every operation of the
//! fixed-iteration workload. A coordinator whose shards do not all arrive exits 3,
//! naming the missing ones.

mod shards_support;
mod support;

use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use shards_support::{run_concurrently, totals, Server, OPERATIONS, SCENARIO};
use support::{describe, num, read_report, temp_dir, versus, wait_bounded, write_file};

const LIMIT: Duration = Duration::from_secs(120);

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn coordinator_merges_its_shards_into_one_report() {
    let server = Server::start();
    let dir = temp_dir();
    let targets = server.targets_file(dir.path());
    let scenario = write_file(dir.path(), "shards.toml", SCENARIO);
    let listen = format!("127.0.0.1:{}", free_port());
    let out = dir.path().join("merged");
    let coordinator = versus()
        .args([
            "coordinate",
            "--shards",
            "3",
            "--listen",
            &listen,
            "--wait",
            "60s",
            "--lead",
            "2s",
        ])
        .args(["--out", out.to_str().expect("utf-8")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("coordinator starts");
    let url = format!("http://{listen}");
    let shards = run_concurrently(
        3,
        |i| {
            [
                "run",
                scenario.to_str().expect("utf-8"),
                "--attach",
                targets.to_str().expect("utf-8"),
                "--coordinator",
                url.as_str(),
                "--progress",
                "none",
                "--out",
                dir.path()
                    .join(format!("shard-{i}"))
                    .to_str()
                    .expect("utf-8"),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect()
        },
        LIMIT,
    );
    for s in &shards {
        assert_eq!(s.status.code(), Some(0), "{}", describe(s));
    }
    let done = wait_bounded(coordinator, LIMIT);
    assert_eq!(done.status.code(), Some(0), "{}", describe(&done));
    let merged = read_report(&out);
    assert_eq!(totals(&merged), (OPERATIONS, 0, OPERATIONS * 4096));
    assert_eq!(num(&merged, "shard.count"), 3);
    assert_eq!(num(&merged, "runs.0.users"), 9);
    for i in 0..3 {
        assert!(
            out.join(format!("shards/shard-{i}.json")).exists(),
            "shard {i} kept"
        );
    }
    assert!(out.join("report.md").exists() && out.join("cs.hlog").exists());
}

#[test]
fn coordinator_exits_3_when_shards_do_not_all_arrive() {
    let listen = format!("127.0.0.1:{}", free_port());
    let coordinator = versus()
        .args([
            "coordinate",
            "--shards",
            "3",
            "--listen",
            &listen,
            "--wait",
            "2s",
        ])
        .args(["--out", "/nonexistent/never"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("coordinator starts");
    let done = wait_bounded(coordinator, LIMIT);
    assert_eq!(done.status.code(), Some(3), "{}", describe(&done));
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(
        stderr.contains("only 0 of 3 shards joined") && stderr.contains("missing: 0, 1, 2"),
        "{stderr}"
    );
}
