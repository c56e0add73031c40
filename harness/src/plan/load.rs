//! From a validated scenario to a load plan: the schedule (with or without ramp
//! stages), the model's parameters and the number of worker threads.

use std::time::Duration;

use super::schedule::Schedule;
use super::shard::Shard;
use crate::scenario::model::Arrivals;
use crate::scenario::model::{Load, LoadModel, WorkloadKind};
use crate::scenario::Scenario;

/// Seed of every random stream, so runs of the same scenario make the same choices.
pub const SEED: u64 = 0x7665_7273_7573; // "versus"

/// The load plan of `scenario`.
pub fn load_plan(scenario: &Scenario) -> LoadPlan {
    let load = &scenario.load;
    let one_shot = scenario.workload.kind == WorkloadKind::FlashCrowd;
    let model = match load.model {
        LoadModel::Closed => ModelPlan::Closed(ClosedPlan {
            users: closed_users(load),
            schedule: schedule(load, |s| s.users.map(f64::from), f64::from(load.users)),
            think_time: load.think_time.0,
            iterations: if one_shot { 1 } else { load.iterations },
            seed: SEED,
            retry_backoff: load.retry_backoff.0,
            shard: Shard::WHOLE,
        }),
        LoadModel::Open => ModelPlan::Open(OpenPlan {
            schedule: schedule(
                load,
                |s| s.rate.map(|r| r.per_sec()),
                load.rate.map_or(0.0, |r| r.per_sec()),
            ),
            arrivals: load.arrivals,
            connections: load.connections,
            max_in_flight: load.max_in_flight,
            seed: SEED,
            shard: Shard::WHOLE,
        }),
    };
    let parallel_units = model.parallel_units();
    LoadPlan {
        model,
        timeout: load.timeout.0,
        threads: threads(load.threads, parallel_units),
        start_at: None,
    }
}

fn closed_users(load: &Load) -> u32 {
    if load.stages.is_empty() {
        load.users
    } else {
        load.stages
            .iter()
            .filter_map(|s| s.users)
            .max()
            .unwrap_or(0)
    }
}

fn schedule(
    load: &Load,
    level: impl Fn(&crate::scenario::model::Stage) -> Option<f64>,
    constant: f64,
) -> Schedule {
    if load.stages.is_empty() {
        Schedule::constant(constant, load.duration.0)
    } else {
        Schedule::ramp(
            load.stages
                .iter()
                .map(|s| (s.duration.0, level(s).unwrap_or(0.0)))
                .collect(),
        )
    }
}

/// Worker threads: as asked, or one per core, never more than there are users.
pub fn threads(asked: u32, parallel_units: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wanted = if asked == 0 { cores } else { asked as usize };
    wanted.min(parallel_units.max(1)).max(1)
}

/// The longest a run can take: its schedule plus the drain (one timeout).
pub fn time_bound(plan: &LoadPlan) -> Duration {
    plan.model.duration() + plan.timeout
}

/// Closed-model parameters.
#[derive(Debug, Clone)]
pub struct ClosedPlan {
    /// Highest number of users.
    pub users: u32,
    /// Users over time.
    pub schedule: Schedule,
    /// Pause after each operation.
    pub think_time: Duration,
    /// Operations per user (0 = unlimited).
    pub iterations: u64,
    /// Seed of the users' random streams.
    pub seed: u64,
    /// Pause after a failed operation.
    pub retry_backoff: Duration,
    /// The slice of the users this process runs (`--shard`; the whole by default).
    pub shard: Shard,
}

/// Open-model parameters.
#[derive(Debug, Clone)]
pub struct OpenPlan {
    /// Arrivals per second over time.
    pub schedule: Schedule,
    /// Spacing of arrivals.
    pub arrivals: Arrivals,
    /// Pooled connections (split over workers).
    pub connections: u32,
    /// Most operations waiting or running (split over workers).
    pub max_in_flight: u32,
    /// Seed of the arrival process.
    pub seed: u64,
    /// The slice of the arrivals this process sends (`--shard`; the whole by default).
    pub shard: Shard,
}

/// Which load model to run.
#[derive(Debug, Clone)]
pub enum ModelPlan {
    /// A fixed population of looping users.
    Closed(ClosedPlan),
    /// Arrivals at a rate.
    Open(OpenPlan),
}

impl ModelPlan {
    /// How long the schedule lasts.
    pub fn duration(&self) -> Duration {
        match self {
            ModelPlan::Closed(c) => c.schedule.total(),
            ModelPlan::Open(o) => o.schedule.total(),
        }
    }

    /// Users (closed model) or pooled connections (open model): what runs in parallel.
    pub fn parallel_units(&self) -> usize {
        match self {
            ModelPlan::Closed(c) => c.users as usize,
            ModelPlan::Open(o) => o.connections as usize,
        }
    }

    /// True for the open model.
    pub fn is_open(&self) -> bool {
        matches!(self, ModelPlan::Open(_))
    }
}

/// Everything the load generator needs besides the target.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// The model and its schedule.
    pub model: ModelPlan,
    /// Per-operation timeout.
    pub timeout: Duration,
    /// Worker threads.
    pub threads: usize,
    /// The common start of the shards of a run (`--start-at`); `None`: in a moment.
    pub start_at: Option<std::time::SystemTime>,
}
