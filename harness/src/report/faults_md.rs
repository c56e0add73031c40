//! The "Faults and availability" section of report.md: per run with faults, its
//! availability, the seconds without full service, who still completed, the objects
//! that could not be fetched while nodes were down, and each fault with its recovery.

use std::fmt::Write;

use super::model::{Report, RunReport};

/// Appends the section when any run had faults; `table` renders a markdown table.
pub(crate) fn section(
    out: &mut String,
    report: &Report,
    table: fn(&mut String, &[&str], &[Vec<String>]),
) {
    let runs: Vec<&RunReport> = report
        .runs
        .iter()
        .filter(|r| !r.faults.is_empty())
        .collect();
    if runs.is_empty() {
        return;
    }
    out.push_str("## Faults and availability\n\n");
    out.push_str(
        "Availability is the share of finished operations that succeeded. A second is degraded \
         when under 99 % of its operations succeeded (or none finished); recovery is the time \
         from a fault to the first healthy second after the outage it caused, at one-second \
         resolution. The faults are the vertical lines on the time-series charts.\n\n",
    );
    for run in runs {
        let _ = writeln!(out, "### {}, {} users\n", run.label(), run.users);
        if let Some(a) = run.availability {
            let _ = writeln!(
                out,
                "- Availability: **{:.2} %** of operations succeeded.",
                a * 100.0
            );
        }
        if let Some(r) = &run.resilience {
            if run.completion.is_none() {
                let _ = writeln!(out, "- Degraded seconds: {}.", r.degraded_seconds);
            }
            let _ = writeln!(
                out,
                "- Users with a successful operation: {} of {}; of the {} users whose own node no fault touched, {} did.",
                r.users_completed, r.users, r.survivors, r.survivors_completed
            );
            let _ = writeln!(
                out,
                "- Objects requested while nodes were down: {}, of which {} could not be fetched at all then.",
                r.objects_requested_during_faults, r.objects_unavailable
            );
        }
        let _ = writeln!(out);
        let rows: Vec<Vec<String>> = run.faults.iter().map(fault_row).collect();
        table(
            out,
            &[
                "at", "fault", "nodes", "from", "degraded", "recovery", "problem",
            ],
            &rows,
        );
    }
}

/// One fault as a table row: when, what, which nodes, whence, its effect.
fn fault_row(f: &serde_json::Value) -> Vec<String> {
    let text = |k: &str| f[k].as_str().unwrap_or("").to_string();
    let nodes = f["nodes"]
        .as_array()
        .map(|n| {
            n.iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    vec![
        format!("{:.2} s", f["t_s"].as_f64().unwrap_or(0.0)),
        text("label"),
        if nodes.is_empty() {
            "none qualified".into()
        } else {
            nodes
        },
        text("source"),
        f["degraded_seconds"]
            .as_u64()
            .map_or("–".into(), |d| format!("{d} s")),
        f["recovery_s"]
            .as_f64()
            .map_or("–".into(), |r| format!("{r:.1} s")),
        f["error"].as_str().unwrap_or("").to_string(),
    ]
}
