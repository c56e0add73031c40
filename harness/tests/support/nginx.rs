//! A stock nginx on loopback, configured by the test, whose access log is the truth the
//! harness's counts are checked against: each line is `<connection> <status>
//! "<request line>"`, so the protocol of every request (`HTTP/1.1`, `HTTP/2.0`) and the
//! connection that carried it are known.
//!
//! Needs the `nginx` binary (`.ci/run` installs it). Without it the tests say so and
//! pass locally, but fail under CI (`CI` set), where they must run.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use super::{describe, read_report, run_versus};

/// The body of `/file.bin`: 4 KiB.
pub const FILE_LEN: u64 = 4096;

/// nginx closes each connection after this many requests (a server directive), so the
/// harness must reconnect many times without losing or double-counting a request.
pub const KEEPALIVE: &str = "keepalive_requests 100;";

/// The nginx binary, or `None` (said on stderr) when it is not installed outside CI.
pub fn binary() -> Option<String> {
    let found = ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .map(str::to_string);
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "nginx is required under CI: .ci/run installs it"
        );
        eprintln!("SKIPPED: nginx is not installed (apt-get install nginx)");
    }
    found
}

/// nginx's version as (major, minor, patch), from `nginx -v`.
pub fn version(nginx: &str) -> (u32, u32, u32) {
    let out = Command::new(nginx)
        .arg("-v")
        .output()
        .expect("nginx -v runs");
    let text = String::from_utf8_lossy(&out.stderr);
    let number = text
        .split("nginx/")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("cannot read the version in {text:?}"));
    let mut parts = number.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next())
}

/// The `listen` parameters and server directives that turn HTTP/2 on, for this nginx:
/// `listen … http2` before 1.25.1, `http2 on;` since.
pub fn http2_directives(nginx: &str) -> (&'static str, &'static str) {
    if version(nginx) >= (1, 25, 1) {
        ("", "http2 on;")
    } else {
        (" http2", "")
    }
}

/// A running nginx serving `www/file.bin`, its access log in `log`. Killed on drop.
pub struct Nginx {
    child: Child,
    /// Where it listens on 127.0.0.1.
    pub port: u16,
    log: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    /// Starts `nginx` in `dir`. `listen` follows the address in the `listen` directive
    /// (` ssl`, ` http2`); `server` is added to the server block (certificates,
    /// `keepalive_requests`, `http2 on;`).
    pub fn start(nginx: &str, dir: &Path, listen: &str, server: &str) -> Nginx {
        let root = dir.join("www");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("file.bin"), vec![7u8; FILE_LEN as usize]).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.join("access.log");
        let conf = dir.join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "worker_processes 1;\nmaster_process off;\ndaemon off;\npid {pid};\nerror_log {err};\nevents {{ worker_connections 1024; }}\n\
                 http {{\n  log_format counted '$connection $status \"$request\"';\n  access_log {log} counted;\n  client_body_temp_path {tmp};\n  proxy_temp_path {tmp};\n  fastcgi_temp_path {tmp};\n  uwsgi_temp_path {tmp};\n  scgi_temp_path {tmp};\n\
                 \x20 server {{ listen 127.0.0.1:{port}{listen}; {server} root {root}; }}\n}}\n",
                pid = dir.join("nginx.pid").display(),
                err = dir.join("error.log").display(),
                log = log.display(),
                tmp = dir.display(),
                root = root.display(),
            ),
        )
        .unwrap();
        let child = Command::new(nginx)
            .args(["-c", conf.to_str().unwrap(), "-p", dir.to_str().unwrap()])
            .spawn()
            .expect("nginx starts");
        let mut server = Nginx { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                let errors = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
                panic!("nginx exited ({status}): {errors}");
            }
            assert!(Instant::now() < deadline, "nginx did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Stops nginx (so its log is complete) and returns the 200s it logged for
    /// `GET /file.bin` over `protocol` (`HTTP/1.1`, `HTTP/2.0`), the distinct
    /// connections that carried them, and the lines logged over any other protocol.
    pub fn stop_and_count(mut self, protocol: &str) -> (u64, u64, u64) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.log).unwrap();
        let wanted = format!(" 200 \"GET /file.bin {protocol}\"");
        let (ok, other): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| l.ends_with(&wanted));
        let other = other
            .iter()
            .filter(|l| !l.ends_with(&format!(" {protocol}\"")))
            .count();
        let connections: BTreeSet<&str> = ok.iter().filter_map(|l| l.split(' ').next()).collect();
        (ok.len() as u64, connections.len() as u64, other as u64)
    }
}

/// Drives `url` with 8 users for 2 s (plus `extra` flags); returns the report's first run.
pub fn drive(url: &str, extra: &[&str], out_dir: &Path) -> serde_json::Value {
    let mut args = vec![
        "run",
        "--url",
        url,
        "--users",
        "8",
        "--duration",
        "2s",
        "--out",
        out_dir.to_str().unwrap(),
        "--progress",
        "none",
    ];
    args.extend_from_slice(extra);
    let out = run_versus(&args, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    read_report(out_dir)["runs"][0].clone()
}

/// The successful GETs of `run`, checked against nginx's count and the bytes.
pub fn successful_gets(run: &serde_json::Value, logged_200: u64) -> u64 {
    let get = &run["ops"]["get"];
    let ok = get["count"].as_u64().unwrap() - get["errors_total"].as_u64().unwrap();
    assert!(ok > 500, "too few requests to mean anything: {ok}");
    assert_eq!(
        ok, logged_200,
        "successful GETs in report.json vs 200s in nginx's access log"
    );
    assert_eq!(
        get["bytes"].as_u64().unwrap(),
        ok * FILE_LEN,
        "every body was read in full"
    );
    ok
}
