//! The job summary: a compact markdown digest of a report for the page a CI system shows
//! for a job (GitHub's `$GITHUB_STEP_SUMMARY`): the verdict, the thresholds, the key
//! table and where the charts and full report are (the run's artifact). report.md is
//! the full report; this is what fits on a pull request's checks page.

use std::fmt::Write;
use std::path::Path;

use super::markdown::{table, verdict_words};
use super::model::Report;
use super::table::{completion_line, threshold_rows};
use crate::format::{format_duration_us, format_rate};

/// The summary of a report written by `versus <command>` into `dir`, with `charts` (the
/// SVG files beside it). Ends with a blank line, so summaries can be appended in a row.
pub fn render(report: &Report, command: &str, dir: &Path, charts: &[String]) -> String {
    let mut out = String::new();
    let name = super::junit::scenario_name(report);
    let _ = writeln!(out, "### Versus {command}: {name}\n");
    let verdict = if report.interrupted {
        "**interrupted**: partial results".to_string()
    } else {
        verdict_words(report).to_string()
    };
    let _ = writeln!(
        out,
        "{verdict} · versus {} ({}) · {} cores · {} run{}\n",
        report.tool.version,
        report.tool.git_sha.get(..7).unwrap_or(&report.tool.git_sha),
        report.machine.cores,
        report.runs.len(),
        if report.runs.len() == 1 { "" } else { "s" }
    );
    if !report.thresholds.is_empty() {
        table(
            &mut out,
            &["threshold", "arch", "measured", "result"],
            &threshold_rows(report),
        );
    }
    table(
        &mut out,
        &[
            "arch", "users", "op", "count", "errors", "rate", "p50", "p99",
        ],
        &key_rows(report),
    );
    for run in &report.runs {
        if let Some(line) = completion_line(run) {
            let _ = writeln!(out, "- {} ({} users): {line}", run.label(), run.users);
        }
    }
    if report.runs.iter().any(|r| r.completion.is_some()) {
        out.push('\n');
    }
    for claim in &report.claims {
        let _ = writeln!(
            out,
            "- claim {}: {} — **{}**",
            claim.number,
            claim.claim,
            claim.verdict.label()
        );
    }
    if !report.claims.is_empty() {
        out.push('\n');
    }
    artifacts(&mut out, dir, charts);
    out
}

/// One row per operation of each run: the figures a reviewer looks at first.
fn key_rows(report: &Report) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for run in &report.runs {
        for (op_name, op) in &run.ops {
            rows.push(vec![
                run.label(),
                run.users.to_string(),
                op_name.clone(),
                op.count.to_string(),
                op.errors_total.to_string(),
                format_rate(op.rps),
                format_duration_us(op.latency_us.p50 as f64),
                format_duration_us(op.latency_us.p99 as f64),
            ]);
        }
    }
    rows
}

fn artifacts(out: &mut String, dir: &Path, charts: &[String]) {
    let _ = write!(
        out,
        "Full report in the run's artifact (`{}/`): `report.html`, `report.md`, `report.json`",
        dir.display()
    );
    if charts.is_empty() {
        out.push_str(".\n\n");
    } else {
        let names: Vec<String> = charts.iter().map(|c| format!("`{c}`")).collect();
        let _ = writeln!(out, "; charts {}.\n", names.join(", "));
    }
}
