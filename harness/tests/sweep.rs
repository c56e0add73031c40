//! `versus sweep` through the real binary: several user counts on both architectures in
//! one report, with the scaling table, a side-by-side section per user count, the
//! claims, and one interval log per run.

mod support;

use std::time::Duration;

use support::{describe, read_report, run_versus, temp_dir, write_file};

const FLASH: &str = r#"
name = "sweep-test"
[workload]
kind = "flash-crowd"
object_size = "512KiB"
[load]
users = 2
duration = "60s"
timeout = "50s"
[network]
server_upload = "2MiB/s"
peer_upload = "1MiB/s"
[architectures]
ready_timeout = "30s"
"#;

#[test]
fn sweep_gathers_runs_scaling_and_claims() {
    let dir = temp_dir();
    let scenario = write_file(dir.path(), "flash.toml", FLASH);
    let out_dir = dir.path().join("out");
    let out = run_versus(
        &[
            "sweep",
            scenario.to_str().unwrap(),
            "--users",
            "2,4",
            "--out",
            out_dir.to_str().unwrap(),
            "--progress",
            "none",
        ],
        Duration::from_secs(120),
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let report = read_report(&out_dir);
    let runs = report["runs"].as_array().unwrap();
    let shape: Vec<(String, u64)> = runs
        .iter()
        .map(|r| {
            (
                r["arch"].as_str().unwrap().to_string(),
                r["users"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("cs".into(), 2),
            ("p2p".into(), 2),
            ("cs".into(), 4),
            ("p2p".into(), 4)
        ]
    );
    // The client-server bound is linear in N: 2 x 512 KiB / 2 MiB/s = 0.5 s, then 1 s.
    assert_eq!(runs[0]["bound_s"].as_f64(), Some(0.5));
    assert_eq!(runs[2]["bound_s"].as_f64(), Some(1.0));
    for run in runs {
        assert_eq!(
            run["ops"]["get"]["errors_total"], 0,
            "{}",
            run["ops"]["get"]
        );
    }
    assert_eq!(report["side_by_side"].as_array().unwrap().len(), 2);
    let claims = report["claims"].as_array().unwrap();
    assert_eq!(claims.len(), 8);
    // Claim 1 has two user counts: it is judged, unless a run was left out for a reason
    // the claim names (another process kept this machine busy, say).
    let excluded = claims[0]["excluded_runs"].as_array().map_or(0, Vec::len);
    assert!(
        claims[0]["verdict"] != "not_measured" || excluded >= 1,
        "claim 1 has two user counts: {}",
        claims[0]
    );
    assert_eq!(claims[5]["verdict"], "not_measured");
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    for section in ["## Scaling", "## Side by side — 4 users", "## Claims"] {
        assert!(md.contains(section), "report.md lacks {section}");
    }
    for log in [
        "cs-2users-1servers.hlog",
        "cs-4users-1servers.hlog",
        "p2p-2users.hlog",
        "p2p-4users.hlog",
    ] {
        assert!(out_dir.join(log).exists(), "{log} missing");
    }
    let out = run_versus(
        &["sweep", scenario.to_str().unwrap(), "--users", "2,x"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}
