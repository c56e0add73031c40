//! What a shard's report carries so its shards can be merged exactly: its offset from the
//! common start and its per-second histograms ([`shard_run`]), and the hash of the
//! resolved scenario every shard of one run shares ([`scenario_hash`]).

use std::time::SystemTime;

use base64::Engine;

use crate::record::aggregate::HlogEntry;
use crate::report::model::{IntervalHistogram, ShardRun};

/// A shard's run data: its offset from the common `start_at`, its load having started
/// at `started`, and its per-second histograms `hlog`.
pub(crate) fn shard_run(start_at: SystemTime, started: SystemTime, hlog: &[HlogEntry]) -> ShardRun {
    let b64 = base64::engine::general_purpose::STANDARD;
    ShardRun {
        start_offset_s: crate::plan::shard::offset_s(start_at, started),
        interval_histograms: hlog
            .iter()
            .map(|e| IntervalHistogram {
                t_s: e.index,
                tag: e.tag.clone(),
                histogram: b64.encode(&e.encoded),
            })
            .collect(),
        parts: Vec::new(),
    }
}

/// BLAKE3 of a resolved scenario, hex: what shards of one run share.
pub fn scenario_hash(scenario: &serde_json::Value) -> String {
    blake3::hash(scenario.to_string().as_bytes())
        .to_hex()
        .to_string()
}
