//! A URL to drive (`versus run --url`, `kind = "url"`): parsed and checked while the
//! scenario is read, resolved once before the run.

use std::net::{SocketAddr, ToSocketAddrs};

use hyper::Uri;

/// A URL that cannot be driven.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not a URL at all.
    #[error("\"{0}\" is not a valid URL: {1}")]
    Invalid(String, String),
    /// A scheme other than http:// and https://.
    #[error("\"{0}\" uses scheme `{1}`; only http:// and https:// are supported")]
    Scheme(String, String),
    /// No host part.
    #[error("\"{0}\" has no host; write it as http://host:port/path")]
    NoHost(String),
    /// The host did not resolve.
    #[error("cannot resolve the host of \"{0}\": {1}")]
    Resolve(String, String),
}

/// An HTTP endpoint: where to connect and what to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `https://`: the connection speaks TLS.
    pub tls: bool,
    /// `host:port` for the Host header.
    pub authority: String,
    /// Host name or address as written.
    pub host: String,
    /// Port (80, or 443 for https://, when not written).
    pub port: u16,
    /// Path and query, `/` when not written.
    pub path: String,
}

impl Target {
    /// Parses an `http://` or `https://` URL without resolving it.
    pub fn parse(url: &str) -> Result<Self, TargetError> {
        let uri: Uri = url.parse().map_err(|e: hyper::http::uri::InvalidUri| {
            TargetError::Invalid(url.into(), e.to_string())
        })?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            Some(other) => return Err(TargetError::Scheme(url.into(), other.into())),
            None => {
                return Err(TargetError::Invalid(
                    url.into(),
                    "missing http:// (or https://) in front".into(),
                ))
            }
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| TargetError::NoHost(url.into()))?;
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        let authority = uri
            .authority()
            .map_or_else(|| format!("{host}:{port}"), |a| a.to_string());
        Ok(Self {
            tls,
            authority,
            host: host.trim_matches(['[', ']']).to_string(),
            port,
            path,
        })
    }

    /// Resolves the host once, before the run (never on the hot path).
    pub fn resolve(&self) -> Result<SocketAddr, TargetError> {
        let url = self.to_string();
        (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| TargetError::Resolve(url.clone(), e.to_string()))?
            .next()
            .ok_or_else(|| TargetError::Resolve(url, "no address found".into()))
    }
}

impl std::fmt::Display for Target {
    /// The URL again: `http(s)://authority/path`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority, self.path)
    }
}
