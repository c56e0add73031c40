//! `versus server` as a real process: what is PUT comes back byte for byte, and with
//! `--data-dir` a byte flipped on disk is detected and answered with an error, never
//! served — while running and after a restart.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use versus::launch::http_client::request;
use versus_targets::content::Manifest;
use versus_targets::ready::ReadyLine;

struct Server {
    child: Child,
    ready: ReadyLine,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &std::path::Path) -> Server {
    start_with(&["--data-dir", data_dir.to_str().unwrap()])
}

async fn call(server: &Server, method: Method, path: &str, body: Bytes) -> (StatusCode, Bytes) {
    let addr = server.ready.data.parse().unwrap();
    request(addr, None, method, path, body, Duration::from_secs(10))
        .await
        .unwrap_or((StatusCode::BAD_GATEWAY, Bytes::new()))
}

#[tokio::test]
async fn put_get_round_trip_and_corruption_is_never_served() {
    let dir = support::temp_dir();
    let bytes = Bytes::from(
        (0..1_048_579u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<u8>>(),
    );
    let id = Manifest::of(&bytes).id();
    let server = start(dir.path());
    let (status, body) = call(&server, Method::PUT, "/objects", bytes.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["id"], id.to_string());
    assert_eq!(answer["size"], bytes.len());
    let path = format!("/objects/{id}");
    let (status, got) = call(&server, Method::GET, &path, Bytes::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(got == bytes, "the GET returns exactly what was PUT");

    // Flip one byte of the stored object on disk.
    let file = versus_targets::store::data_file(dir.path(), &id);
    let mut stored = std::fs::read(&file).unwrap();
    stored[1000] ^= 0x01;
    std::fs::write(&file, &stored).unwrap();
    let (status, got) = call(&server, Method::GET, &path, Bytes::new()).await;
    assert_ne!(
        status,
        StatusCode::OK,
        "a corrupted object must not be served"
    );
    assert!(
        !got.windows(64).any(|w| w == &stored[1000 - 32..1000 + 32]),
        "no corrupted bytes on the wire"
    );

    drop(server);
    let server = start(dir.path());
    let (status, _) = call(&server, Method::GET, &path, Bytes::new()).await;
    assert_ne!(status, StatusCode::OK, "still refused after a restart");
}

fn start_with(args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_versus"))
        .arg("server")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("versus server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready = ReadyLine::parse(&line).unwrap_or_else(|| panic!("not a ready line: {line:?}"));
    Server { child, ready }
}

/// GETs `url` with `versus run --url` and returns (p50 µs, successful count).
fn measure(url: &str, args: &[&str]) -> (u64, u64) {
    let dir = support::temp_dir();
    let mut all = vec![
        "run",
        "--url",
        url,
        "--out",
        dir.path().to_str().unwrap(),
        "--progress",
        "none",
    ];
    all.extend_from_slice(args);
    let out = support::run_versus(&all, Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(0), "{}", support::describe(&out));
    let get = &support::read_report(dir.path())["runs"][0]["ops"]["get"];
    (
        get["latency_us"]["p50"].as_u64().unwrap(),
        get["count"].as_u64().unwrap() - get["errors_total"].as_u64().unwrap(),
    )
}

async fn put(server: &Server, bytes: Bytes) -> String {
    let (status, body) = call(server, Method::PUT, "/objects", bytes).await;
    assert_eq!(status, StatusCode::CREATED);
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    format!(
        "http://{}/objects/{}",
        server.ready.data,
        answer["id"].as_str().unwrap()
    )
}

#[tokio::test]
async fn upload_cap_paces_a_4_mib_get() {
    let server = start_with(&["--upload", "1MiB/s"]);
    let url = put(&server, Bytes::from(vec![5u8; 4 << 20])).await;
    let (p50, ok) = measure(
        &url,
        &[
            "--users",
            "1",
            "--set",
            "load.iterations=1",
            "--duration",
            "30s",
        ],
    );
    assert_eq!(ok, 1);
    assert!(
        (3_600_000..=4_400_000).contains(&p50),
        "4 MiB at 1 MiB/s took {p50} µs, not 4 s ± 10%"
    );
}

#[tokio::test]
async fn added_latency_shows_in_the_round_trip() {
    let plain = start_with(&[]);
    let slow = start_with(&["--latency", "25ms"]);
    let small = Bytes::from_static(b"a small object");
    let (plain_url, slow_url) = (put(&plain, small.clone()).await, put(&slow, small).await);
    let (base, _) = measure(&plain_url, &["--users", "1", "--duration", "1s"]);
    let (delayed, ok) = measure(&slow_url, &["--users", "1", "--duration", "1s"]);
    assert!(ok > 10);
    let added = delayed.saturating_sub(base);
    assert!(
        (24_000..=40_000).contains(&added),
        "25 ms of added latency measured as {added} µs"
    );
}
