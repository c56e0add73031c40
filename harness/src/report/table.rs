//! Rows shared by the terminal table and report.md, and the terminal rendering itself.

use crate::arch::Arch;
use tabled::builder::Builder;
use tabled::settings::Style;

use super::model::{Report, RunReport, SideBySide};
use crate::format::{format_bytes, format_duration_us, format_rate};

/// Column headers of the per-operation results.
pub(crate) const OP_HEADERS: [&str; 11] = [
    "arch",
    "op",
    "count",
    "errors",
    "rate",
    "throughput",
    "p50",
    "p90",
    "p99",
    "p99.9",
    "max",
];

/// One row per operation of each run, formatted.
pub(crate) fn op_rows(runs: &[RunReport]) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for run in runs {
        for (name, op) in &run.ops {
            let l = &op.latency_us;
            let throughput = if run.duration_s > 0.0 {
                op.bytes as f64 / run.duration_s
            } else {
                0.0
            };
            rows.push(vec![
                run.label(),
                name.clone(),
                op.count.to_string(),
                if op.errors_total == 0 {
                    "0".to_string()
                } else {
                    let kinds: Vec<String> =
                        op.errors.iter().map(|(k, n)| format!("{k}:{n}")).collect();
                    format!("{} ({})", op.errors_total, kinds.join(", "))
                },
                format_rate(op.rps),
                format!("{}/s", format_bytes(throughput)),
                format_duration_us(l.p50 as f64),
                format_duration_us(l.p90 as f64),
                format_duration_us(l.p99 as f64),
                format_duration_us(l.p999 as f64),
                format_duration_us(l.max as f64),
            ]);
        }
    }
    rows
}

/// Column headers of a side-by-side comparison.
pub(crate) const SIDE_BY_SIDE_HEADERS: [&str; 4] =
    ["metric", Arch::Cs.name(), Arch::P2p.name(), "verdict"];

/// One row per compared metric: metric, cs value, p2p value, verdict.
pub(crate) fn side_by_side_rows(pair: &SideBySide) -> Vec<Vec<String>> {
    pair.rows
        .iter()
        .map(|r| {
            vec![
                r.metric.clone(),
                r.cs.clone(),
                r.p2p.clone(),
                r.verdict.clone(),
            ]
        })
        .collect()
}

/// Rows of the thresholds: condition, arch, measured, verdict.
pub(crate) fn threshold_rows(report: &Report) -> Vec<Vec<String>> {
    report
        .thresholds
        .iter()
        .map(|t| {
            vec![
                t.condition.clone(),
                format!("{} ({} users)", t.arch, t.users),
                t.value_text.clone(),
                if t.passed {
                    "pass".into()
                } else {
                    "FAIL".into()
                },
            ]
        })
        .collect()
}

fn render(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut b = Builder::default();
    b.push_record(headers.iter().copied());
    for r in rows {
        b.push_record(r);
    }
    b.build().with(Style::rounded()).to_string()
}

/// "makespan 4.02s (p50 4.01s, p99 4.02s); bound 4.00s; efficiency 0.99", for one-shot runs.
pub(crate) fn completion_line(run: &RunReport) -> Option<String> {
    let c = run.completion.as_ref()?;
    let mut line = format!(
        "makespan {} (p50 {}, p99 {})",
        format_duration_us(c.makespan_s * 1e6),
        format_duration_us(c.p50_s * 1e6),
        format_duration_us(c.p99_s * 1e6)
    );
    match (run.bound_s, run.efficiency) {
        (Some(b), Some(e)) => line.push_str(&format!(
            "; lower bound {}; efficiency {e:.2}",
            format_duration_us(b * 1e6)
        )),
        _ => line.push_str("; no bound (no upload cap in the network profile)"),
    }
    Some(line)
}

/// The terminal summary of a report.
pub(crate) fn terminal(report: &Report) -> String {
    let mut out = render(&OP_HEADERS, op_rows(&report.runs));
    out.push('\n');
    for run in &report.runs {
        if let Some(line) = completion_line(run) {
            out.push_str(&format!("{}: {line}\n", run.label()));
        }
        if let Some(s) = &run.schedule {
            out.push_str(&format!(
                "{}: schedule {} intended, {} late, {} dropped{}\n",
                run.label(),
                s.intended,
                s.late,
                s.dropped,
                if s.saturated {
                    " — SATURATED: the target rate was not kept"
                } else {
                    ""
                }
            ));
        }
        for (name, op) in &run.ops {
            if let Some(u) = &op.uncorrected {
                out.push_str(&format!(
                    "{}: {name} uncorrected (from actual send) p50 {} p99 {} — the corrected figures above include waiting\n",
                    run.label(),
                    format_duration_us(u.latency_us.p50 as f64),
                    format_duration_us(u.latency_us.p99 as f64),
                ));
            }
        }
        if run.harness.cpu_saturated {
            out.push_str(&format!(
                "{}: WARNING the harness was CPU-saturated ({:.2} cores peak on {} threads); results understate the target\n",
                run.label(), run.harness.peak_cpu_cores, run.harness.threads
            ));
        }
    }
    for pair in &report.side_by_side {
        let phase = pair
            .phase
            .as_ref()
            .map_or(String::new(), |p| format!(", {p}"));
        out.push_str(&format!("side by side, {} users{phase}:\n", pair.users));
        out.push_str(&render(&SIDE_BY_SIDE_HEADERS, side_by_side_rows(pair)));
        out.push('\n');
    }
    if !report.thresholds.is_empty() {
        out.push_str(&render(
            &["threshold", "arch", "measured", "result"],
            threshold_rows(report),
        ));
        out.push('\n');
    }
    if report.interrupted {
        out.push_str("INTERRUPTED: this report is partial.\n");
    }
    out
}
