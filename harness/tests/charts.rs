//! The SVG charts: every chart function on constructed reports gives well-formed SVG with
//! its title, axis titles and a legend entry per architecture; degenerate input (no runs,
//! one point, zeros, NaN, undecodable histograms) gives `None` or a valid chart, never a
//! panic.
//!
//! To look at the charts of real reports, render them into a directory:
//! `VERSUS_CHART_REPORTS=a/report.json,b/report.json VERSUS_CHART_OUT=/tmp/charts cargo
//! test -p versus --test charts render_reports_from_env` (several reports are merged into
//! one, so runs of a sweep can come from separate `versus run`s).

use proptest::prelude::*;
use serde_json::json;
use versus::arch::Arch;
use versus::machine::MachineInfo;
use versus::record::histogram::{encode, new_latency, record_us};
use versus::report::charts::{self, ScalingPoint};
use versus::report::model::{Report, RunReport, ToolInfo};

/// This machine, detected once.
fn machine() -> &'static MachineInfo {
    static MACHINE: std::sync::OnceLock<MachineInfo> = std::sync::OnceLock::new();
    MACHINE.get_or_init(MachineInfo::current)
}

/// A run of `arch` with `users` users whose `get` operations took `latencies_us`, and
/// `intervals` as (count, errors, p99 µs) per second.
fn run(arch: &str, users: u32, latencies_us: &[u64], intervals: &[(u64, u64, u64)]) -> RunReport {
    let mut h = new_latency();
    for us in latencies_us {
        record_us(&mut h, *us);
    }
    let rows: Vec<_> = intervals
        .iter()
        .enumerate()
        .map(|(t, (count, errors, p99))| {
            json!({"t_s": t, "ops": {"get": {"count": count, "errors": errors, "p50_us": p99 / 2, "p99_us": p99}}})
        })
        .collect();
    serde_json::from_value(json!({
        "arch": arch,
        "target": "test",
        "model": "closed",
        "users": users,
        "duration_s": 5.0,
        "ops": {"get": {
            "count": latencies_us.len(), "errors_total": 0, "errors": {}, "bytes": 0, "rps": 1.0,
            "latency_us": {"min": 0, "p50": 0, "p90": 0, "p99": 2000, "p999": 0, "max": 0, "mean": 0.0},
            "histogram": encode(&h),
        }},
        "intervals": rows,
        "harness": {"threads": 2, "peak_cpu_cores": 0.1, "saturated_seconds": 0, "cpu_saturated": false},
    }))
    .expect("a valid run")
}

fn report(runs: Vec<RunReport>) -> Report {
    serde_json::from_value(json!({
        "schema_version": 1,
        "tool": ToolInfo::current(),
        "machine": machine(),
        "started_at": "2025-01-01T00:00:00Z",
        "scenario": {"name": "test"},
        "runs": runs,
    }))
    .expect("a valid report")
}

/// Latencies from 1 ms with a long tail, `n` of them.
fn tail(n: u64, scale: u64) -> Vec<u64> {
    (1..=n)
        .map(|i| scale * 1_000 + scale * 100_000 / (n + 1 - i))
        .collect()
}

/// Checks `svg` is one well-formed SVG document: an `<svg>` root, every element closed in
/// order, no stray `<` in text.
fn assert_well_formed(svg: &str) {
    let body = svg.trim();
    assert!(
        body.starts_with("<svg"),
        "starts with <svg: {}",
        &body[..40.min(body.len())]
    );
    assert!(body.ends_with("</svg>"), "ends with </svg>");
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            panic!("unterminated tag");
        };
        let tag = &rest[open + 1..open + close];
        assert!(!tag.contains('<'), "stray < in {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name.trim()), "closing tag matches");
        } else if !tag.ends_with('/') && !tag.starts_with('?') && !tag.starts_with('!') {
            let name = tag.split_whitespace().next().unwrap_or("");
            stack.push(name);
        }
        rest = &rest[open + close + 1..];
        if stack.is_empty() {
            assert!(rest.trim().is_empty(), "nothing after the root element");
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
}

/// The text of every `<text>` element, unescaped enough for assertions.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let start = t.find('>')? + 1;
            let end = t.find("</text>")?;
            Some(
                t[start..end]
                    .replace("&amp;", "&")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">"),
            )
        })
        .collect()
}

fn assert_has_text(svg: &str, wanted: &[&str]) {
    let all = texts(svg);
    for w in wanted {
        assert!(
            all.iter().any(|t| t.contains(w)),
            "no text containing {w:?} in {all:?}"
        );
    }
}

fn two_archs() -> (RunReport, RunReport) {
    let rows = [
        (100, 0, 2_000),
        (120, 3, 2_500),
        (90, 0, 9_000),
        (110, 0, 2_100),
    ];
    (
        run("cs", 8, &tail(2_000, 1), &rows),
        run("p2p", 8, &tail(2_000, 3), &rows[..3]),
    )
}

#[test]
fn spectrum_has_title_axes_and_both_archs() {
    let (cs, p2p) = two_archs();
    let svg = charts::latency_spectrum(&[&cs, &p2p], "get").expect("a chart");
    assert_well_formed(&svg);
    assert_has_text(
        &svg,
        &[
            "Latency by percentile: get",
            "percentile",
            "latency (log scale)",
            "100ms",
            "cs: p50",
            "p2p: p50",
            "99.9%",
        ],
    );
    assert!(
        charts::latency_spectrum(&[&cs, &p2p], "put").is_none(),
        "no such op"
    );
}

#[test]
fn time_series_have_title_axes_legend_and_markers() {
    let (cs, p2p) = two_archs();
    let markers = vec![(1.5, "kill server".to_string()), (99.0, "late".to_string())];
    let svg = charts::throughput_over_time(&[&cs, &p2p], "get", &markers).expect("a chart");
    assert_well_formed(&svg);
    assert_has_text(
        &svg,
        &[
            "Throughput over time: get",
            "operations per second",
            "time since",
            "cs",
            "p2p",
            "cs failed",
            "kill server",
            "late",
        ],
    );
    let svg = charts::p99_over_time(&[&cs, &p2p], "get", &[]).expect("a chart");
    assert_well_formed(&svg);
    assert_has_text(
        &svg,
        &[
            "p99 latency over time: get",
            "p99 latency (ms)",
            "cs",
            "p2p",
        ],
    );
}

#[test]
fn scaling_draws_measured_and_bound_per_arch() {
    let mut points = Vec::new();
    for users in [4u32, 8, 16, 32] {
        let n = f64::from(users);
        points.push(ScalingPoint {
            arch: Arch::Cs,
            users,
            measured_s: n * 0.55,
            bound_s: Some(n * 0.5),
        });
        points.push(ScalingPoint {
            arch: Arch::P2p,
            users,
            measured_s: 1.0 + n * 0.05,
            bound_s: Some(0.5),
        });
    }
    let svg = charts::scaling(&points).expect("a chart");
    assert_well_formed(&svg);
    assert_has_text(
        &svg,
        &[
            "Makespan vs number of users",
            "users (N)",
            "makespan (s)",
            "cs measured",
            "cs lower bound",
            "p2p measured",
            "p2p lower bound",
            "32",
        ],
    );
    let svg = charts::latency_scaling(&points, "get").expect("a chart");
    assert_well_formed(&svg);
    assert_has_text(
        &svg,
        &[
            "p99 latency vs number of users: get",
            "cs measured",
            "p2p measured",
        ],
    );
}

#[test]
fn render_all_picks_every_chart_of_a_sweep() {
    let mut runs = Vec::new();
    for users in [4u32, 8, 16] {
        for arch in ["p2p", "cs"] {
            let mut r = run(
                arch,
                users,
                &tail(u64::from(users) * 10, 100),
                &[(0, 0, 0), (users.into(), 0, 900_000)],
            );
            let n = f64::from(users);
            r.completion = serde_json::from_value(
                json!({"makespan_s": n * 0.6, "p50_s": n * 0.5, "p99_s": n * 0.6}),
            )
            .ok();
            r.bound_s = Some(n * 0.5);
            r.faults = vec![json!({"t_s": 1.0, "kind": "kill server"})];
            runs.push(r);
        }
    }
    let charts = charts::render_all(&report(runs));
    let names: Vec<&str> = charts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "latency-spectrum.svg",
            "throughput.svg",
            "p99-over-time.svg",
            "scaling.svg"
        ]
    );
    for (_, svg) in &charts {
        assert_well_formed(svg);
        assert_has_text(svg, &["cs", "p2p"]);
    }
    assert_has_text(&charts[0].1, &["cs (4 users)", "p2p (16 users)"]);
    assert_has_text(&charts[1].1, &["kill server"]);
}

#[test]
fn render_all_on_a_single_run_without_sweep() {
    let (cs, p2p) = two_archs();
    let names: Vec<String> = charts::render_all(&report(vec![p2p, cs]))
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(
        names,
        [
            "latency-spectrum.svg",
            "throughput.svg",
            "p99-over-time.svg"
        ]
    );
    assert!(charts::render_all(&report(Vec::new())).is_empty());
}

#[test]
fn degenerate_inputs_give_none_or_valid_svg() {
    assert!(charts::latency_spectrum(&[], "get").is_none());
    assert!(charts::throughput_over_time(&[], "get", &[]).is_none());
    assert!(charts::p99_over_time(&[], "get", &[]).is_none());
    assert!(charts::scaling(&[]).is_none());

    let empty = run("cs", 1, &[], &[]);
    assert!(
        charts::latency_spectrum(&[&empty], "get").is_none(),
        "empty histogram"
    );
    assert!(
        charts::throughput_over_time(&[&empty], "get", &[]).is_none(),
        "no intervals"
    );

    let mut garbage = run("cs", 1, &[5], &[]);
    if let Some(op) = garbage.ops.get_mut("get") {
        op.histogram = "not base64!".into();
    }
    assert!(charts::latency_spectrum(&[&garbage], "get").is_none());

    let zeros = run("p2p", 1, &[0, 0, 0], &[(3, 3, 0), (0, 0, 0)]);
    for svg in [
        charts::latency_spectrum(&[&zeros], "get"),
        charts::throughput_over_time(&[&zeros], "get", &[(f64::NAN, "nan".into())]),
    ] {
        assert_well_formed(&svg.expect("a chart of zeros"));
    }
    assert!(
        charts::p99_over_time(&[&zeros], "get", &[]).is_none(),
        "no successful operation"
    );

    let one = run("cs", 1, &[1_234], &[(1, 0, 1_234)]);
    assert_well_formed(&charts::latency_spectrum(&[&one], "get").expect("one sample"));
    assert_well_formed(&charts::p99_over_time(&[&one], "get", &[]).expect("one second"));

    let nan = ScalingPoint {
        arch: Arch::Cs,
        users: 4,
        measured_s: f64::NAN,
        bound_s: Some(f64::INFINITY),
    };
    assert!(charts::scaling(std::slice::from_ref(&nan)).is_none());
    let single = ScalingPoint {
        measured_s: 0.0,
        bound_s: None,
        ..nan
    };
    assert_well_formed(&charts::scaling(&[single]).expect("one point"));
}

#[test]
fn render_reports_from_env() {
    let (Ok(paths), Ok(out)) = (
        std::env::var("VERSUS_CHART_REPORTS"),
        std::env::var("VERSUS_CHART_OUT"),
    ) else {
        return;
    };
    let mut merged: Option<Report> = None;
    for path in paths.split(',').filter(|p| !p.is_empty()) {
        let r = versus::report::read(std::path::Path::new(path)).expect("a readable report");
        match merged.as_mut() {
            Some(m) => m.runs.extend(r.runs),
            None => merged = Some(r),
        }
    }
    let Some(report) = merged else { return };
    std::fs::create_dir_all(&out).expect("output directory");
    for (name, svg) in charts::render_all(&report) {
        assert_well_formed(&svg);
        charts::write_svg(&std::path::Path::new(&out).join(name), &svg).expect("written");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_runs_never_panic(
        latencies in proptest::collection::vec(0u64..50_000_000, 0..40),
        rows in proptest::collection::vec((0u64..1000, 0u64..1000, 0u64..10_000_000), 0..12),
        users in 0u32..200,
        marker in proptest::option::of(-10.0f64..100.0),
    ) {
        let a = run("cs", users, &latencies, &rows);
        let b = run("p2p", users.saturating_add(1), &latencies[..latencies.len() / 2], &rows[..rows.len() / 2]);
        let markers: Vec<(f64, String)> = marker.map(|t| (t, "m".to_string())).into_iter().collect();
        let runs = [&a, &b];
        for svg in [
            charts::latency_spectrum(&runs, "get"),
            charts::throughput_over_time(&runs, "get", &markers),
            charts::p99_over_time(&runs, "get", &markers),
        ].into_iter().flatten() {
            assert_well_formed(&svg);
        }
        for (_, svg) in charts::render_all(&report(vec![a.clone(), b.clone()])) {
            assert_well_formed(&svg);
        }
    }

    #[test]
    fn arbitrary_scaling_points_never_panic(
        points in proptest::collection::vec(
            (any::<bool>(), 0u32..100, prop_oneof![any::<f64>(), 0.0f64..100.0], proptest::option::of(any::<f64>())),
            0..10,
        ),
    ) {
        let points: Vec<ScalingPoint> = points
            .into_iter()
            .map(|(cs, users, measured_s, bound_s)| ScalingPoint {
                arch: if cs { Arch::Cs } else { Arch::P2p },
                users,
                measured_s,
                bound_s,
            })
            .collect();
        if let Some(svg) = charts::scaling(&points) {
            assert_well_formed(&svg);
        }
        if let Some(svg) = charts::latency_scaling(&points, "get") {
            assert_well_formed(&svg);
        }
    }
}
