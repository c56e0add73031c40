//! The client-server target through the real binary: replicas started as processes,
//! content published and verified, traffic cross-checked against the servers' own
//! metrics, and no process left behind on interrupt or when a target fails to start.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{
    describe, marker, processes_with, read_report, run_marked, temp_dir, versus_marked,
    wait_bounded, write_file,
};

const FLASH: &str = r#"
name = "flash-test"
[workload]
kind = "flash-crowd"
object_size = "2MiB"
[load]
users = 4
duration = "60s"
timeout = "50s"
[network]
server_upload = "4MiB/s"
[architectures]
p2p = false
"#;

const FETCH: &str = r#"
name = "fetch-test"
[workload]
kind = "fetch"
objects = 8
object_size = "8KiB"
[load]
users = 4
duration = "1s"
[architectures]
p2p = false
servers = 2
"#;

#[test]
fn flash_crowd_meets_its_bound_and_traffic_adds_up() {
    let dir = temp_dir();
    let scenario = write_file(dir.path(), "flash.toml", FLASH);
    let out_dir = dir.path().join("out");
    let m = marker();
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        "--progress",
        "none",
    ];
    let out = run_marked(&m, &args, &[], Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let report = read_report(&out_dir);
    let run = &report["runs"][0];
    assert_eq!(run["ops"]["get"]["count"], 4);
    assert_eq!(
        run["ops"]["get"]["errors_total"], 0,
        "every download verified"
    );
    assert_eq!(
        run["bound_s"].as_f64().unwrap(),
        2.0,
        "4 users x 2 MiB / 4 MiB/s"
    );
    let efficiency = run["efficiency"].as_f64().unwrap();
    assert!(
        (0.7..=1.05).contains(&efficiency),
        "efficiency {efficiency}"
    );
    let server_tx = run["traffic"]["server"]["tx_bytes"].as_u64().unwrap();
    assert!(
        server_tx >= 4 * 2 * 1048576,
        "the server sent every byte: {server_tx}"
    );
    assert_eq!(
        run["traffic"]["harness"]["rx_bytes"].as_u64().unwrap(),
        server_tx,
        "what the server sent is what the harness received"
    );
    assert!(
        run["resources"]["server"]["peak_rss_bytes"]
            .as_u64()
            .unwrap()
            > 0
    );
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(md.contains("efficiency"), "{md}");
}

#[test]
fn fetch_over_two_replicas_is_verified_and_counted_by_the_servers() {
    let dir = temp_dir();
    let scenario = write_file(dir.path(), "fetch.toml", FETCH);
    let out_dir = dir.path().join("out");
    let m = marker();
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        "--progress",
        "none",
    ];
    let out = run_marked(&m, &args, &[], Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let run = &read_report(&out_dir)["runs"][0];
    let get = &run["ops"]["get"];
    assert!(get["count"].as_u64().unwrap() > 100);
    assert_eq!(get["errors_total"], 0);
    assert_eq!(run["resources"]["server"]["processes"], 2);
    let server = &run["traffic"]["server"];
    let harness = &run["traffic"]["harness"];
    assert_eq!(server["tx_bytes"], harness["rx_bytes"]);
    assert_eq!(server["rx_bytes"], harness["tx_bytes"]);
}

#[test]
fn sigint_mid_run_leaves_no_server_behind() {
    let dir = temp_dir();
    let scenario = write_file(
        dir.path(),
        "fetch.toml",
        &FETCH.replace("\"1s\"", "\"60s\""),
    );
    let out_dir = dir.path().join("out");
    let m = marker();
    let child = versus_marked(&m)
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--progress",
            "none",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while processes_with(&m).len() < 3 {
        assert!(
            Instant::now() < deadline,
            "the harness and its 2 servers did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = wait_bounded(child, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(130), "{}", describe(&out));
    assert!(
        processes_with(&m).is_empty(),
        "left behind: {:?}",
        processes_with(&m)
    );
    assert_eq!(read_report(&out_dir)["interrupted"], true);
}

#[test]
fn a_server_that_never_becomes_ready_gives_exit_3() {
    let dir = temp_dir();
    let scenario = write_file(dir.path(), "fetch.toml", FETCH);
    let silent = write_file(
        dir.path(),
        "silent.sh",
        "#!/bin/sh\necho starting >&2\nexec sleep 600\n",
    );
    std::process::Command::new("chmod")
        .args(["+x", silent.to_str().unwrap()])
        .status()
        .unwrap();
    let m = marker();
    let started = Instant::now();
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--set",
        "architectures.ready_timeout=1s",
        "--progress",
        "none",
    ];
    let out = run_marked(
        &m,
        &args,
        &[("VERSUS_TARGET_EXE", silent.to_str().unwrap())],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("printed no ready line within 1s"),
        "{stderr}"
    );
    assert!(
        stderr.contains("starting"),
        "the target's own output is shown: {stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "bounded: {:?}",
        started.elapsed()
    );
}

#[test]
fn a_server_that_exits_at_once_gives_exit_3() {
    let dir = temp_dir();
    let scenario = write_file(dir.path(), "fetch.toml", FETCH);
    let m = marker();
    let args = ["run", scenario.to_str().unwrap(), "--progress", "none"];
    let out = run_marked(
        &m,
        &args,
        &[("VERSUS_TARGET_EXE", "/bin/false")],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("exited"),
        "{}",
        describe(&out)
    );
}
