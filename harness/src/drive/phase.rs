//! One load phase against one target: start the worker threads, merge their intervals
//! as they arrive, show progress, sample resources, and return when every worker has
//! drained (or, as a last resort, when the time bound has passed).

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::load::{self, Job, WorkerEvent};
use super::progress::{Progress, ProgressMode};
use super::session::Connector;
use super::workload::Workload;
use crate::arch::Role;
use crate::error::Failure;
use crate::plan::load::{time_bound, LoadPlan};
use crate::record::aggregate::{Aggregator, Recorded};
use crate::record::resources::{HarnessLoad, ResourceSampler, RoleResources};

/// Workers get this long to start their runtimes before the schedule begins.
pub const START_LEAD: Duration = Duration::from_millis(20);
/// Extra time beyond schedule + drain before the harness stops waiting for workers.
const GRACE: Duration = Duration::from_secs(5);

/// What a load phase measured.
pub struct Driven {
    /// Histograms, counters and intervals.
    pub recorded: Recorded,
    /// From the start of the schedule to the end of the drain, seconds.
    pub duration_s: f64,
    /// CPU and memory per role.
    pub resources: BTreeMap<Role, RoleResources>,
    /// How busy the harness was.
    pub harness: HarnessLoad,
    /// True when the phase was stopped by Ctrl-C.
    pub interrupted: bool,
    /// The busiest second of the harness and the targets together, in cores.
    pub peak_cores: f64,
    /// Cores busy with other work on the machine during the load, on average.
    pub other_cores: Option<f64>,
}

/// When a phase starts, what stops it, and how it shows progress.
#[derive(Debug, Clone, Copy)]
pub struct Control<'a> {
    /// When the schedule starts (something else, such as a fault injector, can keep
    /// the same clock).
    pub start: Instant,
    /// Cancelled on Ctrl-C: stop issuing, drain.
    pub stop: &'a CancellationToken,
    /// How to show progress.
    pub progress: ProgressMode,
    /// What the progress line calls the phase.
    pub label: &'a str,
}

impl<'a> Control<'a> {
    /// A phase starting in a moment (workers get [`START_LEAD`] to start their runtimes).
    pub fn soon(stop: &'a CancellationToken, progress: ProgressMode, label: &'a str) -> Self {
        Control {
            start: Instant::now() + START_LEAD,
            stop,
            progress,
            label,
        }
    }
}

/// Runs `plan` doing `job`, sampling resources with `sampler`, as `control` says.
pub async fn drive<C: Connector, W: Workload + ?Sized>(
    plan: &LoadPlan,
    job: Job<C, W>,
    sampler: &mut ResourceSampler,
    control: Control<'_>,
) -> anyhow::Result<Driven> {
    let (start, stop) = (control.start, control.stop);
    let workers = plan.threads.max(1);
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let names = job.workload.op_names();
    let handles = load::start(plan, job, start, stop.clone(), events_tx);
    let schedule_end = start + plan.model.duration();
    let give_up = start + time_bound(plan) + GRACE;
    let mut aggregator = Aggregator::new(workers, names);
    let mut progress = Progress::start(control.progress, control.label, plan.model.duration());
    let mut sample_every = tokio::time::interval(Duration::from_secs(1));
    let mut finished = 0usize;
    let mut draining = false;
    let mut last_done = start;
    let mut failure = None;
    while finished < workers {
        tokio::select! {
            event = events.recv() => match event {
                Some(WorkerEvent::Interval(snapshot)) => {
                    aggregator.add(snapshot);
                    let shown = aggregator.intervals().len();
                    aggregator.finalize_ready();
                    for interval in &aggregator.intervals()[shown..] {
                        progress.interval(interval);
                    }
                }
                Some(WorkerEvent::Done(worker)) => {
                    aggregator.worker_done(worker);
                    finished += 1;
                    last_done = Instant::now();
                }
                Some(WorkerEvent::Failed(worker, message)) => {
                    aggregator.worker_done(worker);
                    finished += 1;
                    failure = Some(message);
                }
                None => break,
            },
            _ = sample_every.tick() => sampler.sample(),
            _ = tokio::time::sleep_until(schedule_end), if !draining => {
                draining = true;
                progress.draining();
            }
            _ = stop.cancelled(), if !draining => {
                draining = true;
                progress.draining();
            }
            _ = tokio::time::sleep_until(give_up) => {
                tracing::warn!("workers did not drain within the time bound; reporting what was recorded");
                break;
            }
        }
    }
    progress.finish();
    sampler.sample();
    if finished == workers {
        for handle in handles {
            let _ = handle.join();
        }
    }
    if let Some(message) = failure {
        return Err(
            Failure::CannotRun(format!("a load-generator worker failed: {message}")).into(),
        );
    }
    Ok(Driven {
        recorded: aggregator.finish(),
        duration_s: last_done.saturating_duration_since(start).as_secs_f64(),
        resources: sampler.roles(),
        harness: sampler.harness_load(workers as u32),
        interrupted: stop.is_cancelled(),
        peak_cores: sampler.peak_cores(),
        other_cores: sampler.other_cores(),
    })
}

/// When the load starts: at `start_at` (the shards' common start) if it is still
/// ahead, else in a moment; as a tokio instant and as wall-clock time.
pub fn load_start(
    start_at: Option<std::time::SystemTime>,
) -> (tokio::time::Instant, std::time::SystemTime) {
    let lead = START_LEAD;
    let now = std::time::SystemTime::now();
    let wait = start_at
        .and_then(|at| at.duration_since(now).ok())
        .filter(|w| *w >= lead)
        .unwrap_or(lead);
    (tokio::time::Instant::now() + wait, now + wait)
}
