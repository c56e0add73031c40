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
    let mut child = Command::new(env!("CARGO_BIN_EXE_versus"))
        .args(["server", "--data-dir", data_dir.to_str().unwrap()])
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

async fn call(server: &Server, method: Method, path: &str, body: Bytes) -> (StatusCode, Bytes) {
    let addr = server.ready.data.parse().unwrap();
    request(addr, method, path, body, Duration::from_secs(10))
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
