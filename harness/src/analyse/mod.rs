//! Stage 8, analysis of finished runs: the one metric registry ([`metrics`]) and what
//! is judged with it: thresholds, side by side, the claims, and the statistics and
//! verdicts of `versus compare`.

pub(crate) mod claims;
pub mod metrics;
pub(crate) mod provenance;
pub mod shard_merge;
pub(crate) mod side_by_side;
pub mod stats;
pub(crate) mod thresholds;
pub mod verdict;
