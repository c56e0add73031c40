//! Shared by the `compare` and `export` tests: one real report, made by a short
//! `versus run --url` against a real server on loopback, and ways to derive other reports
//! from it (scaled latency histograms, repetitions, another machine), written to disk so
//! the commands read them like any report.json.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use versus::commands::compare::{CompareArgs, CompareFormat};
use versus::record::histogram::{decode, encode, new_latency, LatencySummary};
use versus::report::model::{OpReport, Report};

use crate::support::{describe, run_versus, temp_dir, Behaviour, TestServer};

/// A real report with one `cs` run of GETs (made once per test binary).
pub fn base_report() -> Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT
        .get_or_init(|| {
            let server = TestServer::start(Behaviour {
                delay: Duration::from_millis(2),
                body_len: 256,
                ..Behaviour::default()
            });
            let dir = temp_dir();
            let out = run_versus(
                &[
                    "run",
                    "--url",
                    &server.url("/x"),
                    "--users",
                    "2",
                    "--duration",
                    "1s",
                    "--out",
                    dir.path().to_str().expect("utf-8 temp path"),
                    "--progress",
                    "none",
                ],
                Duration::from_secs(60),
            );
            assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
            versus::report::read(&dir.path().join("report.json")).expect("a readable report")
        })
        .clone()
}

/// Multiplies every latency of `op` by `factor`: the histogram is decoded, re-recorded
/// with scaled values and encoded again, and the summary recomputed from it.
pub fn scale_latency(op: &mut OpReport, factor: f64) {
    let h = decode(&op.histogram).expect("the report's histogram decodes");
    let mut scaled = new_latency();
    for v in h.iter_recorded() {
        let value = (v.value_iterated_to() as f64 * factor).round().max(1.0) as u64;
        scaled
            .record_n(value, v.count_at_value())
            .expect("scaled value is recordable");
    }
    op.histogram = encode(&scaled);
    op.latency_us = LatencySummary::of(&scaled);
}

/// A report whose single run is repeated once per factor: repetition `i` has its
/// latencies multiplied by `factors[i]`, its throughput divided by it and its CPU time
/// multiplied by it.
pub fn repeated(report: &Report, factors: &[f64]) -> Report {
    let first = report.runs[0].clone();
    let mut out = report.clone();
    out.runs = factors
        .iter()
        .enumerate()
        .map(|(i, &factor)| {
            let mut run = first.clone();
            run.repetition = i as u32;
            for op in run.ops.values_mut() {
                scale_latency(op, factor);
                op.rps /= factor;
            }
            for role in run.resources.values_mut() {
                role.cpu_s *= factor;
            }
            run
        })
        .collect();
    out
}

/// Writes `report` as `dir/name` and returns the path.
pub fn write_report(dir: &Path, name: &str, report: &Report) -> PathBuf {
    let path = dir.join(name);
    let text = serde_json::to_string_pretty(report).expect("a report serialises");
    std::fs::write(&path, text).expect("write the report");
    path
}

/// Runs `versus compare` on two reports with extra `--threshold` flags and returns its
/// exit code and output.
pub fn compare(
    baseline: &Report,
    candidate: &Report,
    thresholds: &[&str],
    format: CompareFormat,
) -> (i32, String) {
    let dir = temp_dir();
    let mut args = CompareArgs::new(
        write_report(dir.path(), "baseline.json", baseline),
        write_report(dir.path(), "candidate.json", candidate),
    );
    args.threshold = thresholds.iter().map(|s| s.to_string()).collect();
    args.format = format;
    let out = dir.path().join("comparison.out");
    args.out = Some(out.clone());
    let code = versus::commands::compare::run(&args).expect("compare runs");
    let text = std::fs::read_to_string(&out).expect("compare wrote --out");
    (code, text)
}

/// Runs `versus compare` in both formats: exit codes (which must agree), markdown, and
/// parsed JSON.
pub fn compare_both(
    baseline: &Report,
    candidate: &Report,
    thresholds: &[&str],
) -> (i32, String, serde_json::Value) {
    let (code_md, md) = compare(baseline, candidate, thresholds, CompareFormat::Md);
    let (code_json, json) = compare(baseline, candidate, thresholds, CompareFormat::Json);
    assert_eq!(code_md, code_json, "both formats give the same exit code");
    let json = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    (code_md, md, json)
}

/// The JSON rows of `arch`/`metric`.
pub fn row<'a>(json: &'a serde_json::Value, arch: &str, metric: &str) -> &'a serde_json::Value {
    json["metrics"]
        .as_array()
        .expect("metrics is an array")
        .iter()
        .find(|r| r["arch"] == arch && r["metric"] == metric)
        .unwrap_or_else(|| panic!("no row {arch} {metric} in {json:#}"))
}
