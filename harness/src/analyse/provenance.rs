//! Why a comparison may not be like for like: reports from different machines or
//! different builds of Versus, different scenarios, partial runs, or a load generator
//! that was itself the bottleneck. These are printed loudly at the top of both output
//! formats; they never change the verdict or the exit code. A comparison of two
//! revisions (a CI gate) expects different builds: with `--expect-different-builds` that
//! difference is stated as a note instead of a warning.

use crate::arch::Arch;
use std::collections::BTreeMap;

use serde_json::Value;

use crate::format::format_bytes;
use crate::report::model::{Report, RunReport};

/// Differences worth listing before a scenario mismatch is summarised with "…".
const MAX_LISTED: usize = 6;

/// What differs between two reports that can never be merged: their schema versions or
/// their builds, as (what, "A and B"); `None` when both match.
pub(crate) fn other_schema_or_build(a: &Report, b: &Report) -> Option<(&'static str, String)> {
    if a.schema_version != b.schema_version {
        return Some((
            "the report schema versions",
            format!("{} and {}", a.schema_version, b.schema_version),
        ));
    }
    let (a, b) = (&a.tool, &b.tool);
    ((&a.name, &a.version, &a.git_sha) != (&b.name, &b.version, &b.git_sha)).then(|| {
        (
            "the builds",
            format!(
                "{} {} ({}) and {} {} ({})",
                a.name, a.version, a.git_sha, b.name, b.version, b.git_sha
            ),
        )
    })
}

/// Every reason to distrust a comparison of `candidate` with `baseline`, the different
/// builds included (see [`different_builds`] for a comparison that expects them).
pub(crate) fn warnings(baseline: &Report, candidate: &Report) -> Vec<String> {
    let mut out = warnings_but_builds(baseline, candidate);
    if let Some(builds) = different_builds(baseline, candidate) {
        out.insert(
            usize::from(machines_differ(baseline, candidate)),
            format!("{builds}; a change in the measuring tool can move the numbers too"),
        );
    }
    out
}

/// `different builds of versus: baseline 0.1.0 (sha), candidate 0.1.0 (sha)` when the
/// reports come from different builds (version or git commit), else `None`. A gate that
/// compares two revisions expects this (`versus compare --expect-different-builds`).
pub(crate) fn different_builds(baseline: &Report, candidate: &Report) -> Option<String> {
    let (bt, ct) = (&baseline.tool, &candidate.tool);
    ((&bt.version, &bt.git_sha) != (&ct.version, &ct.git_sha)).then(|| {
        format!(
            "different builds of versus: baseline {} ({}), candidate {} ({})",
            bt.version, bt.git_sha, ct.version, ct.git_sha
        )
    })
}

fn machines_differ(baseline: &Report, candidate: &Report) -> bool {
    let (bm, cm) = (&baseline.machine, &candidate.machine);
    (&bm.cpu_model, bm.cores, bm.memory_bytes) != (&cm.cpu_model, cm.cores, cm.memory_bytes)
}

/// Every reason to distrust a comparison but a difference of builds.
pub(crate) fn warnings_but_builds(baseline: &Report, candidate: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let (bm, cm) = (&baseline.machine, &candidate.machine);
    if machines_differ(baseline, candidate) {
        let describe = |m: &crate::machine::MachineInfo| {
            format!(
                "{} ({}, {} cores, {})",
                m.hostname,
                m.cpu_model,
                m.cores,
                format_bytes(m.memory_bytes as f64)
            )
        };
        out.push(format!(
            "different machines: baseline ran on {}, candidate on {}; \
             differences may come from the machines rather than the change",
            describe(bm),
            describe(cm)
        ));
    }
    if baseline.schema_version != candidate.schema_version {
        out.push(format!(
            "different report schema versions: baseline {}, candidate {}",
            baseline.schema_version, candidate.schema_version
        ));
    }
    let mut differing = Vec::new();
    diff_paths(
        &baseline.scenario,
        &candidate.scenario,
        String::new(),
        &mut differing,
    );
    if !differing.is_empty() {
        let mut listed = differing
            .iter()
            .take(MAX_LISTED)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if differing.len() > MAX_LISTED {
            listed.push_str(", …");
        }
        out.push(format!(
            "the scenarios differ ({listed}): the runs did not do the same work"
        ));
    }
    for (side, report) in [("baseline", baseline), ("candidate", candidate)] {
        if report.interrupted {
            out.push(format!(
                "the {side} report is partial: its run was interrupted"
            ));
        }
        let harness_bound = runs_where(report, |run| run.harness.cpu_saturated);
        for (arch, reps) in &harness_bound {
            out.push(format!(
                "the load generator was CPU-saturated in the {side}'s {arch} {}: \
                 its latency and throughput are limits of the harness, not of the target",
                describe_runs(reps, report, *arch)
            ));
        }
        let late = runs_where(report, |run| {
            run.schedule.as_ref().is_some_and(|s| s.saturated)
        });
        for (arch, reps) in &late {
            out.push(format!(
                "the {side}'s {arch} {} could not keep its arrival rate (open model saturated)",
                describe_runs(reps, report, *arch)
            ));
        }
    }
    out
}

/// The repetitions of the runs of `report` for which `pick` holds, per architecture.
fn runs_where(report: &Report, pick: impl Fn(&RunReport) -> bool) -> BTreeMap<Arch, Vec<u32>> {
    let mut out: BTreeMap<Arch, Vec<u32>> = BTreeMap::new();
    for run in report.runs.iter().filter(|r| pick(r)) {
        out.entry(run.arch).or_default().push(run.repetition);
    }
    out
}

/// `run 3`, or `runs 0, 1, 2, … (12 of 24)` when there are several.
fn describe_runs(reps: &[u32], report: &Report, arch: Arch) -> String {
    match reps {
        [one] => format!("run {one}"),
        _ => {
            let total = report.runs.iter().filter(|r| r.arch == arch).count();
            let mut listed: Vec<String> =
                reps.iter().take(MAX_LISTED).map(u32::to_string).collect();
            if reps.len() > MAX_LISTED {
                listed.push("…".into());
            }
            format!("runs {} ({} of {total})", listed.join(", "), reps.len())
        }
    }
}

/// Collects the dotted paths at which `a` and `b` differ.
pub(crate) fn diff_paths(a: &Value, b: &Value, path: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (x.get(key), y.get(key)) {
                    (Some(va), Some(vb)) => diff_paths(va, vb, child, out),
                    _ => out.push(child),
                }
            }
        }
        _ if a != b => out.push(if path.is_empty() {
            "scenario".into()
        } else {
            path
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn runs_are_listed_compactly() {
        let mut report: Report = serde_json::from_value(json!({
            "schema_version": 1,
            "tool": {"name": "versus", "version": "0", "git_sha": "x"},
            "machine": {"hostname": "h", "os": "o", "cpu_model": "c", "cores": 2, "memory_bytes": 1},
            "started_at": "t", "scenario": {}, "runs": [], "thresholds": [],
            "interrupted": false, "side_by_side": [], "claims": []
        }))
        .expect("a minimal report");
        let run: RunReport = serde_json::from_value(json!({
            "arch": "cs", "target": "t", "model": "closed", "users": 1, "duration_s": 1.0,
            "ops": {}, "intervals": [], "traffic": {}, "resources": {},
            "harness": {"threads": 1, "peak_cpu_cores": 1.0, "saturated_seconds": 1, "cpu_saturated": true}
        }))
        .expect("a minimal run");
        report.runs = (0..9)
            .map(|i| RunReport {
                repetition: i,
                ..run.clone()
            })
            .collect();
        report.runs[8].harness.cpu_saturated = false;
        let reps = runs_where(&report, |r| r.harness.cpu_saturated);
        assert_eq!(
            describe_runs(&reps[&Arch::Cs], &report, Arch::Cs),
            "runs 0, 1, 2, 3, 4, 5, … (8 of 9)"
        );
        assert_eq!(describe_runs(&[4], &report, Arch::Cs), "run 4");
        let all = warnings(&report, &report);
        assert_eq!(all.len(), 2, "one line per side, not per run: {all:?}");
    }

    #[test]
    fn scenario_differences_are_named() {
        let mut out = Vec::new();
        diff_paths(
            &json!({"name": "a", "load": {"users": 8, "duration": "5s"}}),
            &json!({"name": "a", "load": {"users": 16, "duration": "5s"}, "x": 1}),
            String::new(),
            &mut out,
        );
        assert_eq!(out, ["load.users", "x"]);
    }
}
