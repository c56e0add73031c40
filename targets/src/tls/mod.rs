//! TLS (rustls, ring provider) for the client-server data plane, shared by the server
//! and the harness's HTTP driver.
//!
//! - [`TlsArgs`]: `versus server --tls-cert FILE --tls-key FILE` (PEM, both or neither),
//!   and [`TlsArgs::server_config`], which reads them into a rustls [`ServerConfig`]
//!   offering ALPN `http/1.1`.
//! - [`Trust`] and [`client_config`]: which server certificates a client accepts —
//!   exactly a given PEM file (the certificate the harness generated for its servers),
//!   the built-in Mozilla roots plus an optional PEM file (`versus run --cacert`), or
//!   any certificate (`--insecure`).
//! - [`self_signed`]: a fresh certificate and key for `127.0.0.1`, `::1` and `localhost`,
//!   written as PEM files (what a managed `network.tls = true` run uses).
//!
//! - [`client`]: the harness's side, one shaped TCP stream with TLS on top; the
//!   certificate verifiers are in `verify.rs`.
//!
//! Every error is a [`TlsError`] that names the file and what is wrong with it; the
//! commands treat it as bad usage (exit 2).

pub mod client;
mod verify;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

pub use tokio_rustls::{TlsAcceptor, TlsConnector};

/// The name a server's certificate must carry, owned.
pub type ServerNameOwned = ServerName<'static>;

/// The only application protocol the data plane speaks.
pub const ALPN_HTTP1: &[u8] = b"http/1.1";

/// HTTP/2's ALPN name, which the harness's client offers with `--http2`.
pub const ALPN_H2: &[u8] = b"h2";

/// TLS options of `versus server`.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsArgs {
    /// Serve the data plane over HTTPS with this certificate chain (PEM, leaf first);
    /// needs --tls-key. The admin plane stays plain HTTP.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1); needs --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// A TLS file or configuration that cannot be used: bad usage, to be fixed by the user.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file could not be read.
    #[error("{flag} {}: cannot read it ({source}); give a readable PEM file", path.display())]
    Read {
        /// The option that named it.
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not PEM, or holds nothing of the kind needed.
    #[error("{flag} {}: {why}", path.display())]
    Parse {
        /// The option that named it.
        flag: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// Only one of `--tls-cert` and `--tls-key` was given (for callers that build
    /// [`TlsArgs`] without clap, which refuses it first).
    #[error("--tls-cert and --tls-key go together: give both (HTTPS) or neither (plain HTTP)")]
    Incomplete,
    /// rustls refused the certificate and key (a key that does not match, …).
    #[error("the TLS certificate {} and key {} cannot be used together: {source}", cert.display(), key.display())]
    Config {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        source: rustls::Error,
    },
    /// A client configuration could not be built.
    #[error("cannot configure the TLS client: {0}")]
    Client(rustls::Error),
    /// The self-signed certificate could not be generated or written.
    #[error("cannot make a self-signed certificate in {}: {why}", dir.display())]
    Generate {
        /// Where it was to be written.
        dir: PathBuf,
        /// What went wrong.
        why: String,
    },
}

impl TlsArgs {
    /// Whether the data plane is to speak TLS.
    pub fn enabled(&self) -> bool {
        self.tls_cert.is_some() || self.tls_key.is_some()
    }

    /// The server configuration these options describe; `None` without TLS.
    pub fn server_config(&self) -> Result<Option<Arc<ServerConfig>>, TlsError> {
        match (&self.tls_cert, &self.tls_key) {
            (None, None) => Ok(None),
            (Some(cert), Some(key)) => server_config(cert, key).map(Some),
            _ => Err(TlsError::Incomplete),
        }
    }
}

/// The crypto provider every configuration uses (ring: no C toolchain beyond cc).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(flag: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        flag,
        path: path.to_path_buf(),
        source,
    })
}

/// Every certificate in the PEM file `path`, named by `flag` in errors; at least one.
pub fn read_certificates(
    flag: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = |why: String| TlsError::Parse {
        flag,
        path: path.to_path_buf(),
        why,
    };
    let certs = CertificateDer::pem_slice_iter(&read(flag, path)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a valid PEM certificate file ({e})")))?;
    if certs.is_empty() {
        return Err(bad(
            "holds no PEM certificate (no \"-----BEGIN CERTIFICATE-----\" block)".into(),
        ));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(&read("--tls-key", path)?).map_err(|e| TlsError::Parse {
        flag: "--tls-key",
        path: path.to_path_buf(),
        why: format!("holds no usable PEM private key ({e}); give a PKCS#8, PKCS#1 or SEC1 key"),
    })
}

/// A server configuration from a PEM certificate chain and its PEM private key,
/// offering ALPN `http/1.1`.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = read_certificates("--tls-cert", cert)?;
    let private_key = read_key(key)?;
    let config_error = |source| TlsError::Config {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        source,
    };
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(config_error)?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(config_error)?;
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(Arc::new(config))
}

/// Which server certificates a client accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Only certificates that chain to those in this PEM file, or are one of them (the
    /// harness's own generated certificate).
    Only(PathBuf),
    /// The built-in Mozilla roots (webpki-roots), plus those in a PEM file
    /// (`--cacert`) if given.
    Roots {
        /// Extra trusted certificates.
        extra: Option<PathBuf>,
    },
    /// Any certificate at all (`--insecure`): the traffic is encrypted, not authenticated.
    Any,
}

/// A client configuration that trusts `trust` and offers ALPN `http/1.1`. The file of
/// [`Trust::Only`] and [`Trust::Roots`] is named `--cacert` in errors.
///
/// A certificate of that file is also accepted as it is when the server presents
/// exactly it and it names the host, as curl and OpenSSL do: a self-signed certificate
/// made by `openssl req -x509` is marked as a CA, which the web PKI refuses as a
/// server's own certificate.
pub fn client_config(trust: &Trust) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Client)?
        .dangerous();
    let (file, web_roots) = match trust {
        Trust::Any => {
            let verifier = verify::AcceptAnyCertificate::new(provider);
            let mut config = builder
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth();
            config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
            return Ok(Arc::new(config));
        }
        Trust::Only(path) => (Some(path), false),
        Trust::Roots { extra } => (extra.as_ref(), true),
    };
    let mut roots = RootCertStore::empty();
    let mut pinned = Vec::new();
    if let Some(path) = file {
        for cert in read_certificates("--cacert", path)? {
            roots.add(cert.clone()).map_err(|e| TlsError::Parse {
                flag: "--cacert",
                path: path.to_path_buf(),
                why: format!("holds a certificate that cannot be a trust anchor ({e})"),
            })?;
            pinned.push(cert);
        }
    }
    if web_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    let web_pki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| TlsError::Client(rustls::Error::General(e.to_string())))?;
    let verifier = verify::WebPkiOrPinned::new(web_pki, pinned);
    let mut config = builder
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(Arc::new(config))
}

/// The name a client checks the server's certificate against: an IP address or a DNS
/// name, as the user wrote the host.
pub fn server_name(host: &str) -> Result<ServerNameOwned, String> {
    ServerName::try_from(host.trim_matches(['[', ']']).to_string())
        .map_err(|e| format!("{host:?} cannot be checked against a TLS certificate: {e}"))
}

/// Whether an I/O error from a TLS handshake is a certificate that failed verification
/// (rather than a connection problem).
pub fn is_certificate_error(error: &std::io::Error) -> bool {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|e| {
            matches!(
                e,
                rustls::Error::InvalidCertificate(_)
                    | rustls::Error::NoCertificatesPresented
                    | rustls::Error::AlertReceived(rustls::AlertDescription::BadCertificate)
                    | rustls::Error::AlertReceived(rustls::AlertDescription::UnknownCA)
            )
        })
}

/// A generated certificate and key, as PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFiles {
    /// The certificate (self-signed: it is its own trust anchor).
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
}

impl CertificateFiles {
    /// The server options that serve with these files.
    pub fn server_args(&self) -> TlsArgs {
        TlsArgs {
            tls_cert: Some(self.cert.clone()),
            tls_key: Some(self.key.clone()),
        }
    }
}

/// Generates a self-signed certificate for `127.0.0.1`, `::1` and `localhost` and
/// writes it to `dir` as `cert.pem` and `key.pem` (the key readable by its owner only).
pub fn self_signed(dir: &Path) -> Result<CertificateFiles, TlsError> {
    let fail = |why: String| TlsError::Generate {
        dir: dir.to_path_buf(),
        why,
    };
    let names = ["127.0.0.1", "::1", "localhost"].map(String::from).to_vec();
    let certified = rcgen::generate_simple_self_signed(names).map_err(|e| fail(e.to_string()))?;
    let files = CertificateFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&files.cert, certified.cert.pem())
        .map_err(|e| fail(format!("writing {}: {e}", files.cert.display())))?;
    write_private(&files.key, certified.key_pair.serialize_pem().as_bytes())
        .map_err(|e| fail(format!("writing {}: {e}", files.key.display())))?;
    Ok(files)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?
        .write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_certificate_loads_on_both_sides() {
        let dir = tempfile::tempdir().unwrap();
        let files = self_signed(dir.path()).unwrap();
        let server = files.server_args().server_config().unwrap().unwrap();
        assert_eq!(server.alpn_protocols, vec![ALPN_HTTP1.to_vec()]);
        client_config(&Trust::Only(files.cert.clone())).unwrap();
        client_config(&Trust::Roots {
            extra: Some(files.cert),
        })
        .unwrap();
        client_config(&Trust::Any).unwrap();
        assert!(TlsArgs::default().server_config().unwrap().is_none());
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let files = self_signed(dir.path()).unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not pem at all").unwrap();
        let missing = dir.path().join("missing.pem");
        let cases = [
            (
                junk.clone(),
                files.key.clone(),
                "--tls-cert",
                "no PEM certificate",
            ),
            (
                files.cert.clone(),
                junk.clone(),
                "--tls-key",
                "no usable PEM private key",
            ),
            (
                missing.clone(),
                files.key.clone(),
                "--tls-cert",
                "cannot read",
            ),
            (
                files.cert.clone(),
                files.cert.clone(),
                "--tls-key",
                "private key",
            ),
        ];
        for (cert, key, flag, why) in cases {
            let e = server_config(&cert, &key).unwrap_err().to_string();
            assert!(e.contains(flag) && e.contains(why), "{e}");
        }
        let e = client_config(&Trust::Only(missing))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--cacert") && e.contains("missing.pem"), "{e}");
        let half = TlsArgs {
            tls_cert: Some(files.cert),
            tls_key: None,
        };
        assert!(matches!(half.server_config(), Err(TlsError::Incomplete)));
    }

    #[test]
    fn server_names() {
        assert!(matches!(
            server_name("127.0.0.1").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("[::1]").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("localhost").unwrap(),
            ServerName::DnsName(_)
        ));
    }
}
