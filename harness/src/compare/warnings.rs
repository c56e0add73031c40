//! Why a comparison may not be like for like: reports from different machines or
//! different builds of Versus, different scenarios, partial runs, or a load generator
//! that was itself the bottleneck. These are printed loudly at the top of both output
//! formats; they never change the verdict or the exit code. A comparison of two
//! revisions (a CI gate) expects different builds: with `--expect-different-builds` that
//! difference is stated as a note instead of a warning.

use serde_json::Value;

use crate::report::format::format_bytes;
use crate::report::model::Report;

/// Differences worth listing before a scenario mismatch is summarised with "…".
const MAX_LISTED: usize = 6;

/// Every reason to distrust a comparison of `candidate` with `baseline`, the different
/// builds included (see [`different_builds`] for a comparison that expects them).
pub fn warnings(baseline: &Report, candidate: &Report) -> Vec<String> {
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
pub fn different_builds(baseline: &Report, candidate: &Report) -> Option<String> {
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
pub fn warnings_but_builds(baseline: &Report, candidate: &Report) -> Vec<String> {
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
        for run in &report.runs {
            if run.harness.cpu_saturated {
                out.push(format!(
                    "the load generator was CPU-saturated in the {side}'s {} run {}: \
                     its latency and throughput are limits of the harness, not of the target",
                    run.arch, run.repetition
                ));
            }
            if run.schedule.as_ref().is_some_and(|s| s.saturated) {
                out.push(format!(
                    "the {side}'s {} run {} could not keep its arrival rate (open model saturated)",
                    run.arch, run.repetition
                ));
            }
        }
    }
    out
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
