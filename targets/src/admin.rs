//! The admin plane: a separate, never-shaped HTTP listener, on loopback by default.
//!
//! Every node serves `GET /healthz` (200 "ok") and `GET /metrics` (Prometheus text) here;
//! a node with more to offer (the peer's `POST /fetch/{id}`, `GET /status`, …) merges its
//! own axum [`Router`] into [`router`]'s. [`bind`] gives a clear error when the address
//! is taken, and [`serve`] runs until a shutdown future resolves.
//!
//! The plane is hardened against clumsy and hostile clients: an unknown route (404) or a
//! wrong method (405) gets a JSON error that says what to do, like every other error
//! here; a client has [`HEADER_READ_TIMEOUT`] to send its request head (hyper answers an
//! oversized head with 431 and malformed HTTP with 400); and a shutdown waits at most
//! [`SHUTDOWN_GRACE`] for requests in flight, so a stalled client cannot hold a node up.
//! [`serve_guarded`] adds the node's [`Guard`]: request bodies within its limits (idle
//! body timeout, node-wide upload budget), a connection cap, and a bearer token when the
//! node is exposed beyond loopback (everything but `GET /healthz` then answers 401 JSON
//! without it).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http_body::Body as _;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinSet;
use tower_layer::Layer as _;

use crate::exposure::Token;
use crate::limits::{ConnectionLimit, LimitedBody, Limits};
use crate::metrics::RenderMetrics;

/// Content type of the Prometheus text exposition format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// How long a client may take to send a request head (also the longest an idle
/// keep-alive connection is kept), as on the data plane.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long requests in flight may take to finish once shutdown starts.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Pause after an accept error (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// Longest part of a request path echoed back in an error message.
const ECHO_LIMIT: usize = 80;

/// The admin routes every node has: `GET /healthz` and `GET /metrics`, merged with `extra`
/// (pass `Router::new()` for none). Unknown routes and wrong methods get JSON errors.
pub fn router(metrics: Arc<dyn RenderMetrics>, extra: Router) -> Router {
    let metrics_route = get(move || {
        let metrics = Arc::clone(&metrics);
        async move {
            let mut text = String::with_capacity(4096);
            metrics.render(&mut text);
            ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response()
        }
    });
    let routes = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", metrics_route)
        .merge(extra);
    // Wrapped as a whole, so the explanation sees the Allow header axum adds to a 405.
    Router::new().fallback_service(middleware::from_fn(explain_bare_errors).layer(routes))
}

/// A JSON error response, `{"error": message}`; `message` says what went wrong and what
/// to do.
pub fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// Gives axum's bare 404 (no such route) and 405 (wrong method) answers a JSON body that
/// says what to do; every other response passes through untouched.
async fn explain_bare_errors(method: Method, uri: Uri, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let bare = response.body().size_hint().exact() == Some(0);
    if !bare
        || !matches!(
            status,
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
        )
    {
        return response;
    }
    let path: String = uri.path().chars().take(ECHO_LIMIT).collect();
    let allow = response.headers().get(header::ALLOW).cloned();
    let message = match allow.as_ref().and_then(|a| a.to_str().ok()) {
        _ if status == StatusCode::NOT_FOUND => format!(
            "no admin route {path}; every node serves GET /healthz and GET /metrics here, and a peer also POST /objects, POST /fetch/{{id}}, GET /objects/{{id}} and GET /status"
        ),
        Some(allowed) => format!("{method} is not allowed on {path}; use {allowed}"),
        None => format!("{method} is not allowed on {path}"),
    };
    let mut explained = error(status, &message);
    if let Some(allow) = allow {
        explained.headers_mut().insert(header::ALLOW, allow);
    }
    explained
}

/// Binds the admin listener on `addr`.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!("could not bind the admin listener on {addr}; pass another --admin address, or port 0 to pick a free one")
    })
}

/// How an admin plane is guarded: the node's request limits, and the bearer token that
/// every route but `GET /healthz` requires, if any (see [`crate::exposure`]).
#[derive(Debug, Clone, Default)]
pub struct Guard {
    /// Body timeout, upload budget and connection cap.
    pub limits: Limits,
    /// The token requests must carry as `Authorization: Bearer <token>`.
    pub token: Option<Token>,
}

/// Serves `router` on `listener` with the default [`Guard`] (default limits, no token);
/// see [`serve_guarded`].
pub async fn serve<F>(listener: TcpListener, router: Router, shutdown: F) -> anyhow::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    serve_guarded(listener, router, Guard::default(), shutdown).await
}

/// Serves `router` on `listener` (HTTP/1.1) within `guard` until `shutdown` resolves,
/// then lets the requests in flight finish for up to [`SHUTDOWN_GRACE`], closes what is
/// left and returns.
pub async fn serve_guarded<F>(
    listener: TcpListener,
    router: Router,
    guard: Guard,
    shutdown: F,
) -> anyhow::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let router = guarded(router, &guard);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let slots = ConnectionLimit::new(guard.limits.max_connections);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            (slot, (stream, peer)) = accept_within(&listener, &slots, "admin") => {
                let service = TowerToHyperService::new(router.clone());
                let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
                connections.spawn(async move {
                    let _slot = slot;
                    if let Err(e) = conn.await {
                        tracing::debug!(%peer, "admin connection ended with an error: {e}");
                    }
                });
            }
        }
    }
    drop(listener);
    drain(graceful, connections, SHUTDOWN_GRACE, "admin").await;
    Ok(())
}

/// `router` with the guard's layers: request bodies within the limits, and the token
/// checked (outermost, so an unauthorised request reads no body).
fn guarded(router: Router, guard: &Guard) -> Router {
    let limits = guard.limits.clone();
    let router = router.layer(middleware::from_fn(move |request: Request, next: Next| {
        let limited = request.map(|body| Body::new(LimitedBody::new(body, &limits)));
        next.run(limited)
    }));
    match guard.token.clone() {
        None => router,
        Some(token) => router.layer(middleware::from_fn(move |request: Request, next: Next| {
            let token = token.clone();
            async move { authorise(&token, request, next).await }
        })),
    }
}

/// Lets `request` through when it carries `token`, or is `GET /healthz`; 401 otherwise.
async fn authorise(token: &Token, request: Request, next: Next) -> Response {
    let open = request.method() == Method::GET && request.uri().path() == "/healthz";
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    if open || token.accepts(given) {
        return next.run(request).await;
    }
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        "this admin plane requires a bearer token: send Authorization: Bearer <token>, the token the node was given (--token-file or VERSUS_TOKEN)",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

/// The next connection to `listener` once `slots` has room for it: at the cap, the
/// accept loop waits and new clients wait in the listen backlog.
pub async fn accept_within(
    listener: &TcpListener,
    slots: &ConnectionLimit,
    plane: &str,
) -> (Option<OwnedSemaphorePermit>, (TcpStream, SocketAddr)) {
    let slot = slots.acquire().await;
    (slot, accept(listener, plane).await)
}

/// The next connection to `listener`. An accept error (such as running out of file
/// descriptors) is logged with the `plane`'s name and retried after a short pause.
pub async fn accept(listener: &TcpListener, plane: &str) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(e) => {
                tracing::warn!("accepting a {plane} connection failed: {e}; retrying");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Lets the connections of a plane that stopped accepting finish what is in flight for
/// up to `grace`, then closes what is left.
pub async fn drain(
    graceful: GracefulShutdown,
    mut connections: JoinSet<()>,
    grace: Duration,
    plane: &str,
) {
    let drained = tokio::time::timeout(grace, async {
        graceful.shutdown().await;
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            still_open = connections.len(),
            "{plane} connections still busy {grace:?} after shutdown began; closing them"
        );
        connections.shutdown().await;
    }
}
