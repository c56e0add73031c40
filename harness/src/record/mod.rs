//! Stage 3, the instruments: what is recorded of an operation ([`op`]), latency
//! histograms, per-worker recorders, the cross-thread aggregator, resource sampling (of
//! processes and of containers' cgroups) and traffic counts.

pub(crate) mod aggregate;
pub mod cgroup;
pub mod histogram;
pub(crate) mod machine_load;
pub(crate) mod op;
pub mod per_user;
pub(crate) mod recorder;
pub mod resources;
pub(crate) mod traffic;
