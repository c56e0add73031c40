//! What a fetch answers: [`FetchStats`] when the object is here, complete and verified,
//! or a [`FetchError`] that says what went wrong, what to do, and how far the download got
//! (the admin plane turns these into the JSON of `POST /fetch/{id}`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::content::ObjectId;
use crate::units::ByteSize;

/// The answer of a completed `POST /fetch/{id}`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FetchStats {
    /// The object id.
    pub id: String,
    /// Object size in bytes.
    pub size: u64,
    /// Object bytes received and kept by this fetch (0 if the object was already here).
    pub bytes: u64,
    /// Time from the request to the verified object, in milliseconds.
    pub duration_ms: u64,
    /// Time until the first provider was found, in milliseconds (null if none was needed).
    pub provider_lookup_ms: Option<u64>,
    /// Number of chunks of the object.
    pub chunks: usize,
    /// Number of blocks of the object (the unit exchanged and verified).
    pub blocks: usize,
    /// Verified blocks kept, by the peer id that served them (the field keeps its
    /// historical name).
    pub chunks_by_peer: BTreeMap<String, u64>,
    /// Blocks that failed verification and were discarded.
    pub rejected_chunks: u64,
    /// Providers known by the end of the download.
    pub providers: usize,
    /// Time until the first verified block was stored, in milliseconds (null if none was needed).
    pub first_chunk_ms: Option<u64>,
    /// Blocks received that were already held (endgame duplicates), thrown away.
    pub duplicate_chunks: u64,
    /// Block requests answered "busy" (every upload slot of the provider taken).
    pub busy_answers: u64,
    /// Requests cancelled because their block arrived from another peer first.
    pub cancelled: u64,
}

/// How far a failed download got.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Progress {
    /// Blocks held.
    pub chunks_done: usize,
    /// Blocks in the object (null if the manifest never arrived).
    pub chunks_total: Option<usize>,
    /// Blocks that failed verification.
    pub rejected_chunks: u64,
    /// Providers found.
    pub providers: usize,
}

/// Why a download failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    /// No provider was found.
    #[error("no provider of object {id} was found in the DHT within {waited:?}; publish it first (POST /objects on a peer), check --bootstrap, or raise --lookup-timeout")]
    NoProvider {
        id: ObjectId,
        waited: Duration,
        progress: Progress,
    },
    /// Providers were found but none could deliver.
    #[error("every provider of object {id} failed: {detail}; retry later, or publish the object again from a healthy peer")]
    ProvidersFailed {
        id: ObjectId,
        detail: String,
        progress: Progress,
    },
    /// The overall deadline passed.
    #[error("fetching object {id} did not complete within --fetch-timeout {timeout:?}; the providers may be slow or overloaded, retry or raise --fetch-timeout")]
    Deadline {
        id: ObjectId,
        timeout: Duration,
        progress: Progress,
    },
    /// The object is larger than this peer accepts (`--max-object-size`).
    #[error("object {id} is {} ({size} bytes), larger than this peer's --max-object-size of {}; nothing of it was kept: restart the peer with a larger --max-object-size to fetch it", ByteSize(*.size), ByteSize(*.limit))]
    TooLarge {
        id: ObjectId,
        size: u64,
        limit: u64,
        progress: Progress,
    },
    /// The object's manifest is one this peer cannot use.
    #[error("the manifest of object {id} cannot be used: {detail}; the id names an object made by another tool or version, publish it again with this one")]
    Unusable {
        id: ObjectId,
        detail: String,
        progress: Progress,
    },
    /// Something on this node failed.
    #[error("fetching object {id} failed on this peer: {detail}")]
    Internal {
        id: ObjectId,
        detail: String,
        progress: Progress,
    },
}

impl FetchError {
    /// The HTTP status that reports this error.
    pub fn status(&self) -> u16 {
        match self {
            FetchError::NoProvider { .. } => 404,
            FetchError::ProvidersFailed { .. } => 502,
            FetchError::Deadline { .. } => 504,
            FetchError::TooLarge { .. } => 413,
            FetchError::Unusable { .. } => 502,
            FetchError::Internal { .. } => 500,
        }
    }

    /// How far the download got.
    pub fn progress(&self) -> &Progress {
        match self {
            FetchError::NoProvider { progress, .. }
            | FetchError::ProvidersFailed { progress, .. }
            | FetchError::Deadline { progress, .. }
            | FetchError::TooLarge { progress, .. }
            | FetchError::Unusable { progress, .. }
            | FetchError::Internal { progress, .. } => progress,
        }
    }
}
