//! `versus run --url` against a real HTTP server with known behaviour: the measured
//! latency matches a known delay, the open model exposes a stall that an uncorrected
//! measurement hides, and every request is accounted for against the server's own count.

mod support;

use std::time::Duration;

use support::{describe, num, read_report, run_versus, temp_dir, Behaviour, TestServer};

#[test]
fn open_model_shows_a_stall_in_corrected_but_not_uncorrected_latency() {
    // The server stalls for 1 s, starting 1 s after its first request.
    let server = TestServer::start(Behaviour {
        stall: Some((Duration::from_secs(1), Duration::from_secs(1))),
        ..Behaviour::default()
    });
    let out_dir = temp_dir();
    let out = run_versus(
        &[
            "run",
            "--url",
            &server.url("/"),
            "--rate",
            "200/s",
            "--duration",
            "4s",
            "--set",
            "load.connections=4",
            "--threads",
            "1",
            "--out",
            out_dir.path().to_str().unwrap(),
            "--progress",
            "none",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let report = read_report(out_dir.path());
    let corrected_p99 = num(&report, "runs.0.ops.get.latency_us.p99");
    let uncorrected_p99 = num(&report, "runs.0.ops.get.uncorrected.latency_us.p99");
    assert!(
        corrected_p99 >= 500_000,
        "corrected p99 {corrected_p99} µs hides the 1 s stall"
    );
    assert!(
        uncorrected_p99 < 200_000,
        "uncorrected p99 {uncorrected_p99} µs shows the stall"
    );
    let intended = num(&report, "runs.0.schedule.intended");
    assert!(
        (790..=810).contains(&intended),
        "200/s for 4 s intends 800, got {intended}"
    );
    assert_eq!(
        report["runs"][0]["schedule"]["saturated"], true,
        "the pool could not keep the schedule"
    );
    let count = num(&report, "runs.0.ops.get.count");
    let dropped = num(&report, "runs.0.schedule.dropped");
    assert_eq!(
        count + dropped,
        intended,
        "every arrival is either finished or dropped"
    );
    assert_eq!(
        count - num(&report, "runs.0.ops.get.errors_total"),
        server.answered()
    );
}

#[test]
fn interrupt_drains_and_writes_a_partial_report() {
    let server = TestServer::start(Behaviour {
        delay: Duration::from_millis(200),
        ..Behaviour::default()
    });
    let out_dir = temp_dir();
    let child = support::versus()
        .args([
            "run",
            "--url",
            &server.url("/"),
            "--users",
            "8",
            "--duration",
            "60s",
            "--out",
            out_dir.path().to_str().unwrap(),
            "--progress",
            "none",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY-free: send SIGINT through the kill command, as a terminal's Ctrl-C would.
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the drain is bounded"
    );
    assert_eq!(out.status.code(), Some(130), "{}", describe(&out));
    let report = read_report(out_dir.path());
    assert_eq!(report["interrupted"], true);
    let count = num(&report, "runs.0.ops.get.count");
    assert!(count >= 8, "operations before the interrupt are reported");
    // In-flight operations were drained, not dropped: each one the server answered is counted.
    assert_eq!(
        count - num(&report, "runs.0.ops.get.errors_total"),
        server.answered()
    );
}

#[test]
fn think_time_never_outlasts_the_run() {
    let server = TestServer::start(Behaviour::default());
    let out_dir = temp_dir();
    let started = std::time::Instant::now();
    let out = run_versus(
        &[
            "run",
            "--url",
            &server.url("/"),
            "--users",
            "50",
            "--duration",
            "1s",
            "--set",
            "load.think_time=10m",
            "--out",
            out_dir.path().to_str().unwrap(),
            "--progress",
            "none",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "a 1 s run took {:?}",
        started.elapsed()
    );
    let report = read_report(out_dir.path());
    assert_eq!(
        num(&report, "runs.0.ops.get.count"),
        50,
        "each user did one operation, then thought"
    );
    assert_eq!(server.answered(), 50);
}

#[test]
fn repeat_keeps_every_repetition() {
    let server = TestServer::start(Behaviour::default());
    let out_dir = temp_dir();
    let out = run_versus(
        &[
            "run",
            "--url",
            &server.url("/"),
            "--users",
            "2",
            "--duration",
            "1s",
            "--repeat",
            "2",
            "--out",
            out_dir.path().to_str().unwrap(),
            "--progress",
            "none",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let report = read_report(out_dir.path());
    let reps: Vec<u64> = report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["repetition"].as_u64().unwrap())
        .collect();
    assert_eq!(reps, [0, 1]);
    let total: u64 = (0..2)
        .map(|i| num(&report, &format!("runs.{i}.ops.get.count")))
        .sum();
    assert_eq!(
        total,
        server.answered(),
        "both repetitions are fully accounted for"
    );
    assert!(out_dir.path().join("cs-rep2.hlog").exists());
}
