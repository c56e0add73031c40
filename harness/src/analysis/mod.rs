//! Analysis of finished runs: thresholds now; bounds, verdicts and claims later.

pub mod bounds;
pub mod thresholds;
