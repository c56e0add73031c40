//! Regions through the real binary, with child processes on loopback: with 5 ms one-way
//! inside a region and 60 ms across, a small fetch from the other region takes about
//! (60 + 60) − (5 + 5) = 110 ms longer than one from the same region (known truth, a loose
//! tolerance), on client-server (the harness applies the user's side) and on
//! peer-to-peer (the peers apply it themselves, also in containers when an engine
//! answers); the harness still counts its users' bytes; and bad region keys are exit 2
//! naming the key.

mod support;

use std::time::Duration;

use support::{describe, read_report, run_versus, temp_dir, write_file};

/// Every user in eu; the servers and the seed where `--set network.server_region` says.
const SCENARIO: &str = "name = \"regions\"\n\
    [workload]\nkind = \"KIND\"\nobjects = 8\nobject_size = \"4KiB\"\n\
    [load]\nusers = 2\nduration = \"3s\"\ntimeout = \"20s\"\n\
    [network]\nlatency_matrix = [[\"5ms\", \"60ms\"], [\"60ms\", \"5ms\"]]\n\
    [[network.regions]]\nname = \"eu\"\nshare = 1\n\
    [[network.regions]]\nname = \"us\"\nshare = 0\n\
    [architectures]\nready_timeout = \"30s\"\n";

/// The run of `arch` with the servers (or seed) in `server_region`, with `extra`
/// arguments.
fn run(kind: &str, arch: &str, server_region: &str, extra: &[&str]) -> serde_json::Value {
    let dir = temp_dir();
    let path = write_file(dir.path(), "regions.toml", &SCENARIO.replace("KIND", kind));
    let out = dir.path().join("out");
    let set = format!("network.server_region={server_region}");
    let mut args = vec![
        "run",
        path.to_str().expect("utf-8"),
        "--arch",
        arch,
        "--set",
        &set,
        "--out",
        out.to_str().expect("utf-8"),
        "--progress",
        "none",
    ];
    args.extend_from_slice(extra);
    let done = run_versus(&args, Duration::from_secs(180));
    assert_eq!(done.status.code(), Some(0), "{}", describe(&done));
    let report = read_report(&out);
    let run = report["runs"][0].clone();
    assert_eq!(run["ops"]["get"]["errors_total"], 0, "{}", run["ops"]);
    let regions = &run["regions"];
    assert_eq!(regions["server_region"], server_region, "{regions}");
    assert_eq!(
        regions["users"],
        serde_json::json!(["eu", "eu"]),
        "{regions}"
    );
    assert_eq!(regions["latency_ms"][0][1], 60.0, "{regions}");
    if arch == "cs" {
        // The users' own shapers still count into the harness's traffic.
        let traffic = &run["traffic"];
        assert_eq!(
            traffic["server"]["tx_bytes"], traffic["harness"]["rx_bytes"],
            "{traffic}"
        );
    }
    assert!(
        std::fs::read_to_string(out.join("report.md"))
            .unwrap_or_default()
            .contains("- Regions: eu 2 users, us 0 users"),
        "report.md names the regions"
    );
    run
}

fn p50_ms(run: &serde_json::Value) -> f64 {
    run["ops"]["get"]["latency_us"]["p50"]
        .as_f64()
        .expect("a p50")
        / 1e3
}

#[test]
fn a_cross_region_fetch_pays_the_matrix_round_trip_on_client_server() {
    let near = p50_ms(&run("fetch", "cs", "eu", &[]));
    let far = p50_ms(&run("fetch", "cs", "us", &[]));
    // A GET is one round trip: 2 × 5 ms near, 2 × 60 ms far; delays are floors.
    assert!(near >= 10.0, "in-region p50 {near} ms is below 2 × 5 ms");
    let extra = far - near;
    eprintln!("cs p50: in-region {near} ms, cross-region {far} ms, difference {extra} ms");
    assert!(
        (80.0..=140.0).contains(&extra),
        "cross-region p50 {far} ms − in-region {near} ms = {extra} ms, not about 110 ms"
    );
}

#[test]
fn a_cross_region_swarm_pays_at_least_one_round_trip_more_on_peer_to_peer() {
    swarm_pays_across_regions("processes", &[]);
}

/// Both users fetch the seed's object: a provider lookup, the manifest and the blocks,
/// each at least one round trip to the seed (or to the other user, in eu).
fn swarm_pays_across_regions(launcher: &str, extra: &[&str]) {
    let near = p50_ms(&run("flash-crowd", "p2p", "eu", extra));
    let far = p50_ms(&run("flash-crowd", "p2p", "us", extra));
    let more = far - near;
    eprintln!(
        "p2p p50 ({launcher}): in-region {near} ms, cross-region {far} ms, difference {more} ms"
    );
    assert!(
        (100.0..=3000.0).contains(&more),
        "cross-region p50 {far} ms − in-region {near} ms = {more} ms: not at least one extra 110 ms round trip"
    );
}

#[test]
fn regions_hold_with_containers_too() {
    let _one = support::docker::SERIAL
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if !support::docker::engine_answers("regions with containers") {
        return;
    }
    let image = format!("architectures.image={}", support::docker::image());
    // Each region's containers in their own block of the run's subnet, the routes
    // moved there: the same known truth as with processes.
    swarm_pays_across_regions("containers", &["--launcher", "docker", "--set", &image]);
}

#[test]
fn bad_region_keys_are_exit_2_naming_the_key() {
    let dir = temp_dir();
    let cases = [
        (
            "latency_matrix = [[\"5ms\", \"60ms\"]]",
            "network.latency_matrix",
        ),
        (
            "latency_matrix = [[\"5ms\", \"60ms\"], [\"60ms\", \"-5ms\"]]",
            "network.latency_matrix",
        ),
        (
            "latency_matrix = [[\"5ms\", \"60ms\"], [\"60ms\", \"5ms\"]]\nserver_region = \"ap\"",
            "network.server_region",
        ),
        (
            "latency_matrix = [[\"5ms\", \"60ms\"], [\"60ms\", \"5ms\"]]\nlatency = \"5ms\"",
            "network.latency",
        ),
    ];
    for (i, (network, key)) in cases.into_iter().enumerate() {
        let text = SCENARIO.replace("KIND", "fetch").replace(
            "latency_matrix = [[\"5ms\", \"60ms\"], [\"60ms\", \"5ms\"]]\n",
            &format!("{network}\n"),
        );
        let path = write_file(dir.path(), &format!("bad{i}.toml"), &text);
        for command in ["check", "run"] {
            let out = run_versus(
                &[command, path.to_str().expect("utf-8")],
                Duration::from_secs(30),
            );
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command} {network}: {stderr}");
            assert!(stderr.contains(key), "{command} {network}: {stderr}");
        }
    }
    let shares = SCENARIO
        .replace("KIND", "fetch")
        .replace("share = 0\n", "share = 0.5\n");
    let path = write_file(dir.path(), "shares.toml", &shares);
    let out = run_versus(
        &["check", path.to_str().expect("utf-8")],
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("network.regions[0].share"), "{stderr}");
}
