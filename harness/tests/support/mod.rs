//! Test support: a real HTTP/1.1 server on loopback with known behaviour (a fixed delay,
//! a stall window) that counts every response it sends, and helpers to run the real
//! `versus` binary and read its report.

#![allow(dead_code)]

pub mod docker;
pub mod nginx;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// How the test server answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Behaviour {
    /// Every response waits this long.
    pub delay: Duration,
    /// Requests arriving in [start, start + len), measured from the first request, wait
    /// until the window ends: the server stalls.
    pub stall: Option<(Duration, Duration)>,
    /// Body size in bytes.
    pub body_len: usize,
    /// Answer with this status instead of 200.
    pub status: Option<u16>,
    /// Answer with this body instead of `body_len` bytes.
    pub body: Option<&'static str>,
}

/// A running test server. Dropping it stops it.
pub struct TestServer {
    pub addr: SocketAddr,
    answered: Arc<AtomicU64>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestServer {
    /// Starts a server with `behaviour` on 127.0.0.1 (own thread and runtime).
    pub fn start(behaviour: Behaviour) -> Self {
        let answered = Arc::new(AtomicU64::new(0));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let counter = answered.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(serve(behaviour, counter, addr_tx, rx));
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("test server started");
        Self {
            addr,
            answered,
            _shutdown: tx,
        }
    }

    /// Responses sent completely so far (the server's own log).
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::SeqCst)
    }

    /// `http://addr/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

async fn serve(
    behaviour: Behaviour,
    answered: Arc<AtomicU64>,
    addr_tx: std::sync::mpsc::Sender<SocketAddr>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    addr_tx.send(listener.local_addr().unwrap()).unwrap();
    let first_request: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
    let body = match behaviour.body {
        Some(text) => Bytes::from_static(text.as_bytes()),
        None => Bytes::from(vec![b'x'; behaviour.body_len]),
    };
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted { Ok(a) => a, Err(_) => continue },
            _ = &mut shutdown => return,
        };
        let (answered, first_request, body) =
            (answered.clone(), first_request.clone(), body.clone());
        tokio::spawn(async move {
            let service = service_fn(move |_req: Request<hyper::body::Incoming>| {
                let (answered, first_request, body) =
                    (answered.clone(), first_request.clone(), body.clone());
                async move {
                    let now = Instant::now();
                    let first = *first_request.get_or_init(|| now);
                    if let Some((start, len)) = behaviour.stall {
                        let (from, until) = (first + start, first + start + len);
                        if now >= from && now < until {
                            tokio::time::sleep_until(until.into()).await;
                        }
                    }
                    if !behaviour.delay.is_zero() {
                        // A thread sleep is precise to well under a millisecond; tokio's
                        // timer rounds up to the next millisecond tick.
                        let delay = behaviour.delay;
                        let _ =
                            tokio::task::spawn_blocking(move || std::thread::sleep(delay)).await;
                    }
                    answered.fetch_add(1, Ordering::SeqCst);
                    let mut response = Response::new(Full::new(body));
                    if let Some(code) = behaviour.status {
                        *response.status_mut() =
                            hyper::StatusCode::from_u16(code).expect("a valid status code");
                        if (300..400).contains(&code) {
                            response
                                .headers_mut()
                                .insert(hyper::header::LOCATION, "/elsewhere".parse().unwrap());
                        }
                    }
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The `versus` binary under test.
pub fn versus() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_versus"));
    c.env("NO_COLOR", "1");
    c
}

/// Runs `versus` with `args`, failing the test if it does not finish in `limit`.
pub fn run_versus(args: &[&str], limit: Duration) -> Output {
    let mut child = versus()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("versus starts");
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("versus {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads `dir/report.json`.
pub fn read_report(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("report.json")).expect("report.json written");
    serde_json::from_str(&text).expect("report.json is JSON")
}

/// A fresh temporary directory.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write scenario");
    path
}

/// Describes a finished process for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A marker unique to this test, put in the environment of the harness (and so of every
/// target it starts), to find processes left behind.
pub fn marker() -> String {
    format!(
        "VERSUS_TEST_MARKER={}-{}",
        std::process::id(),
        rand_suffix()
    )
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Processes whose environment holds `marker` (as `KEY=VALUE`).
pub fn processes_with(marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        if let Ok(env) = std::fs::read(entry.path().join("environ")) {
            if env.split(|b| *b == 0).any(|kv| kv == marker.as_bytes()) {
                found.push(pid);
            }
        }
    }
    found
}

/// `versus` with `marker` (KEY=VALUE) in its environment.
pub fn versus_marked(marker: &str) -> Command {
    let (key, value) = marker.split_once('=').expect("marker is KEY=VALUE");
    let mut c = versus();
    c.env(key, value);
    c
}

/// Waits for `child` up to `limit`; kills it and fails the test after that.
pub fn wait_bounded(mut child: std::process::Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// The number at dotted `path` in a report (`runs.0.ops.get.count`).
pub fn num(report: &serde_json::Value, path: &str) -> u64 {
    path.split('.')
        .fold(report, |v, k| match k.parse::<usize>() {
            Ok(i) => &v[i],
            Err(_) => &v[k],
        })
        .as_u64()
        .unwrap_or_else(|| panic!("{path} is not a number"))
}

/// Runs `versus args` marked with `marker` and extra `env`, bounded by `limit`, and
/// fails the test if any process it started is still running afterwards.
pub fn run_marked(marker: &str, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut cmd = versus_marked(marker);
    cmd.args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = wait_bounded(cmd.spawn().expect("versus starts"), limit);
    assert!(
        processes_with(marker).is_empty(),
        "processes left behind: {:?}",
        processes_with(marker)
    );
    out
}

/// Writes `scenario` to a file, runs it (bounded by `limit`), checks that it exits 0 and
/// leaves nothing running, and returns its report.json.
pub fn run_scenario(scenario: &str, limit: Duration) -> serde_json::Value {
    let dir = temp_dir();
    let path = write_file(dir.path(), "scenario.toml", scenario);
    let out_dir = dir.path().join("out");
    let args = [
        "run",
        path.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        "--progress",
        "none",
    ];
    let out = run_marked(&marker(), &args, &[], limit);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    read_report(&out_dir)
}
