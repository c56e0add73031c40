//! Shards as real processes: a fixed-iteration closed workload against a real `versus
//! server` (attached, `--attach`), run as one process and as 2 and 3 shard processes
//! with a common `--start-at`, merged by `versus merge --shards`: the totals (counts,
//! bytes) are identical. An open-model URL run split in two sends exactly the
//! unsharded schedule's arrivals. Bad input — a missing shard, a duplicated index, a
//! different build, bad `--shard` or `--start-at` — is refused with exit 2.

mod shards_support;
mod support;

use std::path::Path;
use std::time::Duration;

use shards_support::{run_concurrently, start_in, totals, Server, OPERATIONS, SCENARIO};
use support::{
    describe, num, read_report, run_versus, temp_dir, write_file, Behaviour, TestServer,
};

const LIMIT: Duration = Duration::from_secs(120);

fn path(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

/// Runs `m` shards of `scenario` (extra `args` for each) from one common start and
/// returns the shard report paths.
fn shards(dir: &Path, m: u32, args: &[String]) -> Vec<String> {
    let start = start_in(Duration::from_secs(3));
    let outs = run_concurrently(
        m,
        |i| {
            let mut a: Vec<String> = vec!["run".into()];
            a.extend(args.iter().cloned());
            a.extend([
                "--shard".into(),
                format!("{i}/{m}"),
                "--start-at".into(),
                start.clone(),
                "--out".into(),
                path(&dir.join(format!("shard-{i}"))),
                "--progress".into(),
                "none".into(),
            ]);
            a
        },
        LIMIT,
    );
    for out in &outs {
        assert_eq!(out.status.code(), Some(0), "{}", describe(out));
    }
    (0..m)
        .map(|i| path(&dir.join(format!("shard-{i}/report.json"))))
        .collect()
}

fn merge(out: &Path, inputs: &[String]) -> std::process::Output {
    let mut args = vec!["merge".to_string(), "--shards".into(), path(out)];
    args.extend(inputs.iter().cloned());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run_versus(&refs, LIMIT)
}

#[test]
fn shards_add_up_to_one_process_exactly() {
    let server = Server::start();
    let dir = temp_dir();
    let targets = server.targets_file(dir.path());
    let scenario = write_file(dir.path(), "shards.toml", SCENARIO);
    let common = vec![path(&scenario), "--attach".into(), path(&targets)];
    let whole_dir = dir.path().join("whole");
    let mut whole_args: Vec<String> = vec!["run".into()];
    whole_args.extend(common.iter().cloned());
    whole_args.extend([
        "--out".into(),
        path(&whole_dir),
        "--progress".into(),
        "none".into(),
    ]);
    let refs: Vec<&str> = whole_args.iter().map(String::as_str).collect();
    let out = run_versus(&refs, LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let whole = read_report(&whole_dir);
    let (count, errors, bytes) = totals(&whole);
    assert_eq!(
        (count, errors),
        (OPERATIONS, 0),
        "users × iterations, no errors"
    );
    assert_eq!(
        bytes,
        OPERATIONS * 4096,
        "every fetch moved one 4 KiB object"
    );

    for m in [2, 3] {
        let inputs = shards(&dir.path().join(format!("m{m}")), m, &common);
        let merged_path = dir.path().join(format!("merged-{m}.json"));
        let out = merge(&merged_path, &inputs);
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        let text = std::fs::read_to_string(&merged_path).expect("merged report");
        let merged: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(
            totals(&merged),
            (count, errors, bytes),
            "M = {m}: the same totals"
        );
        assert_eq!(num(&merged, "runs.0.users"), 9, "M = {m}: every user, once");
        assert_eq!(num(&merged, "shard.count"), u64::from(m));
        let rows: u64 = merged["runs"][0]["intervals"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|row| row["ops"]["get"]["count"].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(
            rows, count,
            "M = {m}: the per-second rows add up to the total"
        );
        assert_eq!(
            merged["thresholds"][0]["passed"], true,
            "judged on the merge"
        );
        let parts = merged["runs"][0]["shard"]["parts"]
            .as_array()
            .expect("parts");
        assert_eq!(parts.len(), m as usize);
    }
}

#[test]
fn open_model_shards_send_exactly_the_unsharded_schedule() {
    let server = TestServer::start(Behaviour {
        body_len: 64,
        ..Behaviour::default()
    });
    let dir = temp_dir();
    let url = server.url("/x");
    let common: Vec<String> = [
        "--url",
        &url,
        "--rate",
        "150",
        "--duration",
        "2s",
        "--set",
        "load.arrivals=poisson",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let whole_dir = dir.path().join("whole");
    let mut args: Vec<String> = vec!["run".into()];
    args.extend(common.iter().cloned());
    args.extend([
        "--out".into(),
        path(&whole_dir),
        "--progress".into(),
        "none".into(),
    ]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run_versus(&refs, LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let intended = num(&read_report(&whole_dir), "runs.0.schedule.intended");
    assert!(
        intended > 200,
        "a Poisson schedule of about 300 arrivals: {intended}"
    );
    let inputs = shards(dir.path(), 2, &common);
    let merged_path = dir.path().join("merged.json");
    let out = merge(&merged_path, &inputs);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let merged: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&merged_path).expect("merged"))
            .expect("JSON");
    assert_eq!(
        num(&merged, "runs.0.schedule.intended"),
        intended,
        "the same arrivals"
    );
    let parts: Vec<u64> = inputs
        .iter()
        .map(|p| {
            let r: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(p).expect("shard")).expect("JSON");
            num(&r, "runs.0.schedule.intended")
        })
        .collect();
    assert_eq!(parts.iter().sum::<u64>(), intended);
    assert!(
        parts[0].abs_diff(parts[1]) <= 1,
        "arrival k goes to shard k % 2: {parts:?}"
    );
}

#[test]
fn missing_duplicated_and_foreign_shards_are_refused() {
    let server = TestServer::start(Behaviour::default());
    let dir = temp_dir();
    let url = server.url("/x");
    let common: Vec<String> = ["--url", &url, "--users", "3", "--duration", "1s"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let inputs = shards(dir.path(), 3, &common);
    let out_path = dir.path().join("merged.json");
    let refused = |inputs: &[String], says: &str| {
        let out = merge(&out_path, inputs);
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "expected {says:?} in: {stderr}");
        assert!(!out_path.exists(), "nothing merged silently");
    };
    refused(&inputs[..2], "shard 2 of 3 is missing");
    refused(
        &[inputs[0].clone(), inputs[0].clone(), inputs[1].clone()],
        "are both shard 0 of 3",
    );
    let mut foreign: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&inputs[2]).expect("shard")).expect("JSON");
    foreign["tool"]["git_sha"] = "0000000".into();
    let foreign_path = write_file(dir.path(), "foreign.json", &foreign.to_string());
    refused(
        &[inputs[0].clone(), inputs[1].clone(), path(&foreign_path)],
        "the builds differ",
    );
    let whole = dir.path().join("plain");
    let out = run_versus(
        &[
            "run",
            "--url",
            &url,
            "--users",
            "1",
            "--duration",
            "1s",
            "--out",
            &path(&whole),
            "--progress",
            "none",
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    refused(&[path(&whole.join("report.json"))], "is not a shard report");
}

#[test]
fn bad_shard_flags_exit_2_with_a_clear_message() {
    let start = start_in(Duration::from_secs(30));
    for (args, says) in [
        (
            vec!["--shard", "3/3", "--start-at", start.as_str()],
            "I must be below M",
        ),
        (
            vec!["--shard", "1/0", "--start-at", start.as_str()],
            "M must be at least 1",
        ),
        (
            vec!["--shard", "one/2", "--start-at", start.as_str()],
            "--shard \"one/2\"",
        ),
        (vec!["--shard", "0/2"], "needs a common start"),
        (
            vec!["--shard", "0/2", "--start-at", "2020-01-01T00:00:00Z"],
            "in the past",
        ),
        (
            vec!["--shard", "0/2", "--start-at", "soon"],
            "not an RFC 3339 time",
        ),
    ] {
        let mut all = vec![
            "run",
            "--url",
            "http://127.0.0.1:9/x",
            "--out",
            "/nonexistent/never",
        ];
        all.extend(args.iter().copied());
        let out = run_versus(&all, LIMIT);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(says),
            "{args:?}: expected {says:?} in: {stderr}"
        );
    }
}
