//! Known truth: a server that delays every response by 20 ms gives latencies of at least
//! 20 ms (nothing can answer sooner) and a p50 a little above it, and every request is
//! counted. In its own test binary, so no other load test runs at the same time.
//!
//! The upper bound is loose on purpose: on a loaded 2-core CI machine (a docker engine
//! tearing down the previous tests' networks) a debug build's p50 was seen at 22.3 ms;
//! the lower bound is exact.

mod support;

use std::time::Duration;

use support::{describe, num, read_report, run_versus, temp_dir, Behaviour, TestServer};

#[test]
fn known_delay_gives_known_median_and_every_request_is_counted() {
    let server = TestServer::start(Behaviour {
        delay: Duration::from_millis(20),
        ..Behaviour::default()
    });
    let out_dir = temp_dir();
    let out = run_versus(
        &[
            "run",
            "--url",
            &server.url("/x"),
            "--users",
            "4",
            "--duration",
            "2s",
            "--out",
            out_dir.path().to_str().unwrap(),
            "--progress",
            "none",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let report = read_report(out_dir.path());
    let min = num(&report, "runs.0.ops.get.latency_us.min");
    let p50 = num(&report, "runs.0.ops.get.latency_us.p50");
    assert!(
        min >= 20_000,
        "min {min} µs is below the server's own 20 ms delay: latency is under-measured"
    );
    assert!(
        (20_000..=25_000).contains(&p50),
        "p50 {p50} µs is not 20 ms plus a bounded overhead (≤ 5 ms)"
    );
    let count = num(&report, "runs.0.ops.get.count");
    let errors = num(&report, "runs.0.ops.get.errors_total");
    assert!(
        count > 100,
        "4 users × 2 s at 20 ms gives about 400, got {count}"
    );
    assert_eq!(
        count - errors,
        server.answered(),
        "every success is one the server answered"
    );
    assert_eq!(report["runs"][0]["arch"], "cs");
    // Each of the 4 users has its own median, and none can be below the server's delay.
    let per_user = report["runs"][0]["per_user"]["p50_us"]
        .as_array()
        .expect("runs[0].per_user.p50_us");
    assert_eq!(per_user.len(), 4, "{per_user:?}");
    for p50 in per_user {
        let p50 = p50.as_u64().expect("every user finished requests");
        // 2 significant figures: 20 ms may read as low as 19.9 ms.
        assert!((19_900..=30_000).contains(&p50), "a user's p50 {p50} µs");
    }
    assert!(
        report["runs"][0]["ops"]["get"]["histogram"]
            .as_str()
            .unwrap()
            .len()
            > 20
    );
    for key in ["schema_version", "tool", "machine", "scenario", "runs"] {
        assert!(report.get(key).is_some(), "report.json lacks {key}");
    }
    assert!(out_dir.path().join("report.md").exists());
    let hlog = std::fs::read_to_string(out_dir.path().join("cs.hlog")).unwrap();
    assert!(
        hlog.lines().filter(|l| l.starts_with("Tag=get,")).count() >= 2,
        "{hlog}"
    );
}
