//! The peer-to-peer target through the real binary: a seed and one `versus peer`
//! process per user (or peer hosts of several), a flash crowd that every peer
//! completes, the D_p2p bound in the report, and no process left behind.

mod support;

use std::time::Duration;

use support::run_scenario;

const FLASH: &str = r#"
name = "p2p-flash-test"
[workload]
kind = "flash-crowd"
object_size = "1MiB"
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
"#;

/// Runs `scenario` and returns its report, checking it exits 0 and leaves nothing running.
fn run_p2p(scenario: &str) -> serde_json::Value {
    run_scenario(scenario, Duration::from_secs(120))
}

#[test]
fn every_peer_completes_a_flash_crowd() {
    let report = run_p2p(FLASH);
    let run = &report["runs"][0];
    assert_eq!(run["arch"], "p2p");
    assert_eq!(run["ops"]["get"]["count"], 6, "{run}");
    assert_eq!(
        run["ops"]["get"]["errors_total"], 0,
        "every peer completed: {}",
        run["ops"]["get"]["errors"]
    );
    assert_eq!(run["ops"]["get"]["bytes"].as_u64(), Some(6 << 20));
    // D_p2p = max(F/u_s, N*F/(u_s + N*u_i)) = max(0.25, 6/10) = 0.6 s.
    assert!((run["bound_s"].as_f64().unwrap() - 0.6).abs() < 1e-9);
    let efficiency = run["efficiency"].as_f64().unwrap();
    assert!(
        efficiency > 0.0 && efficiency <= 1.05,
        "efficiency {efficiency}"
    );
    assert_eq!(run["resources"]["peer"]["processes"], 6);
    assert_eq!(run["resources"]["seed"]["processes"], 1);
    // "auto" gives a small swarm a process per peer, and the report says so.
    assert_eq!(
        run["peer_hosting"],
        serde_json::json!({"processes": 6, "peers_per_process": 1})
    );
    let peers_rx = run["traffic"]["peer"]["rx_bytes"].as_u64().unwrap();
    assert!(
        peers_rx >= 6 << 20,
        "the peers received at least the object each: {peers_rx}"
    );
    assert!(run["admin_overhead_us"].as_u64().is_some());
    // The seed sent chunks for part of the run, never for longer than the run itself.
    let seed_busy = run["traffic"]["seed"]["upload_busy_s"]
        .as_f64()
        .unwrap_or(0.0);
    let duration = run["duration_s"].as_f64().unwrap();
    assert!(
        seed_busy > 0.0 && seed_busy <= duration + 0.5,
        "seed uploading {seed_busy} s of a {duration} s run"
    );
}

#[test]
fn peers_in_hosts_complete_a_flash_crowd() {
    let hosted = format!("{FLASH}peers_per_process = 3\n");
    let report = run_p2p(&hosted);
    let run = &report["runs"][0];
    assert_eq!(run["ops"]["get"]["count"], 6, "{run}");
    assert_eq!(
        run["ops"]["get"]["errors_total"], 0,
        "every hosted peer completed: {}",
        run["ops"]["get"]["errors"]
    );
    assert_eq!(run["ops"]["get"]["bytes"].as_u64(), Some(6 << 20));
    assert_eq!(
        run["peer_hosting"],
        serde_json::json!({"processes": 2, "peers_per_process": 3})
    );
    let peers = &run["resources"]["peer"];
    assert_eq!(peers["processes"], 2, "{peers}");
    let per_process = peers["peak_rss_per_process_bytes"].as_u64().unwrap();
    let per_peer = peers["peak_rss_per_node_bytes"].as_u64().unwrap();
    assert!(
        per_peer > 0 && per_peer * 3 <= per_process + 3,
        "a host's RSS is shared by its 3 peers: {peers}"
    );
    // Every peer counted its own traffic, the hosts' too.
    let peers_rx = run["traffic"]["peer"]["rx_bytes"].as_u64().unwrap();
    assert!(peers_rx >= 6 << 20, "{peers_rx}");
}

const FETCH: &str = r#"
name = "p2p-fetch-test"
[workload]
kind = "fetch"
objects = 6
object_size = "64KiB"
popularity = "uniform"
[load]
users = 3
duration = "3s"
timeout = "20s"
[architectures]
cs = false
ready_timeout = "30s"
"#;

#[test]
fn repeated_fetches_go_through_the_swarm() {
    let report = run_p2p(FETCH);
    let run = &report["runs"][0];
    let get = &run["ops"]["get"];
    let ok = get["count"].as_u64().unwrap() - get["errors_total"].as_u64().unwrap();
    assert!(ok >= 10, "{get}");
    assert_eq!(get["errors_total"], 0, "{}", get["errors"]);
    // Each peer published 2 of the 6 objects and keeps those; every other fetch is a
    // fresh swarm download of 64 KiB, so the peers received at least ~2/3 of ok x 64 KiB.
    let received = run["traffic"]["peer"]["rx_bytes"].as_u64().unwrap();
    assert!(
        received >= ok * (64 << 10) / 2,
        "{received} bytes for {ok} fetches: local hits instead of downloads?"
    );
}

#[test]
fn upload_busy_of_a_capped_fetch_run_is_bytes_over_cap() {
    // Peers capped at 1 MiB/s: however their answers queue above the cap, the link was
    // busy for the time the bytes they sent take at that rate.
    let scenario = FETCH.replace(
        "[architectures]",
        "[network]\npeer_upload = \"1MiB/s\"\n[architectures]",
    );
    let report = run_p2p(&scenario);
    let run = &report["runs"][0];
    let peers = &run["traffic"]["peer"];
    let sent = peers["tx_bytes"].as_f64().unwrap();
    let busy = peers["upload_busy_s"].as_f64().unwrap_or(0.0);
    let expected = sent / f64::from(1u32 << 20);
    assert!(sent > 0.0, "{peers}");
    assert!(
        (busy - expected).abs() <= 0.1 * expected,
        "upload busy {busy:.3} s vs {expected:.3} s = bytes sent / cap"
    );
}
