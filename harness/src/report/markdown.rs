//! report.md: the report a person reads or pastes into a design review.

use std::fmt::Write;

use super::model::{Report, RunReport};
use super::table::{
    completion_line, op_rows, side_by_side_rows, threshold_rows, OP_HEADERS, SIDE_BY_SIDE_HEADERS,
};
use crate::format::{format_bytes, format_duration_us};

/// A markdown table of `rows` under `headers` (cells with `|` escaped), then a blank line.
pub(crate) fn table(out: &mut String, headers: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let _ = writeln!(
        out,
        "|{}|",
        headers.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

/// Renders the whole report as markdown; `charts` are the SVG files written beside it,
/// embedded by relative path.
pub(crate) fn render(report: &Report, charts: &[String]) -> String {
    let mut out = String::new();
    let name = report
        .scenario
        .get("name")
        .and_then(|v| v.as_str())
        .unwrap_or("run");
    let _ = writeln!(out, "# Versus report: {name}\n");
    if let Some(d) = report
        .scenario
        .get("description")
        .and_then(|v| v.as_str())
        .filter(|d| !d.is_empty())
    {
        let _ = writeln!(out, "{d}\n");
    }
    if report.interrupted {
        out.push_str(
            "> **Interrupted**: the run was stopped early; these results are partial.\n\n",
        );
    }
    let verdict = verdict_words(report);
    let _ = writeln!(
        out,
        "Started {} · versus {} ({}) · {} · {} cores · {} · {}\n",
        report.started_at,
        report.tool.version,
        short_sha(&report.tool.git_sha),
        report.machine.cpu_model,
        report.machine.cores,
        format_bytes(report.machine.memory_bytes as f64),
        verdict,
    );
    out.push_str("## Results\n\n");
    out.push_str("Latency covers successful operations; failed ones are counted under errors.\n\n");
    if report.runs.iter().any(|r| r.tls) {
        out.push_str("Client-server connections spoke TLS: `tls_handshake` is each new connection's handshake, timed apart (the request that opened the connection still waited for it).\n\n");
    }
    table(&mut out, &OP_HEADERS, &op_rows(&report.runs));
    for chart in charts {
        let title = chart.trim_end_matches(".svg").replace('-', " ");
        let _ = writeln!(out, "![{title}]({chart})\n");
    }
    for run in &report.runs {
        run_details(&mut out, run, report.machine.cores);
    }
    scaling(&mut out, report);
    side_by_side(&mut out, report);
    super::faults_md::section(&mut out, report, table);
    claims(&mut out, report);
    if !report.thresholds.is_empty() {
        out.push_str("## Thresholds\n\n");
        table(
            &mut out,
            &["threshold", "arch", "measured", "result"],
            &threshold_rows(report),
        );
    }
    for run in &report.runs {
        intervals(&mut out, run);
    }
    out.push_str("## Files\n\n");
    out.push_str(
        "- `report.json`: every figure above, with full HdrHistograms (V2 + DEFLATE, base64).\n",
    );
    out.push_str(
        "- `<arch>.hlog`: one histogram per second per operation (HdrHistogram interval log).\n",
    );
    out.push_str(
        "- `report.html`: this report as one self-contained web page (charts inline, tables sortable).\n",
    );
    if !charts.is_empty() {
        out.push_str("- `*.svg`: the charts above.\n");
    }
    out
}

/// The thresholds' verdict in words: `all thresholds passed`, `**thresholds FAILED**`.
pub(crate) fn verdict_words(report: &Report) -> &'static str {
    if report.thresholds.is_empty() {
        "no thresholds set"
    } else if report.thresholds_passed() {
        "all thresholds passed"
    } else {
        "**thresholds FAILED**"
    }
}

/// A sweep's scaling table: one row per run, by architecture, servers and users.
fn scaling(out: &mut String, report: &Report) {
    let mut runs: Vec<&RunReport> = report.runs.iter().collect();
    let distinct = |f: fn(&RunReport) -> Option<u32>| {
        let mut v: Vec<Option<u32>> = runs.iter().map(|r| f(r)).collect();
        v.sort_unstable();
        v.dedup();
        v.len()
    };
    if distinct(|r| Some(r.users)) < 2 && distinct(|r| r.servers) < 2 {
        return;
    }
    runs.sort_by_key(|r| (r.arch, r.servers, r.users, r.repetition));
    out.push_str("## Scaling\n\n");
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let get = r.ops.get("get");
            vec![
                r.arch.to_string(),
                r.servers.map_or_else(|| "—".to_string(), |s| s.to_string()),
                r.users.to_string(),
                r.completion.as_ref().map_or_else(
                    || "—".to_string(),
                    |c| format_duration_us(c.makespan_s * 1e6),
                ),
                r.bound_s
                    .map_or_else(|| "—".to_string(), |b| format_duration_us(b * 1e6)),
                r.efficiency
                    .map_or_else(|| "—".to_string(), |e| format!("{e:.2}")),
                get.map_or_else(
                    || "—".to_string(),
                    |g| format_duration_us(g.latency_us.p99 as f64),
                ),
                get.map_or_else(
                    || "—".to_string(),
                    |g| format!("{}/{}", g.errors_total, g.count),
                ),
            ]
        })
        .collect();
    table(
        out,
        &[
            "arch",
            "servers",
            "users",
            "makespan",
            "bound",
            "efficiency",
            "get p99",
            "errors",
        ],
        &rows,
    );
}

fn side_by_side(out: &mut String, report: &Report) {
    for pair in &report.side_by_side {
        let phase = pair
            .phase
            .as_ref()
            .map_or(String::new(), |p| format!(", {p}"));
        let _ = writeln!(out, "## Side by side — {} users{phase}\n", pair.users);
        table(out, &SIDE_BY_SIDE_HEADERS, &side_by_side_rows(pair));
    }
}

fn claims(out: &mut String, report: &Report) {
    if report.claims.is_empty() {
        return;
    }
    out.push_str("## Claims\n\n");
    out.push_str(
        "Each verdict is computed from the measurements above. The effect is the median over \
         repetitions of each repetition's effect; a claim is supported or contradicted only when \
         the whole paired-bootstrap 95 % interval lies beyond the indifference band, on the \
         claim's side or the other; otherwise it is inconclusive.\n\n",
    );
    let rows: Vec<Vec<String>> = report
        .claims
        .iter()
        .map(|c| {
            let show = |v: f64| effect_text(c, v);
            vec![
                c.number.to_string(),
                c.claim.clone(),
                format!("**{}**", c.verdict.label()),
                c.effect.map_or("–".into(), show),
                c.interval
                    .map_or("–".into(), |[l, h]| format!("{} to {}", show(l), show(h))),
                c.band
                    .map_or("–".into(), |[l, h]| format!("{} to {}", show(l), show(h))),
                c.repetitions.to_string(),
            ]
        })
        .collect();
    table(
        out,
        &[
            "#",
            "claim",
            "verdict",
            "effect",
            "95 % interval",
            "band",
            "repetitions",
        ],
        &rows,
    );
    out.push('\n');
    for c in &report.claims {
        let _ = writeln!(out, "**{}. {}** — {}", c.number, c.claim, c.explanation);
        if !c.effect_metric.is_empty() {
            let _ = writeln!(out, "- effect: {}", c.effect_metric);
        }
        let _ = writeln!(out, "- evidence: {}", c.evidence);
        if !c.conditions.is_empty() {
            let _ = writeln!(
                out,
                "- conditions: {}",
                c.conditions.trim_start_matches("; ")
            );
        }
        if !c.excluded_runs.is_empty() {
            let excluded: Vec<String> = c
                .excluded_runs
                .iter()
                .map(|e| format!("{} ({})", e.run, e.reason))
                .collect();
            let _ = writeln!(out, "- excluded runs: {}", excluded.join("; "));
        }
        out.push('\n');
    }
}

/// A value of a claim's effect: a ratio (its band is around 1) as `1.42×`, a difference
/// with its sign.
fn effect_text(claim: &crate::report::model::Claim, v: f64) -> String {
    let ratio = claim
        .band
        .is_none_or(|[l, h]| ((l + h) / 2.0 - 1.0).abs() < 1e-9);
    if ratio {
        format!("{v:.2}×")
    } else {
        format!("{v:+.2}")
    }
}

fn short_sha(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn run_details(out: &mut String, run: &RunReport, cores: u32) {
    let _ = writeln!(out, "### {} — {}\n", run.label(), run.target);
    let load = match run.rate_per_s {
        Some(rate) => format!(
            "open model, {rate:.0} arrivals/s, {} connections",
            run.users
        ),
        None => format!("closed model, {} users", run.users),
    };
    let _ = writeln!(
        out,
        "- Load: {load}, {:.1} s including the drain.",
        run.duration_s
    );
    if let Some(line) = completion_line(run) {
        let _ = writeln!(out, "- Completion: {line}.");
    }
    if let Some(regions) = &run.regions {
        let servers = match run.arch {
            crate::arch::Arch::Cs => "servers",
            crate::arch::Arch::P2p => "seed",
        };
        let _ = writeln!(out, "- Regions: {}.", regions.describe(servers));
    }
    if let Some(us) = run.admin_overhead_us {
        let _ = writeln!(
            out,
            "- Admin-plane overhead: {} per call (a `/healthz` round trip); each P2P operation includes it.",
            format_duration_us(us as f64)
        );
    }
    schedule_lines(out, run);
    harness_lines(out, run, cores);
    resource_lines(out, run);
    out.push('\n');
}

/// The open model's schedule, and what a tool with coordinated omission would report.
fn schedule_lines(out: &mut String, run: &RunReport) {
    if let Some(s) = &run.schedule {
        let _ = writeln!(
            out,
            "- Schedule: {} arrivals intended, {} sent late (>10 ms), {} dropped (in-flight limit).{}",
            s.intended,
            s.late,
            s.dropped,
            if s.saturated { " **Saturated: the target rate was not kept.**" } else { "" }
        );
        for (name, op) in &run.ops {
            if let Some(u) = &op.uncorrected {
                let _ = writeln!(
                    out,
                    "- `{name}` latency is measured from the intended send time. From the actual send \
                     (what a tool with coordinated omission reports): p50 {}, p99 {}, max {}.",
                    format_duration_us(u.latency_us.p50 as f64),
                    format_duration_us(u.latency_us.p99 as f64),
                    format_duration_us(u.latency_us.max as f64),
                );
            }
        }
    }
}

/// How busy the harness and the whole machine were.
fn harness_lines(out: &mut String, run: &RunReport, cores: u32) {
    let h = &run.harness;
    let _ = writeln!(
        out,
        "- Harness: {} load threads, {:.2} cores at peak{}",
        h.threads,
        h.peak_cpu_cores,
        if h.cpu_saturated {
            format!(
                ", **CPU-saturated for {} s**: results understate what the target can do.",
                h.saturated_seconds
            )
        } else {
            ", not CPU-saturated.".to_string()
        }
    );
    if run.is_cpu_bound(cores) {
        let _ = writeln!(
            out,
            "- **CPU-bound**: the harness and the targets used {:.2} of the machine's {cores} cores in their busiest second \
             ({:.2} on average). Times reflect this machine's CPU more than the network profile; a bigger machine, \
             or a slower profile, measures the architecture instead.",
            run.cpu_cores_peak.max(run.cpu_cores_used),
            run.cpu_cores_used,
        );
    }
    if let Some(other) = run.other_cores.filter(|o| *o >= 0.1) {
        let _ = writeln!(
            out,
            "- **Other work on the machine**: {other:.2} of its {cores} cores on average were busy with processes              that were not part of this run; its times may be slower than on a quiet machine."
        );
    }
}

/// CPU, memory and traffic per role.
fn resource_lines(out: &mut String, run: &RunReport) {
    for (role, r) in &run.resources {
        let _ = writeln!(
            out,
            "- `{role}`: {:.2} CPU-s, peak RSS {} ({} process{})",
            r.cpu_s,
            format_bytes(r.peak_rss_bytes as f64),
            r.processes,
            if r.processes == 1 { "" } else { "es" }
        );
    }
    for (role, t) in &run.traffic {
        let mut notes = String::new();
        if t.chunks_rejected > 0 {
            let _ = write!(
                notes,
                "; {} chunks rejected (failed verification, never stored or served)",
                t.chunks_rejected
            );
        }
        let nodes = run.resources.get(role).map_or(0, |r| r.processes);
        if t.upload_busy_s > 0.0 && nodes > 0 && run.duration_s > 0.0 {
            let share = t.upload_busy_s / (f64::from(nodes) * run.duration_s);
            let _ = write!(
                notes,
                "; uploading {:.0}% of the run (mean over {nodes} node{})",
                (share * 100.0).min(100.0),
                if nodes == 1 { "" } else { "s" }
            );
        }
        let _ = writeln!(
            out,
            "- `{role}` traffic: {} sent, {} received{notes}",
            format_bytes(t.tx_bytes as f64),
            format_bytes(t.rx_bytes as f64),
        );
    }
}

fn intervals(out: &mut String, run: &RunReport) {
    if run.intervals.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Per second — {}, {} users\n",
        run.label(),
        run.users
    );
    let rows: Vec<Vec<String>> = run
        .intervals
        .iter()
        .flat_map(|i| {
            i.ops.iter().map(move |(name, op)| {
                vec![
                    i.t_s.to_string(),
                    name.clone(),
                    op.count.to_string(),
                    op.errors.to_string(),
                    i.availability
                        .map_or("–".into(), |a| format!("{:.1}%", a * 100.0)),
                    format_duration_us(op.p50_us as f64),
                    format_duration_us(op.p99_us as f64),
                ]
            })
        })
        .collect();
    table(
        out,
        &["second", "op", "count", "errors", "available", "p50", "p99"],
        &rows,
    );
}
