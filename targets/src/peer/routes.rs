//! The peer's admin routes (HTTP, never shaped), merged into [`crate::admin::router`]:
//!
//! | route | answers |
//! |---|---|
//! | `POST /objects` (body = bytes) | 201 `{"id":"<hex>","size":N}` once stored and announced in the DHT; 413 beyond `--max-object-size`; 507 this peer cannot record itself as a provider (nothing kept); 504 stored here but the DHT announcement failed or timed out (`"id"`, `"size"` added; POST again to re-announce); 503 shutting down |
//! | `POST /fetch/{id}[?fresh=true]` | 200 [`FetchStats`] once the object is here, complete and verified; 400 bad id, 404 no provider, 409 already fetching, 413 object above `--max-object-size`, 502 every provider failed or the manifest is unusable, 504 deadline, 500 local failure; a failed fetch keeps nothing of the object |
//! | `GET /objects/{id}` | 200 the object's bytes (complete objects only), 404 otherwise |
//! | `GET /status` | 200 `{"peer_id", "listen_addrs", "connected_peers", "routing_table_size", "objects", "partial_objects", "stored_bytes"}` |
//! | `POST /kill` | 200 `{"killed":"<peer id>"}`, then the peer stops at once: its swarm is dropped (every connection closes, its listener goes, fetches in flight fail) and its admin plane closes once this answer is out. The fault "kill" for one peer of a host process ([`super::host`]), where a signal would hit every peer |
//!
//! A fetch of an object already held answers at once (`"bytes": 0`). With `fresh=true` the
//! peer first drops its copy, complete or partial, and stops announcing itself as a
//! provider, so a repeated fetch is a real swarm download, not a local hit; an object
//! this peer published itself is the origin and is kept (that fetch answers at once).
//!
//! Error bodies are `{"error":"<what went wrong and what to do>"}`; fetch errors add
//! `"id"` and the progress made: `"chunks_done"`, `"chunks_total"`, `"rejected_chunks"`, `"providers"`.
//! A body is refused (413) as soon as its declared length, or the bytes received, pass
//! the limit; a body that cannot be read (broken chunked encoding, say) gets 400, and an
//! id the path cannot even decode gets 400 like any other malformed id.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use serde_json::json;

use super::behaviour::QUERY_TIMEOUT;
use super::fetch::{self, FetchContext};
use super::metrics::{ROUTE_FETCH, ROUTE_OBJECT, ROUTE_PUBLISH, ROUTE_STATUS};
use super::node::ProvideError;
use crate::admin::error;
use crate::content::ObjectId;
use crate::units::ByteSize;

/// Longest `POST /objects` waits for the provider announcement before answering 504:
/// longer than Kademlia's own query timeout, whose answer normally comes first.
pub const ANNOUNCE_WAIT: Duration = QUERY_TIMEOUT.saturating_add(Duration::from_secs(5));

/// What the admin handlers share.
#[derive(Debug)]
pub struct AdminState {
    /// Everything a download needs (node handle, holdings, metrics, settings).
    pub fetch: FetchContext,
    /// Largest object `POST /objects` accepts.
    pub max_object_size: u64,
    /// Objects being fetched right now.
    pub active: Mutex<HashSet<ObjectId>>,
    /// Stops this peer (both planes) when set to true: `POST /kill`.
    pub stop: tokio::sync::watch::Sender<bool>,
}

type Shared = Arc<AdminState>;

/// The peer's admin routes.
pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/objects", post(publish))
        .route("/objects/{id}", get(object))
        .route("/fetch/{id}", post(fetch_object))
        .route("/status", get(status))
        .route("/kill", post(kill))
        .with_state(state)
}

fn record(state: &AdminState, route: usize, response: Response) -> Response {
    state
        .fetch
        .metrics
        .node
        .requests
        .record(route, response.status().as_u16());
    response
}

/// The id in the path: the `{id}` segment as decoded by axum, then parsed.
fn parse_id(path: Result<Path<String>, PathRejection>) -> Result<ObjectId, Box<Response>> {
    let bad = |message: String| Box::new(error(StatusCode::BAD_REQUEST, &message));
    let Path(text) = path.map_err(|e| {
        bad(format!(
            "{}; expected an object id of 64 hex characters",
            e.body_text()
        ))
    })?;
    text.parse::<ObjectId>().map_err(|e| bad(e.to_string()))
}

async fn publish(State(state): State<Shared>, headers: HeaderMap, body: Body) -> Response {
    let response = match read_object(&state, &headers, body).await {
        Ok(bytes) => publish_inner(&state, bytes).await,
        Err(response) => *response,
    };
    record(&state, ROUTE_PUBLISH, response)
}

/// Reads a `POST /objects` body, refusing it as soon as its declared length or the bytes
/// received pass `--max-object-size`.
async fn read_object(
    state: &AdminState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, Box<Response>> {
    let max = state.max_object_size;
    let too_large = || {
        let message = format!(
            "the object is larger than this peer's --max-object-size of {}; publish a smaller object or restart the peer with a larger limit",
            ByteSize(max)
        );
        Box::new(error(StatusCode::PAYLOAD_TOO_LARGE, &message))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max) {
        return Err(too_large());
    }
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(e) => Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            &format!(
                "the request body could not be read ({e}); send the object bytes as the POST body"
            ),
        ))),
    }
}

/// Stores the object, records this peer as its provider and announces it in the DHT.
///
/// - The local provider record cannot be stored (this peer announces too many objects):
///   507, and the object is dropped again, so it is neither held nor half-published.
/// - The announcement query fails or times out: 504 with the id and size. The object
///   stays stored and recorded here: Kademlia reports only that the query did not finish,
///   not which of the closest peers took the record, so the DHT may already point here
///   and dropping the object would leave those records dangling. Posting the same bytes
///   again (same id) re-announces it. The harness treats anything but 201 as a failed
///   publication, so a run never starts on an object others may not find.
/// - A lone peer (empty routing table) has no one to tell: Kademlia finishes the query at
///   once, successfully, and the answer is 201.
async fn publish_inner(state: &AdminState, body: Bytes) -> Response {
    let holdings = &state.fetch.holdings;
    let object = match holdings.store().put(body).await {
        Ok(object) => object,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let (id, size) = (object.id(), object.size());
    holdings.mark_published(id);
    let announced = match tokio::time::timeout(ANNOUNCE_WAIT, state.fetch.node.provide(id)).await {
        Ok(result) => result,
        Err(_) => Err(ProvideError::Network {
            id,
            reason: format!("no answer within {ANNOUNCE_WAIT:?}"),
        }),
    };
    match announced {
        Ok(()) => {}
        Err(e @ ProvideError::Local { .. }) => {
            let status = StatusCode::INSUFFICIENT_STORAGE;
            let message = match holdings.remove(&id).await {
                Ok(_) => format!("{e}; the object was not kept"),
                Err(why) => format!("{e}; dropping the object again failed too: {why}"),
            };
            return error(status, &message);
        }
        Err(e @ ProvideError::Network { .. }) => {
            tracing::warn!(%id, "{e}");
            let message = format!("{e}; the object is stored on this peer and recorded as provided here, but other peers may not find it: POST the same bytes again to re-announce it, and check --bootstrap");
            let body = json!({ "error": message, "id": id.to_string(), "size": size });
            return (StatusCode::GATEWAY_TIMEOUT, Json(body)).into_response();
        }
        Err(e @ ProvideError::Stopped) => {
            return error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string())
        }
    }
    let mut response = (
        StatusCode::CREATED,
        Json(json!({ "id": id.to_string(), "size": size })),
    )
        .into_response();
    if let Ok(location) = format!("/objects/{id}").parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Releases an object's "being fetched" mark however the fetch ends (even cancelled).
struct ActiveGuard<'a> {
    state: &'a AdminState,
    id: ObjectId,
}

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut active) = self.state.active.lock() {
            active.remove(&self.id);
        }
    }
}

async fn fetch_object(
    State(state): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    uri: Uri,
) -> Response {
    let response = match parse_fresh(uri.query()) {
        Ok(fresh) => fetch_inner(&state, id, fresh).await,
        Err(message) => error(StatusCode::BAD_REQUEST, &message),
    };
    record(&state, ROUTE_FETCH, response)
}

/// Reads `fresh=true|false` (also `1|0`, or a bare `fresh`) from the query of `POST /fetch/{id}`.
fn parse_fresh(query: Option<&str>) -> Result<bool, String> {
    let mut fresh = false;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, "true"));
        fresh = match (key, value) {
            ("fresh", "true" | "1") => true,
            ("fresh", "false" | "0") => false,
            _ => {
                return Err(format!(
                    "unknown query parameter \"{pair}\"; the only one is fresh=true|false"
                ))
            }
        };
    }
    Ok(fresh)
}

async fn fetch_inner(
    state: &AdminState,
    id: Result<Path<String>, PathRejection>,
    fresh_copy: bool,
) -> Response {
    let id = match parse_id(id) {
        Ok(id) => id,
        Err(response) => return *response,
    };
    let fresh = state
        .active
        .lock()
        .map(|mut active| active.insert(id))
        .unwrap_or(false);
    if !fresh {
        let message = format!("object {id} is already being fetched by this peer; wait for that fetch to answer, then ask again (it will answer at once)");
        return error(StatusCode::CONFLICT, &message);
    }
    let _guard = ActiveGuard { state, id };
    if fresh_copy && !state.fetch.holdings.is_published(&id) {
        if let Err(e) = state.fetch.node.stop_providing(id).await {
            return error(StatusCode::INTERNAL_SERVER_ERROR, &e);
        }
        if let Err(e) = state.fetch.holdings.remove(&id).await {
            return error(StatusCode::INTERNAL_SERVER_ERROR, &e);
        }
    }
    match fetch::fetch(&state.fetch, id).await {
        Ok(stats) => {
            state.fetch.metrics.fetches_ok.inc();
            (StatusCode::OK, Json(stats)).into_response()
        }
        Err(e) => {
            state.fetch.metrics.fetches_failed.inc();
            tracing::warn!("{e}");
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let p = e.progress();
            let body = json!({
                "error": e.to_string(),
                "id": id.to_string(),
                "chunks_done": p.chunks_done,
                "chunks_total": p.chunks_total,
                "rejected_chunks": p.rejected_chunks,
                "providers": p.providers,
            });
            (status, Json(body)).into_response()
        }
    }
}

/// `GET /objects/{id}`: the complete object; `HEAD` says whether this peer holds it
/// without copying it together (what `holders:K` faults ask).
async fn object(
    State(state): State<Shared>,
    method: axum::http::Method,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let response = match parse_id(id) {
        Err(response) => *response,
        Ok(id) => match state.fetch.holdings.complete_object(&id) {
            Some(object) if method == axum::http::Method::HEAD => (
                [
                    (header::CONTENT_TYPE, "application/octet-stream".to_string()),
                    (header::CONTENT_LENGTH, object.size().to_string()),
                ],
                Body::empty(),
            )
                .into_response(),
            // A peer's store is in memory: a complete object always has its bytes.
            held => match held.and_then(|o| o.bytes_in_memory()) {
                Some(bytes) => {
                    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
                }
                None => error(
                    StatusCode::NOT_FOUND,
                    &format!("this peer holds no complete object {id}; POST /fetch/{id} first"),
                ),
            },
        },
    };
    record(&state, ROUTE_OBJECT, response)
}

async fn status(State(state): State<Shared>) -> Response {
    let response = match state.fetch.node.status().await {
        Ok(net) => {
            let store = state.fetch.holdings.store();
            let body = json!({
                "peer_id": net.peer_id,
                "listen_addrs": net.listen_addrs,
                "connected_peers": net.connected_peers,
                "routing_table_size": net.routing_table_size,
                "objects": store.len(),
                "partial_objects": state.fetch.holdings.partial_count(),
                "stored_bytes": store.stored_bytes(),
            });
            (StatusCode::OK, Json(body)).into_response()
        }
        Err(why) => error(StatusCode::SERVICE_UNAVAILABLE, &why),
    };
    record(&state, ROUTE_STATUS, response)
}

/// `POST /kill`: stops this peer at once (the answer goes out first).
async fn kill(State(state): State<Shared>) -> Response {
    tracing::info!(peer_id = %state.fetch.local, "killed through POST /kill");
    state.stop.send_replace(true);
    let body = json!({ "killed": state.fetch.local.to_string() });
    (StatusCode::OK, Json(body)).into_response()
}
