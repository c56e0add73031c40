//! The admin plane: a separate, never-shaped HTTP listener, on loopback by default.
//!
//! Every node serves `GET /healthz` (200 "ok") and `GET /metrics` (Prometheus text) here;
//! a node with more to offer (the peer's `POST /fetch/{id}`, `GET /status`, …) merges its
//! own axum [`Router`] into [`router`]'s. [`bind`] gives a clear error when the address
//! is taken, and [`serve`] runs until a shutdown future resolves.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use crate::metrics::RenderMetrics;

/// Content type of the Prometheus text exposition format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The admin routes every node has: `GET /healthz` and `GET /metrics`, merged with `extra`
/// (pass `Router::new()` for none).
pub fn router(metrics: Arc<dyn RenderMetrics>, extra: Router) -> Router {
    let metrics_route = get(move || {
        let metrics = Arc::clone(&metrics);
        async move {
            let mut text = String::with_capacity(4096);
            metrics.render(&mut text);
            ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response()
        }
    });
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", metrics_route)
        .merge(extra)
}

/// Binds the admin listener on `addr`.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| {
        format!("could not bind the admin listener on {addr}; pass another --admin address, or port 0 to pick a free one")
    })
}

/// Serves `router` on `listener` until `shutdown` resolves, then finishes the requests in
/// flight and returns.
pub async fn serve<F>(listener: TcpListener, router: Router, shutdown: F) -> anyhow::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let addr = listener.local_addr().ok();
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .with_context(|| format!("the admin server on {addr:?} failed"))
}
