//! `versus merge` on real reports (one made by a short run against a real server, others
//! derived from it): runs become numbered repetitions, `versus compare` then has
//! intervals; reports of other scenarios, builds or machines are refused with exit 2;
//! and the compare options a gate uses (`--metric`, `--expect-different-builds`).

mod compare_support;
mod support;

use compare_support::{base_report, repeated, row, write_report};
use versus::commands::compare::{CompareArgs, CompareFormat};
use versus::commands::exit_code;
use versus::commands::merge::{merge, MergeArgs, MergeError};
use versus::error::{EXIT_OK, EXIT_USAGE};
use versus::report::model::Report;

fn labelled(reports: &[Report]) -> Vec<(String, Report)> {
    reports
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("r{i}.json"), r.clone()))
        .collect()
}

#[test]
fn runs_become_numbered_repetitions_in_order() {
    let single = base_report();
    let two = repeated(&single, &[1.0, 1.1]);
    let mut later = single.clone();
    later.started_at = "2999-01-01T00:00:00Z".into();
    later.interrupted = true;
    let merged = merge(labelled(&[later, two.clone(), single.clone()])).expect("merges");
    assert_eq!(merged.runs.len(), 4);
    let reps: Vec<u32> = merged.runs.iter().map(|r| r.repetition).collect();
    assert_eq!(reps, [0, 1, 2, 3]);
    // The second input's runs keep their place (and their values) in the middle.
    assert_eq!(merged.runs[2].ops["get"].rps, two.runs[1].ops["get"].rps);
    assert_eq!(merged.started_at, single.started_at, "the earliest start");
    assert!(merged.interrupted, "one input was interrupted");
    assert_eq!(
        merged.thresholds.len(),
        single.thresholds.len() * 2 + two.thresholds.len(),
        "each input's threshold results are kept"
    );
    assert_eq!(merged.tool.git_sha, single.tool.git_sha);
}

#[test]
fn one_report_merges_into_itself() {
    let single = base_report();
    let merged = merge(labelled(std::slice::from_ref(&single))).expect("merges");
    assert_eq!(merged.runs.len(), 1);
    assert_eq!(merged.runs[0].repetition, 0);
    assert_eq!(merge(Vec::new()).unwrap_err(), MergeError::Empty);
}

#[test]
fn reports_of_other_scenarios_builds_or_machines_are_refused() {
    let base = base_report();
    let mut other_scenario = base.clone();
    other_scenario.scenario["load"]["users"] = serde_json::json!(99);
    let mut other_build = base.clone();
    other_build.tool.git_sha = "0123456789abcdef".into();
    let mut other_machine = base.clone();
    other_machine.machine.cores += 4;
    for (report, what, detail) in [
        (other_scenario, "the scenarios", "load.users"),
        (other_build, "the builds", "0123456789abcdef"),
        (other_machine, "the machines", "cores"),
    ] {
        let e = merge(labelled(&[base.clone(), report])).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("r1.json cannot be merged with r0.json: ")
                && text.contains(what)
                && text.contains(detail),
            "{text}"
        );
    }
}

#[test]
fn merged_repetitions_give_compare_an_interval() {
    let dir = support::temp_dir();
    let base = base_report();
    let slow = repeated(&base, &[1.5]).runs.pop().expect("one run");
    let mut slower = base.clone();
    slower.runs = vec![slow];
    let (mut fast_inputs, mut slow_inputs) = (Vec::new(), Vec::new());
    for i in 0..3 {
        fast_inputs.push(write_report(dir.path(), &format!("a{i}.json"), &base));
        slow_inputs.push(write_report(dir.path(), &format!("b{i}.json"), &slower));
    }
    let merge_into = |name: &str, inputs: Vec<std::path::PathBuf>| {
        let out = dir.path().join("merged").join(name);
        let code = versus::commands::merge::run(&MergeArgs {
            shards: false,
            out: out.clone(),
            inputs,
        })
        .expect("versus merge runs");
        assert_eq!(code, EXIT_OK);
        out
    };
    let baseline = merge_into("base.json", fast_inputs);
    let candidate = merge_into("head.json", slow_inputs);
    let mut args = CompareArgs::new(&baseline, &candidate);
    args.format = CompareFormat::Json;
    args.metric = vec!["get.p50".into()];
    let out = dir.path().join("comparison.json");
    args.out = Some(out.clone());
    assert_eq!(
        versus::commands::compare::run(&args).expect("compare runs"),
        1
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("compare wrote --out"))
            .expect("JSON");
    assert_eq!(json["verdict"], "regressed", "{json:#}");
    assert_eq!(json["selected_metrics"], serde_json::json!(["get.p50"]));
    let rows = json["metrics"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "only the selected metric: {json:#}");
    let p50 = row(&json, "cs", "get.p50");
    assert!(!p50["interval"].is_null(), "three runs a side: {p50:#}");
    assert_eq!(p50["baseline"]["samples"].as_array().map(Vec::len), Some(3));
}

#[test]
fn unreadable_or_mismatched_inputs_exit_2() {
    let dir = support::temp_dir();
    let good = write_report(dir.path(), "good.json", &base_report());
    let mut other = base_report();
    other.scenario["name"] = serde_json::json!("something else");
    let other = write_report(dir.path(), "other.json", &other);
    let out = dir.path().join("out.json");
    for inputs in [
        vec![good.clone(), dir.path().join("missing.json")],
        vec![good.clone(), other],
    ] {
        let e = versus::commands::merge::run(&MergeArgs {
            shards: false,
            out: out.clone(),
            inputs,
        })
        .unwrap_err();
        assert_eq!(exit_code(&e), EXIT_USAGE, "{e:#}");
    }
    assert!(!out.exists(), "nothing written on failure");
    let cli = support::run_versus(
        &["merge", out.to_str().expect("utf-8 path")],
        std::time::Duration::from_secs(30),
    );
    assert_eq!(cli.status.code(), Some(EXIT_USAGE), "no input given");
}

#[test]
fn different_builds_are_a_note_when_expected() {
    let dir = support::temp_dir();
    let base = base_report();
    let mut other = base.clone();
    other.tool.git_sha = "feedfacefeedface".into();
    let (a, b) = (
        write_report(dir.path(), "a.json", &base),
        write_report(dir.path(), "b.json", &other),
    );
    let run = |expect: bool| {
        let mut args = CompareArgs::new(&a, &b);
        args.expect_different_builds = expect;
        args.format = CompareFormat::Json;
        let out = dir.path().join(format!("c-{expect}.json"));
        args.out = Some(out.clone());
        versus::commands::compare::run(&args).expect("compare runs");
        let text = std::fs::read_to_string(&out).expect("compare wrote --out");
        serde_json::from_str::<serde_json::Value>(&text).expect("JSON")
    };
    let warned = run(false);
    assert!(
        warned["warnings"][0]
            .as_str()
            .is_some_and(|w| w.starts_with("different builds")),
        "{warned:#}"
    );
    assert_eq!(warned["notes"], serde_json::json!([]));
    let noted = run(true);
    assert_eq!(noted["warnings"], serde_json::json!([]), "{noted:#}");
    assert!(
        noted["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("feedfacefeedface") && n.contains("as expected")),
        "{noted:#}"
    );
    let mut args = CompareArgs::new(&a, &b);
    args.expect_different_builds = true;
    let out = dir.path().join("c.md");
    args.out = Some(out.clone());
    versus::commands::compare::run(&args).expect("compare runs");
    let md = std::fs::read_to_string(&out).expect("compare wrote --out");
    assert!(
        md.starts_with("> **Note:** different builds") && !md.contains("WARNING"),
        "{md}"
    );
}

#[test]
fn unknown_metric_is_a_usage_error() {
    let dir = support::temp_dir();
    let report = write_report(dir.path(), "a.json", &base_report());
    let mut args = CompareArgs::new(&report, &report);
    args.metric = vec!["get.p98".into()];
    let e = versus::commands::compare::run(&args).unwrap_err();
    assert_eq!(exit_code(&e), EXIT_USAGE);
    assert!(format!("{e:#}").contains("--metric get.p98"), "{e:#}");
}

#[test]
fn each_phase_numbers_its_own_repetitions() {
    let mut report = base_report();
    let mut later = report.runs[0].clone();
    later.phase = Some("later".into());
    report.runs.push(later);
    let merged = merge(labelled(&[report.clone(), report])).expect("merges");
    let reps: Vec<(Option<&str>, u32)> = merged
        .runs
        .iter()
        .map(|r| (r.phase.as_deref(), r.repetition))
        .collect();
    assert_eq!(
        reps,
        [(None, 0), (Some("later"), 0), (None, 1), (Some("later"), 1)]
    );
}

#[test]
fn paired_comparison_sees_through_a_drift() {
    let dir = support::temp_dir();
    let base = base_report();
    // The machine slows down from run to run; the candidate is 10% slower than the
    // baseline run made beside it.
    let drift = [1.0, 1.15, 1.3, 1.45, 1.6, 1.75];
    let slower: Vec<f64> = drift.iter().map(|d| d * 1.1).collect();
    let baseline = write_report(dir.path(), "a.json", &repeated(&base, &drift));
    let candidate = write_report(dir.path(), "b.json", &repeated(&base, &slower));
    let run = |paired: bool| {
        let mut args = CompareArgs::new(&baseline, &candidate);
        args.paired = paired;
        args.metric = vec!["get.p50".into()];
        args.format = CompareFormat::Json;
        let out = dir.path().join(format!("paired-{paired}.json"));
        args.out = Some(out.clone());
        let code = versus::commands::compare::run(&args).expect("compare runs");
        let text = std::fs::read_to_string(&out).expect("compare wrote --out");
        (
            code,
            serde_json::from_str::<serde_json::Value>(&text).expect("JSON"),
        )
    };
    let (code, json) = run(true);
    let p50 = row(&json, "cs", "get.p50");
    assert_eq!(code, 1, "{json:#}");
    assert_eq!(p50["verdict"], "regressed", "{p50:#}");
    assert_eq!(p50["paired"], true);
    let low = p50["interval"]["low"].as_f64().expect("an interval");
    let high = p50["interval"]["high"].as_f64().expect("an interval");
    assert!(low > 1.05 && high < 1.15, "{p50:#}");
    let (code, json) = run(false);
    let p50 = row(&json, "cs", "get.p50");
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(
        p50["verdict"], "inconclusive",
        "the drift hides it: {p50:#}"
    );
    assert_eq!(p50["paired"], false);
}
