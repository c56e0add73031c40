//! `reports/report.schema.json` is the JSON Schema the report types generate: a test
//! fails when the types change without the committed file being regenerated, and every
//! report.json committed under `reports/` (whatever is there when the test runs)
//! validates against it.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::{describe, run_versus};

const REGENERATE: &str = "cargo run -- schema --out reports/report.schema.json";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness crate sits in the repository")
        .to_path_buf()
}

fn committed_schema() -> String {
    let path = repo_root().join("reports/report.schema.json");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; run `{REGENERATE}`", path.display()))
}

fn report_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            report_files(&path, out);
        } else if path.file_name().is_some_and(|n| n == "report.json") {
            out.push(path);
        }
    }
}

#[test]
fn committed_schema_matches_the_report_types() {
    let generated = versus::report::schema::render();
    assert!(
        generated == committed_schema(),
        "reports/report.schema.json is out of date with the report types; run `{REGENERATE}` and commit it"
    );
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let out = run_versus(&["schema"], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), committed_schema());
}

#[test]
fn every_committed_report_validates_against_the_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(&committed_schema()).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    let mut reports = Vec::new();
    report_files(&repo_root().join("reports"), &mut reports);
    assert!(!reports.is_empty(), "no report.json under reports/");
    let mut failures = Vec::new();
    for path in &reports {
        let text = std::fs::read_to_string(path).expect("report.json readable");
        let report: serde_json::Value = serde_json::from_str(&text).expect("report.json is JSON");
        for error in validator.iter_errors(&report).take(5) {
            failures.push(format!(
                "{}: {} at {}",
                path.display(),
                error,
                error.instance_path()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn schema_rejects_broken_reports() {
    let schema: serde_json::Value =
        serde_json::from_str(&committed_schema()).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let broken = serde_json::json!({"schema_version": 2, "tool": {}});
    assert!(!validator.is_valid(&broken));
    let mut reports = Vec::new();
    report_files(&repo_root().join("reports"), &mut reports);
    let text = std::fs::read_to_string(&reports[0]).expect("report.json readable");
    let mut report: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    report["runs"][0]["arch"] = serde_json::json!("mainframe");
    assert!(
        !validator.is_valid(&report),
        "an unknown architecture passed the schema"
    );
}
