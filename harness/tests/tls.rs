//! TLS end to end through the real binary: a managed client-server run with
//! `network.tls = true` (counts and bytes in report.json against the servers' own
//! /metrics), `versus run --url https://…` against a TLS `versus server` (refused without
//! trust, driven with `--insecure` or `--cacert`), and bad TLS input (exit 2, the file
//! named).

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use support::{describe, read_report, run_versus, temp_dir, write_file};
use versus::launch::http_client::request_to;
use versus_targets::ready::ReadyLine;
use versus_targets::tls::client::{ClientTls, Destination};
use versus_targets::tls::{self, CertificateFiles, Trust};

const FETCH_TLS: &str = r#"
name = "fetch-tls"
[workload]
kind = "fetch"
objects = 4
object_size = "16KiB"
[load]
users = 3
duration = "2s"
[network]
tls = true
[architectures]
p2p = false
"#;

#[test]
fn a_managed_run_over_tls_counts_what_the_server_counts() {
    let dir = temp_dir();
    let scenario = write_file(dir.path(), "fetch.toml", FETCH_TLS);
    let out_dir = dir.path().join("out");
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        "--progress",
        "none",
    ];
    let out = run_versus(&args, Duration::from_secs(90));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let report = read_report(&out_dir);
    assert_eq!(report["scenario"]["network"]["tls"], true);
    let run = &report["runs"][0];
    assert_eq!(run["tls"], true, "the run says it spoke TLS");
    let get = &run["ops"]["get"];
    let count = get["count"].as_u64().unwrap();
    assert!(count > 20, "{count} GETs in 2 s");
    assert_eq!(get["errors_total"], 0);
    assert_eq!(get["bytes"].as_u64().unwrap(), count * 16 * 1024);
    // One keep-alive connection per user, one handshake each.
    let handshake = &run["ops"]["tls_handshake"];
    assert_eq!(handshake["count"], 3, "{handshake}");
    assert_eq!(handshake["errors_total"], 0);
    assert!(handshake["latency_us"]["p50"].as_u64().unwrap() > 0);
    assert_eq!(run["availability"].as_f64(), Some(1.0));
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    assert!(
        md.contains("spoke TLS") && md.contains("tls_handshake"),
        "{md}"
    );

    let server = &run["traffic"]["server"];
    let harness = &run["traffic"]["harness"];
    assert_eq!(
        server["gets_answered"].as_u64(),
        Some(count),
        "the server's /metrics count every GET the users sent"
    );
    // Both sides count under TLS: the same wire bytes, more than the payload — except
    // that when a user drops its connection at the end, the server still answers with
    // a TLS 1.3 close_notify alert (a 24-byte record) that nobody reads.
    let server_tx = server["tx_bytes"].as_u64().unwrap();
    let harness_rx = harness["rx_bytes"].as_u64().unwrap();
    assert!(
        server_tx >= harness_rx && server_tx - harness_rx <= 3 * 24,
        "server sent {server_tx}, users received {harness_rx}"
    );
    assert_eq!(server["rx_bytes"], harness["tx_bytes"]);
    let wire = server["tx_bytes"].as_u64().unwrap();
    let payload = get["bytes"].as_u64().unwrap();
    assert!(wire > payload, "wire {wire} vs payload {payload}");
    eprintln!(
        "{count} GETs of 16 KiB over TLS: {wire} wire bytes sent by the server for {payload} of payload ({:.2} %)",
        (wire - payload) as f64 * 100.0 / payload as f64
    );
}

/// A `versus server` process with `--tls-cert`/`--tls-key`; killed on drop.
struct TlsServer {
    child: Child,
    ready: ReadyLine,
    files: CertificateFiles,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TlsServer {
    fn start(dir: &Path) -> Self {
        let files = tls::self_signed(dir).expect("certificate generated");
        let mut child = Command::new(env!("CARGO_BIN_EXE_versus"))
            .arg("server")
            .arg("--tls-cert")
            .arg(&files.cert)
            .arg("--tls-key")
            .arg(&files.key)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("versus server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready = ReadyLine::parse(&line).unwrap_or_else(|| panic!("not a ready line: {line:?}"));
        TlsServer {
            child,
            ready,
            files,
        }
    }

    /// PUTs `bytes` over HTTPS and returns the object's https:// URL.
    async fn put(&self, bytes: Bytes) -> String {
        let addr = self.ready.data.parse().unwrap();
        let trusted = ClientTls::new(&Trust::Only(self.files.cert.clone())).unwrap();
        let to = Destination::new(addr, &self.ready.data, Some(&trusted)).unwrap();
        let (status, body) = request_to(
            &to,
            None,
            Method::PUT,
            "/objects",
            bytes,
            Duration::from_secs(10),
        )
        .await
        .expect("PUT over HTTPS");
        assert_eq!(status, StatusCode::CREATED);
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
        format!(
            "https://{}/objects/{}",
            self.ready.data,
            answer["id"].as_str().unwrap()
        )
    }
}

fn drive(url: &str, extra: &[&str], out: &Path) -> std::process::Output {
    let mut args = vec![
        "run",
        "--url",
        url,
        "--users",
        "2",
        "--duration",
        "1s",
        "--out",
        out.to_str().unwrap(),
        "--progress",
        "none",
    ];
    args.extend_from_slice(extra);
    run_versus(&args, Duration::from_secs(60))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_url_https_needs_trust_and_gets_it_from_insecure_or_cacert() {
    let dir = temp_dir();
    let server = TlsServer::start(dir.path());
    let url = server.put(Bytes::from(vec![7u8; 4096])).await;
    let out = dir.path().join("out");

    let refused = drive(&url, &[], &out);
    assert_eq!(refused.status.code(), Some(3), "{}", describe(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("certificate verification failed") && stderr.contains("--insecure"),
        "{stderr}"
    );

    let cacert = server.files.cert.to_str().unwrap().to_string();
    for extra in [vec!["--insecure"], vec!["--cacert", cacert.as_str()]] {
        let ran = drive(&url, &extra, &out);
        assert_eq!(ran.status.code(), Some(0), "{extra:?}: {}", describe(&ran));
        let run = &read_report(&out)["runs"][0];
        let get = &run["ops"]["get"];
        assert!(get["count"].as_u64().unwrap() > 10, "{get}");
        assert_eq!(get["errors_total"], 0);
        assert_eq!(
            get["bytes"].as_u64(),
            Some(get["count"].as_u64().unwrap() * 4096)
        );
        assert_eq!(run["ops"]["tls_handshake"]["count"], 2);
        assert_eq!(run["tls"], true);
    }
}

#[test]
fn bad_tls_input_is_a_usage_error_naming_the_file() {
    let dir = temp_dir();
    let files = tls::self_signed(dir.path()).unwrap();
    let junk = write_file(dir.path(), "junk.pem", "this is not PEM\n");
    let missing = dir.path().join("missing.pem");
    let path = |p: &Path| p.to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["server".into(), "--tls-cert".into(), path(&files.cert)],
            "--tls-key",
        ),
        (
            vec!["server".into(), "--tls-key".into(), path(&files.key)],
            "--tls-cert",
        ),
        (
            vec![
                "server".into(),
                "--tls-cert".into(),
                path(&missing),
                "--tls-key".into(),
                path(&files.key),
            ],
            "missing.pem",
        ),
        (
            vec![
                "server".into(),
                "--tls-cert".into(),
                path(&junk),
                "--tls-key".into(),
                path(&files.key),
            ],
            "junk.pem",
        ),
        (
            vec![
                "server".into(),
                "--tls-cert".into(),
                path(&files.cert),
                "--tls-key".into(),
                path(&junk),
            ],
            "junk.pem",
        ),
        (
            vec![
                "run".into(),
                "--url".into(),
                "https://127.0.0.1:1/".into(),
                "--cacert".into(),
                path(&missing),
            ],
            "missing.pem",
        ),
        (
            vec![
                "run".into(),
                "--url".into(),
                "http://127.0.0.1:1/".into(),
                "--insecure".into(),
            ],
            "https://",
        ),
        (
            vec![
                "run".into(),
                "--url".into(),
                "https://127.0.0.1:1/".into(),
                "--set".into(),
                "network.tls=true".into(),
            ],
            "network.tls",
        ),
    ];
    for (args, named) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_versus(&args, Duration::from_secs(20));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        assert!(
            stderr.contains(named),
            "{args:?} should name {named}: {stderr}"
        );
    }
}
