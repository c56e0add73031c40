//! What counts as a successful operation is checked against known truth: a 3xx answer
//! is an error (the driver follows no redirects, so the object never arrived); a peer's
//! fetch answer that names another object, or another size, is an error however it is
//! sent (200); and a peer that already held the object delivered no bytes.

mod support;

use std::time::Duration;

use bytes::Bytes;
use support::{describe, num, read_report, run_versus, temp_dir, Behaviour, TestServer};
use versus::drive::http::{Endpoint, HttpConnector};
use versus::drive::session::{Answer, Connector, ErrorKind, OpKind, Operation, Session};
use versus_targets::content::Manifest;

#[test]
fn a_redirect_is_an_error_not_a_success() {
    let server = TestServer::start(Behaviour {
        status: Some(302),
        ..Behaviour::default()
    });
    let out_dir = temp_dir();
    let out = run_versus(
        &[
            "run",
            "--url",
            &server.url("/"),
            "--users",
            "2",
            "--duration",
            "1s",
            "--out",
            out_dir.path().to_str().unwrap(),
            "--progress",
            "none",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let report = read_report(out_dir.path());
    let count = num(&report, "runs.0.ops.get.count");
    assert!(count > 0);
    assert_eq!(num(&report, "runs.0.ops.get.errors_total"), count);
    assert_eq!(num(&report, "runs.0.ops.get.errors.http_other"), count);
    assert_eq!(num(&report, "runs.0.ops.get.bytes"), 0);
}

/// One fetch of object `id` (`size` bytes) from a server that answers `body` with 200.
fn fetch_answered_with(
    body: &'static str,
    id: versus_targets::content::ObjectId,
    size: u64,
) -> Result<u64, ErrorKind> {
    let server = TestServer::start(Behaviour {
        body: Some(body),
        ..Behaviour::default()
    });
    let endpoint = Endpoint::at(server.addr);
    let op = Operation {
        kind: OpKind::Get,
        endpoint: 0,
        fallbacks: None,
        method: hyper::Method::POST,
        path: Bytes::from(format!("/fetch/{id}")),
        headers: None,
        body: None,
        answer: Answer::FetchStats { id, size },
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut session = HttpConnector::new(vec![endpoint], None).session(0);
        tokio::time::timeout(Duration::from_secs(10), session.execute(&op))
            .await
            .expect("an answer within 10 s")
    })
}

#[test]
fn a_peer_answering_200_without_the_object_is_an_error() {
    let object = Manifest::of(b"the object").id();
    let other = Manifest::of(b"another object").id();
    // Leaked: the test server needs 'static bodies; a few bytes per test.
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let wrong_id = leak(format!(r#"{{"id":"{other}","size":10,"bytes":10}}"#));
    assert_eq!(
        fetch_answered_with(wrong_id, object, 10),
        Err(ErrorKind::Verify)
    );
    let wrong_size = leak(format!(r#"{{"id":"{object}","size":11,"bytes":11}}"#));
    assert_eq!(
        fetch_answered_with(wrong_size, object, 10),
        Err(ErrorKind::Verify)
    );
    assert_eq!(fetch_answered_with("ok", object, 10), Err(ErrorKind::Body));
    let fetched = leak(format!(r#"{{"id":"{object}","size":10,"bytes":10}}"#));
    assert_eq!(fetch_answered_with(fetched, object, 10), Ok(10));
}

#[test]
fn a_local_hit_delivers_no_bytes() {
    let object = Manifest::of(b"the object").id();
    let held: &'static str =
        Box::leak(format!(r#"{{"id":"{object}","size":10,"bytes":0}}"#).into_boxed_str());
    assert_eq!(fetch_answered_with(held, object, 10), Ok(0));
}
