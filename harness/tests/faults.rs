//! Faults through the real binary: the only server killed mid-run (availability drops in
//! the affected seconds and comes back after the restart), one of two replicas killed
//! while every object has a copy on the other (users fail over, nothing is lost), a
//! quarter of the peers killed during a flash crowd (every surviving peer still completes;
//! also when the peers share host processes), adversarial peers counted, and nothing left
//! running.

mod support;

use std::time::Duration;

use support::run_scenario;

/// Runs `scenario`, checks exit 0 and that nothing it started is left; returns the report.
fn run(scenario: &str) -> serde_json::Value {
    run_scenario(scenario, Duration::from_secs(150))
}

/// A P2P flash crowd of `users` for an object of `size`; `extra` goes at the end, inside
/// `[architectures]`.
fn flash_crowd(users: u32, size: &str, extra: &str) -> String {
    format!(
        "name = \"flash\"\n[workload]\nkind = \"flash-crowd\"\nobject_size = \"{size}\"\n\
         [load]\nusers = {users}\nduration = \"90s\"\ntimeout = \"80s\"\n\
         [network]\nserver_upload = \"4MiB/s\"\npeer_upload = \"1MiB/s\"\n\
         [architectures]\ncs = false\nready_timeout = \"30s\"\n{extra}"
    )
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
    // While the only server was down no object could be fetched (give or take one
    // request that finished in the instant between the crash and its bookkeeping).
    let resilience = &run["resilience"];
    let requested = resilience["objects_requested_during_faults"]
        .as_u64()
        .unwrap();
    let unavailable = resilience["objects_unavailable"].as_u64().unwrap();
    assert!(requested > 0, "{resilience}");
    assert!(unavailable + 1 >= requested, "{resilience}");
}

const KILL_A_QUARTER: &str =
    "[[faults]]\nat = \"1s\"\naction = \"kill\"\ntarget = \"peers\"\nfraction = 0.25\n";

#[test]
fn with_two_copies_of_every_object_killing_one_replica_costs_no_request() {
    let report = run(r#"
name = "kill-one-of-two"
[workload]
kind = "fetch"
objects = 8
object_size = "4KiB"
verify = true
[load]
users = 2
duration = "6s"
think_time = "10ms"
timeout = "2s"
[architectures]
p2p = false
servers = 2
replication = 2
[[faults]]
at = "2s"
action = "kill"
target = "server:0"
duration = "2s"
"#);
    let run = &report["runs"][0];
    assert_eq!(run["replication"], 2, "the report says how many copies");
    let get = &run["ops"]["get"];
    let (count, errors) = (
        get["count"].as_u64().unwrap(),
        get["errors_total"].as_u64().unwrap(),
    );
    // Half the objects live first on the killed replica: their users went to the copy.
    assert!(count > 50, "users kept fetching: {count}");
    assert_eq!(errors, 0, "a request failed although a copy was up: {get}");
    let series: Vec<Option<f64>> = run["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .map(availability)
        .collect();
    assert!(
        series[..series.len() - 1].iter().all(|a| *a == Some(1.0)),
        "availability per second: {series:?}"
    );
    assert_eq!(run["faults"][0]["action"], "kill");
}

#[test]
fn killing_the_holders_of_an_object_kills_its_publisher_and_not_the_seed() {
    // Object 5 of a fetch workload is published at user peer 5 mod 4 = 1; each user
    // fetches once (a long think time), so at most a few peers hold it as well.
    let report = run(r#"
name = "kill-holders"
[workload]
kind = "fetch"
objects = 8
object_size = "4KiB"
verify = true
[load]
users = 4
duration = "4s"
think_time = "30s"
timeout = "2s"
[architectures]
cs = false
ready_timeout = "30s"
[[faults]]
at = "1s"
action = "kill"
target = "holders:5"
duration = "1s"
"#);
    let faults = report["runs"][0]["faults"].as_array().unwrap();
    let kill = &faults[0];
    assert_eq!(kill["target"], "holders:5", "{kill}");
    let nodes: Vec<&str> = kill["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        nodes.contains(&"peer 1"),
        "the publisher holds it: {nodes:?}"
    );
    assert!(
        !nodes.contains(&"seed 0"),
        "the seed holds no fetch object: {nodes:?}"
    );
    // The publisher, plus at most the other 3 users' peers (each fetched one object).
    assert!(nodes.len() <= 4, "{nodes:?}");
    assert!(
        kill["label"].as_str().unwrap().ends_with("of object 5"),
        "{kill}"
    );
    assert_eq!(faults[1]["action"], "restart", "{faults:?}");
    assert_eq!(
        faults[1]["nodes"], kill["nodes"],
        "the same nodes come back"
    );
}

#[test]
fn survivors_complete_a_flash_crowd_when_a_quarter_of_the_peers_die() {
    survivors_complete(&run(&flash_crowd(8, "4MiB", KILL_A_QUARTER)));
}

#[test]
fn killing_hosted_peers_drops_only_them() {
    // Two hosts of four: each kill is `POST /kill` on one peer, its host keeps the others.
    let report = run(&flash_crowd(
        8,
        "4MiB",
        &format!("peers_per_process = 4\n{KILL_A_QUARTER}"),
    ));
    assert_eq!(report["runs"][0]["peer_hosting"]["processes"], 2);
    assert!(report["runs"][0]["faults"][0]["error"].is_null());
    survivors_complete(&report);
}

/// Two of eight peers were killed; the six others completed.
fn survivors_complete(report: &serde_json::Value) {
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
    let report = run(&flash_crowd(6, "2MiB", "corrupt_peers = 2\n"));
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
