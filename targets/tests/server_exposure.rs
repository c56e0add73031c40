//! Exposure of `versus server` as a real process: a non-loopback `--listen` or `--admin`
//! without `--allow-remote` is bad usage (exit 2, the message names the flag and the
//! address); `--allow-remote` needs a token; with one, the admin plane answers 401 JSON
//! to requests without it (but `/healthz`), and the data plane stays open.

mod common;
mod node_process;

use std::time::Duration;

use bytes::Bytes;
use common::{sample, Client};
use hyper::{Method, StatusCode};
use node_process::{run_to_exit, ServerProcess};
use versus_targets::exposure::TOKEN_ENV;

/// The child process of the tests that need one (see `node_process`).
#[test]
fn child_server() {
    node_process::serve_if_child();
}

const EXIT_LIMIT: Duration = Duration::from_secs(30);

#[test]
fn a_non_loopback_address_without_allow_remote_is_refused_with_exit_2() {
    for (flag, addr) in [
        ("--admin", "0.0.0.0:0"),
        ("--listen", "0.0.0.0:0"),
        ("--admin", "[::]:0"),
    ] {
        let (status, stderr) = run_to_exit(&[flag, addr], &[], EXIT_LIMIT);
        assert_eq!(status.code(), Some(2), "{flag} {addr}: {stderr}");
        assert!(
            stderr.contains(&format!("{flag} {addr}")) && stderr.contains("--allow-remote"),
            "the message names the flag, the address and the way out: {stderr}"
        );
    }
}

#[test]
fn allow_remote_without_a_token_is_refused_with_exit_2() {
    let (status, stderr) = run_to_exit(&["--allow-remote"], &[(TOKEN_ENV, " ")], EXIT_LIMIT);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(TOKEN_ENV), "{stderr}");
    let (status, stderr) = run_to_exit(
        &["--allow-remote", "--token-file", "/nonexistent/token"],
        &[],
        EXIT_LIMIT,
    );
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/nonexistent/token"), "{stderr}");
}

async fn admin_get(client: &mut Client, path: &str, token: Option<&str>) -> common::Reply {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|b| vec![("authorization", b)])
        .unwrap_or_default();
    client.send(Method::GET, path, &headers, Bytes::new()).await
}

#[tokio::test]
async fn with_allow_remote_the_admin_plane_requires_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "correct-horse\n").unwrap();
    // Bound on loopback all the same: the test stays on this machine.
    let server = ServerProcess::start(&[
        "--allow-remote",
        "--token-file",
        token_file.to_str().unwrap(),
    ]);
    let mut admin = Client::connect(server.admin()).await;
    for token in [None, Some("wrong"), Some("correct-horse2")] {
        let reply = admin_get(&mut admin, "/metrics", token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "token {token:?}");
        let message = reply.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(message.contains("Bearer"), "{message}");
        assert_eq!(reply.header("www-authenticate").as_deref(), Some("Bearer"));
    }
    let reply = admin_get(&mut admin, "/nope", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "unknown routes too");
    let reply = admin_get(&mut admin, "/metrics", Some("correct-horse")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&reply.bytes()).contains("versus_requests_total"));
    let reply = admin_get(&mut admin, "/healthz", None).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "/healthz stays open for probes"
    );

    // The data plane is the public API: no token.
    let mut data = Client::connect(server.data()).await;
    data.put(sample(1000, 3)).await;
}

#[tokio::test]
async fn the_token_may_come_from_the_environment() {
    let server = ServerProcess::start_with_env(&["--allow-remote"], &[(TOKEN_ENV, "from-env")]);
    let mut admin = Client::connect(server.admin()).await;
    assert_eq!(
        admin_get(&mut admin, "/metrics", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        admin_get(&mut admin, "/metrics", Some("from-env"))
            .await
            .status,
        StatusCode::OK
    );
}
