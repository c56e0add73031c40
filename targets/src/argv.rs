//! The targets' options turned back into command lines: how the harness starts a node
//! from a typed spec (`ServerArgs::to_argv`, `PeerArgs::to_argv`) without spelling any
//! flag itself. Parsing the result gives the same options back (tested below).

use std::ffi::OsString;

pub use libp2p::Multiaddr;

use crate::exposure::ExposureArgs;
use crate::limits::LimitArgs;
use crate::peer::PeerArgs;
use crate::server::ServerArgs;

/// Collects `--flag value` pairs.
#[derive(Default)]
struct Argv(Vec<OsString>);

impl Argv {
    fn flag(&mut self, name: &str, value: impl ToString) {
        self.0.push(format!("--{name}").into());
        self.0.push(value.to_string().into());
    }

    fn optional(&mut self, name: &str, value: Option<impl ToString>) {
        if let Some(v) = value {
            self.flag(name, v);
        }
    }

    fn path(&mut self, name: &str, value: Option<&std::path::Path>) {
        if let Some(p) = value {
            self.0.push(format!("--{name}").into());
            self.0.push(p.as_os_str().to_owned());
        }
    }

    /// The request limits and the exposure options both targets share.
    fn limits_and_exposure(&mut self, limits: &LimitArgs, exposure: &ExposureArgs) {
        self.flag("body-timeout", limits.body_timeout);
        self.flag("max-body-in-flight", limits.max_body_in_flight);
        self.flag("max-connections", limits.max_connections);
        if exposure.allow_remote {
            self.0.push("--allow-remote".into());
        }
        self.path("token-file", exposure.token_file.as_deref());
    }
}

impl ServerArgs {
    /// The arguments after `versus server` that give these options.
    pub fn to_argv(&self) -> Vec<OsString> {
        let mut a = Argv::default();
        a.flag("listen", self.listen);
        a.flag("admin", self.admin);
        a.optional("upload", self.upload);
        a.optional("download", self.download);
        a.optional("latency", self.latency);
        a.optional("jitter", self.jitter);
        a.path("data-dir", self.data_dir.as_deref());
        a.flag("max-object-size", self.max_object_size);
        a.flag("max-store-size", self.max_store_size);
        a.path("tls-cert", self.tls.tls_cert.as_deref());
        a.path("tls-key", self.tls.tls_key.as_deref());
        a.limits_and_exposure(&self.limits, &self.exposure);
        a.0
    }
}

impl PeerArgs {
    /// The arguments after `versus peer` that give these options.
    pub fn to_argv(&self) -> Vec<OsString> {
        let mut a = Argv::default();
        a.flag("listen", &self.listen);
        a.flag("admin", self.admin);
        for bootstrap in &self.bootstrap {
            a.flag("bootstrap", bootstrap);
        }
        a.optional("upload", self.upload);
        a.optional("download", self.download);
        a.optional("latency", self.latency);
        a.optional("jitter", self.jitter);
        for route in &self.latency_to {
            a.flag("latency-to", route);
        }
        if let Some(m) = self.misbehave {
            use clap::ValueEnum;
            if let Some(name) = m.to_possible_value() {
                a.flag("misbehave", name.get_name());
            }
        }
        a.flag("fetch-timeout", self.fetch_timeout);
        a.flag("lookup-timeout", self.lookup_timeout);
        a.flag("request-timeout", self.request_timeout);
        a.flag("max-requests-per-peer", self.max_requests_per_peer);
        a.optional("upload-slots", self.upload_slots);
        a.flag("idle-timeout", self.idle_timeout);
        a.flag("max-object-size", self.max_object_size);
        let c = &self.connections;
        a.flag("max-peer-connections", c.max_peer_connections);
        a.flag("max-connections-per-peer", c.max_connections_per_peer);
        a.flag("max-pending-connections", c.max_pending_connections);
        a.flag("max-memory", c.max_memory);
        a.limits_and_exposure(&self.limits, &self.exposure);
        a.0
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;

    use super::*;
    use crate::peer::{ConnectionArgs, Misbehave};
    use crate::units::{ByteRate, ByteSize, HumanDuration};

    #[derive(Parser)]
    enum Cli {
        Server(ServerArgs),
        Peer(PeerArgs),
    }

    fn parse(command: &str, argv: Vec<OsString>) -> Cli {
        let mut full: Vec<OsString> = vec!["versus".into(), command.into()];
        full.extend(argv);
        Cli::try_parse_from(full).expect("to_argv gives arguments the parser accepts")
    }

    #[test]
    fn server_args_survive_the_round_trip() {
        let args = ServerArgs {
            listen: "127.0.0.1:4100".parse().unwrap(),
            admin: "127.0.0.1:4101".parse().unwrap(),
            upload: Some(ByteRate(3 << 20)),
            download: Some(ByteRate(1000)),
            latency: Some(HumanDuration(Duration::from_micros(2500))),
            jitter: Some(HumanDuration(Duration::from_micros(500))),
            data_dir: Some("/tmp/some dir".into()),
            max_object_size: ByteSize(12345),
            max_store_size: ByteSize(99 << 20),
            limits: LimitArgs {
                body_timeout: HumanDuration(Duration::from_secs(3)),
                max_body_in_flight: ByteSize(7 << 20),
                max_connections: 17,
            },
            exposure: ExposureArgs {
                allow_remote: true,
                token_file: Some("/tmp/token".into()),
            },
            tls: crate::tls::TlsArgs {
                tls_cert: Some("/tmp/a cert.pem".into()),
                tls_key: Some("/tmp/key.pem".into()),
            },
        };
        let Cli::Server(back) = parse("server", args.to_argv()) else {
            panic!("not a server");
        };
        assert_eq!(format!("{back:?}"), format!("{args:?}"));
        let Cli::Server(default) = parse("server", ServerArgs::default().to_argv()) else {
            panic!("not a server");
        };
        assert_eq!(
            format!("{default:?}"),
            format!("{:?}", ServerArgs::default())
        );
    }

    #[test]
    fn peer_args_survive_the_round_trip() {
        let args = PeerArgs {
            listen: "/ip4/127.0.0.1/tcp/4001".parse().unwrap(),
            admin: "127.0.0.1:4002".parse().unwrap(),
            bootstrap: vec![
                "/ip4/127.0.0.1/tcp/1".parse().unwrap(),
                "/ip4/127.0.0.1/tcp/2".parse().unwrap(),
            ],
            upload: Some(ByteRate(512 << 10)),
            download: Some(ByteRate(1 << 20)),
            latency: Some(HumanDuration(Duration::from_millis(25))),
            jitter: Some(HumanDuration(Duration::from_millis(5))),
            latency_to: vec![
                "127.10.0.0/24=5ms".parse().unwrap(),
                "127.10.1.0/24=40ms,45ms".parse().unwrap(),
            ],
            misbehave: Some(Misbehave::Stall),
            fetch_timeout: HumanDuration(Duration::from_secs(7)),
            lookup_timeout: HumanDuration(Duration::from_millis(1500)),
            request_timeout: HumanDuration(Duration::from_secs(3)),
            max_requests_per_peer: 9,
            upload_slots: Some(3),
            idle_timeout: HumanDuration(Duration::from_secs(11)),
            max_object_size: ByteSize(64 << 20),
            connections: ConnectionArgs {
                max_peer_connections: 300,
                max_connections_per_peer: 3,
                max_pending_connections: 50,
                max_memory: ByteSize(512 << 20),
            },
            limits: LimitArgs::default(),
            exposure: ExposureArgs::default(),
        };
        let Cli::Peer(back) = parse("peer", args.to_argv()) else {
            panic!("not a peer");
        };
        assert_eq!(format!("{back:?}"), format!("{args:?}"));
        let Cli::Peer(default) = parse("peer", PeerArgs::default().to_argv()) else {
            panic!("not a peer");
        };
        assert_eq!(format!("{default:?}"), format!("{:?}", PeerArgs::default()));
    }
}
