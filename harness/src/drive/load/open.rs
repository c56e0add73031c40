//! The open model: operations arrive on a schedule (constant spacing or a Poisson
//! process) whatever the target does. Each arrival waits for a pooled connection and
//! its latency is measured from its *intended* send time, so a stalled server shows up
//! in the numbers instead of silently slowing the load (no coordinated omission). The
//! uncorrected latency, from the actual send, is kept beside it. Arrivals beyond
//! `max_in_flight` are dropped and counted; sends more than 10 ms behind schedule are
//! counted as late.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::pool::Pool;
use super::{execute_timed, Deadline, WorkerContext};
use crate::drive::session::{Connector, Operation};
use crate::drive::workload::Workload;
use crate::plan::arrivals::{op_rng, ArrivalStream};
use crate::plan::load::OpenPlan;
use crate::record::recorder::{WorkerRecorder, LATE_AFTER};

/// Shared state of one worker's in-flight operations.
struct Flight<C: Connector> {
    pool: Pool<C>,
    in_flight: Cell<u32>,
    recorder: Rc<RefCell<WorkerRecorder>>,
    timeout: Duration,
    stop: CancellationToken,
}

/// Runs this worker's share (1/`workers`) of the shard's arrivals.
pub(super) async fn run<C: Connector, W: Workload + ?Sized>(
    ctx: WorkerContext<C, W>,
    plan: OpenPlan,
) {
    let workers = ctx.workers.max(1);
    let per_worker = |n: u32| (n as usize).div_ceil(workers).max(1);
    let max_in_flight = per_worker(plan.max_in_flight) as u32;
    let flight = Rc::new(Flight {
        pool: Pool::new(ctx.job.connector.clone(), per_worker(plan.connections)),
        in_flight: Cell::new(0),
        recorder: ctx.recorder.clone(),
        timeout: ctx.timeout,
        stop: ctx.stop.clone(),
    });
    let mut requests = JoinSet::new();
    // One stream for every worker of every shard: this worker sends its own arrivals
    // (shard `k % M`, then worker `(k / M) % W` within it), so however the run is split
    // the arrivals together are the same.
    let stream = ArrivalStream::new(&plan.schedule, plan.arrivals, plan.seed);
    for (k, t) in stream {
        if !plan.shard.owns(k) || plan.shard.position(k) % workers as u64 != ctx.worker as u64 {
            continue;
        }
        let intended = ctx.start + t;
        tokio::select! {
            _ = tokio::time::sleep_until(intended) => {}
            _ = ctx.stop.cancelled() => break,
        }
        flight.recorder.borrow_mut().intended(intended);
        if flight.in_flight.get() >= max_in_flight {
            flight.recorder.borrow_mut().dropped(intended);
        } else if let Some(op) = ctx.job.workload.next_op(k, 0, &mut op_rng(plan.seed, k)) {
            flight.in_flight.set(flight.in_flight.get() + 1);
            requests.spawn_local(arrival(flight.clone(), op, k, intended));
        }
        while requests.try_join_next().is_some() {}
    }
    while requests.join_next().await.is_some() {}
}

/// Arrival `k` (of user k mod users): waits for a connection, sends `op`, records it.
async fn arrival<C: Connector>(flight: Rc<Flight<C>>, op: Operation, k: u64, intended: Instant) {
    let session = tokio::select! {
        s = flight.pool.acquire() => Some(s),
        _ = flight.stop.cancelled() => None,
    };
    let Some(mut session) = session else {
        // Interrupted while waiting for a connection: never sent, so not an operation.
        flight.recorder.borrow_mut().dropped(Instant::now());
        flight.in_flight.set(flight.in_flight.get() - 1);
        return;
    };
    let sent = Instant::now();
    if sent.saturating_duration_since(intended) > LATE_AFTER {
        flight.recorder.borrow_mut().late(sent);
    }
    let mut timer = Deadline::default();
    let timing = (sent, flight.timeout);
    let outcome = execute_timed(&mut session, &op, timing, &mut timer, &flight.recorder).await;
    let done = Instant::now();
    let latency = done.saturating_duration_since(intended);
    {
        let mut recorder = flight.recorder.borrow_mut();
        recorder.record(
            op.kind,
            latency,
            Some(done.saturating_duration_since(sent)),
            &outcome,
            done,
        );
        if outcome.is_ok() {
            recorder.record_user(k, latency);
        }
    }
    flight.pool.release(session);
    flight.in_flight.set(flight.in_flight.get() - 1);
}
