//! The object store's HTTP routes, dispatched by hand for a lean hot path.
//!
//! | route | answers |
//! |---|---|
//! | `PUT /objects` (body = bytes) | 201 `{"id":"<hex>","size":N}`, 413 beyond `--max-object-size`, 503 when the store is full or too many upload bytes are in flight, 408 after `--body-timeout` without a byte |
//! | `GET /objects/{id}` | 200, or 206 for one `Range: bytes=a-b`, 416 when unsatisfiable |
//! | `HEAD /objects/{id}` | as GET, without the body |
//! | `DELETE /objects/{id}` | 204, or 404 |
//!
//! Unknown ids get 404, malformed ids 400; every error body is `{"error":"<what to do>"}`.

use std::convert::Infallible;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::body::{ChunkStream, ObjectBody};
use super::range::{self, RangeRequest};
use super::upload::{self, UploadError};
use super::State;
use crate::content::ObjectId;
use crate::store::{StoreError, StoredObject};

/// Route names, as they appear in `versus_requests_total{route=…}`.
pub const ROUTES: &[&str] = &["put", "get", "head", "delete", "other"];
const PUT: usize = 0;
const GET: usize = 1;
const HEAD: usize = 2;
const DELETE: usize = 3;
const OTHER: usize = 4;

const OCTET_STREAM: HeaderValue = HeaderValue::from_static("application/octet-stream");
const JSON: HeaderValue = HeaderValue::from_static("application/json");
const BYTES: HeaderValue = HeaderValue::from_static("bytes");
const CLOSE: HeaderValue = HeaderValue::from_static("close");
const RETRY_SECONDS: HeaderValue = HeaderValue::from_static("1");

/// Answers one data-plane request and counts it.
pub async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<ObjectBody>, Infallible> {
    super::slowdown::apply();
    let (route, response) = dispatch(&state, req).await;
    state
        .metrics
        .requests
        .record(route, response.status().as_u16());
    Ok(response)
}

async fn dispatch(state: &Arc<State>, req: Request<Incoming>) -> (usize, Response<ObjectBody>) {
    let path = req.uri().path();
    if path == "/objects" {
        return match *req.method() {
            Method::PUT => (PUT, put(state, req).await),
            _ => (OTHER, not_allowed("PUT", path)),
        };
    }
    let Some(id_text) = path.strip_prefix("/objects/") else {
        let message = format!("no route {path}; the object store serves PUT /objects and GET, HEAD, DELETE /objects/{{id}}");
        return (OTHER, error(StatusCode::NOT_FOUND, &message));
    };
    let route = match *req.method() {
        Method::GET => GET,
        Method::HEAD => HEAD,
        Method::DELETE => DELETE,
        _ => return (OTHER, not_allowed("GET, HEAD, DELETE", path)),
    };
    let id = match id_text.parse::<ObjectId>() {
        Ok(id) => id,
        Err(e) => return (route, error(StatusCode::BAD_REQUEST, &e.to_string())),
    };
    let response = match route {
        DELETE => delete(state, &id).await,
        _ => get(state, &id, &req, route == HEAD).await,
    };
    (route, response)
}

async fn get(
    state: &Arc<State>,
    id: &ObjectId,
    req: &Request<Incoming>,
    head: bool,
) -> Response<ObjectBody> {
    let Some(object) = state.store.get(id) else {
        return not_found(id);
    };
    let size = object.size();
    let range_header = req.headers().get(header::RANGE).map(HeaderValue::as_bytes);
    let (status, range) = match range::parse(range_header, size) {
        RangeRequest::Full => (StatusCode::OK, 0..size),
        RangeRequest::Partial(r) => (StatusCode::PARTIAL_CONTENT, r),
        RangeRequest::Unsatisfiable => {
            let mut response = error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                &format!("the requested range is outside object {id} of {size} bytes"),
            );
            if let Ok(value) = HeaderValue::try_from(format!("bytes */{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return response;
        }
    };
    let body = if head {
        ObjectBody::empty()
    } else if let Some(bytes) = object.verified_bytes() {
        let chunks = object.manifest().chunks_covering(range.clone());
        state.metrics.chunks_served.add(chunks.len() as u64);
        state
            .metrics
            .object_bytes_served
            .add(range.end - range.start);
        ObjectBody::full(bytes.slice(range.start as usize..range.end as usize))
    } else if range.is_empty() {
        ObjectBody::empty()
    } else {
        match stream_from_disk(state, id, object, range.clone()).await {
            Ok(stream) => ObjectBody::Chunks(Box::new(stream)),
            Err(response) => return *response,
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, OCTET_STREAM);
    headers.insert(header::ACCEPT_RANGES, BYTES);
    if status == StatusCode::PARTIAL_CONTENT {
        headers.insert(header::CONTENT_RANGE, content_range(&range, size));
    }
    if head {
        headers.insert(
            header::CONTENT_LENGTH,
            HeaderValue::from(range.end - range.start),
        );
    }
    response
}

/// Starts streaming `range` of `object` from disk. When the first read fails because a
/// DELETE (and maybe a new PUT) changed the object since it was looked up, the answer is
/// the current state: 404, or one more try with the object now stored.
async fn stream_from_disk(
    state: &Arc<State>,
    id: &ObjectId,
    mut object: Arc<StoredObject>,
    range: Range<u64>,
) -> Result<ChunkStream, Box<Response<ObjectBody>>> {
    let mut retried = false;
    loop {
        let started = ChunkStream::start(
            Arc::clone(&object),
            Arc::clone(&state.metrics),
            range.clone(),
        )
        .await;
        let err = match started {
            Ok(stream) => return Ok(stream),
            Err(err) => err,
        };
        match state.store.get(id) {
            None => return Err(Box::new(not_found(id))),
            Some(current) if !retried && !Arc::ptr_eq(&current, &object) => {
                object = current;
                retried = true;
            }
            Some(_) => return Err(Box::new(store_error(state, &err))),
        }
    }
}

fn content_range(range: &Range<u64>, size: u64) -> HeaderValue {
    let text = format!("bytes {}-{}/{size}", range.start, range.end - 1);
    HeaderValue::try_from(text).unwrap_or(BYTES)
}

async fn put(state: &Arc<State>, req: Request<Incoming>) -> Response<ObjectBody> {
    let max = state.max_object_size;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max) {
        return upload_error(&UploadError::TooLarge(max));
    }
    if let Err(full) = state.store.check_room(declared.unwrap_or(0)) {
        return upload_error(&UploadError::Full(full));
    }
    let upload =
        match upload::read(req.into_body(), declared, max, &state.limits, &state.store).await {
            Ok(upload) => upload,
            Err(err) => return upload_error(&err),
        };
    let (bytes, _held) = (upload.bytes, upload.reservation);
    match state.store.put(bytes).await {
        Ok(object) => {
            let id = object.id();
            let json = format!("{{\"id\":\"{id}\",\"size\":{}}}", object.size());
            let mut response = json_response(StatusCode::CREATED, json);
            if let Ok(location) = HeaderValue::try_from(format!("/objects/{id}")) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
        Err(err) => store_error(state, &err),
    }
}

async fn delete(state: &Arc<State>, id: &ObjectId) -> Response<ObjectBody> {
    match state.store.delete(id).await {
        Ok(true) => {
            let mut response = Response::new(ObjectBody::empty());
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
        }
        Ok(false) => not_found(id),
        Err(err) => store_error(state, &err),
    }
}

fn not_found(id: &ObjectId) -> Response<ObjectBody> {
    let message = format!(
        "no object {id} on this server; PUT /objects first, or ask the server that holds it"
    );
    error(StatusCode::NOT_FOUND, &message)
}

fn not_allowed(allowed: &'static str, path: &str) -> Response<ObjectBody> {
    let message = format!("method not allowed on {path}; use {allowed}");
    let mut response = error(StatusCode::METHOD_NOT_ALLOWED, &message);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allowed));
    response
}

/// The answer to a refused upload; the body was not read whole, so the connection closes.
fn upload_error(err: &UploadError) -> Response<ObjectBody> {
    let status = match err {
        UploadError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        UploadError::Busy(_) | UploadError::Full(_) => StatusCode::SERVICE_UNAVAILABLE,
        UploadError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
        UploadError::Body(_) => StatusCode::BAD_REQUEST,
    };
    tracing::debug!("refused an upload: {err}");
    let mut response = error(status, &err.to_string());
    response.headers_mut().insert(header::CONNECTION, CLOSE);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, RETRY_SECONDS);
    }
    response
}

fn store_error(state: &State, err: &StoreError) -> Response<ObjectBody> {
    if let StoreError::Full(full) = err {
        return upload_error(&UploadError::Full(*full));
    }
    if matches!(err, StoreError::Corrupt { .. }) {
        state.metrics.verification_failures.inc();
    }
    tracing::error!("{err}");
    error(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string())
}

fn error(status: StatusCode, message: &str) -> Response<ObjectBody> {
    let json = serde_json::json!({ "error": message }).to_string();
    json_response(status, json)
}

fn json_response(status: StatusCode, json: String) -> Response<ObjectBody> {
    let mut response = Response::new(ObjectBody::full(Bytes::from(json)));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, JSON);
    response
}
