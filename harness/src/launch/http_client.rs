//! One-off HTTP requests for setup and bookkeeping (publishing objects before a run,
//! scraping /metrics after it). Never on the measured path, which uses `driver::http`.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;

/// A request that failed, with where and why.
#[derive(Debug, thiserror::Error)]
#[error("{method} http://{addr}{path} failed: {reason}")]
pub struct RequestError {
    method: Method,
    addr: SocketAddr,
    path: String,
    reason: String,
}

/// Sends one request on a fresh connection and reads the whole answer.
pub async fn request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: Bytes,
    timeout: Duration,
) -> Result<(StatusCode, Bytes), RequestError> {
    let fail = |reason: String| RequestError {
        method: method.clone(),
        addr,
        path: path.to_string(),
        reason,
    };
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(hyper::header::HOST, addr.to_string())
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
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
