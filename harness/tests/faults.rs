//! Faults through the real binary: the only server killed mid-run (availability drops in
//! the affected seconds and comes back after the restart), a quarter of the peers killed
//! during a flash crowd (every surviving peer still completes), adversarial peers
//! counted, and nothing left running.

mod support;

use std::time::Duration;

use support::{describe, marker, read_report, run_marked, temp_dir, write_file};

/// Runs `scenario`, checks exit 0 and that nothing it started is left; returns the report.
fn run(scenario: &str) -> serde_json::Value {
    let dir = temp_dir();
    let path = write_file(dir.path(), "scenario.toml", scenario);
    let out_dir = dir.path().join("out");
    let args = [
        "run",
        path.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        "--progress",
        "none",
    ];
    let out = run_marked(&marker(), &args, &[], Duration::from_secs(150));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    read_report(&out_dir)
}

fn availability(interval: &serde_json::Value) -> Option<f64> {
    interval["availability"].as_f64()
}

#[test]
fn killing_the_server_drops_availability_until_it_restarts() {
    let report = run(r#"
name = "kill-server"
[workload]
kind = "fetch"
objects = 8
object_size = "4KiB"
[load]
users = 2
duration = "7s"
think_time = "10ms"
timeout = "2s"
[architectures]
p2p = false
[[faults]]
at = "2s"
action = "kill"
target = "server:0"
duration = "2s"
"#);
    let run = &report["runs"][0];
    let intervals = run["intervals"].as_array().unwrap();
    let series: Vec<Option<f64>> = intervals.iter().map(availability).collect();
    // Second 3 lies wholly inside the outage (2 s .. 4 s): nothing succeeds in it.
    assert_eq!(series[3], Some(0.0), "availability per second: {series:?}");
    assert_eq!(series[0], Some(1.0), "{series:?}");
    // After the restart at 4 s the server serves again (second 5 onwards).
    assert!(
        series[5..series.len() - 1].iter().all(|a| *a == Some(1.0)),
        "no recovery after the restart: {series:?}"
    );
    let total = run["availability"].as_f64().unwrap();
    assert!(total > 0.0 && total < 1.0, "run availability {total}");
    let faults = run["faults"].as_array().unwrap();
    assert_eq!(faults.len(), 2, "kill and the restart after it: {faults:?}");
    assert_eq!(faults[0]["action"], "kill");
    assert_eq!(faults[1]["action"], "restart");
    let recovery = faults[0]["recovery_s"].as_f64().unwrap();
    assert!(
        (1.5..=3.5).contains(&recovery),
        "recovery {recovery} s after a 2 s outage"
    );
    assert!(run["ops"]["get"]["errors"]["connect"].as_u64().unwrap_or(0) > 0);
    // While the only server was down no object could be fetched.
    let resilience = &run["resilience"];
    assert!(
        resilience["objects_requested_during_faults"].as_u64() > Some(0),
        "{resilience}"
    );
    assert_eq!(
        resilience["objects_unavailable"], resilience["objects_requested_during_faults"],
        "{resilience}"
    );
}

#[test]
fn survivors_complete_a_flash_crowd_when_a_quarter_of_the_peers_die() {
    let report = run(r#"
name = "kill-peers"
[workload]
kind = "flash-crowd"
object_size = "4MiB"
[load]
users = 8
duration = "90s"
timeout = "80s"
[network]
server_upload = "4MiB/s"
peer_upload = "1MiB/s"
[architectures]
cs = false
ready_timeout = "30s"
[[faults]]
at = "1s"
action = "kill"
target = "peers"
fraction = 0.25
"#);
    let run = &report["runs"][0];
    let resilience = &run["resilience"];
    assert_eq!(resilience["users"], 8, "{resilience}");
    assert_eq!(resilience["survivors"], 6, "{resilience}");
    assert_eq!(
        resilience["survivors_completed"], 6,
        "every surviving peer completes: {resilience}"
    );
    let faults = run["faults"].as_array().unwrap();
    assert_eq!(
        faults[0]["nodes"].as_array().unwrap().len(),
        2,
        "{faults:?}"
    );
    // The two killed users' downloads failed; nothing else did.
    assert_eq!(
        run["ops"]["get"]["errors_total"], 2,
        "{}",
        run["ops"]["get"]
    );
}

#[test]
fn corrupting_peers_are_counted_and_never_accepted() {
    let report = run(r#"
name = "adversaries"
[workload]
kind = "flash-crowd"
object_size = "2MiB"
[load]
users = 6
duration = "90s"
timeout = "80s"
[network]
server_upload = "4MiB/s"
peer_upload = "1MiB/s"
[architectures]
cs = false
ready_timeout = "30s"
corrupt_peers = 2
"#);
    let run = &report["runs"][0];
    assert_eq!(
        run["ops"]["get"]["errors_total"], 0,
        "{}",
        run["ops"]["get"]
    );
    let rejected = run["traffic"]["peer"]["chunks_rejected"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        rejected > 0,
        "corrupt chunks were served and rejected: {}",
        run["traffic"]
    );
}
