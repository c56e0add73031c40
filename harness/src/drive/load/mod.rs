//! The load generator: worker threads, each a single-threaded tokio runtime driving its
//! share of the users (closed model) or arrivals (open model), recording into its own
//! [`WorkerRecorder`] and handing one interval a second to the aggregator.
//!
//! One runtime per thread, like wrk's threads: no locks and no cross-thread wakeups on
//! the hot path, and a worker can be pinned to a core.

mod closed;
mod deadline;
mod open;
mod pool;

use std::cell::RefCell;
use std::future::poll_fn;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use self::deadline::Deadline;
use crate::drive::gate::UserGate;
use crate::drive::session::{Connector, Operation, Session};
use crate::drive::workload::Workload;
use crate::plan::load::{LoadPlan, ModelPlan};
use crate::record::op::{ErrorKind, Outcome};
use crate::record::recorder::{IntervalSnapshot, WorkerRecorder};

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

/// What the load drives: sessions from `connector` doing `workload`; with faults, the
/// `gate` that says which users are online and learns what they achieved.
pub struct Job<C, W: ?Sized> {
    /// Makes one session per user (or pool slot).
    pub connector: C,
    /// Chooses each operation.
    pub workload: Arc<W>,
    /// With faults: the users' gate.
    pub gate: Option<Arc<UserGate>>,
}

impl<C: Clone, W: ?Sized> Clone for Job<C, W> {
    fn clone(&self) -> Self {
        Job {
            connector: self.connector.clone(),
            workload: self.workload.clone(),
            gate: self.gate.clone(),
        }
    }
}

/// What one worker's tasks share.
pub struct WorkerContext<C, W: ?Sized> {
    worker: usize,
    workers: usize,
    job: Job<C, W>,
    recorder: Rc<RefCell<WorkerRecorder>>,
    start: Instant,
    timeout: Duration,
    stop: CancellationToken,
}

/// Runs an operation sent at `sent`, timed out by `timer` one timeout later; a
/// timed-out session is reset. An operation whose endpoint cannot be reached is asked
/// of its fallbacks in turn (the object's other replicas), within the same timeout: one
/// operation, however many replicas it tried. The connection set-up it did (a TLS
/// handshake) is recorded into `recorder` as its own operation.
async fn execute_timed<S: Session>(
    session: &mut S,
    op: &Operation,
    (sent, timeout): (Instant, Duration),
    timer: &mut Deadline,
    recorder: &RefCell<WorkerRecorder>,
) -> Outcome {
    let timed = {
        let mut armed = timer.arm(sent + timeout);
        // Polled in place (not moved into a combinator): no copy of its state.
        let mut operation = pin!(execute_with_fallbacks(session, op));
        poll_fn(|cx| armed.poll(cx, operation.as_mut())).await
    };
    let outcome = match timed {
        Some(outcome) => outcome,
        None => {
            session.reset();
            Err(ErrorKind::Timeout)
        }
    };
    if let Some(setup) = session.take_setup() {
        let now = Instant::now();
        recorder.borrow_mut().record(
            setup.kind,
            setup.took,
            Some(setup.took),
            &setup.outcome,
            now,
        );
    }
    outcome
}

/// `op` on its endpoint, then, while the endpoint could not be reached (no connection,
/// or it broke before an answer), on each of its fallbacks. The fail-over is boxed: an
/// operation that needs none (every one without replicas) carries only a pointer's worth
/// of it in its future.
async fn execute_with_fallbacks<S: Session>(session: &mut S, op: &Operation) -> Outcome {
    let outcome = session.execute(op).await;
    match op.fallbacks.as_deref() {
        Some(fallbacks) if unreachable(&outcome) => {
            Box::pin(fail_over(session, op, fallbacks, outcome)).await
        }
        _ => outcome,
    }
}

/// The endpoint could not be reached: a replica that holds the object may answer.
fn unreachable(outcome: &Outcome) -> bool {
    matches!(outcome, Err(ErrorKind::Connect | ErrorKind::Io))
}

/// `op` on each of `fallbacks` in turn, until one is reached; `outcome` is what its own
/// endpoint answered.
async fn fail_over<S: Session>(
    session: &mut S,
    op: &Operation,
    fallbacks: &[usize],
    mut outcome: Outcome,
) -> Outcome {
    for &endpoint in fallbacks {
        let retry = Operation {
            endpoint,
            ..op.clone()
        };
        outcome = session.execute(&retry).await;
        if !unreachable(&outcome) {
            break;
        }
    }
    outcome
}

/// Starts the worker threads. They begin at `start`, stop by themselves at the end of
/// the schedule or when `stop` is cancelled (then drain), and report on `events`.
pub fn start<C: Connector, W: Workload + ?Sized>(
    plan: &LoadPlan,
    job: Job<C, W>,
    start: Instant,
    stop: CancellationToken,
    events: UnboundedSender<WorkerEvent>,
) -> Vec<std::thread::JoinHandle<()>> {
    let workers = plan.threads.max(1);
    (0..workers)
        .map(|worker| {
            let (plan, job, stop, events) =
                (plan.clone(), job.clone(), stop.clone(), events.clone());
            let failed = events.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("versus-worker-{worker}"))
                .spawn(move || run_worker((worker, workers), plan, job, start, stop, events));
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

fn run_worker<C: Connector, W: Workload + ?Sized>(
    (worker, workers): (usize, usize),
    plan: LoadPlan,
    job: Job<C, W>,
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
    let users = match &plan.model {
        ModelPlan::Closed(closed) => closed.users,
        ModelPlan::Open(open) => open.connections,
    };
    let recorder = Rc::new(RefCell::new(
        WorkerRecorder::new(worker, plan.model.is_open(), start).per_user(users),
    ));
    let ctx = WorkerContext {
        worker,
        workers,
        job,
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
