//! `versus run` with no arguments, from a directory that is not the repository: the
//! embedded quickstart runs both phases (flash crowd, then fetch) on both architectures
//! and writes report.md with the SVG charts it embeds.

mod support;

use std::time::Duration;

use support::{
    describe, marker, processes_with, read_report, temp_dir, versus_marked, wait_bounded,
};

#[test]
fn quickstart_runs_both_phases_on_both_architectures() {
    let dir = temp_dir();
    let mark = marker();
    let child = versus_marked(&mark)
        .args(["run", "--progress", "none"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start versus");
    let out = wait_bounded(child, Duration::from_secs(120));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(processes_with(&mark).is_empty(), "targets left running");
    let report_dir = dir.path().join("versus-report");
    let report = read_report(&report_dir);
    let runs: Vec<(String, String)> = report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["arch"].as_str().unwrap().to_string(),
                r["phase"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for arch in ["cs", "p2p"] {
        for phase in ["flash-crowd", "fetch"] {
            assert!(
                runs.contains(&(arch.to_string(), phase.to_string())),
                "no {arch} {phase} run in {runs:?}"
            );
        }
    }
    assert_eq!(report["side_by_side"].as_array().unwrap().len(), 2);
    let md = std::fs::read_to_string(report_dir.join("report.md")).unwrap();
    let embedded: Vec<&str> = md
        .lines()
        .filter_map(|l| l.strip_prefix("![")?.split_once("](")?.1.strip_suffix(')'))
        .collect();
    assert!(embedded.len() >= 3, "charts embedded: {embedded:?}");
    for chart in embedded {
        let svg = std::fs::read_to_string(report_dir.join(chart)).unwrap();
        assert!(
            svg.contains("<svg") && svg.trim_end().ends_with("</svg>"),
            "{chart} is not an SVG"
        );
    }
}
