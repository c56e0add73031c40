//! Stage 2, planning: from a validated [`Scenario`](crate::scenario::Scenario) to what a
//! run will do, as plain values, with no I/O: the load plan and its schedule, the fault
//! schedule, where objects go, and the analytical bounds.

pub(crate) mod arch_plan;
pub mod arrivals;
pub(crate) mod bounds;
mod churn;
mod cs;
pub(crate) mod faults;
pub mod links;
pub mod load;
pub(crate) mod nodes;
pub(crate) mod objects;
mod p2p;
pub mod regions;
pub(crate) mod routing;
pub mod schedule;
pub mod shard;
mod url;

pub use arch_plan::{ArchPlan, Endpoints, PeerHosting, PlanError, TlsPlan, WorkloadPlan};

#[cfg(test)]
mod tests;
