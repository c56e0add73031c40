//! The coordinator's HTTP/1.1 server: the routes of [`super::protocol`] over the
//! [`Board`], a bearer token when it listens beyond loopback, and a cap on what a
//! request may carry.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use versus_targets::exposure::Token;

use super::board::{Board, Refusal};
use super::protocol::JoinRequest;

/// The largest request body accepted: a shard's report.json.
const MAX_BODY: usize = 512 << 20;

/// Serves `board` on `listener` until the task is dropped.
pub(super) async fn serve(listener: TcpListener, board: Arc<Board>, token: Option<Token>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("coordinator: accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let (board, token) = (board.clone(), token.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let (board, token) = (board.clone(), token.clone());
                async move { Ok::<_, Infallible>(route(&board, token.as_ref(), req).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!("coordinator: connection from {peer}: {e}");
            }
        });
    }
}

fn answer(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}

fn refused((status, why): Refusal) -> Response<Full<Bytes>> {
    answer(status, serde_json::json!({ "error": why }).to_string())
}

async fn route(
    board: &Board,
    token: Option<&Token>,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    if method == Method::GET && path == "/healthz" {
        return answer(StatusCode::OK, "ok".into());
    }
    if let Some(token) = token {
        let given = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        if !token.accepts(given) {
            return refused((
                StatusCode::UNAUTHORIZED,
                "this coordinator requires a bearer token: set VERSUS_TOKEN on the shards to the coordinator's token".into(),
            ));
        }
    }
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return refused((
                StatusCode::BAD_REQUEST,
                format!("cannot read the body: {e}"),
            ))
        }
    };
    let index = |prefix: &str| {
        path.strip_prefix(prefix)
            .and_then(|i| i.parse::<u32>().ok())
    };
    let result = match (method, path.as_str()) {
        (Method::POST, "/join") => match serde_json::from_slice::<JoinRequest>(&body) {
            Ok(join) => board
                .join(join)
                .await
                .map(|a| serde_json::to_string(&a).unwrap_or_default()),
            Err(e) => Err((StatusCode::BAD_REQUEST, format!("not a join request: {e}"))),
        },
        (Method::POST, _) if index("/report/").is_some() => {
            let i = index("/report/").unwrap_or_default();
            board.report(i, body).map(|()| "ok".to_string())
        }
        (Method::POST, _) if index("/failed/").is_some() => {
            let i = index("/failed/").unwrap_or_default();
            let why = String::from_utf8_lossy(&body).into_owned();
            board.failed(i, why).map(|()| "ok".to_string())
        }
        _ => Err((StatusCode::NOT_FOUND, format!("no route {path}"))),
    };
    match result {
        Ok(text) => answer(StatusCode::OK, text),
        Err(refusal) => refused(refusal),
    }
}
