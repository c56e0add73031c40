//! Reference targets for Versus: the client-server HTTP object store (`versus server`)
//! and, later, the peer-to-peer swarm node (`versus peer`), plus what both share:
//! units, content addressing, network shaping, metrics and the admin plane.

pub mod admin;
pub mod argv;
pub mod content;
pub mod exposure;
pub mod harness_watch;
pub mod limits;
pub mod metric_names;
pub mod metrics;
pub mod peer;
pub mod ready;
pub mod server;
pub mod shaping;
pub mod signals;
pub mod store;
pub mod tls;
pub mod units;
