//! Launching the reference targets: node processes, clusters of them, and the small
//! HTTP client used to set them up and scrape them.

pub mod cluster;
pub mod http_client;
pub mod process;
pub mod scratch;
