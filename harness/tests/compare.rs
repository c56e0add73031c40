//! `versus compare` on real reports: one made by a short run against a real server, and
//! others derived from it by rewriting fields and re-recording latency histograms.
//! Identical reports pass; a 1.5× worse p99 regresses with exit code 1; another machine
//! is warned about in both formats; repetitions give intervals; bad flags exit 2.

mod compare_support;
mod support;

use compare_support::{base_report, compare, compare_both, repeated, row, write_report};
use versus::commands::compare::{CompareArgs, CompareFormat};
use versus::commands::exit_code;
use versus::error::{EXIT_FAILED_CHECK, EXIT_OK, EXIT_USAGE};

#[test]
fn identical_reports_pass_everything() {
    let report = base_report();
    let (code, md, json) = compare_both(&report, &report, &[]);
    assert_eq!(code, EXIT_OK, "{md}");
    assert_eq!(json["verdict"], "pass", "{json:#}");
    assert_eq!(json["exit_code"], 0);
    assert_eq!(json["warnings"], serde_json::json!([]), "{json:#}");
    let rows = json["metrics"].as_array().unwrap();
    assert!(
        rows.len() >= 7,
        "latency, rps, errors and resources: {json:#}"
    );
    for r in rows {
        assert_eq!(r["verdict"], "pass", "{r:#}");
        assert_eq!(r["estimate"], if r["kind"] == "ratio" { 1.0 } else { 0.0 });
        assert!(r["interval"].is_null(), "one run a side: no interval");
    }
    for metric in [
        "get.p50",
        "get.p90",
        "get.p99",
        "get.p999",
        "get.rps",
        "errors.rate",
    ] {
        row(&json, "cs", metric);
    }
    assert!(md.starts_with("## Versus compare"), "no warning line: {md}");
    assert!(md.contains("**Verdict: pass**"), "{md}");
    assert!(md.contains("| cs | `get.p99` |"), "{md}");
}

#[test]
fn a_p99_one_and_a_half_times_worse_regresses() {
    let mut baseline = base_report();
    // Room above p99, so the worse p99 below does not drag p999 along (a real run's
    // p999 may sit within 1.5× of its p99).
    let base = baseline.runs[0].ops.get_mut("get").unwrap();
    base.latency_us.p999 = base.latency_us.p999.max(base.latency_us.p99 * 2);
    base.latency_us.max = base.latency_us.max.max(base.latency_us.p999);
    let mut candidate = baseline.clone();
    let get = candidate.runs[0].ops.get_mut("get").unwrap();
    get.latency_us.p99 = get.latency_us.p99 * 3 / 2;
    // A consistent report: nothing above the maximum.
    get.latency_us.p999 = get.latency_us.p999.max(get.latency_us.p99);
    get.latency_us.max = get.latency_us.max.max(get.latency_us.p999);
    let (code, md, json) = compare_both(&baseline, &candidate, &[]);
    assert_eq!(code, EXIT_FAILED_CHECK, "{md}");
    assert_eq!(json["verdict"], "regressed");
    let p99 = row(&json, "cs", "get.p99");
    assert_eq!(p99["verdict"], "regressed", "{p99:#}");
    assert!(
        (p99["estimate"].as_f64().unwrap() - 1.5).abs() < 0.01,
        "{p99:#}"
    );
    assert_eq!(row(&json, "cs", "get.p50")["verdict"], "pass");
    assert_eq!(json["summary"]["regressed"], 1, "{json:#}");
    let verdict_line = md.lines().find(|l| l.starts_with("**Verdict")).unwrap();
    assert!(
        verdict_line.contains("**Verdict: regressed**") && verdict_line.contains("cs get.p99 +50"),
        "{verdict_line}"
    );
    assert!(md.contains("**regressed**"), "{md}");

    // A higher threshold for that one metric lets it pass.
    let (code, md) = compare(&baseline, &candidate, &["get.p99=60%"], CompareFormat::Md);
    assert_eq!(code, EXIT_OK, "{md}");
    // So does a higher threshold for all, but an override for p99 still wins.
    let (code, _) = compare(
        &baseline,
        &candidate,
        &["60%", "get.p99=10%"],
        CompareFormat::Md,
    );
    assert_eq!(code, EXIT_FAILED_CHECK);
}

#[test]
fn lower_throughput_regresses_and_higher_improves() {
    let baseline = base_report();
    let mut slower = baseline.clone();
    slower.runs[0].ops.get_mut("get").unwrap().rps *= 0.8;
    let (code, _, json) = compare_both(&baseline, &slower, &[]);
    assert_eq!(code, EXIT_FAILED_CHECK);
    assert_eq!(row(&json, "cs", "get.rps")["verdict"], "regressed");
    let (code, _, json) = compare_both(&slower, &baseline, &[]);
    assert_eq!(code, EXIT_OK);
    assert_eq!(row(&json, "cs", "get.rps")["verdict"], "improved");
    assert_eq!(json["verdict"], "improved");
}

#[test]
fn cpu_per_operation_moves_with_the_work_per_request() {
    // The same operations for 25% more CPU: a cost per request the throughput may hide.
    let baseline = base_report();
    let mut costlier = baseline.clone();
    costlier.runs[0]
        .resources
        .get_mut("harness")
        .expect("the harness's own resources")
        .cpu_s *= 1.25;
    let (code, _, json) = compare_both(&baseline, &costlier, &["harness.cpu_s=100%"]);
    assert_eq!(code, EXIT_FAILED_CHECK);
    let per_op = row(&json, "cs", "harness.cpu_per_op");
    assert_eq!(per_op["verdict"], "regressed", "{per_op}");
    let run = &baseline.runs[0];
    let ops: u64 = run.ops.values().map(|op| op.count).sum();
    let expected = run.resources["harness"].cpu_s * 1e6 / ops as f64;
    let measured = per_op["baseline"]["median"]
        .as_f64()
        .expect("a baseline value");
    assert!(
        (measured - expected).abs() < 1e-9 * expected.max(1.0),
        "{per_op}"
    );
    assert_eq!(row(&json, "cs", "get.rps")["verdict"], "pass");
}

#[test]
fn error_rate_is_compared_in_percentage_points() {
    let baseline = base_report();
    let mut candidate = baseline.clone();
    let get = candidate.runs[0].ops.get_mut("get").unwrap();
    (get.count, get.errors_total) = (1000, 20); // 2% of operations failed
    get.errors = [("http_5xx".to_string(), 20)].into();
    let (code, md, json) = compare_both(&baseline, &candidate, &[]);
    assert_eq!(code, EXIT_OK, "2 pp is within the default 5 pp: {md}");
    let rate = row(&json, "cs", "errors.rate");
    assert_eq!(rate["kind"], "difference");
    assert!(
        (rate["estimate"].as_f64().unwrap() - 0.02).abs() < 0.001,
        "{rate:#}"
    );
    assert!(md.contains("+2.00 pp"), "{md}");
    let (code, _) = compare(
        &baseline,
        &candidate,
        &["errors.rate=1%"],
        CompareFormat::Json,
    );
    assert_eq!(code, EXIT_FAILED_CHECK);
}

#[test]
fn different_machines_are_warned_about_in_both_formats() {
    let baseline = base_report();
    let mut candidate = baseline.clone();
    candidate.machine.cpu_model = "Some Other CPU @ 5 GHz".into();
    candidate.machine.cores += 6;
    let (code, md, json) = compare_both(&baseline, &candidate, &[]);
    assert_eq!(code, EXIT_OK, "a warning does not fail the gate");
    let first = md.lines().next().unwrap();
    assert!(
        first.contains("WARNING") && first.contains("different machines"),
        "{md}"
    );
    assert!(md.contains("Some Other CPU"), "{md}");
    let warnings = json["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("different machines")),
        "{json:#}"
    );
    let (_, text) = compare(&baseline, &candidate, &[], CompareFormat::Json);
    assert!(
        text.starts_with("{\n  \"warnings\": [\n    \"different machines"),
        "warnings come first: {text}"
    );
}

#[test]
fn different_builds_are_warned_about() {
    let baseline = base_report();
    let mut candidate = baseline.clone();
    candidate.tool.git_sha = "0123456789abcdef".into();
    let (_, md, json) = compare_both(&baseline, &candidate, &[]);
    assert!(
        md.starts_with("> **WARNING:** different builds of versus"),
        "{md}"
    );
    assert!(json["warnings"][0]
        .as_str()
        .unwrap()
        .contains("0123456789abcdef"));
}

#[test]
fn repetitions_give_intervals_in_both_formats() {
    let report = base_report();
    let baseline = repeated(&report, &[0.99, 1.0, 1.01]);
    let candidate = repeated(&report, &[1.0, 1.01, 1.02]);
    let (code, md, json) = compare_both(&baseline, &candidate, &[]);
    assert_eq!(code, EXIT_OK, "{md}");
    let p50 = row(&json, "cs", "get.p50");
    let (low, high) = (
        p50["interval"]["low"].as_f64().unwrap(),
        p50["interval"]["high"].as_f64().unwrap(),
    );
    let estimate = p50["estimate"].as_f64().unwrap();
    assert!(low <= estimate && estimate <= high, "{p50:#}");
    assert!(
        low < high,
        "different samples give a real interval: {p50:#}"
    );
    assert!(
        (0.95..=1.06).contains(&low) && (0.95..=1.06).contains(&high),
        "{p50:#}"
    );
    assert_eq!(p50["baseline"]["samples"].as_array().unwrap().len(), 3);
    assert_eq!(p50["verdict"], "pass", "{p50:#}");
    let md_row = md
        .lines()
        .find(|l| l.starts_with("| cs | `get.p50`"))
        .unwrap();
    assert!(
        md_row.contains("(n=3)") && md_row.contains("%, +"),
        "{md_row}"
    );

    // A clear, consistent shift is a regression even with the interval.
    let slow = repeated(&report, &[1.5, 1.52, 1.48]);
    let (code, _, json) = compare_both(&baseline, &slow, &[]);
    assert_eq!(code, EXIT_FAILED_CHECK);
    assert_eq!(row(&json, "cs", "get.p50")["verdict"], "regressed");

    // Noise wider than the threshold is inconclusive: exit 0, and said so.
    let noisy = repeated(&report, &[0.8, 1.1, 1.4]);
    let (code, md, json) = compare_both(&baseline, &noisy, &[]);
    assert_eq!(code, EXIT_OK, "{md}");
    let p50 = row(&json, "cs", "get.p50");
    assert_eq!(p50["verdict"], "inconclusive", "{p50:#}");
    assert!(p50["note"].as_str().unwrap().contains("straddles"));
    assert_eq!(json["verdict"], "inconclusive");
    assert!(md.contains("**Verdict: inconclusive**"), "{md}");
}

#[test]
fn a_metric_missing_from_the_candidate_is_inconclusive() {
    let baseline = base_report();
    let mut candidate = baseline.clone();
    candidate.runs[0].resources.remove("harness");
    let (code, _, json) = compare_both(&baseline, &candidate, &[]);
    assert_eq!(code, EXIT_OK);
    let cpu = row(&json, "cs", "harness.cpu_s");
    assert_eq!(cpu["verdict"], "inconclusive");
    assert_eq!(cpu["note"], "missing in the candidate");
    assert!(cpu["candidate"].is_null());
}

#[test]
fn unknown_threshold_metric_is_a_usage_error() {
    let dir = support::temp_dir();
    let report = base_report();
    let mut args = CompareArgs::new(
        write_report(dir.path(), "a.json", &report),
        write_report(dir.path(), "b.json", &report),
    );
    args.threshold = vec!["get.p98=10%".into()];
    let e = versus::commands::compare::run(&args).unwrap_err();
    assert_eq!(exit_code(&e), EXIT_USAGE);
    let message = format!("{e:#}");
    assert!(
        message.contains("--threshold get.p98=10%") && message.contains("get.p99=10%"),
        "{message}"
    );
    args.threshold = vec!["ten percent".into()];
    let e = versus::commands::compare::run(&args).unwrap_err();
    assert_eq!(exit_code(&e), EXIT_USAGE, "{e:#}");
}

#[test]
fn unreadable_reports_are_usage_errors() {
    let dir = support::temp_dir();
    let good = write_report(dir.path(), "good.json", &base_report());
    let missing = dir.path().join("missing.json");
    let e = versus::commands::compare::run(&CompareArgs::new(&good, &missing)).unwrap_err();
    assert_eq!(exit_code(&e), EXIT_USAGE);
    assert!(format!("{e:#}").contains("missing.json"), "{e:#}");
    let garbage = support::write_file(dir.path(), "garbage.json", "{\"not\": \"a report\"}");
    let e = versus::commands::compare::run(&CompareArgs::new(&garbage, &good)).unwrap_err();
    assert_eq!(exit_code(&e), EXIT_USAGE);
    assert!(format!("{e:#}").contains("baseline report"), "{e:#}");
}

#[test]
fn runs_are_matched_by_architecture_and_users() {
    let baseline = base_report();
    let mut candidate = baseline.clone();
    candidate.runs[0].users += 2;
    let mut p2p = candidate.runs[0].clone();
    p2p.arch = versus::arch::Arch::P2p;
    candidate.runs.push(p2p);
    let (code, md, json) = compare_both(&baseline, &candidate, &[]);
    assert_eq!(code, EXIT_OK, "{md}");
    let warnings = json["warnings"].to_string();
    assert!(
        warnings.contains("cs: the baseline ran 2 users, the candidate 4 users"),
        "{warnings}"
    );
    assert!(
        warnings.contains("p2p runs only in the candidate"),
        "{warnings}"
    );
    assert_eq!(row(&json, "cs", "get.p99")["verdict"], "pass");
    let p2p = row(&json, "p2p", "get.p99");
    assert_eq!(p2p["verdict"], "inconclusive");
    assert_eq!(p2p["note"], "not in the baseline");
    assert_eq!(json["verdict"], "inconclusive");
}

#[test]
fn server_counts_are_configurations_not_repetitions() {
    let mut report = base_report();
    report.runs[0].servers = Some(1);
    let mut two = report.runs[0].clone();
    two.servers = Some(2);
    compare_support::scale_latency(two.ops.get_mut("get").unwrap(), 0.5);
    report.runs.push(two);
    let (code, _, json) = compare_both(&report, &report, &[]);
    assert_eq!(code, EXIT_OK);
    for arch in ["cs (1 server)", "cs (2 servers)"] {
        let p50 = row(&json, arch, "get.p50");
        assert_eq!(p50["estimate"], 1.0, "{p50:#}");
        assert!(
            p50["interval"].is_null(),
            "one run per configuration: {p50:#}"
        );
    }
}

#[test]
fn the_command_line_parses() {
    use clap::{CommandFactory, Parser};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        compare: CompareArgs,
    }
    Cli::command().debug_assert();
    let cli = Cli::try_parse_from([
        "compare",
        "base.json",
        "cand.json",
        "--threshold",
        "10%",
        "--threshold",
        "get.p99=20%",
        "--format",
        "json",
        "--out",
        "out.json",
    ])
    .expect("valid flags parse");
    let args = cli.compare;
    assert_eq!(args.baseline.to_str(), Some("base.json"));
    assert_eq!(args.threshold, ["10%", "get.p99=20%"]);
    assert_eq!(args.format, CompareFormat::Json);
    assert_eq!(
        args.out.as_deref().and_then(|p| p.to_str()),
        Some("out.json")
    );
    let defaults = Cli::try_parse_from(["compare", "a", "b"]).unwrap().compare;
    assert_eq!(defaults.format, CompareFormat::Md);
    assert!(Cli::try_parse_from(["compare", "a", "b", "--format", "html"]).is_err());
}
