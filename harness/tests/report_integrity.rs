//! Report files are never lost or trusted blindly: hostile report.json files given to
//! `compare`, `merge` and `export` are usage errors (exit 2) with a message, never a
//! panic; and a full disk under `--out` leaves the previous report.json whole and exits 3.

mod compare_support;
mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use compare_support::{base_report, write_report};
use support::{describe, run_versus, temp_dir, Behaviour, TestServer};

/// A valid report as JSON, to be damaged.
fn good_json() -> serde_json::Value {
    serde_json::to_value(base_report()).expect("a report serialises")
}

fn hostile_reports() -> Vec<(&'static str, String)> {
    let damaged = |edit: fn(&mut serde_json::Value)| {
        let mut v = good_json();
        edit(&mut v);
        v.to_string()
    };
    vec![
        ("empty file", String::new()),
        ("not JSON", "\u{0}\u{1}{{{ not json".into()),
        ("a JSON array", "[1, 2, 3]".into()),
        ("deeply nested", "[".repeat(100_000)),
        (
            "more errors than operations",
            damaged(|v| v["runs"][0]["ops"]["get"]["errors_total"] = 10_000_000.into()),
        ),
        (
            "a count beyond u64",
            damaged(|v| {
                v["runs"][0]["ops"]["get"]["count"] =
                    serde_json::Value::Number(serde_json::Number::from_f64(1e300).unwrap())
            }),
        ),
        (
            "error kinds that do not add up",
            damaged(|v| v["runs"][0]["ops"]["get"]["errors"]["timeout"] = 7.into()),
        ),
        (
            "a negative duration",
            damaged(|v| v["runs"][0]["duration_s"] = (-5.0).into()),
        ),
        (
            "an unknown architecture",
            damaged(|v| v["runs"][0]["arch"] = "mesh".into()),
        ),
        (
            "percentiles out of order",
            damaged(|v| v["runs"][0]["ops"]["get"]["latency_us"]["p50"] = 1_000_000_000.into()),
        ),
    ]
}

#[test]
fn hostile_reports_are_usage_errors_for_compare_merge_and_export() {
    let dir = temp_dir();
    let good = write_report(dir.path(), "good.json", &base_report());
    let good = good.to_str().unwrap();
    let merged = dir.path().join("merged.json");
    for (what, text) in hostile_reports() {
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, &text).unwrap();
        let bad = bad.to_str().unwrap();
        for args in [
            vec!["compare", good, bad],
            vec!["compare", bad, good],
            vec!["merge", merged.to_str().unwrap(), good, bad],
            vec!["export", "--format", "bmf", bad],
        ] {
            let out = run_versus(&args, Duration::from_secs(30));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{what}: {args:?}: {}",
                describe(&out)
            );
            assert!(!stderr.contains("panicked"), "{what}: {args:?}: {stderr}");
            assert!(
                stderr.contains("bad.json"),
                "{what}: the message names the file: {stderr}"
            );
        }
    }
    assert!(!merged.exists(), "nothing merged from a hostile input");
}

fn mounted(dir: &Path, size: &str) -> bool {
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success())
}

struct Unmount<'a>(&'a Path);

impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn a_full_disk_leaves_the_previous_report_whole_and_exits_3() {
    let dir = temp_dir();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    if !mounted(&out, "256k") {
        eprintln!("skipped: cannot mount a tmpfs here (needs root and mount(8))");
        return;
    }
    let _unmount = Unmount(&out);
    let server = TestServer::start(Behaviour::default());
    let run = |out: &Path| {
        run_versus(
            &[
                "run",
                "--url",
                &server.url("/"),
                "--duration",
                "1s",
                "--users",
                "2",
                "--out",
                out.to_str().unwrap(),
                "--progress",
                "none",
            ],
            Duration::from_secs(60),
        )
    };
    let first = run(&out);
    assert_eq!(first.status.code(), Some(0), "{}", describe(&first));
    let before = std::fs::read(out.join("report.json")).unwrap();
    serde_json::from_slice::<serde_json::Value>(&before).expect("a whole report");
    // Leave less room than one more set of report files needs.
    let free = nix_free_bytes(&out);
    let filler = vec![0u8; free.saturating_sub(8 << 10) as usize];
    let _ = std::fs::write(out.join("filler"), filler);
    let second = run(&out);
    assert_eq!(second.status.code(), Some(3), "{}", describe(&second));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("unchanged"), "{stderr}");
    assert_eq!(std::fs::read(out.join("report.json")).unwrap(), before);
    let leftovers: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// Free bytes of the file system holding `dir`, from df(1).
fn nix_free_bytes(dir: &Path) -> u64 {
    let out = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(dir)
        .output()
        .expect("df runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .expect("df prints the free bytes")
}

#[test]
fn a_comparison_of_nothing_is_refused_unless_allowed() {
    let dir = temp_dir();
    let baseline = base_report();
    let mut other = baseline.clone();
    other.runs[0].arch = versus::arch::Arch::P2p;
    let b = write_report(dir.path(), "cs.json", &baseline);
    let c = write_report(dir.path(), "p2p.json", &other);
    let (b, c) = (b.to_str().unwrap(), c.to_str().unwrap());
    let refused = run_versus(&["compare", b, c], Duration::from_secs(30));
    assert_eq!(refused.status.code(), Some(2), "{}", describe(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--allow-empty"));
    let allowed = run_versus(&["compare", b, c, "--allow-empty"], Duration::from_secs(30));
    assert_eq!(allowed.status.code(), Some(0), "{}", describe(&allowed));
}
