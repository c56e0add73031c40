//! The requests of a `url` workload (`versus run --url`): method, headers and body, as
//! flags (`--method`, `-H`, `--body`), as `[workload]` keys, or one per line of a
//! requests file (see [`requests_file`](super::requests_file)). Everything is parsed and
//! read (body files included) while the scenario is loaded, so a bad header or an
//! unreadable file is a usage error (exit 2) before anything runs. The HTTP they go
//! over ([`Protocol`]: HTTP/1.1, or HTTP/2 with `streams` per connection) is checked
//! here too.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::Method;
use serde::{Deserialize, Serialize};

use super::model::{Scenario, Workload, WorkloadKind};
use super::url::{Target, TargetError};
use crate::metric::Metric;
use crate::metric::REQUEST_PREFIX;

/// The most distinct request names a run may have: each gets its own histograms in
/// every worker, so the number is bounded.
pub const MAX_REQUEST_NAMES: usize = 64;

/// The methods a request may use.
pub const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

/// What is wrong with a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not one of [`METHODS`].
    #[error("unknown method \"{0}\": use one of GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS")]
    Method(String),
    /// A header that is not `Name: value`.
    #[error("malformed header \"{0}\": {1}; write it as \"Name: value\"")]
    Header(String, String),
    /// A body file that cannot be read.
    #[error("cannot read the body file {path}: {1}", path = .0.display())]
    BodyFile(PathBuf, String),
    /// A URL that cannot be driven.
    #[error(transparent)]
    Url(#[from] TargetError),
    /// A requests file that cannot be read.
    #[error("cannot read the requests file: {0}")]
    File(String),
    /// A requests file without a single request.
    #[error("it holds no request (one per line: METHOD URL …)")]
    Empty,
    /// A problem with one entry of a HAR requests file.
    #[error("entry {entry}: {message}")]
    Entry {
        /// 1-based entry number.
        entry: usize,
        /// What is wrong.
        message: String,
    },
    /// A problem on one line of a requests file.
    #[error("line {line}: {message}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Which request of a requests file a user sends next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RequestOrder {
    /// In file order, each user starting one further along (user u's i-th request is
    /// line (u + i) mod n).
    #[default]
    Cycle,
    /// Uniformly at random from each user's own seeded stream (reproducible).
    Random,
}

impl RequestOrder {
    /// Whether this is the default, `cycle`.
    pub fn is_cycle(&self) -> bool {
        *self == RequestOrder::Cycle
    }
}

/// One request, fully read: what a user sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    /// Its name in the report (`req:<name>`), or `None` for the single request of
    /// `--url` without a requests file (reported as `get`, or as the method's name).
    pub name: Option<String>,
    /// The method.
    pub method: Method,
    /// Where it goes.
    pub target: Target,
    /// Headers sent besides Host (a `Host` given here replaces it).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body, if any.
    pub body: Option<Bytes>,
}

impl RequestSpec {
    /// The name it is reported under without the `req:` prefix, or `None` for the
    /// single unnamed GET of `--url`, reported as `get`.
    pub fn op_name(&self) -> Option<String> {
        match &self.name {
            None if self.method == Method::GET => None,
            Some(name) => Some(name.clone()),
            None => Some(format!("{} {}", self.method, self.target.path)),
        }
    }
}

/// The resolved requests of a `url` workload and their order; empty until the scenario
/// is loaded (never serialized: the scenario's own keys say where they came from).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requests {
    /// In file order; one entry without a requests file.
    pub list: Arc<[RequestSpec]>,
    /// How users go through them.
    pub order: RequestOrder,
    /// The HTTP the users speak.
    pub protocol: Protocol,
}

/// The most concurrent HTTP/2 streams per connection a url workload may ask for.
pub const MAX_STREAMS: u32 = 1000;

/// Which HTTP a url workload's users speak (`--http2`, `--streams`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1, one connection per user (the default).
    #[default]
    Http1,
    /// HTTP/2: h2c with prior knowledge on `http://`; on `https://`, ALPN `h2` offered
    /// beside `http/1.1`, and HTTP/2 when the server picks it.
    Http2 {
        /// Concurrent streams per connection: this many users share one (1..=1000).
        streams: u32,
    },
}

impl Protocol {
    /// The protocol `http2` and `streams` ask for, checked; errors name the key.
    pub fn from_keys(http2: bool, streams: Option<u32>) -> Result<Self, (&'static str, String)> {
        match (http2, streams) {
            (false, None) => Ok(Protocol::Http1),
            (false, Some(_)) => Err((
                "workload.streams",
                "concurrent streams per connection need HTTP/2: add --http2 (http2 = true)".into(),
            )),
            (true, Some(n)) if !(1..=MAX_STREAMS).contains(&n) => Err((
                "workload.streams",
                format!("must be between 1 and {MAX_STREAMS} (concurrent HTTP/2 streams per connection), not {n}"),
            )),
            (true, streams) => Ok(Protocol::Http2 {
                streams: streams.unwrap_or(1),
            }),
        }
    }
}

/// Parses a method name such as `post` or `POST`.
pub fn parse_method(text: &str) -> Result<Method, RequestError> {
    let upper = text.trim().to_ascii_uppercase();
    if !METHODS.contains(&upper.as_str()) {
        return Err(RequestError::Method(text.into()));
    }
    Method::from_bytes(upper.as_bytes()).map_err(|_| RequestError::Method(text.into()))
}

/// Parses `Name: value` (spaces around the value are trimmed).
pub fn parse_header(text: &str) -> Result<(HeaderName, HeaderValue), RequestError> {
    let bad = |why: &str| RequestError::Header(text.into(), why.into());
    let (name, value) = text.split_once(':').ok_or_else(|| bad("no colon"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| bad("the name is not a valid header name"))?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| bad("the value has characters a header cannot carry"))?;
    Ok((name, value))
}

/// Reads a body: `@path` is a file (relative to `base`), `@@text` the text `@text`,
/// anything else the text itself.
pub fn read_body(spec: &str, base: &Path) -> Result<Bytes, RequestError> {
    if let Some(text) = spec.strip_prefix("@@") {
        return Ok(Bytes::from(format!("@{text}")));
    }
    match spec.strip_prefix('@') {
        Some(file) => read_body_file(file, base),
        None => Ok(Bytes::copy_from_slice(spec.as_bytes())),
    }
}

/// Reads body file `file`, relative to `base`.
pub(super) fn read_body_file(file: &str, base: &Path) -> Result<Bytes, RequestError> {
    let path = base.join(file);
    std::fs::read(&path)
        .map(Bytes::from)
        .map_err(|e| RequestError::BodyFile(path, e.to_string()))
}

/// Parses every header of `texts`.
pub fn parse_headers(texts: &[String]) -> Result<Vec<(HeaderName, HeaderValue)>, RequestError> {
    texts.iter().map(|h| parse_header(h)).collect()
}

/// Reads the requests of a url workload into its `resolved`; files are relative to
/// `base` (the scenario file's folder). Other kinds are left alone. Errors come with the
/// key they are about.
pub(super) fn resolve_workload(
    w: &mut Workload,
    base: &Path,
) -> Result<(), (&'static str, String)> {
    if w.kind == WorkloadKind::Url {
        w.resolved = resolve(w, base)?;
    }
    Ok(())
}

/// Checks that every `req:<name>` threshold names one of the workload's requests.
pub(super) fn check_thresholds(s: &Scenario) -> Result<(), (String, String)> {
    let names: Vec<String> = s
        .workload
        .resolved
        .list
        .iter()
        .filter_map(RequestSpec::op_name)
        .collect();
    for t in &s.thresholds.0 {
        let (Metric::Latency { op, .. } | Metric::Rps { op } | Metric::OpErrorRate { op }) =
            &t.metric
        else {
            continue;
        };
        if let Some(name) = op.strip_prefix(REQUEST_PREFIX) {
            if !names.iter().any(|n| n == name) {
                return Err((
                    format!("thresholds.{}", t.metric),
                    format!(
                        "no request is named `{name}`; the requests are named {}",
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn resolve(keys: &Workload, base: &Path) -> Result<Requests, (&'static str, String)> {
    let headers = parse_headers(&keys.headers).map_err(|e| ("workload.headers", e.to_string()))?;
    let base_url = keys
        .url
        .as_deref()
        .map(Target::parse)
        .transpose()
        .map_err(|e| ("workload.url", e.to_string()))?;
    let list: Vec<RequestSpec> = match keys.requests.as_deref() {
        Some(file) => {
            let path = base.join(file);
            super::requests_file::read(&path, base_url.as_ref(), &headers)
                .map_err(|e| ("workload.requests", format!("{}: {e}", path.display())))?
        }
        None => {
            let method = keys
                .method
                .as_deref()
                .map(parse_method)
                .transpose()
                .map_err(|e| ("workload.method", e.to_string()))?
                .unwrap_or(Method::GET);
            let body = keys
                .body
                .as_deref()
                .map(|b| read_body(b, base))
                .transpose()
                .map_err(|e| ("workload.body", e.to_string()))?;
            let Some(target) = base_url else {
                return Err((
                    "workload.url",
                    "a url workload needs url or requests".into(),
                ));
            };
            vec![RequestSpec {
                name: None,
                method,
                target,
                headers,
                body,
            }]
        }
    };
    Ok(Requests {
        list: list.into(),
        order: keys.order,
        protocol: Protocol::from_keys(keys.http2, keys.streams)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_and_headers() {
        assert_eq!(parse_method("post").unwrap(), Method::POST);
        assert!(matches!(
            parse_method("FETCH"),
            Err(RequestError::Method(_))
        ));
        let (n, v) = parse_header("Content-Type:  application/json ").unwrap();
        assert_eq!(
            (n.as_str(), v.to_str().unwrap()),
            ("content-type", "application/json")
        );
        for bad in ["NoColon", "Bad Name: x", ": x", "X: a\u{1}b"] {
            let e = parse_header(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn protocols() {
        assert_eq!(Protocol::from_keys(false, None), Ok(Protocol::Http1));
        assert_eq!(
            Protocol::from_keys(true, None),
            Ok(Protocol::Http2 { streams: 1 })
        );
        assert_eq!(
            Protocol::from_keys(true, Some(1000)),
            Ok(Protocol::Http2 { streams: 1000 })
        );
        for (http2, streams, says) in [
            (false, Some(4), "--http2"),
            (true, Some(0), "between 1 and 1000"),
            (true, Some(1001), "not 1001"),
        ] {
            let (key, message) = Protocol::from_keys(http2, streams).unwrap_err();
            assert_eq!(key, "workload.streams");
            assert!(message.contains(says), "{message}");
        }
    }

    #[test]
    fn bodies() {
        let dir = std::env::temp_dir();
        assert_eq!(read_body("hi", &dir).unwrap(), Bytes::from("hi"));
        assert_eq!(read_body("@@x", &dir).unwrap(), Bytes::from("@x"));
        let e = read_body("@no-such-versus-body", &dir).unwrap_err();
        assert!(e.to_string().contains("no-such-versus-body"), "{e}");
    }
}
