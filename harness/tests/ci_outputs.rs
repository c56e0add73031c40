//! What CI systems read, from one short real run (`versus run --url` against a test
//! server on loopback, with one threshold that holds and one that fails) and a
//! comparison derived from it: the JUnit XML, read back by a real consumer (PyPI's
//! `junitparser`; skipped with a message when python3 or junitparser is missing), and
//! the job summary appended to `$GITHUB_STEP_SUMMARY` (or `--summary FILE`), and
//! report.html opened in headless Chromium (skipped with a message when it is missing):
//! no console message, a screenshot that is not blank and shows the charts' colour, and
//! tables that sort on a click.

mod browser_support;
mod compare_support;
mod support;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::Duration;

use support::{describe, marker, run_marked, run_versus, write_file, Behaviour, TestServer};

/// The shared run: its directory and how the command ended.
struct Run {
    dir: PathBuf,
    output: Output,
}

fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let server = TestServer::start(Behaviour {
            delay: Duration::from_millis(2),
            body_len: 256,
            ..Behaviour::default()
        });
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ci_outputs");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the test directory");
        let scenario = write_file(
            &dir,
            "ci.toml",
            &format!(
                "name = \"ci-check\"\n[workload]\nkind = \"url\"\nurl = \"{}\"\n[load]\nusers = 2\nduration = \"1s\"\nthreads = 1\n\
                 [thresholds]\nerrors.rate = \"< 50%\"\nget.rps = \">= 100000000\"\n",
                server.url("/x")
            ),
        );
        let summary = dir.join("step-summary.md");
        std::fs::write(&summary, "previous step\n").expect("write the summary file");
        let output = run_marked(
            &marker(),
            &[
                "run",
                path_str(&scenario),
                "--out",
                path_str(&dir.join("out")),
                "--junit",
                path_str(&dir.join("run.junit.xml")),
                "--progress",
                "none",
            ],
            &[("GITHUB_STEP_SUMMARY", path_str(&summary))],
            Duration::from_secs(60),
        );
        Run { dir, output }
    })
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 test path")
}

const JUNIT_READER: &str = r#"
import json, sys
from junitparser import JUnitXml, Failure, Skipped
cases = []
for suite in JUnitXml.fromfile(sys.argv[1]):
    for case in suite:
        results = case.result
        kind = "passed"
        message = ""
        for r in results:
            kind = "failure" if isinstance(r, Failure) else "skipped" if isinstance(r, Skipped) else type(r).__name__
            message = r.message or ""
        cases.append({"suite": suite.name, "classname": case.classname, "name": case.name, "result": kind, "message": message})
print(json.dumps(cases))
"#;

/// The test cases of a JUnit file as `junitparser` reads them, or `None` (with a message)
/// when python3 or junitparser is not installed here.
fn junitparser(path: &Path) -> Option<Vec<serde_json::Value>> {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import junitparser"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!(
            "SKIPPED: python3 with junitparser is not installed (`python3 -m pip install junitparser`; .ci/run installs it)"
        );
        return None;
    }
    let out = std::process::Command::new("python3")
        .args(["-c", JUNIT_READER, path_str(path)])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "junitparser could not read {}: {}",
        path.display(),
        describe(&out)
    );
    Some(serde_json::from_slice(&out.stdout).expect("the reader prints JSON"))
}

#[test]
fn failing_threshold_exits_1() {
    let run = run();
    assert_eq!(
        run.output.status.code(),
        Some(1),
        "{}",
        describe(&run.output)
    );
}

#[test]
fn run_junit_has_one_case_per_threshold_and_the_failure() {
    let run = run();
    let path = run.dir.join("run.junit.xml");
    assert!(
        path.exists(),
        "--junit wrote nothing: {}",
        describe(&run.output)
    );
    let Some(cases) = junitparser(&path) else {
        return;
    };
    assert_eq!(cases.len(), 2, "{cases:?}");
    let failed: Vec<_> = cases.iter().filter(|c| c["result"] == "failure").collect();
    assert_eq!(failed.len(), 1, "{cases:?}");
    let message = failed[0]["message"].as_str().unwrap();
    assert!(message.contains("get.rps >= 100000000"), "{message}");
    assert!(message.contains("measured"), "{message}");
    assert_eq!(failed[0]["classname"], "versus.ci-check.cs");
    assert!(
        cases
            .iter()
            .any(|c| c["result"] == "passed"
                && c["name"].as_str().unwrap().starts_with("errors.rate"))
    );
}

#[test]
fn compare_junit_shows_a_regression_as_a_failure() {
    let run = run();
    let baseline =
        versus::report::read(&run.dir.join("out/report.json")).expect("the run's report");
    let mut candidate = baseline.clone();
    for op in candidate.runs[0].ops.values_mut() {
        compare_support::scale_latency(op, 3.0);
    }
    let dir = run.dir.join("compare");
    std::fs::create_dir_all(&dir).expect("create the compare directory");
    let b = compare_support::write_report(&dir, "baseline.json", &baseline);
    let c = compare_support::write_report(&dir, "candidate.json", &candidate);
    let junit = dir.join("compare.junit.xml");
    let summary = dir.join("compare-summary.md");
    let out = run_versus(
        &[
            "compare",
            path_str(&b),
            path_str(&c),
            "--junit",
            path_str(&junit),
            "--summary",
            path_str(&summary),
            "--metric",
            "get.p50",
            "--metric",
            "get.p99",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = std::fs::read_to_string(&summary).expect("--summary written");
    assert!(text.contains("**Verdict: regressed**"), "{text}");
    assert!(text.contains("| cs | `get.p99` |"), "{text}");
    let Some(cases) = junitparser(&junit) else {
        return;
    };
    assert_eq!(cases.len(), 2, "{cases:?}");
    for case in &cases {
        assert_eq!(case["result"], "failure", "{cases:?}");
        let message = case["message"].as_str().unwrap();
        assert!(
            message.contains("regressed") && message.contains("threshold"),
            "{message}"
        );
    }
}

#[test]
fn run_appends_the_job_summary_to_github_step_summary() {
    let run = run();
    let text = std::fs::read_to_string(run.dir.join("step-summary.md")).expect("summary file");
    assert!(
        text.starts_with("previous step\n### Versus run: ci-check\n"),
        "the summary is appended after what earlier steps wrote: {text}"
    );
    assert!(text.contains("**thresholds FAILED**"), "{text}");
    assert!(
        text.contains("| get.rps >= 100000000 | cs (2 users) |") && text.contains("| FAIL |"),
        "{text}"
    );
    assert!(text.contains("| cs | 2 | get |"), "the key table: {text}");
    assert!(
        text.contains("`latency-spectrum.svg`"),
        "charts named as artifacts: {text}"
    );
    assert!(
        !text.contains("<svg"),
        "the summary refers to charts, it does not embed them"
    );
    assert!(
        text.len() < 4000,
        "the summary stays compact: {} bytes",
        text.len()
    );
}

#[test]
fn a_fresh_report_validates_against_the_committed_schema() {
    let run = run();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("reports/report.schema.json")).expect("the schema"),
    )
    .expect("the schema is JSON");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.dir.join("out/report.json")).expect("report.json"),
    )
    .expect("report.json is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let run = run();
    let page = run.dir.join("out/report.html");
    let html = std::fs::read_to_string(&page).expect("report.html written beside report.md");
    assert_eq!(html.matches("<svg").count(), 3, "every chart inline");
    let Some(browser) = browser_support::chromium() else {
        return;
    };
    let shot = run.dir.join("report.png");
    let visit = browser_support::visit(
        &browser,
        &page,
        &format!("--screenshot={}", shot.display()),
        &run.dir,
    );
    assert!(
        visit.console.is_empty(),
        "console messages: {:?}",
        visit.console
    );
    let image = browser_support::decode_png(&std::fs::read(&shot).expect("a screenshot"));
    assert_eq!((image.width, image.height), (1200, 1600));
    let mut colours: Vec<[u8; 3]> = image.rgb.clone();
    colours.sort_unstable();
    colours.dedup();
    let white = image
        .rgb
        .iter()
        .filter(|p| p.iter().all(|&c| c > 245))
        .count();
    assert!(
        colours.len() > 50,
        "a blank screenshot: {} colours",
        colours.len()
    );
    assert!(
        white < image.rgb.len() * 98 / 100,
        "the screenshot is nearly all white"
    );
    // The client-server series colour (#0072b2): the charts are drawn, not just text.
    let cs_blue = image
        .rgb
        .iter()
        .filter(|p| p[0] < 40 && (90..140).contains(&p[1]) && (150..210).contains(&p[2]))
        .count();
    assert!(
        cs_blue > 300,
        "no chart line visible ({cs_blue} pixels of the cs colour)"
    );
}

#[test]
fn html_tables_sort_on_a_click() {
    let run = run();
    let html = std::fs::read_to_string(run.dir.join("out/report.html")).expect("report.html");
    let Some(browser) = browser_support::chromium() else {
        return;
    };
    // Click the thresholds table's first header twice: descending by condition.
    let click = "<script>var h = Array.prototype.find.call(document.querySelectorAll('th'), \
                 function (t) { return t.textContent === 'threshold'; }); h.click(); h.click();</script>";
    let page = run.dir.join("out/sorted.html");
    std::fs::write(&page, html.replace("</body>", &format!("{click}</body>"))).expect("write");
    let visit = browser_support::visit(&browser, &page, "--dump-dom", &run.dir);
    assert!(
        visit.console.is_empty(),
        "console messages: {:?}",
        visit.console
    );
    assert!(
        visit.stdout.contains("data-sortable-tables=\""),
        "the script ran"
    );
    assert!(
        visit.stdout.contains("aria-sort=\"descending\""),
        "{}",
        visit.stdout
    );
    let (get, errors) = (
        visit
            .stdout
            .find("<td>get.rps &gt;= 100000000</td>")
            .expect("the get.rps row"),
        visit
            .stdout
            .find("<td>errors.rate &lt; 50%</td>")
            .expect("the errors.rate row"),
    );
    assert!(get < errors, "descending: get.rps before errors.rate");
}
