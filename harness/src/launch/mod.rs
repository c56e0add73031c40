//! Stage 4, launching the nodes of a plan: node processes (one node each, or a peer
//! host of several peers) or containers, clusters of them, and the small HTTP client
//! used to set them up and scrape them.

pub mod attach;
pub(crate) mod cluster;
pub mod docker;
pub(crate) mod host;
pub mod http_client;
pub(crate) mod launcher;
pub mod process;
pub mod registry;
pub(crate) mod scratch;
