//! Scenario files through the real binary: malformed files exit 2 naming the file, the
//! line and the key; thresholds pass (exit 0) and fail (exit 1) as written.

mod support;

use std::time::Duration;

use support::{describe, read_report, run_versus, temp_dir, write_file, Behaviour, TestServer};

fn scenario(url: &str, extra: &str) -> String {
    format!(
        "name = \"t\"\n[workload]\nkind = \"url\"\nurl = \"{url}\"\n[load]\nusers = 2\nduration = \"1s\"\n{extra}"
    )
}

fn check_fails_at(text: &str, line: usize, key: &str) {
    let dir = temp_dir();
    let path = write_file(dir.path(), "bad.toml", text);
    for command in ["check", "run"] {
        let out = run_versus(&[command, path.to_str().unwrap()], Duration::from_secs(30));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {}", describe(&out));
        let place = format!("bad.toml:{line}:");
        assert!(
            stderr.contains(&place),
            "{command}: no {place} in: {stderr}"
        );
        assert!(
            stderr.contains(&format!("`{key}`")),
            "{command}: no key {key} in: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn misspelt_key_names_line_and_key() {
    let text = scenario("http://127.0.0.1:1/", "").replace("users = 2", "usres = 2");
    check_fails_at(&text, 6, "load.usres");
}

#[test]
fn bad_unit_names_line_and_key() {
    let text = scenario("http://127.0.0.1:1/", "").replace("\"1s\"", "\"1 week\"");
    check_fails_at(&text, 7, "load.duration");
}

#[test]
fn unknown_threshold_metric_names_line_and_key() {
    let text = scenario("http://127.0.0.1:1/", "[thresholds]\nget.p98 = \"< 1s\"\n");
    check_fails_at(&text, 9, "thresholds.get.p98");
}

#[test]
fn wrong_type_and_cross_key_rules_name_the_key() {
    let text = scenario("http://127.0.0.1:1/", "").replace("users = 2", "users = \"two\"");
    check_fails_at(&text, 6, "load.users");
    let text = scenario("http://127.0.0.1:1/", "model = \"open\"\n");
    check_fails_at(&text, 5, "load.rate");
}

#[test]
fn bad_faults_name_line_and_key() {
    let fault = "[[faults]]\nat = \"0.5s\"\naction = \"kill\"\ntarget = \"server:0\"\n";
    let text = scenario("http://127.0.0.1:1/", fault).replace("at =", "att =");
    check_fails_at(&text, 9, "faults[0].att");
    let text = scenario("http://127.0.0.1:1/", fault).replace("server:0", "server:7");
    check_fails_at(&text, 11, "faults[0].target");
    let text = scenario("http://127.0.0.1:1/", fault).replace("\"kill\"", "\"explode\"");
    check_fails_at(&text, 10, "faults[0].action");
    let text = scenario(
        "http://127.0.0.1:1/",
        &format!("{fault}duration = \"2s\"\n"),
    )
    .replace("\"kill\"", "\"resume\"");
    check_fails_at(&text, 12, "faults[0].duration");
}

#[test]
fn bad_phases_name_line_and_key() {
    let phase = "[[phases]]\nname = \"more\"\n[phases.workload]\nkind = \"fetch\"\nobjects = 4\n";
    let text = scenario("http://127.0.0.1:1/", phase).replace("objects", "objcts");
    check_fails_at(&text, 12, "phases[0].workload.objcts");
    let text = scenario("http://127.0.0.1:1/", phase).replace("objects = 4", "objects = 0");
    check_fails_at(&text, 12, "phases[0].workload.objects");
}

#[test]
fn syntax_error_and_missing_file_exit_2() {
    let dir = temp_dir();
    let path = write_file(dir.path(), "bad.toml", "name = \"t\"\n[workload\n");
    let out = run_versus(&["check", path.to_str().unwrap()], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.toml:2"),
        "{}",
        describe(&out)
    );
    let out = run_versus(&["check", "/nonexistent/x.toml"], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let out = run_versus(
        &["run", "--url", "ftp://127.0.0.1/"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let out = run_versus(
        &["run", "--users", "lots", "--url", "http://127.0.0.1:1/"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--users lots"),
        "{}",
        describe(&out)
    );
}

#[test]
fn thresholds_pass_and_fail_as_written() {
    let server = TestServer::start(Behaviour {
        delay: Duration::from_millis(20),
        ..Behaviour::default()
    });
    let dir = temp_dir();
    let passing = write_file(
        dir.path(),
        "pass.toml",
        &scenario(
            &server.url("/"),
            "[thresholds]\nget.p99 = \"< 5s\"\nerrors.rate = \"< 1%\"\nget.p50 = \">= 19ms\"\n",
        ),
    );
    let out_pass = dir.path().join("out-pass");
    let out = run_versus(
        &[
            "run",
            passing.to_str().unwrap(),
            "--out",
            out_pass.to_str().unwrap(),
            "--progress",
            "none",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let report = read_report(&out_pass);
    assert_eq!(report["thresholds"].as_array().unwrap().len(), 3);
    assert!(report["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["passed"] == true));

    let failing = write_file(
        dir.path(),
        "fail.toml",
        &scenario(
            &server.url("/"),
            "[thresholds]\nget.p99 = \"< 5ms\"\nerrors.rate = \"< 1%\"\n",
        ),
    );
    let out_fail = dir.path().join("out-fail");
    let out = run_versus(
        &[
            "run",
            failing.to_str().unwrap(),
            "--out",
            out_fail.to_str().unwrap(),
            "--progress",
            "none",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let report = read_report(&out_fail);
    let results = report["thresholds"].as_array().unwrap();
    let p99 = results
        .iter()
        .find(|t| t["condition"] == "get.p99 < 5ms")
        .unwrap();
    assert_eq!(p99["passed"], false);
    assert!(p99["value"].as_f64().unwrap() >= 20_000.0);
    let rate = results
        .iter()
        .find(|t| t["condition"] == "errors.rate < 1%")
        .unwrap();
    assert_eq!(rate["passed"], true);
    let md = std::fs::read_to_string(out_fail.join("report.md")).unwrap();
    assert!(md.contains("get.p99 < 5ms") && md.contains("FAIL"), "{md}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("FAIL"),
        "the terminal table lists it"
    );
}
