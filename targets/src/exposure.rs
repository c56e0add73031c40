//! Who may reach a node: every plane listens on loopback unless `--allow-remote` is
//! given, and then a bearer token guards the admin plane.
//!
//! - [`ExposureArgs::check`] refuses a non-loopback address for any plane without
//!   `--allow-remote` ([`ExposureError`], a usage error: `versus server` and `versus peer`
//!   exit 2), and with `--allow-remote` requires a token, read from `--token-file FILE` or
//!   the `VERSUS_TOKEN` environment variable.
//! - [`Token`] checks `Authorization: Bearer <token>` in constant time. A token, once
//!   given, guards the admin plane whatever the addresses; `GET /healthz` stays open so
//!   liveness probes need no secret (it says nothing but "ok"). The server's data plane
//!   (the object store API) is not guarded: with `--allow-remote` it is meant to be
//!   reached.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use libp2p::multiaddr::Protocol;
use libp2p::Multiaddr;

/// The environment variable a token may come from.
pub const TOKEN_ENV: &str = "VERSUS_TOKEN";

/// Command-line options for exposing a node beyond loopback.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ExposureArgs {
    /// Accept non-loopback addresses for --listen and --admin; the admin plane then
    /// requires a bearer token (--token-file or VERSUS_TOKEN).
    #[arg(long)]
    pub allow_remote: bool,
    /// File holding the admin plane's bearer token (surrounding whitespace ignored);
    /// otherwise the VERSUS_TOKEN environment variable is used.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

/// A refused exposure: bad usage, to be fixed on the command line.
#[derive(Debug, thiserror::Error)]
pub enum ExposureError {
    /// A plane was given a non-loopback address without `--allow-remote`.
    #[error("{flag} {addr} is not a loopback address; pass --allow-remote (with --token-file FILE or {TOKEN_ENV}) to serve beyond this machine, or use 127.0.0.1")]
    NotLoopback {
        /// The flag that named the address.
        flag: &'static str,
        /// The address (or host) given.
        addr: String,
    },
    /// `--allow-remote` without a token.
    #[error("--allow-remote needs a bearer token for the admin plane: pass --token-file FILE or set {TOKEN_ENV}")]
    NoToken,
    /// The token file could not be read or is empty.
    #[error("--token-file {path}: {why}; give a readable file holding the token")]
    BadTokenFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// `VERSUS_TOKEN` is set but empty.
    #[error("{TOKEN_ENV} is set but empty; set it to the token, or unset it")]
    EmptyEnvToken,
}

impl ExposureArgs {
    /// Checks the planes' addresses (`(flag, address)` pairs) against these options and
    /// returns the admin plane's token, if one is required or given.
    pub fn check(
        &self,
        planes: &[(&'static str, SocketAddr)],
    ) -> Result<Option<Token>, ExposureError> {
        for (flag, addr) in planes {
            check_loopback(self.allow_remote, flag, ip_is_loopback(addr.ip()), addr)?;
        }
        let token = self.token()?;
        if self.allow_remote && token.is_none() {
            return Err(ExposureError::NoToken);
        }
        Ok(token)
    }

    /// [`ExposureArgs::check`] for a peer: its libp2p `--listen` multiaddr and its
    /// `--admin` address.
    pub fn check_peer(
        &self,
        listen: &Multiaddr,
        admin: SocketAddr,
    ) -> Result<Option<Token>, ExposureError> {
        check_loopback(
            self.allow_remote,
            "--listen",
            multiaddr_is_loopback(listen),
            listen,
        )?;
        self.check(&[("--admin", admin)])
    }

    /// The token from `--token-file`, else from `VERSUS_TOKEN`, else none.
    pub fn token(&self) -> Result<Option<Token>, ExposureError> {
        if let Some(path) = &self.token_file {
            return read_token_file(path).map(Some);
        }
        match std::env::var(TOKEN_ENV) {
            Ok(text) if text.trim().is_empty() => Err(ExposureError::EmptyEnvToken),
            Ok(text) => Ok(Some(Token::new(text.trim()))),
            Err(_) => Ok(None),
        }
    }
}

/// Whether `ip` is a loopback address, IPv4-mapped IPv6 (`::ffff:127.0.0.1`) included.
pub fn ip_is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(v6.is_loopback(), |v4| v4.is_loopback()),
    }
}

/// Whether a multiaddr names a loopback IP address (a DNS name never counts).
pub fn multiaddr_is_loopback(addr: &Multiaddr) -> bool {
    addr.iter().any(|protocol| match protocol {
        Protocol::Ip4(ip) => ip_is_loopback(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => ip_is_loopback(IpAddr::V6(ip)),
        _ => false,
    })
}

/// Exits the process with code 2 (bad usage, as clap does for a bad flag) when `error`
/// is an [`ExposureError`] or a [`TlsError`](crate::tls::TlsError) (a certificate or key
/// file that cannot be used), printing it; any other error is returned as it is. For
/// the `run` functions of the commands, which own the process.
pub fn exit_on_usage_error(error: anyhow::Error) -> anyhow::Error {
    let usage = match (
        error.downcast_ref::<ExposureError>(),
        error.downcast_ref::<crate::tls::TlsError>(),
    ) {
        (Some(usage), _) => usage.to_string(),
        (None, Some(usage)) => usage.to_string(),
        (None, None) => return error,
    };
    clap::Error::raw(
        clap::error::ErrorKind::ValueValidation,
        format!("{usage}\n"),
    )
    .exit()
}

/// Refuses `addr` (named by `flag`) unless it is loopback or `allow_remote` is set; for
/// planes whose address is not a [`SocketAddr`] (a peer's multiaddr).
pub fn check_loopback(
    allow_remote: bool,
    flag: &'static str,
    is_loopback: bool,
    addr: &dyn std::fmt::Display,
) -> Result<(), ExposureError> {
    if is_loopback || allow_remote {
        return Ok(());
    }
    Err(ExposureError::NotLoopback {
        flag,
        addr: addr.to_string(),
    })
}

fn read_token_file(path: &Path) -> Result<Token, ExposureError> {
    let bad = |why: String| ExposureError::BadTokenFile {
        path: path.to_path_buf(),
        why,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read it ({e})")))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(bad("it is empty".into()));
    }
    Ok(Token::new(token))
}

/// A bearer token; compared in constant time, never logged.
#[derive(Clone)]
pub struct Token(Arc<[u8]>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Token {
    /// A token of this text.
    pub fn new(text: &str) -> Self {
        Token(Arc::from(text.as_bytes()))
    }

    /// Whether an `Authorization` header value carries this token (`Bearer <token>`).
    pub fn accepts(&self, authorization: Option<&[u8]>) -> bool {
        let Some(given) = authorization.and_then(|v| v.strip_prefix(b"Bearer ")) else {
            return false;
        };
        let given = given.trim_ascii();
        let mut diff = u8::from(given.len() != self.0.len());
        for (i, byte) in self.0.iter().enumerate() {
            diff |= byte ^ given.get(i).copied().unwrap_or(0);
        }
        diff == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn non_loopback_needs_allow_remote_and_then_a_token() {
        let loopback = ExposureArgs::default();
        assert!(loopback.check(&[("--admin", addr("127.0.0.1:0"))]).is_ok());
        assert!(loopback.check(&[("--admin", addr("[::1]:0"))]).is_ok());
        assert!(loopback
            .check(&[("--admin", addr("[::ffff:127.0.0.1]:0"))])
            .is_ok());
        assert!(loopback
            .check(&[("--admin", addr("[::ffff:10.0.0.1]:0"))])
            .is_err());
        let admin = addr("127.0.0.1:0");
        let local: Multiaddr = "/ip4/127.0.0.1/tcp/0".parse().unwrap();
        assert!(loopback.check_peer(&local, admin).is_ok());
        for remote in [
            "/ip4/0.0.0.0/tcp/0",
            "/ip6/::/tcp/0",
            "/dns4/localhost/tcp/1",
        ] {
            let remote: Multiaddr = remote.parse().unwrap();
            let err = loopback.check_peer(&remote, admin).unwrap_err().to_string();
            assert!(err.starts_with("--listen /"), "{err}");
        }
        let err = loopback
            .check(&[
                ("--listen", addr("127.0.0.1:0")),
                ("--admin", addr("0.0.0.0:0")),
            ])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--admin 0.0.0.0:0") && err.contains("--allow-remote"),
            "{err}"
        );

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "s3cret\n").unwrap();
        let remote = ExposureArgs {
            allow_remote: true,
            token_file: Some(file.clone()),
        };
        let token = remote
            .check(&[("--admin", addr("0.0.0.0:0"))])
            .unwrap()
            .unwrap();
        assert!(token.accepts(Some(b"Bearer s3cret")));
        for wrong in [
            &b"Bearer s3cre"[..],
            b"Bearer s3cret2",
            b"s3cret",
            b"Basic s3cret",
            b"",
        ] {
            assert!(!token.accepts(Some(wrong)), "{wrong:?}");
        }
        assert!(!token.accepts(None));
        std::fs::write(&file, "  \n").unwrap();
        assert!(matches!(
            remote.check(&[]),
            Err(ExposureError::BadTokenFile { .. })
        ));
        let missing = ExposureArgs {
            allow_remote: true,
            token_file: Some(dir.path().join("absent")),
        };
        assert!(missing
            .check(&[])
            .unwrap_err()
            .to_string()
            .contains("absent"));
    }
}
