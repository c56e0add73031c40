//! One-off HTTP requests for setup and bookkeeping (publishing objects before a run,
//! scraping /metrics after it), plain or over TLS to a data plane that speaks HTTPS.
//! Never on the measured path, which uses `driver::http`.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use versus_targets::shaping::Shaper;
use versus_targets::tls::client::{connect, Destination};

/// A request that failed, with where and why.
#[derive(Debug, thiserror::Error)]
#[error("{method} {scheme}://{addr}{path} failed: {reason}")]
pub struct RequestError {
    method: Method,
    scheme: &'static str,
    addr: SocketAddr,
    path: String,
    reason: String,
}

/// Sends one plain-HTTP request on a fresh connection and reads the whole answer; with
/// `bearer`, authorised with that token (an admin plane exposed beyond loopback wants one).
pub async fn request(
    addr: SocketAddr,
    bearer: Option<&str>,
    method: Method,
    path: &str,
    body: Bytes,
    timeout: Duration,
) -> Result<(StatusCode, Bytes), RequestError> {
    request_to(
        &Destination::plain(addr),
        bearer,
        method,
        path,
        body,
        timeout,
    )
    .await
}

/// Sends one request to `to` (over TLS if it has TLS) on a fresh connection, authorised
/// with `bearer` if given, and reads the whole answer.
pub async fn request_to(
    to: &Destination,
    bearer: Option<&str>,
    method: Method,
    path: &str,
    body: Bytes,
    timeout: Duration,
) -> Result<(StatusCode, Bytes), RequestError> {
    let addr = to.addr;
    let fail = |reason: String| RequestError {
        method: method.clone(),
        scheme: if to.tls.is_some() { "https" } else { "http" },
        addr,
        path: path.to_string(),
        reason,
    };
    let exchange = async {
        let wire = connect(to, &Shaper::unshaped())
            .await
            .map_err(|e| e.to_string())?
            .wire;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(wire))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let mut request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(hyper::header::HOST, addr.to_string());
        if let Some(token) = bearer {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request.body(Full::new(body)).map_err(|e| e.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok::<_, String>((status, bytes))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(reason)) => Err(fail(reason)),
        Err(_) => Err(fail(format!("no answer within {timeout:?}"))),
    }
}

/// How long publishing one object may take.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(120);

/// Publishes `bytes` with `method` to `/objects` at `to` (PUT on a server's data plane,
/// POST on a peer's admin plane, authorised with `bearer` when it wants a token) and
/// checks the node answers 201 with the content id `id`.
pub async fn publish(
    to: &Destination,
    bearer: Option<&str>,
    method: Method,
    bytes: &Bytes,
    id: &versus_targets::content::ObjectId,
) -> Result<(), crate::error::Failure> {
    use crate::error::Failure;
    let addr = to.addr;
    let (status, body) = request_to(
        to,
        bearer,
        method,
        "/objects",
        bytes.clone(),
        PUBLISH_TIMEOUT,
    )
    .await
    .map_err(|e| Failure::CannotRun(format!("publishing an object before the run: {e}")))?;
    let answered: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if status != StatusCode::CREATED || answered["id"].as_str() != Some(id.to_string().as_str()) {
        return Err(Failure::CannotRun(format!(
            "publishing an object at {addr} answered {status} {}; expected 201 with id {id}",
            String::from_utf8_lossy(&body)
        )));
    }
    Ok(())
}
