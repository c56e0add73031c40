//! The peer host, `versus peers`: K peers in one process, on one Tokio runtime, so one
//! machine carries a thousand peers (a process per peer costs tens of MiB each). With
//! more than one peer the runtime has one worker thread per core (the binary builds it):
//! each peer's swarm and each of its connections are tasks of their own, so a host uses
//! the whole machine, as the same peers in separate processes would.
//!
//! Each hosted peer is a whole [`super::start`]ed peer: its own libp2p identity, listen
//! address, store, shaping (upload and download caps, latency), admin plane and metrics.
//! What they share is only what a process has once: the runtime and its threads, the
//! memory probe behind `--max-memory` ([`super::memory`], atomics, which then bounds the
//! process), stdout (written once, at start). No lock is shared between peers. Every peer prints its own ready line, in the order the peers were given.
//!
//! Faults hit single peers through their admin planes: `POST /kill` drops that peer's
//! swarm at once (its connections close, its listener goes) while the others keep
//! serving. A signal (SIGTERM, SIGINT) stops the whole host; SIGSTOP would freeze every
//! peer in it, so a peer host cannot pause one peer. The host exits once every peer has
//! stopped.
//!
//! ```text
//! versus peers --count 64 --bootstrap /ip4/127.0.0.1/tcp/4001/p2p/12D3Koo… --upload 512KiB/s
//! versus peers --each '["--upload","1MiB/s"]' --each '["--upload","256KiB/s","--misbehave","corrupt"]'
//! ```

use std::ffi::OsString;

use clap::Parser as _;
use futures::future::{join_all, try_join_all};

use super::{start, PeerArgs, RunningPeer};
use crate::signals::Signals;

/// Most peers one host process may run.
pub const MAX_HOSTED: u16 = 1024;

/// Command-line options of `versus peers`.
#[derive(clap::Args, Debug, Clone)]
pub struct HostArgs {
    /// Host this many identical peers (each binds its own ports: --listen and --admin
    /// need port 0).
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=i64::from(MAX_HOSTED)))]
    pub count: u16,
    /// One hosted peer with its own options: the arguments of `versus peer` as a JSON
    /// array of strings, e.g. '["--upload","1MiB/s"]'. Repeat once per peer; then give no
    /// other option.
    #[arg(long, value_name = "JSON")]
    pub each: Vec<String>,
    /// The options every peer of --count gets (those of `versus peer`).
    #[command(flatten)]
    pub peer: PeerArgs,
}

/// Options of `versus peers` that do not describe a set of peers.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// `--each` together with `--count` or other options.
    #[error("--each gives every option of its peer: pass no --count and no other option with it")]
    EachWithOthers,
    /// Several peers on one fixed port.
    #[error("--count {count} peers cannot all listen on {what} {addr}: pass port 0 so each peer picks its own")]
    FixedPort {
        /// Peers asked for.
        count: u16,
        /// `--listen` or `--admin`.
        what: &'static str,
        /// The address given.
        addr: String,
    },
    /// An `--each` value is not a JSON array of strings.
    #[error("--each #{index} is not a JSON array of strings ({why}); pass e.g. '[\"--upload\",\"1MiB/s\"]'")]
    NotJson {
        /// Which `--each`, from 1.
        index: usize,
        /// The parser's complaint.
        why: String,
    },
    /// An `--each` value holds options `versus peer` refuses.
    #[error("--each #{index}: {why}")]
    BadPeer {
        /// Which `--each`, from 1.
        index: usize,
        /// clap's complaint.
        why: String,
    },
    /// Too many peers for one process.
    #[error("{count} peers in one host; at most {MAX_HOSTED}")]
    TooMany {
        /// Peers asked for.
        count: usize,
    },
    /// An option of a peer is not UTF-8 (a path), so it cannot go into `--each`.
    #[error("an option of a hosted peer is not UTF-8: {0:?}")]
    NotUtf8(OsString),
}

/// Parses the options of one `versus peer`.
#[derive(clap::Parser)]
struct OnePeer {
    #[command(flatten)]
    peer: PeerArgs,
}

impl HostArgs {
    /// The peers these options describe, in order.
    pub fn peers(&self) -> Result<Vec<PeerArgs>, HostError> {
        if self.each.is_empty() {
            let count = self.count;
            if count > 1 {
                if self
                    .peer
                    .listen
                    .iter()
                    .any(|p| matches!(p, libp2p::multiaddr::Protocol::Tcp(port) if port != 0))
                {
                    return Err(HostError::FixedPort {
                        count,
                        what: "--listen",
                        addr: self.peer.listen.to_string(),
                    });
                }
                if self.peer.admin.port() != 0 {
                    return Err(HostError::FixedPort {
                        count,
                        what: "--admin",
                        addr: self.peer.admin.to_string(),
                    });
                }
            }
            return Ok(vec![self.peer.clone(); usize::from(count)]);
        }
        if self.count != 1 || self.peer.to_argv() != PeerArgs::default().to_argv() {
            return Err(HostError::EachWithOthers);
        }
        if self.each.len() > usize::from(MAX_HOSTED) {
            return Err(HostError::TooMany {
                count: self.each.len(),
            });
        }
        self.each
            .iter()
            .enumerate()
            .map(|(i, json)| {
                let index = i + 1;
                let argv: Vec<String> =
                    serde_json::from_str(json).map_err(|e| HostError::NotJson {
                        index,
                        why: e.to_string(),
                    })?;
                OnePeer::try_parse_from(std::iter::once("peer".to_string()).chain(argv))
                    .map(|one| one.peer)
                    .map_err(|e| HostError::BadPeer {
                        index,
                        why: e.to_string().trim().to_string(),
                    })
            })
            .collect()
    }
}

/// The arguments after `versus` that host `peers` in one process (`peers --each …`).
pub fn host_argv(peers: &[PeerArgs]) -> Result<Vec<OsString>, HostError> {
    let mut argv = vec![OsString::from("peers")];
    for peer in peers {
        let flags = peer
            .to_argv()
            .into_iter()
            .map(|a| a.into_string().map_err(HostError::NotUtf8))
            .collect::<Result<Vec<String>, _>>()?;
        argv.push("--each".into());
        // A list of strings always serialises.
        argv.push(serde_json::to_string(&flags).unwrap_or_default().into());
    }
    Ok(argv)
}

/// Starts `peers` in this process, all at once; on any failure the ones started stop.
pub async fn start_all(peers: Vec<PeerArgs>) -> anyhow::Result<Vec<RunningPeer>> {
    try_join_all(peers.into_iter().map(start)).await
}

/// `versus peers`: starts the peers, prints their ready lines, serves until SIGTERM or
/// SIGINT or until every peer has been killed, then shuts them all down.
pub async fn run(args: HostArgs) -> anyhow::Result<()> {
    let peers = args.peers().map_err(|e| -> anyhow::Error {
        clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{e}\n")).exit()
    })?;
    serve(peers).await
}

/// Starts `peers`, prints one ready line per peer (in order), serves until a signal or
/// until every peer has stopped, then shuts them down.
pub async fn serve(peers: Vec<PeerArgs>) -> anyhow::Result<()> {
    let count = peers.len();
    let running = start_all(peers)
        .await
        .map_err(crate::exposure::exit_on_usage_error)?;
    let mut signals = Signals::install()?;
    for peer in &running {
        peer.ready_line().print()?;
    }
    if count > 1 {
        tracing::info!("hosting {count} peers in this process");
    }
    let all_stopped = join_all(running.iter().map(RunningPeer::stopped));
    tokio::select! {
        signal = signals.recv() => tracing::info!("received {signal}; shutting down"),
        _ = all_stopped => tracing::info!("every peer of this process was killed; exiting"),
    }
    let results = join_all(running.into_iter().map(RunningPeer::shutdown)).await;
    results.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        host: HostArgs,
    }

    fn parse(argv: &[&str]) -> Result<Vec<PeerArgs>, HostError> {
        let cli = Cli::try_parse_from(std::iter::once("peers").chain(argv.iter().copied()))
            .expect("clap accepts it");
        cli.host.peers()
    }

    #[test]
    fn count_copies_the_options_and_wants_free_ports() {
        let peers = parse(&["--count", "3", "--upload", "1MiB/s"]).unwrap();
        assert_eq!(peers.len(), 3);
        assert!(peers.iter().all(|p| p.upload.is_some()));
        assert!(matches!(
            parse(&["--count", "2", "--admin", "127.0.0.1:9000"]),
            Err(HostError::FixedPort { .. })
        ));
        assert!(matches!(
            parse(&["--count", "2", "--listen", "/ip4/127.0.0.1/tcp/4001"]),
            Err(HostError::FixedPort { .. })
        ));
        assert_eq!(parse(&["--admin", "127.0.0.1:9000"]).unwrap().len(), 1);
    }

    #[test]
    fn each_round_trips_through_host_argv() {
        let a = PeerArgs {
            upload: Some("1MiB/s".parse().unwrap()),
            ..PeerArgs::default()
        };
        let b = PeerArgs {
            misbehave: Some(super::super::Misbehave::Corrupt),
            ..PeerArgs::default()
        };
        let argv = host_argv(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(argv[0], "peers");
        let cli = Cli::try_parse_from(
            std::iter::once(OsString::from("peers")).chain(argv.into_iter().skip(1)),
        )
        .unwrap();
        let peers = cli.host.peers().unwrap();
        assert_eq!(peers.len(), 2);
        assert_eq!(peers[0].to_argv(), a.to_argv());
        assert_eq!(peers[1].to_argv(), b.to_argv());
    }

    #[test]
    fn bad_each_values_are_named() {
        assert!(matches!(
            parse(&["--each", "upload"]),
            Err(HostError::NotJson { index: 1, .. })
        ));
        assert!(matches!(
            parse(&["--each", "[]", "--each", r#"["--misbehave","lie"]"#]),
            Err(HostError::BadPeer { index: 2, .. })
        ));
        assert!(matches!(
            parse(&["--count", "2", "--each", "[]"]),
            Err(HostError::EachWithOthers)
        ));
        assert!(matches!(
            parse(&["--upload", "1MiB/s", "--each", "[]"]),
            Err(HostError::EachWithOthers)
        ));
    }
}
