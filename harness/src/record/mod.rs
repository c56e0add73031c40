//! Recording: latency histograms, per-worker recorders, the cross-thread aggregator
//! and resource sampling.

pub mod aggregate;
pub mod histogram;
pub mod recorder;
pub mod resources;
