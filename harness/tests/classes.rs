//! Peer classes through the real binary, with child processes: a flash crowd whose users
//! are half fast (16 MiB/s down) and half slow (1 MiB/s down) finishes in that order on
//! both architectures — every fast user before any slow one, the slow ones no sooner
//! than F / 1 MiB/s — and the bounds come from the actual capacities. With free-riders
//! the swarm still completes, served by the others.

mod support;

use std::time::Duration;

use support::{describe, read_report, run_versus, temp_dir, write_file};

/// The seconds of the run (from `intervals`) in which the users' downloads finished.
fn completion_seconds(run: &serde_json::Value) -> Vec<u64> {
    let mut seconds = Vec::new();
    for second in run["intervals"].as_array().expect("intervals") {
        let t = second["t_s"].as_u64().expect("t_s");
        let n = second["ops"]["get"]["count"].as_u64().unwrap_or(0);
        seconds.extend(std::iter::repeat_n(t, n as usize));
    }
    seconds
}

#[test]
fn classes_finish_in_the_order_of_their_download_caps() {
    let dir = temp_dir();
    let text = "name = \"classes\"\ndescription = \"fast and slow users\"\n\
        [workload]\nkind = \"flash-crowd\"\nobject_size = \"4MiB\"\n\
        [load]\nusers = 6\nduration = \"60s\"\ntimeout = \"50s\"\n\
        [[network.classes]]\nname = \"fast\"\nshare = 0.5\ndownload = \"16MiB/s\"\n\
        [[network.classes]]\nname = \"slow\"\nshare = 0.5\ndownload = \"1MiB/s\"\n\
        [architectures]\nready_timeout = \"30s\"\n";
    let path = write_file(dir.path(), "classes.toml", text);
    let out = dir.path().join("out");
    let done = run_versus(
        &[
            "run",
            path.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
            "--progress",
            "none",
        ],
        Duration::from_secs(120),
    );
    assert_eq!(done.status.code(), Some(0), "{}", describe(&done));
    let report = read_report(&out);
    for run in report["runs"].as_array().expect("runs") {
        let arch = run["arch"].as_str().unwrap_or("?");
        assert_eq!(
            run["ops"]["get"]["errors_total"], 0,
            "{arch}: {}",
            run["ops"]
        );
        let seconds = completion_seconds(run);
        assert_eq!(seconds.len(), 6, "{arch}: {seconds:?}");
        // 4 MiB at 16 MiB/s is a quarter second; at 1 MiB/s four seconds. The order is
        // the truth; how soon the fast ones finish depends on the machine's load.
        let (fast, slow) = seconds.split_at(3);
        assert!(
            fast.iter().max() < slow.iter().min() && slow.iter().all(|&t| t >= 3),
            "{arch}: fast users finish first, slow ones after F/d: {seconds:?}"
        );
        // The bound: F / d_min = 4 s (no upload is capped), efficiency at most 1.
        let bound = run["bound_s"].as_f64().expect("a bound");
        assert!((bound - 4.0).abs() < 1e-9, "{arch}: bound {bound}");
        let makespan = run["completion"]["makespan_s"].as_f64().expect("makespan");
        assert!(
            makespan >= bound * 0.97,
            "{arch}: {makespan} s below the bound"
        );
        assert_eq!(run["network"]["min_download"], 1 << 20, "{arch}");
    }
}

#[test]
fn free_riders_add_nothing_to_the_bound_and_the_swarm_still_completes() {
    let dir = temp_dir();
    // The seed uploads 2 MiB/s; two of six peers ride free. The others upload 2 MiB/s.
    let text = "name = \"free-riders\"\ndescription = \"free-riders in a flash crowd\"\n\
        [workload]\nkind = \"flash-crowd\"\nobject_size = \"2MiB\"\n\
        [load]\nusers = 6\nduration = \"60s\"\ntimeout = \"50s\"\n\
        [network]\nserver_upload = \"2MiB/s\"\npeer_upload = \"2MiB/s\"\n\
        [[network.classes]]\nshare = 0.6666666666666666\n\
        [[network.classes]]\nname = \"free-rider\"\nshare = 0.3333333333333334\nupload = 0\n\
        [architectures]\ncs = false\nready_timeout = \"30s\"\n";
    let path = write_file(dir.path(), "free.toml", text);
    let out = dir.path().join("out");
    let done = run_versus(
        &[
            "run",
            path.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
            "--progress",
            "none",
        ],
        Duration::from_secs(120),
    );
    assert_eq!(done.status.code(), Some(0), "{}", describe(&done));
    let report = read_report(&out);
    let run = &report["runs"][0];
    assert_eq!(run["ops"]["get"]["errors_total"], 0, "{}", run["ops"]);
    assert_eq!(run["ops"]["get"]["count"], 6);
    assert_eq!(run["network"]["free_riders"], 2, "{}", run["network"]);
    // Σu_i = 4 × 2 MiB/s: N·F/(u_s + Σu_i) = 12/10 s; F/u_s = 1 s.
    assert_eq!(run["network"]["peer_upload_sum"], 8u64 << 20);
    let bound = run["bound_s"].as_f64().expect("a bound");
    assert!((bound - 1.2).abs() < 1e-9, "bound {bound}");
}
