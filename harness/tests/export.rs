//! `versus export` on a real report: Bencher Metric Format and github-action-benchmark's
//! customSmallerIsBetter are valid JSON with the expected benchmark names, measures and
//! units, and repetitions give ranges.

mod compare_support;
mod support;

use compare_support::{base_report, repeated, write_report};
use versus::commands::exit_code;
use versus::commands::export::{ExportArgs, ExportFormat};
use versus::error::{EXIT_OK, EXIT_USAGE};
use versus::report::model::Completion;

fn export(report: &versus::report::model::Report, format: ExportFormat) -> serde_json::Value {
    let dir = support::temp_dir();
    let out = dir.path().join("export.json");
    let args = ExportArgs {
        report: write_report(dir.path(), "report.json", report),
        format,
        out: Some(out.clone()),
    };
    assert_eq!(
        versus::commands::export::run(&args).expect("export runs"),
        EXIT_OK
    );
    let text = std::fs::read_to_string(&out).expect("export wrote --out");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn bencher_metric_format() {
    let report = base_report();
    let get = &report.runs[0].ops["get"];
    let bmf = export(&report, ExportFormat::Bmf);
    let latency = &bmf["cs/get"]["latency"];
    assert_eq!(
        latency["value"].as_f64().unwrap(),
        get.latency_us.p50 as f64 * 1e3,
        "the median in nanoseconds: {bmf:#}"
    );
    assert!(latency.get("lower_value").is_none(), "one run: no range");
    for measure in ["latency-p90", "latency-p99", "latency-p999", "throughput"] {
        assert!(
            bmf["cs/get"][measure]["value"].is_number(),
            "{measure}: {bmf:#}"
        );
    }
    assert_eq!(
        bmf["cs/get"]["throughput"]["value"].as_f64().unwrap(),
        get.rps
    );
    assert_eq!(bmf["cs/errors"]["error-rate"]["value"], 0.0);
    assert!(
        bmf["cs/harness"]["cpu-seconds"]["value"].is_number(),
        "{bmf:#}"
    );
    assert!(
        bmf["cs/harness"]["peak-rss-bytes"]["value"].is_number(),
        "{bmf:#}"
    );
    // Every measure is an object with a numeric value (the BMF schema).
    for (name, measures) in bmf.as_object().unwrap() {
        for (measure, metric) in measures.as_object().unwrap() {
            assert!(metric["value"].is_number(), "{name} {measure}");
        }
    }
}

#[test]
fn bencher_metric_format_ranges_over_repetitions() {
    let report = repeated(&base_report(), &[1.0, 1.1, 1.2]);
    let bmf = export(&report, ExportFormat::Bmf);
    let latency = &bmf["cs/get"]["latency"];
    let (low, value, high) = (
        latency["lower_value"].as_f64().unwrap(),
        latency["value"].as_f64().unwrap(),
        latency["upper_value"].as_f64().unwrap(),
    );
    assert!(low < value && value < high, "{latency:#}");
}

#[test]
fn github_action_benchmark_smaller_is_better() {
    let report = base_report();
    let gab = export(&report, ExportFormat::Gab);
    let entries = gab.as_array().expect("an array");
    let find = |name: &str| {
        entries
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {gab:#}"))
    };
    let p99 = find("cs/get.p99");
    assert_eq!(p99["unit"], "us");
    assert_eq!(
        p99["value"].as_f64().unwrap(),
        report.runs[0].ops["get"].latency_us.p99 as f64
    );
    assert_eq!(find("cs/harness.cpu_s")["unit"], "s");
    assert_eq!(find("cs/harness.peak_rss_bytes")["unit"], "bytes");
    for e in entries {
        let name = e["name"].as_str().unwrap();
        assert!(
            ["us", "s", "bytes"].contains(&e["unit"].as_str().unwrap()),
            "{e}"
        );
        assert!(e["value"].is_number(), "{e}");
        assert!(
            !name.ends_with(".rps") && !name.ends_with("errors.rate"),
            "bigger-is-better or rates do not belong in customSmallerIsBetter: {name}"
        );
    }
    let repeated = export(&repeated(&report, &[1.0, 1.2]), ExportFormat::Gab);
    assert!(repeated[0]["range"].as_str().unwrap().starts_with("± "));
}

#[test]
fn a_makespan_is_exported_in_both_formats() {
    let mut report = base_report();
    report.runs[0].completion = Some(Completion {
        makespan_s: 2.0,
        p50_s: 1.0,
        p99_s: 1.9,
    });
    let bmf = export(&report, ExportFormat::Bmf);
    assert_eq!(bmf["cs/completion"]["latency"]["value"], 2e9, "{bmf:#}");
    let gab = export(&report, ExportFormat::Gab);
    let makespan = gab
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "cs/completion.makespan")
        .unwrap_or_else(|| panic!("no makespan in {gab:#}"));
    assert_eq!(makespan["unit"], "s");
    assert_eq!(makespan["value"], 2.0);
}

#[test]
fn an_unreadable_report_is_a_usage_error() {
    let dir = support::temp_dir();
    let args = ExportArgs {
        report: dir.path().join("nope.json"),
        format: ExportFormat::Bmf,
        out: None,
    };
    let e = versus::commands::export::run(&args).unwrap_err();
    assert_eq!(exit_code(&e), EXIT_USAGE);
    assert!(format!("{e:#}").contains("nope.json"), "{e:#}");
}

#[test]
fn the_command_line_parses() {
    use clap::{CommandFactory, Parser};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        export: ExportArgs,
    }
    Cli::command().debug_assert();
    let args = Cli::try_parse_from(["export", "--format", "gab", "r.json"])
        .expect("valid flags parse")
        .export;
    assert_eq!(args.format, ExportFormat::Gab);
    assert_eq!(args.report.to_str(), Some("r.json"));
    let args = Cli::try_parse_from(["export", "r.json"]).unwrap().export;
    assert_eq!(args.format, ExportFormat::Bmf, "bmf by default");
}
