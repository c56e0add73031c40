//! The load generator: worker threads, each a single-threaded tokio runtime driving its
//! share of the users (closed model) or arrivals (open model), recording into its own
//! [`WorkerRecorder`] and handing one interval a second to the aggregator.
//!
//! One runtime per thread, like wrk's threads: no locks and no cross-thread wakeups on
//! the hot path, and a worker can be pinned to a core.

mod closed;
mod open;
mod pool;
pub mod stages;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::driver::{Connector, ErrorKind, Operation, Outcome, Session};
use crate::record::recorder::{IntervalSnapshot, WorkerRecorder};
use crate::scenario::model::Arrivals;
use crate::workload::Workload;
pub use stages::Schedule;

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
    /// With faults: which users are online, and what they achieved.
    pub gate: Option<Arc<crate::faults::UserGate>>,
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
}

/// What workers tell the main thread.
#[derive(Debug)]
pub enum WorkerEvent {
    /// One second's measurements (or the last, partial one).
    Interval(IntervalSnapshot),
    /// The worker has finished and drained; nothing more comes from it.
    Done(usize),
    /// The worker could not run (its runtime failed to start).
    Failed(usize, String),
}

/// What one worker's tasks share.
pub struct WorkerContext<C, W: ?Sized> {
    worker: usize,
    workers: usize,
    connector: C,
    workload: Arc<W>,
    recorder: Rc<RefCell<WorkerRecorder>>,
    start: Instant,
    timeout: Duration,
    stop: CancellationToken,
}

/// Runs an operation with a timeout; a timed-out session is reset.
async fn execute_timed<S: Session>(session: &mut S, op: &Operation, timeout: Duration) -> Outcome {
    match tokio::time::timeout(timeout, session.execute(op)).await {
        Ok(outcome) => outcome,
        Err(_) => {
            session.reset();
            Err(ErrorKind::Timeout)
        }
    }
}

/// Starts the worker threads. They begin at `start`, stop by themselves at the end of
/// the schedule or when `stop` is cancelled (then drain), and report on `events`.
pub fn start<C: Connector, W: Workload + ?Sized>(
    plan: &LoadPlan,
    connector: C,
    workload: Arc<W>,
    start: Instant,
    stop: CancellationToken,
    events: UnboundedSender<WorkerEvent>,
) -> Vec<std::thread::JoinHandle<()>> {
    let workers = plan.threads.max(1);
    (0..workers)
        .map(|worker| {
            let (plan, connector, workload, stop, events) = (
                plan.clone(),
                connector.clone(),
                workload.clone(),
                stop.clone(),
                events.clone(),
            );
            let failed = events.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("versus-worker-{worker}"))
                .spawn(move || {
                    run_worker(
                        worker, workers, plan, connector, workload, start, stop, events,
                    )
                });
            match spawned {
                Ok(handle) => Some(handle),
                Err(e) => {
                    let _ = failed.send(WorkerEvent::Failed(
                        worker,
                        format!("cannot start thread: {e}"),
                    ));
                    None
                }
            }
        })
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default()
}

#[allow(clippy::too_many_arguments)]
fn run_worker<C: Connector, W: Workload + ?Sized>(
    worker: usize,
    workers: usize,
    plan: LoadPlan,
    connector: C,
    workload: Arc<W>,
    start: Instant,
    stop: CancellationToken,
    events: UnboundedSender<WorkerEvent>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = events.send(WorkerEvent::Failed(
                worker,
                format!("cannot start runtime: {e}"),
            ));
            return;
        }
    };
    let recorder = Rc::new(RefCell::new(WorkerRecorder::new(
        worker,
        plan.model.is_open(),
        start,
    )));
    let ctx = WorkerContext {
        worker,
        workers,
        connector,
        workload,
        recorder: recorder.clone(),
        start,
        timeout: plan.timeout,
        stop,
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let ticker = tokio::task::spawn_local(tick(recorder.clone(), start, events.clone()));
        match plan.model {
            ModelPlan::Closed(closed) => closed::run(ctx, closed).await,
            ModelPlan::Open(open) => open::run(ctx, open).await,
        }
        ticker.abort();
        for snapshot in recorder.borrow_mut().finish() {
            let _ = events.send(WorkerEvent::Interval(snapshot));
        }
        let _ = events.send(WorkerEvent::Done(worker));
    });
}

/// Delivers the recorder's finished seconds to the aggregator, once a second.
async fn tick(
    recorder: Rc<RefCell<WorkerRecorder>>,
    start: Instant,
    events: UnboundedSender<WorkerEvent>,
) {
    for second in 1u64.. {
        // Just after the boundary, so the second that ended is complete.
        tokio::time::sleep_until(start + Duration::from_secs(second) + Duration::from_millis(5))
            .await;
        let delivered = recorder.borrow_mut().drain(Instant::now());
        for snapshot in delivered {
            if events.send(WorkerEvent::Interval(snapshot)).is_err() {
                return;
            }
        }
    }
}
