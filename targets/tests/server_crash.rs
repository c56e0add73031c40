//! Crash consistency of `versus server --data-dir`: parallel PUTs, DELETEs and GETs of a
//! few objects (the same ids from several clients), the server SIGKILLed at a random
//! moment, a few rounds. After each restart every acknowledged PUT not followed by a
//! DELETE is there and verifies, an object whose last acknowledged operation was a
//! DELETE is not, nothing else is served, and the directory holds no temporary or orphan
//! file. While running, a GET answers the object's exact bytes or 404, never an error.
//!
//! An operation in flight when the server died may or may not have taken effect, and so
//! may any operation that overlapped it in time: for those, either answer is accepted (a
//! served object must still be byte-exact).

mod common;
mod node_process;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use node_process::ServerProcess;
use tokio::net::TcpStream;
use versus_targets::content::Manifest;

/// The child process of the tests that need one (see `node_process`).
#[test]
fn child_server() {
    node_process::serve_if_child();
}

const ROUNDS: usize = 4;
const WORKERS: usize = 6;
const OBJECTS: usize = 6;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Put,
    Delete,
}

/// One PUT or DELETE: when it started and, if answered, when.
#[derive(Clone, Copy, Debug)]
struct Op {
    object: usize,
    kind: Kind,
    start: Instant,
    /// The answer's arrival; for an unanswered operation, when the server was killed.
    end: Instant,
    answered: bool,
}

/// A small deterministic PRNG (xorshift64*), seeded per run and printed on failure.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn payloads() -> Vec<Bytes> {
    (0..OBJECTS)
        .map(|i| common::sample((1 << 10) + i * (200 << 10), i as u8))
        .collect()
}

/// One request on a fresh-or-kept connection; `None` when the server is gone.
async fn call(
    conn: &mut Option<http1::SendRequest<Full<Bytes>>>,
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: Bytes,
) -> Option<(StatusCode, Bytes)> {
    if conn.is_none() {
        let stream = TcpStream::connect(addr).await.ok()?;
        let (sender, driver) = http1::handshake(TokioIo::new(stream)).await.ok()?;
        tokio::spawn(driver);
        *conn = Some(sender);
    }
    let sender = conn.as_mut()?;
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .body(Full::new(body))
        .ok()?;
    let answer = async {
        sender.ready().await.ok()?;
        let response = sender.send_request(request).await.ok()?;
        let status = response.status();
        let bytes = response.into_body().collect().await.ok()?.to_bytes();
        Some((status, bytes))
    }
    .await;
    if answer.is_none() {
        *conn = None;
    }
    answer
}

/// Runs one worker until the server dies or `stop` passes; records its PUTs and DELETEs.
async fn worker(addr: SocketAddr, seed: u64, stop: Instant, log: Arc<Mutex<Vec<Op>>>) {
    let objects = payloads();
    let ids: Vec<String> = objects
        .iter()
        .map(|b| Manifest::of(b).id().to_string())
        .collect();
    let mut rng = Rng(seed | 1);
    let mut conn = None;
    while Instant::now() < stop {
        let object = rng.below(OBJECTS as u64) as usize;
        let path = format!("/objects/{}", ids[object]);
        let roll = rng.below(10);
        if roll < 3 {
            let Some((status, body)) =
                call(&mut conn, addr, Method::GET, &path, Bytes::new()).await
            else {
                return;
            };
            assert!(
                (status == StatusCode::OK && body == objects[object])
                    || status == StatusCode::NOT_FOUND,
                "a GET during the run answered {status} ({} bytes) for object {object}: {}",
                body.len(),
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
            continue;
        }
        let (kind, method, target, body) = if roll < 7 {
            (
                Kind::Put,
                Method::PUT,
                "/objects".to_string(),
                objects[object].clone(),
            )
        } else {
            (Kind::Delete, Method::DELETE, path, Bytes::new())
        };
        let start = Instant::now();
        let answer = call(&mut conn, addr, method, &target, body).await;
        let answered = match answer {
            None => false,
            Some((status, body)) => {
                let expected = match kind {
                    Kind::Put => [StatusCode::CREATED, StatusCode::CREATED],
                    Kind::Delete => [StatusCode::NO_CONTENT, StatusCode::NOT_FOUND],
                };
                assert!(
                    expected.contains(&status),
                    "{kind:?} of object {object} answered {status}: {}",
                    String::from_utf8_lossy(&body)
                );
                true
            }
        };
        let op = Op {
            object,
            kind,
            start,
            end: Instant::now(),
            answered,
        };
        log.lock().expect("log").push(op);
        if !answered {
            return;
        }
    }
}

/// What the history says about `object`: `Some(present)` when certain, `None` when an
/// operation in flight at a kill, or overlapping the last one, leaves it open.
fn expected(history: &[Op], object: usize) -> Option<bool> {
    let ops: Vec<&Op> = history.iter().filter(|op| op.object == object).collect();
    let Some(last) = ops.iter().max_by_key(|op| op.start) else {
        return Some(false);
    };
    let settled = last.answered
        && ops
            .iter()
            .all(|op| std::ptr::eq(*op, *last) || (op.end < last.start));
    settled.then_some(last.kind == Kind::Put)
}

/// Checks the restarted server and its directory against the history.
async fn verify(server: &ServerProcess, dir: &std::path::Path, history: &[Op], round: usize) {
    let objects = payloads();
    let mut conn = None;
    let mut may_exist = Vec::new();
    for (object, bytes) in objects.iter().enumerate() {
        let id = Manifest::of(bytes).id().to_string();
        let path = format!("/objects/{id}");
        let (status, body) = call(&mut conn, server.data(), Method::GET, &path, Bytes::new())
            .await
            .expect("the restarted server answers");
        let present = match status {
            StatusCode::OK => {
                assert!(
                    body == *bytes,
                    "round {round}: object {object} served with other bytes"
                );
                true
            }
            StatusCode::NOT_FOUND => false,
            other => panic!("round {round}: object {object} answered {other} after a restart"),
        };
        if let Some(want) = expected(history, object) {
            assert_eq!(
                present, want,
                "round {round}: object {object} (history {history:?})"
            );
        }
        if present {
            may_exist.push(id);
        }
    }
    for entry in std::fs::read_dir(dir).expect("the data directory") {
        let name = entry
            .expect("an entry")
            .file_name()
            .into_string()
            .expect("UTF-8");
        let (stem, other) = match (name.strip_suffix(".data"), name.strip_suffix(".manifest")) {
            (Some(stem), _) => (stem, format!("{stem}.manifest")),
            (_, Some(stem)) => (stem, format!("{stem}.data")),
            _ => panic!("round {round}: unexpected file {name} left in the data directory"),
        };
        assert!(
            may_exist.iter().any(|id| id == stem),
            "round {round}: {name} is not a served object"
        );
        assert!(
            dir.join(&other).exists(),
            "round {round}: {name} without {other}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_parallel_puts_and_deletes_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_string();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64);
    eprintln!("crash-consistency seed {seed}");
    let mut rng = Rng(seed | 1);
    let history = Arc::new(Mutex::new(Vec::new()));
    let mut server = ServerProcess::start(&["--data-dir", &data_dir]);
    for round in 0..ROUNDS {
        let run_for = Duration::from_millis(300 + rng.below(900));
        let stop = Instant::now() + Duration::from_secs(5);
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let log = Arc::clone(&history);
                tokio::spawn(worker(server.data(), rng.next() ^ w as u64, stop, log))
            })
            .collect();
        tokio::time::sleep(run_for).await;
        server.kill();
        let killed = Instant::now();
        for task in workers {
            task.await.expect("a worker panicked");
        }
        for op in history
            .lock()
            .expect("log")
            .iter_mut()
            .filter(|op| !op.answered)
        {
            op.end = op.end.max(killed);
        }
        server = ServerProcess::start(&["--data-dir", &data_dir]);
        let snapshot = history.lock().expect("log").clone();
        eprintln!(
            "round {round}: killed after {run_for:?}, {} operations so far, {} unanswered",
            snapshot.len(),
            snapshot.iter().filter(|op| !op.answered).count()
        );
        verify(&server, dir.path(), &snapshot, round).await;
    }
}
