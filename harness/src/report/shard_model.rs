//! What a report says about shards: a shard's report names its slice of which run
//! ([`ShardInfo`]) and keeps what an exact merge needs ([`ShardRun`]: its offset from
//! the common start and every second's histograms); a merged report lists the shards
//! it was made from and each one's own figures ([`ShardPart`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::record::resources::{HarnessLoad, RoleResources};

/// Which run a shard report is a slice of, or a merged report was merged from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ShardInfo {
    /// This report's slice (0-based); absent in a merged report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// How many shards the run has.
    pub count: u32,
    /// The shards' common start (RFC 3339, UTC).
    pub start_at: String,
    /// BLAKE3 of the resolved scenario (hex): shards of one run share it.
    pub scenario_hash: String,
    /// A merged report: the shard reports it was made from, in shard order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
}

/// One run's shard data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ShardRun {
    /// A shard's run: seconds from the common start to its load's start (a shard that
    /// was ready late starts late; the merge shifts its rows by this much).
    #[serde(default)]
    pub start_offset_s: f64,
    /// A shard's run: every second's histogram per operation (and `<op>-uncorrected`),
    /// so the merged per-second rows are added histograms, not averaged percentiles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interval_histograms: Vec<IntervalHistogram>,
    /// A merged run: each shard's own figures, in shard order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<ShardPart>,
}

/// One second's histogram of one operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IntervalHistogram {
    /// The second of the run (as the interval's `t_s`).
    pub t_s: u32,
    /// The operation (`get`), or `get-uncorrected`.
    pub tag: String,
    /// HdrHistogram V2 + DEFLATE, base64.
    pub histogram: String,
}

/// One shard's own figures in a merged run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ShardPart {
    /// The shard's index.
    pub index: u32,
    /// The machine it ran on.
    pub hostname: String,
    /// Its users (closed model) or pooled connections (open model).
    pub users: u32,
    /// Seconds from the common start to its load's start.
    pub start_offset_s: f64,
    /// Its load's wall time, seconds.
    pub duration_s: f64,
    /// Operations it finished.
    pub count: u64,
    /// CPU and memory per role, as it sampled them.
    pub resources: BTreeMap<String, RoleResources>,
    /// How busy its load generator was.
    pub harness: HarnessLoad,
    /// Cores its processes used on average.
    pub cpu_cores_used: f64,
    /// Open model: it could not keep its part of the schedule.
    #[serde(default)]
    pub saturated: bool,
}
