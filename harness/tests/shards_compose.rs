//! The sharded topology under docker compose, for real: `deploy/compose/run.sh` builds
//! the image from this build's binary (`versus image`, offline), runs a `versus server`,
//! the coordinator and 4 shard containers on a fixed-iteration workload, then the same
//! workload as one process, and exits 0 only when the merged totals (count, errors,
//! bytes) equal the one process's. Skipped, saying so, without a Docker engine or
//! docker-compose.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

fn available(test: &str) -> bool {
    let answers = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let ok = answers("docker", &["info"]) && answers("docker-compose", &["version"]);
    if !ok {
        eprintln!("skipping {test}: no Docker engine or docker-compose answers");
    }
    ok
}

#[test]
fn four_shard_containers_add_up_to_one_process() {
    if !available("four_shard_containers_add_up_to_one_process") {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/compose/run.sh");
    let child = Command::new(script)
        .arg(env!("CARGO_BIN_EXE_versus"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run.sh starts");
    let out = support::wait_bounded(child, Duration::from_secs(600));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
    assert!(stdout.contains("equal: the 4 shards together"), "{stdout}");
}
