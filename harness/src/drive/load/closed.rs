//! The closed model: a population of users, each looping operation → think time while
//! the ramp schedule has it active, until its iterations or the schedule run out. A
//! user finishes the operation it has started: at the end of a run (or on Ctrl-C)
//! nothing in flight is dropped.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::SeedableRng;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{execute_timed, Deadline, WorkerContext};
use crate::drive::gate::UserGate;
use crate::drive::session::{Connector, Session};
use crate::drive::workload::Workload;
use crate::plan::load::ClosedPlan;
use crate::record::recorder::WorkerRecorder;

/// Runs this worker's share of the shard's users (every `workers`-th, from `worker`).
pub(super) async fn run<C: Connector, W: Workload + ?Sized>(
    ctx: WorkerContext<C, W>,
    plan: ClosedPlan,
) {
    let plan = Rc::new(plan);
    let mut users = JoinSet::new();
    let slice = plan.shard.users(plan.users);
    for user in slice.skip(ctx.worker).step_by(ctx.workers.max(1)) {
        let windows = plan.schedule.active_windows(user);
        if windows.is_empty() {
            continue;
        }
        let session = ctx.job.connector.session(u64::from(user));
        users.spawn_local(user_loop(
            u64::from(user),
            windows,
            session,
            ctx.job.workload.clone(),
            ctx.recorder.clone(),
            plan.clone(),
            ctx.job.gate.clone(),
            ctx.start,
            ctx.timeout,
            ctx.stop.clone(),
        ));
    }
    while users.join_next().await.is_some() {}
}

#[allow(clippy::too_many_arguments)]
async fn user_loop<S: Session, W: Workload + ?Sized>(
    user: u64,
    windows: Vec<(Duration, Duration)>,
    mut session: S,
    workload: Arc<W>,
    recorder: Rc<RefCell<WorkerRecorder>>,
    plan: Rc<ClosedPlan>,
    gate: Option<Arc<UserGate>>,
    start: Instant,
    timeout: Duration,
    stop: CancellationToken,
) {
    let mut rng = SmallRng::seed_from_u64(plan.seed ^ user.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut iteration = 0u64;
    // One timer for all the user's operations.
    let mut timer = Deadline::default();
    for (from, until) in windows {
        tokio::select! {
            _ = tokio::time::sleep_until(start + from) => {}
            _ = stop.cancelled() => return,
        }
        let until = start + until;
        // The clock as last read: when an operation ended, or after thinking.
        let mut now = Instant::now();
        while !stop.is_cancelled() && now < until {
            if plan.iterations > 0 && iteration >= plan.iterations {
                return;
            }
            if let Some(gate) = &gate {
                if !gate.wait_online(user as usize, until, &stop).await {
                    now = Instant::now();
                    continue;
                }
            }
            let Some(op) = workload.next_op(user, iteration, &mut rng) else {
                return;
            };
            iteration += 1;
            let sent = Instant::now();
            let timing = (sent, timeout);
            let operation = execute_timed(&mut session, &op, timing, &mut timer, &recorder);
            let outcome = operation.await;
            now = Instant::now();
            let latency = now.saturating_duration_since(sent);
            {
                let mut recorder = recorder.borrow_mut();
                recorder.record(op.kind, latency, None, &outcome, now);
                if outcome.is_ok() {
                    recorder.record_user(user, latency);
                }
            }
            if let Some(gate) = &gate {
                gate.record(user as usize, &op.path, sent, outcome.is_ok());
            }
            let pause = if outcome.is_err() {
                plan.think_time.max(plan.retry_backoff)
            } else {
                plan.think_time
            };
            if !pause.is_zero() {
                // Thinking never runs past the end of the window: the run stops on time.
                let wake = (now + pause).min(until);
                tokio::select! {
                    _ = tokio::time::sleep_until(wake) => {}
                    _ = stop.cancelled() => return,
                }
                now = Instant::now();
            }
        }
    }
}
