//! The peer's admin plane with the shared guard (see `exposure` and `admin::serve_guarded`):
//! a non-loopback `--listen` multiaddr or `--admin` address is refused without
//! `--allow-remote`, and with a token the admin plane answers 401 without it.

mod common;

use common::Client;
use hyper::StatusCode;
use versus_targets::exposure::{ExposureArgs, ExposureError};
use versus_targets::peer::{self, PeerArgs};

#[tokio::test]
async fn non_loopback_planes_are_refused_without_allow_remote() {
    let remote_admin = PeerArgs {
        admin: "0.0.0.0:0".parse().unwrap(),
        ..PeerArgs::default()
    };
    let remote_listen = PeerArgs {
        listen: "/ip4/0.0.0.0/tcp/0".parse().unwrap(),
        ..PeerArgs::default()
    };
    for (args, named) in [
        (remote_admin, "--admin 0.0.0.0:0"),
        (remote_listen, "--listen /ip4/0.0.0.0/tcp/0"),
    ] {
        let Err(err) = peer::start(args).await else {
            panic!("{named} was accepted");
        };
        assert!(err.downcast_ref::<ExposureError>().is_some(), "{err:#}");
        assert!(format!("{err:#}").contains(named), "{err:#}");
    }
}

#[tokio::test]
async fn with_a_token_the_peer_admin_plane_requires_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "peer-token").unwrap();
    let running = peer::start(PeerArgs {
        exposure: ExposureArgs {
            allow_remote: true,
            token_file: Some(file),
        },
        ..PeerArgs::default()
    })
    .await
    .expect("the peer starts");
    let mut admin = Client::connect(running.admin_addr()).await;
    assert_eq!(admin.get("/status").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(admin.get("/healthz").await.status, StatusCode::OK);
    let reply = admin
        .send(
            hyper::Method::GET,
            "/status",
            &[("authorization", "Bearer peer-token")],
            bytes::Bytes::new(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    running.shutdown().await.unwrap();
}
