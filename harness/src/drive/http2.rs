//! HTTP/2 for the driver (`--http2`, `--streams N`), on hyper's HTTP/2 client: which
//! sessions share a connection, the shared connections themselves, and which failed
//! requests were never processed and may be sent again.
//!
//! Sessions made on one worker thread are grouped `streams` at a time, in the order
//! they are made (a closed model's users, an open model's pooled connections); a
//! [`Group`] holds one HTTP/2 connection per endpoint for all of its sessions, so N
//! users share one connection and each keeps one stream of it busy. The connection is
//! opened by the first member that needs it and opened again, by one member, when the
//! server closes it (a GOAWAY after `keepalive_requests`); its I/O runs in a task of
//! its own on the worker's runtime, which ends when the last member lets go of it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::ThreadId;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::{Builder, SendRequest};
use hyper::http::uri::{Authority, Scheme};
use hyper_util::rt::{TokioExecutor, TokioIo};
use versus_targets::tls::client::Wire;

use super::http::{Exchanged, Received};
use crate::record::op::ErrorKind;

/// A request sender on a shared HTTP/2 connection.
pub(super) type Sender = SendRequest<Full<Bytes>>;

/// Per worker thread: the group new sessions join, and how many have joined it.
type Filling = HashMap<ThreadId, (Arc<Group>, u32)>;

/// The HTTP/2 settings of a connector: streams per connection, where each endpoint is
/// (the `:scheme` and `:authority` of its requests), and the groups being filled.
#[derive(Clone)]
pub(super) struct Http2 {
    /// Sessions per shared connection (`--streams`).
    streams: u32,
    /// Per endpoint: `https` or `http`, and `host:port`.
    pub(super) origins: Arc<[(Scheme, Authority)]>,
    /// Per worker thread: the group new sessions join, and how many have joined it.
    filling: Arc<Mutex<Filling>>,
}

impl Http2 {
    /// HTTP/2 with `streams` sessions per connection to the endpoints named by
    /// `authorities` (over TLS when `tls`).
    pub(super) fn new(streams: u32, authorities: &[&str], tls: bool) -> Result<Self, String> {
        let scheme = if tls { Scheme::HTTPS } else { Scheme::HTTP };
        let origins = authorities
            .iter()
            .map(|a| {
                Authority::try_from(*a)
                    .map(|authority| (scheme.clone(), authority))
                    .map_err(|e| format!("{a:?} is not host:port: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            streams: streams.max(1),
            origins,
            filling: Arc::default(),
        })
    }

    /// The group the next session made on this thread belongs to.
    pub(super) fn join(&self) -> Arc<Group> {
        let mut filling = self.filling.lock().unwrap_or_else(PoisonError::into_inner);
        let endpoints = self.origins.len();
        let (group, members) = filling
            .entry(std::thread::current().id())
            .or_insert_with(|| (Arc::new(Group::new(endpoints)), 0));
        if *members >= self.streams {
            *group = Arc::new(Group::new(endpoints));
            *members = 0;
        }
        *members += 1;
        group.clone()
    }
}

/// The connections `streams` sessions share, one per endpoint.
pub(super) struct Group {
    slots: Box<[tokio::sync::Mutex<Slot>]>,
}

/// One endpoint's shared connection.
#[derive(Default)]
pub(super) struct Slot {
    /// The open connection's sender, if any.
    sender: Option<Sender>,
    /// The server chose HTTP/1.1 in the TLS handshake: every member connects on its own.
    pub(super) http1_only: bool,
}

impl Group {
    fn new(endpoints: usize) -> Self {
        Self {
            slots: (0..endpoints).map(|_| Default::default()).collect(),
        }
    }

    /// Endpoint `index`'s slot, locked: one member at a time looks at it, and the one
    /// that finds the connection gone opens the next while the others wait for it.
    pub(super) async fn slot(&self, index: usize) -> Option<tokio::sync::MutexGuard<'_, Slot>> {
        Some(self.slots.get(index)?.lock().await)
    }
}

impl Slot {
    /// The shared connection's sender, while the connection is open.
    pub(super) fn open_sender(&self) -> Option<Sender> {
        self.sender.as_ref().filter(|s| !s.is_closed()).cloned()
    }

    /// Makes `wire` the slot's HTTP/2 connection (its I/O in a task of its own);
    /// returns its sender.
    pub(super) async fn connect(&mut self, wire: Wire) -> Result<Sender, ErrorKind> {
        let (sender, connection) = Builder::new(TokioExecutor::new())
            .handshake(TokioIo::new(wire))
            .await
            .map_err(|_| ErrorKind::Connect)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("HTTP/2 connection ended: {e}");
            }
        });
        self.sender = Some(sender.clone());
        Ok(sender)
    }
}

/// Reads the whole body of an HTTP/2 `response` (its connection's I/O runs in its own
/// task); the body is kept when `keep`.
pub(super) async fn read(
    response: hyper::Response<hyper::body::Incoming>,
    keep: bool,
) -> Result<Exchanged, ErrorKind> {
    let status = response.status();
    let mut body = response.into_body();
    let mut received = Received::new(keep);
    while let Some(frame) = body.frame().await {
        received.add(frame)?;
    }
    Ok((status, received))
}

/// Whether HTTP/2 says the request that failed with `error` was never processed by the
/// server, so it may be sent again on a new connection: it never left (the connection
/// was already closing), the server refused its stream, or its stream was above the
/// last one a GOAWAY said the server would process (RFC 9113, 6.8) — what a server
/// sends when it closes a connection after `keepalive_requests`.
pub(super) fn unprocessed(error: &hyper::Error) -> bool {
    if error.is_canceled() {
        return true;
    }
    let h2 = std::error::Error::source(error).and_then(|e| e.downcast_ref::<h2::Error>());
    h2.is_some_and(|e| {
        (e.is_go_away() && e.is_remote()) || e.reason() == Some(h2::Reason::REFUSED_STREAM)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_share_a_group_streams_at_a_time() {
        let h2 = Http2::new(3, &["127.0.0.1:1", "127.0.0.1:2"], false).unwrap();
        let groups: Vec<Arc<Group>> = (0..7).map(|_| h2.join()).collect();
        let same = |a: usize, b: usize| Arc::ptr_eq(&groups[a], &groups[b]);
        assert!(same(0, 1) && same(1, 2) && same(3, 5) && !same(2, 3) && !same(5, 6));
        assert_eq!(groups[0].slots.len(), 2);
        // Another thread fills groups of its own.
        let other = std::thread::scope(|s| s.spawn(|| h2.join()).join().unwrap());
        assert!(!Arc::ptr_eq(&other, &groups[6]));
        assert!(Http2::new(1, &["not a host:port/"], true).is_err());
    }
}
