//! The per-worker recorder: what one load-generator thread measured since its last
//! report. It lives on one thread (no locks on the hot path); once a second the worker
//! hands its interval to the aggregator and starts a fresh one.

use std::time::Duration;

use tokio::time::Instant;

use crate::record::op::{ErrorKind, OpKind, Outcome};

use super::histogram::{new_latency, record_us, Latency};
use super::per_user::PerUser;

/// Counters of one operation kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpCounters {
    /// Operations that finished, ok or failed.
    pub count: u64,
    /// Failed operations by [`ErrorKind::index`].
    pub errors: [u64; ErrorKind::ALL.len()],
    /// Payload bytes moved by successful operations.
    pub bytes: u64,
}

impl OpCounters {
    /// Failed operations of every kind.
    pub fn errors_total(&self) -> u64 {
        self.errors.iter().sum()
    }

    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &OpCounters) {
        self.count += other.count;
        self.bytes += other.bytes;
        for (a, b) in self.errors.iter_mut().zip(other.errors) {
            *a += b;
        }
    }
}

/// One operation kind's measurements over an interval.
#[derive(Debug, Clone)]
pub struct OpInterval {
    /// Latency of successful operations; in the open model measured from the intended
    /// send time (corrected for coordinated omission).
    pub latency: Latency,
    /// Open model only: latency from the actual send time (uncorrected).
    pub uncorrected: Option<Latency>,
    /// Counts and errors.
    pub counters: OpCounters,
}

impl OpInterval {
    fn new(open_model: bool) -> Self {
        Self {
            latency: new_latency(),
            uncorrected: open_model.then(new_latency),
            counters: OpCounters::default(),
        }
    }
}

/// How well the open model kept its schedule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScheduleCounters {
    /// Arrivals the schedule asked for.
    pub intended: u64,
    /// Operations sent more than [`LATE_AFTER`] after their intended time.
    pub late: u64,
    /// Arrivals skipped because `max_in_flight` operations were already waiting or running.
    pub dropped: u64,
}

impl ScheduleCounters {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &ScheduleCounters) {
        self.intended += other.intended;
        self.late += other.late;
        self.dropped += other.dropped;
    }
}

/// An operation sent this much after its intended time counts as late.
pub(crate) const LATE_AFTER: Duration = Duration::from_millis(10);

/// What one worker measured in one interval.
#[derive(Debug)]
pub struct IntervalSnapshot {
    /// The worker that sent it.
    pub worker: usize,
    /// 0-based second of the run it covers.
    pub index: u32,
    /// Per operation kind, only kinds that saw operations.
    pub ops: Vec<(OpKind, OpInterval)>,
    /// Open-model schedule keeping.
    pub schedule: ScheduleCounters,
    /// Each user's latency over the whole run: only in the worker's last snapshot.
    pub per_user: Option<PerUser>,
}

/// The recorder one worker thread writes into.
///
/// Every measurement is attributed to the second of the run in which it happened: when
/// the clock passes into a new second, the finished one moves to an outbox that the
/// worker's ticker delivers. A late ticker (a starved thread) delays delivery but never
/// moves a measurement into the wrong second.
pub(crate) struct WorkerRecorder {
    worker: usize,
    open_model: bool,
    start: Instant,
    /// The second being recorded now.
    index: u32,
    ops: Vec<Option<OpInterval>>,
    schedule: ScheduleCounters,
    outbox: Vec<IntervalSnapshot>,
    per_user: Option<PerUser>,
}

impl WorkerRecorder {
    /// A recorder for worker `worker` of a run that starts at `start`; the open model
    /// also keeps uncorrected latency.
    pub(crate) fn new(worker: usize, open_model: bool, start: Instant) -> Self {
        Self {
            worker,
            open_model,
            start,
            index: 0,
            ops: (0..OpKind::COUNT).map(|_| None).collect(),
            schedule: ScheduleCounters::default(),
            outbox: Vec::new(),
            per_user: None,
        }
    }

    /// Keeps each of `users` users' latency apart as well (when there are at most
    /// [`super::per_user::MAX_USERS`]).
    pub(crate) fn per_user(mut self, users: u32) -> Self {
        self.per_user = PerUser::for_users(users);
        self
    }

    /// Records into `user`'s own histogram a successful request that took `latency`.
    pub(crate) fn record_user(&mut self, user: u64, latency: Duration) {
        if let Some(per_user) = self.per_user.as_mut() {
            per_user.record(user, latency.as_micros() as u64);
        }
    }

    /// Moves to the second `now` falls in, closing the current one if it has ended.
    fn roll(&mut self, now: Instant) {
        let index = now.saturating_duration_since(self.start).as_secs() as u32;
        if index > self.index {
            let finished = self.take_current();
            self.outbox.push(finished);
            self.index = index;
        }
    }

    /// Records an operation that finished at `now`. `latency` is from the intended send
    /// time (the send time in the closed model); `uncorrected` from the actual send (open model).
    pub(crate) fn record(
        &mut self,
        kind: OpKind,
        latency: Duration,
        uncorrected: Option<Duration>,
        outcome: &Outcome,
        now: Instant,
    ) {
        self.roll(now);
        let open = self.open_model;
        let op = self.ops[kind.index()].get_or_insert_with(|| OpInterval::new(open));
        op.counters.count += 1;
        match outcome {
            Ok(bytes) => {
                op.counters.bytes += bytes;
                record_us(&mut op.latency, latency.as_micros() as u64);
                if let (Some(h), Some(d)) = (op.uncorrected.as_mut(), uncorrected) {
                    record_us(h, d.as_micros() as u64);
                }
            }
            Err(kind) => op.counters.errors[kind.index()] += 1,
        }
    }

    /// Counts one arrival the open-model schedule asked for.
    pub(crate) fn intended(&mut self, now: Instant) {
        self.roll(now);
        self.schedule.intended += 1;
    }

    /// Counts an arrival skipped because the in-flight limit was reached.
    pub(crate) fn dropped(&mut self, now: Instant) {
        self.roll(now);
        self.schedule.dropped += 1;
    }

    /// Counts an operation sent late.
    pub(crate) fn late(&mut self, now: Instant) {
        self.roll(now);
        self.schedule.late += 1;
    }

    fn take_current(&mut self) -> IntervalSnapshot {
        let ops = self
            .ops
            .iter_mut()
            .enumerate()
            .filter_map(|(i, op)| Some((OpKind::from_index(i)?, op.take()?)))
            .collect();
        IntervalSnapshot {
            worker: self.worker,
            index: self.index,
            ops,
            schedule: std::mem::take(&mut self.schedule),
            per_user: None,
        }
    }

    /// The seconds finished by `now`, for delivery. When none finished since the last
    /// call, an empty snapshot of the last finished second says the worker is alive and
    /// past it, so the aggregator can close that second.
    pub(crate) fn drain(&mut self, now: Instant) -> Vec<IntervalSnapshot> {
        self.roll(now);
        if self.outbox.is_empty() && self.index > 0 {
            return vec![IntervalSnapshot {
                worker: self.worker,
                index: self.index - 1,
                ops: Vec::new(),
                schedule: ScheduleCounters::default(),
                per_user: None,
            }];
        }
        std::mem::take(&mut self.outbox)
    }

    /// Everything not yet delivered, including the second in progress (the end of a run).
    pub(crate) fn finish(&mut self) -> Vec<IntervalSnapshot> {
        let mut out = std::mem::take(&mut self.outbox);
        let mut last = self.take_current();
        last.per_user = self.per_user.take();
        out.push(last);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_hands_over() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut r = WorkerRecorder::new(3, true, start);
        r.record(
            OpKind::Get,
            Duration::from_millis(5),
            Some(Duration::from_millis(1)),
            &Ok(10),
            at(100),
        );
        r.record(
            OpKind::Get,
            Duration::from_millis(9),
            Some(Duration::from_millis(2)),
            &Err(ErrorKind::Http5xx),
            at(200),
        );
        r.intended(at(300));
        r.dropped(at(400));
        // Delivered late (at 2.5 s): the first second's data is still second 0's.
        r.record(
            OpKind::Get,
            Duration::from_millis(7),
            None,
            &Ok(1),
            at(2100),
        );
        let delivered = r.drain(at(2500));
        assert_eq!(delivered.len(), 1);
        let snap = &delivered[0];
        assert_eq!((snap.worker, snap.index), (3, 0));
        let (kind, op) = &snap.ops[0];
        assert_eq!(*kind, OpKind::Get);
        assert_eq!(
            (
                op.counters.count,
                op.counters.errors_total(),
                op.counters.bytes
            ),
            (2, 1, 10)
        );
        assert_eq!(
            op.latency.len(),
            1,
            "failed operations are not in the latency histogram"
        );
        let uncorrected = op.uncorrected.as_ref().unwrap();
        assert!(
            uncorrected.equivalent(uncorrected.max(), 1000),
            "only the successful operation"
        );
        assert_eq!(
            snap.schedule,
            ScheduleCounters {
                intended: 1,
                late: 0,
                dropped: 1
            }
        );
        // Nothing finished since: a heartbeat for second 1 keeps the aggregator moving.
        let beat = r.drain(at(2600));
        assert_eq!((beat.len(), beat[0].index, beat[0].ops.len()), (1, 1, 0));
        let rest = r.finish();
        assert_eq!(
            (rest.len(), rest[0].index, rest[0].ops[0].1.counters.count),
            (1, 2, 1)
        );
    }
}
