//! The docker launcher, on a real engine: a flash crowd in containers completes with every
//! node on its own address, and no container or network of the run is left after
//! success, after Ctrl-C, or after a SIGKILL of the harness followed by the next run;
//! faults are container operations (a killed server comes back on its address); a
//! missing image, an unreachable engine and an unknown launcher are clear errors.
//! Skipped, saying so, when no engine answers (`docker info` fails). The image is built
//! once per test binary from the `versus` cargo built for the tests; the tests run one at
//! a time (two cores, and the orphan test must see its orphans before a run removes them).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::docker::{addresses, engine_answers, image, left_by, start, wait_for, Sweep, SERIAL};
use support::{describe, read_report, temp_dir, versus, wait_bounded, write_file};

/// A flash crowd of 256 KiB for `users` in containers, which takes a few seconds; `slow`
/// makes it last until its users time out after 10 s (a server uploading 16 KiB/s), so
/// a Ctrl-C finds downloads in flight and their drain is short.
fn scenario(dir: &Path, users: u32, slow: bool, p2p: bool) -> String {
    let (timeout, network) = if slow {
        ("10s", "[network]\nserver_upload = \"16KiB/s\"\n")
    } else {
        ("80s", "")
    };
    let text = format!(
        "name = \"docker-flash\"\ndescription = \"a flash crowd in containers\"\n\
         [workload]\nkind = \"flash-crowd\"\nobject_size = \"256KiB\"\nverify = true\n\
         [load]\nusers = {users}\nduration = \"90s\"\ntimeout = \"{timeout}\"\n{network}\
         [architectures]\ncs = true\np2p = {p2p}\nready_timeout = \"60s\"\n\
         launcher = \"docker\"\nimage = \"{}\"\n",
        image()
    );
    write_file(dir, "scenario.toml", &text)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_flash_crowd_in_containers_gives_every_node_its_own_address_and_leaves_nothing() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !engine_answers("the docker flash crowd") {
        return;
    }
    let dir = temp_dir();
    let path = scenario(dir.path(), 8, false, true);
    let out = dir.path().join("out");
    let mut child = start(&path, &out);
    let pid = child.id();
    let _sweep = Sweep(pid);
    // Every container seen while the harness runs, with its address.
    let mut seen = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait").is_none() && Instant::now() < deadline {
        seen.extend(addresses(pid));
        std::thread::sleep(Duration::from_millis(100));
    }
    let done = wait_bounded(child, Duration::from_secs(5));
    assert_eq!(done.status.code(), Some(0), "{}", describe(&done));
    let report = read_report(&out);
    let runs = report["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2, "cs and p2p ran");
    for run in runs {
        assert_eq!(run["users"], 8);
        assert_eq!(run["ops"]["get"]["count"], 8, "{run}");
        assert_eq!(run["ops"]["get"]["errors_total"], 0, "{run}");
        assert!(
            run["conditions"]
                .as_str()
                .is_some_and(|c| c.contains("docker launcher")),
            "the run says which launcher ran it: {}",
            run["conditions"]
        );
    }
    assert_eq!(report["scenario"]["architectures"]["launcher"], "docker");
    // The swarm's run: a seed and 8 peers, each in its own container with its own address.
    let mut by_run: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for ((run, _), ip) in &seen {
        by_run.entry(run).or_default().push(ip);
    }
    let swarm = by_run
        .values()
        .max_by_key(|ips| ips.len())
        .expect("containers were seen");
    let distinct: BTreeSet<&&str> = swarm.iter().collect();
    assert!(swarm.len() >= 9, "seed + 8 peers seen: {seen:?}");
    assert_eq!(distinct.len(), swarm.len(), "one address each: {seen:?}");
    assert!(
        !distinct
            .iter()
            .any(|ip| ip.starts_with("127.") || ip.is_empty()),
        "{seen:?}"
    );
    // Resources come from the containers' cgroups, per role.
    let p2p = runs.iter().find(|r| r["arch"] == "p2p").expect("p2p run");
    assert_eq!(
        p2p["resources"]["peer"]["processes"], 8,
        "{}",
        p2p["resources"]
    );
    assert!(p2p["resources"]["peer"]["cpu_s"].as_f64() > Some(0.0));
    assert!(p2p["resources"]["peer"]["peak_rss_bytes"].as_u64() > Some(1 << 20));
    assert_eq!(
        left_by(pid),
        (vec![], vec![]),
        "nothing is left after success"
    );
}

#[test]
fn ctrl_c_during_a_docker_run_removes_its_containers_and_network() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !engine_answers("docker Ctrl-C") {
        return;
    }
    let dir = temp_dir();
    let path = scenario(dir.path(), 2, true, false);
    let mut child = start(&path, &dir.path().join("out"));
    let pid = child.id();
    let _sweep = Sweep(pid);
    let up = wait_for(Duration::from_secs(60), || !addresses(pid).is_empty());
    assert!(up, "the server's container started");
    // Let the download begin.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().expect("wait").is_none(), "still running");
    // SAFETY: SIGINT to the harness this test started.
    unsafe {
        libc::kill(pid as i32, libc::SIGINT);
    }
    let done = wait_bounded(child, Duration::from_secs(60));
    assert_eq!(done.status.code(), Some(130), "{}", describe(&done));
    assert_eq!(
        left_by(pid),
        (vec![], vec![]),
        "nothing is left after Ctrl-C"
    );
}

#[test]
fn after_a_sigkill_of_the_harness_the_next_run_removes_the_orphans() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !engine_answers("docker orphans") {
        return;
    }
    let dir = temp_dir();
    let slow = scenario(dir.path(), 2, true, false);
    let mut killed = start(&slow, &dir.path().join("out-killed"));
    let pid = killed.id();
    let _sweep = Sweep(pid);
    let up = wait_for(Duration::from_secs(60), || !addresses(pid).is_empty());
    assert!(up, "the server's container started");
    killed.kill().expect("SIGKILL the harness");
    let _ = killed.wait();
    let (containers, networks) = left_by(pid);
    assert!(
        !containers.is_empty() && !networks.is_empty(),
        "a harness killed outright cannot clean up: its containers and network remain"
    );
    let quick_dir = temp_dir();
    let quick = scenario(quick_dir.path(), 2, false, false);
    let next = start(&quick, &quick_dir.path().join("out"));
    let next_pid = next.id();
    let _sweep_next = Sweep(next_pid);
    let done = wait_bounded(next, Duration::from_secs(120));
    assert_eq!(done.status.code(), Some(0), "{}", describe(&done));
    assert_eq!(
        left_by(pid),
        (vec![], vec![]),
        "the next run removed the orphans"
    );
    assert_eq!(left_by(next_pid), (vec![], vec![]));
}

#[test]
fn a_missing_image_is_a_clear_error() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !engine_answers("docker missing image") {
        return;
    }
    let dir = temp_dir();
    let path = scenario(dir.path(), 2, false, false);
    let out = dir.path().join("out");
    let child = versus()
        .args(["run", &path, "--out"])
        .arg(&out)
        .args([
            "--progress",
            "none",
            "--launcher",
            "docker",
            "--set",
            "architectures.image=versus:no-such-image",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("versus starts");
    let pid = child.id();
    let done = wait_bounded(child, Duration::from_secs(60));
    assert_eq!(done.status.code(), Some(3), "{}", describe(&done));
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(
        stderr.contains("versus:no-such-image") && stderr.contains("versus image --tag"),
        "{stderr}"
    );
    assert_eq!(left_by(pid), (vec![], vec![]));
}

#[test]
fn an_unreachable_engine_and_a_bad_launcher_are_clear_errors() {
    // Needs no engine: the client is pointed at a socket nobody serves.
    let dir = temp_dir();
    let text = "name = \"x\"\ndescription = \"x\"\n[workload]\nkind = \"flash-crowd\"\n\
                object_size = \"16KiB\"\n[load]\nusers = 2\n[architectures]\np2p = false\n";
    let path = write_file(dir.path(), "s.toml", text);
    let path = path.to_str().expect("utf-8 path");
    let out = dir.path().join("out");
    let nowhere = format!("unix://{}", dir.path().join("no-engine.sock").display());
    let run = versus()
        .args([
            "run",
            path,
            "--launcher",
            "docker",
            "--progress",
            "none",
            "--out",
        ])
        .arg(&out)
        .env("DOCKER_HOST", &nowhere)
        .output()
        .expect("versus runs");
    assert_eq!(run.status.code(), Some(3), "{}", describe(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("architectures.launcher = \"docker\"") && stderr.contains("docker"),
        "{stderr}"
    );
    let image = versus()
        .args(["image", "--tag", "versus:unreachable"])
        .env("DOCKER_HOST", &nowhere)
        .output()
        .expect("versus image runs");
    assert_eq!(image.status.code(), Some(3), "{}", describe(&image));
    assert!(String::from_utf8_lossy(&image.stderr).contains("not reachable"));
    let bad = versus()
        .args([
            "run",
            path,
            "--set",
            "architectures.launcher=kubernetes",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("versus runs");
    assert_eq!(bad.status.code(), Some(2), "{}", describe(&bad));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("launcher") && stderr.contains("docker"),
        "{stderr}"
    );
}

#[test]
fn faults_are_container_operations_and_a_restarted_server_serves_again() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !engine_answers("docker faults") {
        return;
    }
    let dir = temp_dir();
    let text = format!(
        "name = \"docker-faults\"\ndescription = \"kill, restart, pause and resume a server container\"\n\
         [workload]\nkind = \"fetch\"\nobject_size = \"16KiB\"\nobjects = 4\n\
         [load]\nusers = 2\nduration = \"6s\"\n\
         [architectures]\np2p = false\nready_timeout = \"60s\"\nlauncher = \"docker\"\nimage = \"{}\"\n\
         [[faults]]\nat = \"1s\"\naction = \"kill\"\ntarget = \"server:0\"\nduration = \"1500ms\"\n\
         [[faults]]\nat = \"4s\"\naction = \"pause\"\ntarget = \"server:0\"\nduration = \"1s\"\n",
        image()
    );
    let path = write_file(dir.path(), "faults.toml", &text);
    let out = dir.path().join("out");
    let child = start(path.to_str().expect("utf-8 path"), &out);
    let pid = child.id();
    let _sweep = Sweep(pid);
    let done = wait_bounded(child, Duration::from_secs(120));
    assert_eq!(done.status.code(), Some(0), "{}", describe(&done));
    let report = read_report(&out);
    let run = &report["runs"][0];
    let faults = run["faults"].as_array().expect("faults");
    let actions: Vec<&str> = faults.iter().filter_map(|f| f["action"].as_str()).collect();
    assert_eq!(
        actions,
        ["kill", "restart", "pause", "resume"],
        "{faults:?}"
    );
    for fault in faults {
        assert!(fault.get("error").is_none(), "{fault}");
    }
    // The restarted container (on the address the first one had) served the users again.
    assert!(
        faults[0]["recovery_s"].as_f64().is_some(),
        "recovered: {}",
        faults[0]
    );
    assert!(
        run["ops"]["get"]["count"].as_u64() > Some(10),
        "{}",
        run["ops"]
    );
    assert_eq!(left_by(pid), (vec![], vec![]));
}
