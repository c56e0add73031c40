//! The TLS of one run: for `network.tls`, a self-signed certificate made in a scratch
//! directory for the servers and trusted alone by the users; for an `https://` URL, the
//! trust the command line gave. And before the load, one handshake per endpoint, so an
//! untrusted certificate stops the run with a clear reason instead of a report of errors.

use std::time::Duration;

use versus_targets::shaping::Shaper;
use versus_targets::tls::client::{connect, ClientTls, ConnectError, Destination};
use versus_targets::tls::{self, CertificateFiles, Trust};

use crate::drive::http::Endpoint;
use crate::error::Failure;
use crate::launch::scratch::ScratchDir;
use crate::plan::{ArchPlan, TlsPlan};

/// How long the TLS handshake checked before the load may take.
const HANDSHAKE_CHECK: Duration = Duration::from_secs(10);

/// The TLS of a run: whom the users trust and, for servers the harness starts, the
/// certificate they serve (in a scratch directory removed with this value).
pub(super) struct RunTls {
    /// The users' side.
    client: ClientTls,
    /// The servers' certificate and key, when the harness made them.
    files: Option<CertificateFiles>,
    _dir: Option<ScratchDir>,
}

/// The run's TLS, as the plan asks: a fresh self-signed certificate trusted alone
/// ([`TlsPlan::Generated`]), or the trust of an `https://` URL.
pub(super) fn run_tls(plan: &ArchPlan) -> anyhow::Result<Option<RunTls>> {
    let cannot = |e: tls::TlsError| Failure::CannotRun(e.to_string());
    match &plan.tls {
        None => Ok(None),
        Some(TlsPlan::Generated) => {
            let dir = ScratchDir::new("tls").map_err(|e| {
                Failure::CannotRun(format!(
                    "cannot create a directory for the servers' TLS certificate under {}: {e}; set TMPDIR to a writable directory",
                    std::env::temp_dir().display()
                ))
            })?;
            let files = tls::self_signed(dir.path()).map_err(cannot)?;
            let client = ClientTls::new(&Trust::Only(files.cert.clone())).map_err(cannot)?;
            Ok(Some(RunTls {
                client,
                files: Some(files),
                _dir: Some(dir),
            }))
        }
        Some(TlsPlan::Url(trust)) => Ok(Some(RunTls {
            client: ClientTls::new(trust).map_err(|e| Failure::Usage(e.to_string()))?,
            files: None,
            _dir: None,
        })),
    }
}

impl RunTls {
    /// Whom the users trust.
    pub(super) fn client(&self) -> &ClientTls {
        &self.client
    }

    /// The servers' certificate and key, when the harness made them.
    pub(super) fn files(&self) -> Option<&CertificateFiles> {
        self.files.as_ref()
    }
}

/// One TLS handshake with each endpoint before the load: a certificate the users do not
/// trust (or a server that does not speak TLS) cannot give a measurement, so the run
/// stops here (exit 3) instead of recording only errors. An endpoint that does not
/// answer at all is left to the load, which counts it as `connect` errors.
pub(super) async fn check_handshakes(
    endpoints: &[Endpoint],
    client: &ClientTls,
) -> Result<(), Failure> {
    for endpoint in endpoints {
        let to = Destination::new(endpoint.addr, &endpoint.authority, Some(client))
            .map_err(Failure::Usage)?;
        let unshaped = Shaper::unshaped();
        let attempt = tokio::time::timeout(HANDSHAKE_CHECK, connect(&to, &unshaped));
        let Ok(result) = attempt.await else {
            return Err(Failure::CannotRun(format!(
                "the TLS handshake with https://{} did not finish within {HANDSHAKE_CHECK:?}; is it an HTTPS server?",
                endpoint.authority
            )));
        };
        match result {
            Ok(_) => {}
            Err(e) if e.is_certificate() => {
                return Err(Failure::CannotRun(format!(
                    "certificate verification failed for https://{}: {e}; pass --cacert FILE to trust the certificate (or the CA that signed it), or --insecure to accept any certificate",
                    endpoint.authority
                )))
            }
            Err(e @ ConnectError::Tls(..)) => {
                return Err(Failure::CannotRun(format!(
                    "{e}; check that https://{} speaks TLS (HTTPS), not plain HTTP",
                    endpoint.authority
                )))
            }
            Err(ConnectError::Tcp(..)) => {}
        }
    }
    Ok(())
}
