//! Kernel network emulation on a real engine (`emulation = "kernel"`, containers):
//!
//! - a server's upload cap as an htb qdisc holds a transfer near the cap (bytes over
//!   time against the configured rate), and a peer's download cap through an IFB device
//!   does the same, the qdiscs and the IFB device seen in the containers' namespaces
//!   while they run;
//! - random loss with iptables shows as TCP retransmissions in the sender's (the seed's)
//!   namespace, in proportion to the loss;
//! - nothing of it is left afterwards: the containers (and with them their namespaces,
//!   qdiscs, IFB devices and rules) are gone, the host has no IFB device and no new
//!   iptables rule;
//! - a partition between half the peers and the rest costs availability across the
//!   split only (same-side fetches still succeed), and heals;
//! - kernel emulation with processes, or loss without it, is a usage error.
//!
//! Skipped, saying so, when no engine answers.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::docker::{docker, engine_answers, image, left_by, start, Sweep, SERIAL};
use support::{describe, read_report, temp_dir, versus, wait_bounded, write_file};

const MIB: f64 = 1048576.0;

/// A one-user flash crowd of `size` on one architecture in containers, with kernel
/// emulation and the `[network]` lines `network`.
fn scenario(dir: &Path, arch: &str, size: &str, network: &str) -> String {
    let (cs, p2p) = (arch == "cs", arch == "p2p");
    let text = format!(
        "name = \"kernel-{arch}\"\ndescription = \"kernel emulation\"\n\
         [workload]\nkind = \"flash-crowd\"\nobject_size = \"{size}\"\nverify = true\n\
         [load]\nusers = 1\nduration = \"90s\"\ntimeout = \"80s\"\n\
         [network]\nemulation = \"kernel\"\n{network}\n\
         [architectures]\ncs = {cs}\np2p = {p2p}\nready_timeout = \"60s\"\n\
         launcher = \"docker\"\nimage = \"{}\"\n",
        image()
    );
    write_file(dir, &format!("{arch}.toml"), &text)
        .to_string_lossy()
        .into_owned()
}

/// Main processes of the running containers of harness `pid`, with their role.
fn container_pids(harness: u32) -> Vec<(String, u32)> {
    let filter = format!("label=versus.harness_pid={harness}");
    let ids = docker(&["ps", "-q", "--filter", &filter]);
    ids.iter()
        .filter_map(|id| {
            let line = docker(&[
                "inspect",
                "--format",
                "{{index .Config.Labels \"versus.role\"}} {{.State.Pid}}",
                id,
            ]);
            let (role, pid) = line.first()?.split_once(' ')?;
            Some((role.to_string(), pid.parse().ok().filter(|p| *p > 0)?))
        })
        .collect()
}

/// `tool args…` inside process `pid`'s network namespace.
fn in_namespace(pid: u32, tool: &str, args: &[&str]) -> String {
    let out = Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-n", tool])
        .args(args)
        .output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// TCP's (OutSegs, RetransSegs) in process `pid`'s network namespace.
fn tcp_segments(pid: u32) -> Option<(u64, u64)> {
    let snmp = std::fs::read_to_string(format!("/proc/{pid}/net/snmp")).ok()?;
    let mut tcp = snmp.lines().filter(|l| l.starts_with("Tcp:"));
    let names: Vec<&str> = tcp.next()?.split_whitespace().collect();
    let values: Vec<&str> = tcp.next()?.split_whitespace().collect();
    let field = |name: &str| {
        let i = names.iter().position(|n| *n == name)?;
        values.get(i)?.parse().ok()
    };
    Some((field("OutSegs")?, field("RetransSegs")?))
}

/// What the host has that a run could leave: IFB devices and iptables rules.
fn host_state() -> (Vec<String>, usize) {
    let links = Command::new("ip")
        .args(["-o", "link", "show", "type", "ifb"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let ifbs = links
        .lines()
        .filter(|l| l.contains("vsifb"))
        .map(str::to_string)
        .collect();
    let rules = Command::new("iptables-save")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| l.contains("statistic"))
                .count()
        })
        .unwrap_or_default();
    (ifbs, rules)
}

/// Runs `path` to the end, calling `watch` with the containers' processes every 50 ms
/// while it runs; returns the report.
fn run_watching(
    path: &str,
    out: &Path,
    mut watch: impl FnMut(&[(String, u32)]),
) -> serde_json::Value {
    let mut child = start(path, out);
    let pid = child.id();
    let _sweep = Sweep(pid);
    let deadline = Instant::now() + Duration::from_secs(150);
    while child.try_wait().expect("wait").is_none() && Instant::now() < deadline {
        watch(&container_pids(pid));
        std::thread::sleep(Duration::from_millis(50));
    }
    let done = wait_bounded(child, Duration::from_secs(10));
    assert_eq!(done.status.code(), Some(0), "{}", describe(&done));
    assert_eq!(
        left_by(pid),
        (vec![], vec![]),
        "no container or network left"
    );
    read_report(out)
}

/// Bytes over time of the run's one download, as a multiple of `rate` bytes/s.
fn throughput_over(run: &serde_json::Value, size: f64, rate: f64) -> f64 {
    assert_eq!(run["ops"]["get"]["count"], 1, "{}", run["ops"]);
    assert_eq!(run["ops"]["get"]["errors_total"], 0, "{}", run["ops"]);
    let makespan = run["completion"]["makespan_s"]
        .as_f64()
        .expect("a makespan");
    size / makespan / rate
}

#[test]
fn kernel_caps_hold_transfers_near_their_rate_and_leave_nothing() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !engine_answers("kernel rate caps") {
        return;
    }
    let before = host_state();
    let dir = temp_dir();
    // Upload: the server's egress htb at 1 MiB/s, a 5 MiB object.
    let cs = scenario(dir.path(), "cs", "5MiB", "server_upload = \"1MiB/s\"");
    let mut htb_seen = false;
    let report = run_watching(&cs, &dir.path().join("cs"), |pids| {
        for (role, pid) in pids {
            if role == "server" {
                let qdiscs = in_namespace(*pid, "tc", &["qdisc", "show"]);
                htb_seen |= qdiscs.contains("htb") && qdiscs.contains("bfifo");
            }
        }
    });
    assert!(htb_seen, "the server's namespace had the htb qdisc");
    let run = &report["runs"][0];
    assert_eq!(run["network"]["emulation"], "kernel", "{}", run["network"]);
    let ratio = throughput_over(run, 5.0 * MIB, MIB);
    assert!((0.8..=1.1).contains(&ratio), "upload at {ratio} × the cap");
    assert!(
        run["conditions"]
            .as_str()
            .is_some_and(|c| c.contains("kernel emulation")),
        "{}",
        run["conditions"]
    );

    // Download: the peer's ingress through its IFB device at 1 MiB/s, a 4 MiB object
    // from an uncapped seed.
    let p2p = scenario(dir.path(), "p2p", "4MiB", "download = \"1MiB/s\"");
    let mut ifb_seen = false;
    let report = run_watching(&p2p, &dir.path().join("p2p"), |pids| {
        for (role, pid) in pids {
            if role == "peer" {
                let links = in_namespace(*pid, "ip", &["-o", "link", "show"]);
                let filters =
                    in_namespace(*pid, "tc", &["filter", "show", "dev", "eth0", "ingress"]);
                ifb_seen |= links.contains("vsifb0") && filters.contains("mirred");
            }
        }
    });
    assert!(
        ifb_seen,
        "the peer's namespace had its IFB device and redirect"
    );
    let ratio = throughput_over(&report["runs"][0], 4.0 * MIB, MIB);
    assert!(
        (0.8..=1.1).contains(&ratio),
        "download at {ratio} × the cap"
    );
    assert_eq!(
        host_state(),
        before,
        "no IFB device or iptables rule on the host"
    );
}

#[test]
fn kernel_loss_shows_in_tcp_retransmissions() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !engine_answers("kernel loss") {
        return;
    }
    let before = host_state();
    let dir = temp_dir();
    // The seed sends a 3 MiB object to one peer, whose namespace drops 2 % of what
    // arrives: the seed sends those segments again. The seed's upload is capped so the
    // transfer lasts about 1.5 s and the counters are read during it: unshaped, it was
    // over between two readings (docker ps and inspect take 100 ms or more), and one run
    // in several read 120 segments and none sent again.
    let p2p = scenario(
        dir.path(),
        "p2p",
        "3MiB",
        "loss = \"2%\"\nserver_upload = \"2MiB/s\"",
    );
    let mut last = None;
    let mut rules = false;
    let report = run_watching(&p2p, &dir.path().join("p2p"), |pids| {
        for (role, pid) in pids {
            if role == "seed" {
                if let Some(counts) = tcp_segments(*pid) {
                    last = Some(counts);
                }
            }
            if role == "peer" {
                rules |= in_namespace(*pid, "iptables", &["-S"]).contains("statistic");
            }
        }
    });
    assert!(rules, "the peer's namespace had the random-drop rule");
    let run = &report["runs"][0];
    assert_eq!(
        run["ops"]["get"]["errors_total"], 0,
        "TCP recovers: {}",
        run["ops"]
    );
    assert_eq!(run["network"]["loss"], 0.02, "{}", run["network"]);
    let (sent, retransmitted) = last.expect("the seed's TCP counters were read");
    let share = retransmitted as f64 / sent.max(1) as f64;
    eprintln!("the seed sent {sent} segments, {retransmitted} of them again");
    // 2 % of packets each way are dropped: segments are sent again. Bounded loosely:
    // GSO and SACK retransmit several lost packets as one segment (readings of 2372 to
    // 2406 segments sent, 17 to 63 of them again, in runs of this test with the capped
    // seed). Without loss, a bridge retransmits nothing.
    assert!(
        retransmitted >= 5 && share <= 0.25,
        "{retransmitted} of {sent} segments retransmitted ({share})"
    );
    assert_eq!(host_state(), before, "nothing left on the host");
}

#[test]
fn kernel_emulation_needs_containers_and_loss_needs_the_kernel() {
    // Needs no engine: both are caught when the scenario is read.
    let dir = temp_dir();
    let text = "name = \"x\"\ndescription = \"x\"\n[workload]\nkind = \"flash-crowd\"\n\
                object_size = \"16KiB\"\n[load]\nusers = 2\n[network]\nemulation = \"kernel\"\n";
    let path = write_file(dir.path(), "s.toml", text);
    let out = dir.path().join("out");
    let run = versus()
        .args(["run", path.to_str().expect("utf-8"), "--out"])
        .arg(&out)
        .output()
        .expect("versus runs");
    assert_eq!(run.status.code(), Some(2), "{}", describe(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("network.emulation") && stderr.contains("launcher"),
        "{stderr}"
    );
    let lossy = versus()
        .args(["run", path.to_str().expect("utf-8"), "--out"])
        .arg(&out)
        .args(["--set", "network.emulation=app", "--set", "network.loss=1%"])
        .output()
        .expect("versus runs");
    assert_eq!(lossy.status.code(), Some(2), "{}", describe(&lossy));
    assert!(String::from_utf8_lossy(&lossy.stderr).contains("network.loss"));
    let shares = versus()
        .args(["run", path.to_str().expect("utf-8"), "--out"])
        .arg(&out)
        .args([
            "--set",
            "network.emulation=app",
            "--set",
            "network.upload_distribution.median=1MiB/s",
            "--set",
            "network.upload_distribution.sigma=-2",
        ])
        .output()
        .expect("versus runs");
    assert_eq!(shares.status.code(), Some(2), "{}", describe(&shares));
    assert!(String::from_utf8_lossy(&shares.stderr).contains("network.upload_distribution.sigma"));
    let split = format!(
        "{}[[faults]]\nat = \"1s\"\naction = \"partition\"\ntarget = \"peers\"\ncount = 1\nduration = \"1s\"\n",
        text.replace("emulation = \"kernel\"", "")
    );
    let path = write_file(dir.path(), "split.toml", &split);
    let partition = versus()
        .args(["run", path.to_str().expect("utf-8"), "--out"])
        .arg(&out)
        .output()
        .expect("versus runs");
    assert_eq!(partition.status.code(), Some(2), "{}", describe(&partition));
    let stderr = String::from_utf8_lossy(&partition.stderr);
    assert!(
        stderr.contains("faults[0].action") && stderr.contains("docker"),
        "{stderr}"
    );
}

/// Availability over the seconds `from..to` of a run: successes over finished.
fn availability(run: &serde_json::Value, from: u64, to: u64) -> (f64, u64) {
    let (mut finished, mut failed) = (0, 0);
    for second in run["intervals"].as_array().expect("intervals") {
        let t = second["t_s"].as_u64().unwrap_or(0);
        if (from..to).contains(&t) {
            let get = &second["ops"]["get"];
            finished += get["count"].as_u64().unwrap_or(0);
            failed += get["errors"].as_u64().unwrap_or(0);
        }
    }
    let share = if finished == 0 {
        0.0
    } else {
        (finished - failed.min(finished)) as f64 / finished as f64
    };
    (share, finished)
}

#[test]
fn a_partition_costs_availability_across_the_split_then_heals() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !engine_answers("docker partition") {
        return;
    }
    let dir = temp_dir();
    // Six users' peers hold twelve objects (object k at peer k mod 6), fetched
    // uniformly. Half the peers are cut off from the rest (and the seed) from the start
    // for 6 s: a user reaches the objects of its own side only, about half of them.
    let text = format!(
        "name = \"docker-partition\"\ndescription = \"a partition in a P2P fetch run\"\n\
         [workload]\nkind = \"fetch\"\nobjects = 12\nobject_size = \"32KiB\"\npopularity = \"uniform\"\n\
         [load]\nusers = 6\nduration = \"14s\"\nthink_time = \"50ms\"\ntimeout = \"2s\"\nretry_backoff = \"50ms\"\n\
         [architectures]\ncs = false\nready_timeout = \"60s\"\nlauncher = \"docker\"\nimage = \"{}\"\n\
         [[faults]]\nat = \"0s\"\naction = \"partition\"\ntarget = \"peers\"\ncount = 3\nduration = \"6s\"\n",
        image()
    );
    let path = write_file(dir.path(), "partition.toml", &text);
    let out = dir.path().join("out");
    let report = run_watching(path.to_str().expect("utf-8"), &out, |_| {});
    let run = &report["runs"][0];
    let actions: Vec<&str> = run["faults"]
        .as_array()
        .expect("faults")
        .iter()
        .filter_map(|f| f["action"].as_str())
        .collect();
    assert_eq!(actions, ["partition", "heal"], "{}", run["faults"]);
    for fault in run["faults"].as_array().expect("faults") {
        assert!(fault.get("error").is_none(), "{fault}");
    }
    let (during, n_during) = availability(run, 2, 6);
    let (after, n_after) = availability(run, 9, 14);
    assert!(
        n_during > 10 && n_after > 10,
        "{n_during} and {n_after} fetches"
    );
    // Same-side fetches still succeed, cross-split ones fail: neither all nor none.
    assert!(
        (0.2..=0.85).contains(&during),
        "availability {during} during the partition ({n_during} fetches)"
    );
    assert!(
        after >= 0.95,
        "availability {after} after healing ({n_after} fetches)"
    );
}
