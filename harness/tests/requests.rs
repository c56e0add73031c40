//! `versus run --url` with requests: a POST with a body and headers arrives at a real
//! server (an echo server in the test, on loopback, that records every request it got)
//! exactly as sent; a requests file with named requests gives per-name counts
//! (`req:<name>`) equal to what the server saw; bad input exits 2 naming the flag, or
//! the file and line.

mod support;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use support::{describe, num, read_report, run_versus, temp_dir, write_file};

/// One request as the server got it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    method: String,
    path: String,
    headers: BTreeMap<String, Vec<String>>,
    body: Vec<u8>,
}

/// An HTTP/1.1 server on 127.0.0.1 that answers 200 to everything and records each
/// request it read completely. Stops when dropped.
struct EchoServer {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl EchoServer {
    fn start() -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let log = seen.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                loop {
                    let (stream, _) = tokio::select! {
                        a = listener.accept() => match a { Ok(a) => a, Err(_) => continue },
                        _ = &mut rx => return,
                    };
                    let log = log.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                            let log = log.clone();
                            async move {
                                let (parts, body) = req.into_parts();
                                let body = body.collect().await.map(|b| b.to_bytes());
                                if let Ok(body) = body {
                                    let mut headers: BTreeMap<String, Vec<String>> =
                                        BTreeMap::new();
                                    for (name, value) in &parts.headers {
                                        headers
                                            .entry(name.to_string())
                                            .or_default()
                                            .push(value.to_str().unwrap().to_string());
                                    }
                                    log.lock().unwrap().push(Seen {
                                        method: parts.method.to_string(),
                                        path: parts.uri.to_string(),
                                        headers,
                                        body: body.to_vec(),
                                    });
                                }
                                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                                    b"ok",
                                ))))
                            }
                        });
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        Self {
            addr,
            seen,
            _shutdown: tx,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// `versus run` with `args`, briefly, one thread, no progress, into `out`.
fn run(args: &[&str], out: &std::path::Path) -> std::process::Output {
    let mut all: Vec<&str> = vec!["run"];
    all.extend_from_slice(args);
    all.extend_from_slice(&[
        "--users",
        "2",
        "--duration",
        "1s",
        "--threads",
        "1",
        "--progress",
        "none",
        "--out",
        out.to_str().unwrap(),
    ]);
    run_versus(&all, Duration::from_secs(60))
}

#[test]
fn a_post_with_a_body_and_headers_arrives_as_sent() {
    let server = EchoServer::start();
    let dir = temp_dir();
    let payload = r#"{"hello": "world", "n": 42}"#;
    let body = write_file(dir.path(), "payload.json", payload);
    let body_arg = format!("@{}", body.display());
    let out_dir = dir.path().join("out");
    let out = run(
        &[
            "--url",
            &server.url("/echo?x=1"),
            "--method",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--header",
            "X-Versus-Test: hello world",
            "--body",
            &body_arg,
        ],
        &out_dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let seen = server.seen();
    assert!(!seen.is_empty(), "the server got no request");
    for s in &seen {
        assert_eq!((s.method.as_str(), s.path.as_str()), ("POST", "/echo?x=1"));
        assert_eq!(s.body, payload.as_bytes());
        assert_eq!(s.headers["content-type"], ["application/json"]);
        assert_eq!(s.headers["x-versus-test"], ["hello world"]);
        assert_eq!(s.headers["content-length"], [payload.len().to_string()]);
        assert_eq!(s.headers["host"], [server.addr.to_string()]);
    }
    let report = read_report(&out_dir);
    let ops = &report["runs"][0]["ops"];
    assert!(ops.get("get").is_none(), "a POST is not a get: {ops}");
    let op = "runs.0.ops.req:POST /echo?x=1";
    let ok = num(&report, &format!("{op}.count")) - num(&report, &format!("{op}.errors_total"));
    assert_eq!(
        ok,
        seen.len() as u64,
        "the report's successes are the server's requests"
    );
}

#[test]
fn a_requests_file_counts_each_named_request_as_the_server_saw_it() {
    let server = EchoServer::start();
    let dir = temp_dir();
    write_file(dir.path(), "beta.txt", "beta body");
    write_file(
        dir.path(),
        "requests.txt",
        "# two named requests\n\nGET /alpha name=alpha\nPOST /beta \"X-Kind: beta one\" @beta.txt name=beta\n",
    );
    let scenario = write_file(
        dir.path(),
        "requests.toml",
        &format!(
            "name = \"reqs\"\n[workload]\nkind = \"url\"\nurl = \"{}\"\nrequests = \"requests.txt\"\norder = \"random\"\nheaders = [\"X-All: yes\"]\n[thresholds]\n\"req:alpha\".p99 = \"< 60s\"\n\"req:beta\".error_rate = \"<= 50%\"\n",
            server.url("/")
        ),
    );
    let out_dir = dir.path().join("out");
    let out = run(&[scenario.to_str().unwrap()], &out_dir);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let seen = server.seen();
    let count = |path: &str| seen.iter().filter(|s| s.path == path).count() as u64;
    for s in &seen {
        assert_eq!(s.headers["x-all"], ["yes"]);
        if s.path == "/beta" {
            assert_eq!(
                (s.method.as_str(), &s.body[..]),
                ("POST", &b"beta body"[..])
            );
            assert_eq!(s.headers["x-kind"], ["beta one"]);
        } else {
            assert_eq!((s.method.as_str(), s.path.as_str()), ("GET", "/alpha"));
        }
    }
    let report = read_report(&out_dir);
    for (name, path) in [("alpha", "/alpha"), ("beta", "/beta")] {
        let op = format!("runs.0.ops.req:{name}");
        let ok = num(&report, &format!("{op}.count")) - num(&report, &format!("{op}.errors_total"));
        assert!(ok > 0, "no {name} requests");
        assert_eq!(ok, count(path), "req:{name} against the server's log");
    }
}

#[test]
fn bad_requests_exit_2_naming_the_flag_or_the_file_and_line() {
    let dir = temp_dir();
    let url = "http://127.0.0.1:9/";
    let requests = write_file(dir.path(), "bad.txt", "GET /ok\n\nGET / NoColonHere\n");
    let requests = requests.to_str().unwrap();
    let missing = dir.path().join("missing.json");
    let missing_body = format!("@{}", missing.display());
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["--url", url, "-H", "NoColonHere"],
            &["-H/--header", "NoColonHere"],
        ),
        (
            &["--url", url, "-H", "Bad Name: x"],
            &["-H/--header", "Bad Name"],
        ),
        (
            &["--url", url, "--body", &missing_body],
            &["--body", "missing.json"],
        ),
        (&["--url", url, "--method", "FETCH"], &["--method", "FETCH"]),
    ];
    let file_case: (&[&str], &[&str]) = (
        &["--url", url, "--requests", requests],
        &["bad.txt", "line 3", "NoColonHere"],
    );
    write_file(dir.path(), "good.txt", "GET /a name=a\n");
    let scenario = write_file(
        dir.path(),
        "thresholds.toml",
        &format!("name = \"t\"\n[workload]\nkind = \"url\"\nurl = \"{url}\"\nrequests = \"good.txt\"\n[thresholds]\n\"req:nope\".p99 = \"< 1s\"\n"),
    );
    let threshold_case: (&[&str], &[&str]) = (
        &[scenario.to_str().unwrap()],
        &["thresholds.toml:7", "req:nope", "no request is named"],
    );
    for (args, wanted) in cases.iter().chain([&file_case, &threshold_case]) {
        let out = run(args, &dir.path().join("out"));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        for w in *wanted {
            assert!(stderr.contains(w), "{args:?}: {w:?} not in {stderr}");
        }
    }
}
