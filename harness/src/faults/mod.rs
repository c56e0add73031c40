//! Faults during a run: the scenario's `[[faults]]` and `[churn]` turned into timed
//! events ([`schedule`]), carried out on the running nodes while the load runs
//! ([`inject`]), and what they did to the service afterwards ([`outcome`]: availability
//! per second, time to recover, users that still completed, objects that became
//! unavailable). [`UserGate`] is what the load loops see of it.

pub mod gate;
pub mod inject;
pub mod outcome;
pub mod schedule;

pub use gate::UserGate;

use std::sync::Arc;

use bytes::Bytes;

use crate::load::{LoadPlan, ModelPlan};
use crate::scenario::Scenario;

/// The faults of architecture `arch` (with `servers` servers and `peers` user peers) and,
/// when there are any, a gate for `users` users over the objects at `paths`, installed
/// in `plan`'s closed model.
pub fn prepare(
    scenario: &Scenario,
    arch: &str,
    (servers, peers): (usize, usize),
    users: usize,
    plan: &mut LoadPlan,
    paths: impl IntoIterator<Item = Bytes>,
) -> (Vec<schedule::Planned>, Option<Arc<UserGate>>) {
    let events = schedule::plan(scenario, arch, servers, peers, plan.model.duration());
    if events.is_empty() {
        return (events, None);
    }
    let gate = Arc::new(UserGate::new(users, paths));
    if let ModelPlan::Closed(c) = &mut plan.model {
        c.gate = Some(gate.clone());
    }
    (events, Some(gate))
}
