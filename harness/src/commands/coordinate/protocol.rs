//! What shards and the coordinator say to each other, as JSON over HTTP:
//!
//! - `POST /join` ([`JoinRequest`]) → `200` [`Assignment`] once every shard has joined;
//!   `409` when the shard does not belong (another build or scenario, a taken index),
//!   `503` when the coordinator stopped waiting. Errors are `{"error": "…"}`.
//! - `POST /report/{index}` with the shard's report.json → `200`.
//! - `POST /failed/{index}` with why the shard has no report → `200`.
//! - `GET /healthz` → `200 ok`.

use serde::{Deserialize, Serialize};

use crate::plan::shard::Shard;

/// A shard asking to take part.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinRequest {
    /// The slice it was told to run (`--shard`), or `None` for any free one.
    pub shard: Option<Shard>,
    /// Its build ([`build`]).
    pub build: String,
    /// BLAKE3 of its resolved scenario.
    pub scenario_hash: String,
}

/// The coordinator's answer: the slice and the common start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Assignment {
    /// The slice to run.
    pub shard: Shard,
    /// The common start, RFC 3339.
    pub start_at: String,
}

/// This build, as shards and the coordinator compare it: `versus 0.1.0 (abc123)`.
pub fn build() -> String {
    let tool = crate::report::model::ToolInfo::current();
    format!("{} {} ({})", tool.name, tool.version, tool.git_sha)
}
