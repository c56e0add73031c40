//! Against a stock nginx on loopback: the successful GETs in report.json equal the
//! requests nginx logged with status 200, exactly. nginx's access log is the truth.
//!
//! Needs the `nginx` binary (`.ci/run` installs it). Without it the test says so and
//! passes locally, but fails under CI (`CI` set), where it must run.

mod support;

use std::net::TcpListener;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use support::{describe, read_report, run_versus, temp_dir};

fn nginx_binary() -> Option<String> {
    ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(str::to_string)
}

struct Nginx {
    child: Child,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn successful_gets_equal_nginx_200s() {
    let Some(nginx) = nginx_binary() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "nginx is required under CI: .ci/run installs it"
        );
        eprintln!("SKIPPED: nginx is not installed (apt-get install nginx)");
        return;
    };
    let dir = temp_dir();
    let root = dir.path().join("www");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("file.bin"), vec![7u8; 4096]).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = dir.path().join("access.log");
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "worker_processes 1;\nmaster_process off;\ndaemon off;\npid {pid};\nerror_log {err};\nevents {{ worker_connections 1024; }}\n\
             http {{\n  access_log {log};\n  client_body_temp_path {tmp};\n  proxy_temp_path {tmp};\n  fastcgi_temp_path {tmp};\n  uwsgi_temp_path {tmp};\n  scgi_temp_path {tmp};\n\
             \x20 server {{ listen 127.0.0.1:{port}; root {root}; keepalive_requests 100; }}\n}}\n",
            pid = dir.path().join("nginx.pid").display(),
            err = dir.path().join("error.log").display(),
            log = log.display(),
            tmp = dir.path().display(),
            root = root.display(),
        ),
    )
    .unwrap();
    let mut server = Nginx {
        child: Command::new(&nginx)
            .args([
                "-c",
                conf.to_str().unwrap(),
                "-p",
                dir.path().to_str().unwrap(),
            ])
            .spawn()
            .expect("nginx starts"),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nginx did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out_dir = dir.path().join("out");
    // keepalive_requests 100 makes nginx close each connection after 100 requests, so the
    // harness must reconnect many times without losing or double-counting a request.
    let out = run_versus(
        &[
            "run",
            "--url",
            &format!("http://127.0.0.1:{port}/file.bin"),
            "--users",
            "8",
            "--duration",
            "2s",
            "--out",
            out_dir.to_str().unwrap(),
            "--progress",
            "none",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    // Stop nginx so its log is complete.
    let _ = server.child.kill();
    let _ = server.child.wait();
    let logged_200 = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"GET /file.bin HTTP/1.1\" 200 "))
        .count() as u64;
    let report = read_report(&out_dir);
    let get = &report["runs"][0]["ops"]["get"];
    let ok = get["count"].as_u64().unwrap() - get["errors_total"].as_u64().unwrap();
    assert!(ok > 500, "too few requests to mean anything: {ok}");
    assert_eq!(
        ok, logged_200,
        "successful GETs in report.json vs 200s in nginx's access log"
    );
    assert_eq!(
        get["bytes"].as_u64().unwrap(),
        ok * 4096,
        "every body was read in full"
    );
}
