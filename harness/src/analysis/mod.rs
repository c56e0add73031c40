//! Analysis of finished runs: thresholds, analytical bounds, side-by-side verdicts
//! and the claims.

pub mod bounds;
pub mod claims;
pub mod fault_claims;
pub mod side_by_side;
pub mod thresholds;
