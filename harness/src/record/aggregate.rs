//! The aggregator: merges every worker's interval snapshots into per-second summaries
//! and run totals. Histograms are merged, never percentiles; each finished second is
//! kept as a small summary plus its compressed histogram for the .hlog file, so memory
//! stays bounded however long the run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::record::op::{OpKind, OpNames};

use super::histogram::{self, new_latency, Latency};
use super::recorder::{IntervalSnapshot, OpCounters, OpInterval, ScheduleCounters};

/// One operation kind in one second of the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IntervalOp {
    /// Operations that finished in this second.
    pub count: u64,
    /// Of those, failed.
    pub errors: u64,
    /// Median latency of the successful ones (µs).
    pub p50_us: u64,
    /// 99th percentile latency of the successful ones (µs).
    pub p99_us: u64,
}

/// One second of the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IntervalSummary {
    /// Seconds since the start of the run at which this second begins.
    pub t_s: u32,
    /// Per operation name.
    pub ops: BTreeMap<String, IntervalOp>,
    /// Share of the operations finished in this second that succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<f64>,
}

impl IntervalSummary {
    /// Operations that finished in this second, and of those failed.
    pub fn finished_and_failed(&self) -> (u64, u64) {
        self.ops
            .iter()
            .filter(|(name, _)| crate::record::op::is_request(name))
            .fold((0, 0), |(c, e), (_, o)| {
                (c + o.count, e + o.errors.min(o.count))
            })
    }
}

/// A compressed interval histogram waiting to be written to the .hlog file.
#[derive(Debug, Clone)]
pub struct HlogEntry {
    /// Second of the run.
    pub index: u32,
    /// Tag, such as `get` or `get-uncorrected`.
    pub tag: String,
    /// V2 + DEFLATE bytes.
    pub encoded: Vec<u8>,
}

/// Run totals of one operation kind.
#[derive(Debug, Clone)]
pub struct OpTotals {
    /// Merged latency of successful operations (corrected in the open model).
    pub latency: Latency,
    /// Open model: merged uncorrected latency.
    pub uncorrected: Option<Latency>,
    /// Counts and errors.
    pub counters: OpCounters,
}

/// Everything recorded in a run, ready for the report.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    /// Totals per operation kind.
    pub totals: BTreeMap<OpKind, OpTotals>,
    /// One summary per second, in order.
    pub intervals: Vec<IntervalSummary>,
    /// Interval histograms for the .hlog file.
    pub hlog: Vec<HlogEntry>,
    /// Open-model schedule keeping.
    pub schedule: ScheduleCounters,
    /// The report name of each kind in `totals`.
    pub names: OpNames,
    /// Each user's latency, when the run had few enough users to keep it.
    pub per_user: Option<super::per_user::PerUser>,
}

#[derive(Default)]
struct Pending {
    ops: BTreeMap<OpKind, OpInterval>,
}

/// Merges snapshots from `workers` workers.
pub(crate) struct Aggregator {
    last_index: Vec<Option<u32>>,
    done: Vec<bool>,
    pending: BTreeMap<u32, Pending>,
    next_to_finalize: u32,
    recorded: Recorded,
}

impl Aggregator {
    /// An aggregator expecting snapshots from `workers` workers, naming operations
    /// with `names`.
    pub(crate) fn new(workers: usize, names: OpNames) -> Self {
        Self {
            last_index: vec![None; workers],
            done: vec![false; workers],
            pending: BTreeMap::new(),
            next_to_finalize: 0,
            recorded: Recorded {
                names,
                ..Recorded::default()
            },
        }
    }

    /// Merges one snapshot.
    pub(crate) fn add(&mut self, mut snap: IntervalSnapshot) {
        if let Some(last) = self.last_index.get_mut(snap.worker) {
            *last = Some(last.map_or(snap.index, |l| l.max(snap.index)));
        }
        self.recorded.schedule.add(&snap.schedule);
        if let Some(theirs) = snap.per_user.take() {
            match self.recorded.per_user.as_mut() {
                Some(mine) => mine.merge(&theirs),
                None => self.recorded.per_user = Some(theirs),
            }
        }
        if snap.ops.is_empty() {
            return; // a heartbeat: only progress
        }
        // Data for a second already closed (a very late worker) joins the open second.
        let index = snap.index.max(self.next_to_finalize);
        let pending = self.pending.entry(index).or_default();
        for (kind, op) in snap.ops {
            match pending.ops.get_mut(&kind) {
                None => {
                    pending.ops.insert(kind, op);
                }
                Some(acc) => merge_interval(acc, &op),
            }
        }
    }

    /// Marks worker `worker` as finished: it sends nothing more.
    pub(crate) fn worker_done(&mut self, worker: usize) {
        if let Some(d) = self.done.get_mut(worker) {
            *d = true;
        }
    }

    /// Finalizes every second that all workers have reported; returns how many.
    pub(crate) fn finalize_ready(&mut self) -> usize {
        let ready_through = self
            .last_index
            .iter()
            .zip(&self.done)
            .filter(|(_, done)| !**done)
            .map(|(last, _)| last.map_or(-1, i64::from))
            .min();
        let mut finalized = 0;
        while let Some((&index, _)) = self.pending.first_key_value() {
            if ready_through.is_some_and(|r| i64::from(index) > r) {
                break;
            }
            let Some((index, pending)) = self.pending.pop_first() else {
                break;
            };
            self.finalize(index, pending);
            finalized += 1;
        }
        finalized
    }

    fn finalize(&mut self, index: u32, pending: Pending) {
        // Seconds in which nothing finished still get a row, so time series have no gaps.
        while self.next_to_finalize < index {
            self.recorded.intervals.push(IntervalSummary {
                t_s: self.next_to_finalize,
                ..Default::default()
            });
            self.next_to_finalize += 1;
        }
        let mut summary = IntervalSummary {
            t_s: index,
            ..Default::default()
        };
        for (kind, op) in pending.ops {
            let name = self.recorded.names.name(kind).to_string();
            summary.ops.insert(
                name.clone(),
                IntervalOp {
                    count: op.counters.count,
                    errors: op.counters.errors_total(),
                    p50_us: quantile(&op.latency, 0.5),
                    p99_us: quantile(&op.latency, 0.99),
                },
            );
            self.recorded.hlog.push(HlogEntry {
                index,
                tag: name.clone(),
                encoded: histogram::to_bytes(&op.latency),
            });
            if let Some(u) = &op.uncorrected {
                self.recorded.hlog.push(HlogEntry {
                    index,
                    tag: format!("{name}-uncorrected"),
                    encoded: histogram::to_bytes(u),
                });
            }
            let totals = self
                .recorded
                .totals
                .entry(kind)
                .or_insert_with(|| OpTotals {
                    latency: new_latency(),
                    uncorrected: op.uncorrected.as_ref().map(|_| new_latency()),
                    counters: OpCounters::default(),
                });
            merge_interval_into_totals(totals, &op);
        }
        self.recorded.intervals.push(summary);
        self.next_to_finalize = index + 1;
    }

    /// The seconds finalized so far.
    pub(crate) fn intervals(&self) -> &[IntervalSummary] {
        &self.recorded.intervals
    }

    /// Finalizes whatever is left (all workers are done or gone) and returns the record.
    pub(crate) fn finish(mut self) -> Recorded {
        self.done.iter_mut().for_each(|d| *d = true);
        self.finalize_ready();
        self.recorded
    }
}

fn quantile(h: &Latency, q: f64) -> u64 {
    if h.is_empty() {
        0
    } else {
        h.value_at_quantile(q)
    }
}

fn add_histogram(into: &mut Latency, from: &Latency) {
    // Both come from `new_latency` with auto-resize, so addition cannot fail on range.
    let _ = into.add(from);
}

fn merge_interval(acc: &mut OpInterval, op: &OpInterval) {
    add_histogram(&mut acc.latency, &op.latency);
    if let (Some(a), Some(b)) = (acc.uncorrected.as_mut(), op.uncorrected.as_ref()) {
        add_histogram(a, b);
    }
    acc.counters.add(&op.counters);
}

fn merge_interval_into_totals(totals: &mut OpTotals, op: &OpInterval) {
    add_histogram(&mut totals.latency, &op.latency);
    if let (Some(a), Some(b)) = (totals.uncorrected.as_mut(), op.uncorrected.as_ref()) {
        add_histogram(a, b);
    }
    totals.counters.add(&op.counters);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::recorder::WorkerRecorder;
    use std::time::Duration;

    #[test]
    fn merges_workers_and_waits_for_laggards() {
        let mut agg = Aggregator::new(2, OpNames::default());
        let start = tokio::time::Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut w0 = WorkerRecorder::new(0, false, start);
        let mut w1 = WorkerRecorder::new(1, false, start);
        w0.record(
            OpKind::Get,
            Duration::from_micros(100),
            None,
            &Ok(1),
            at(10),
        );
        w0.drain(at(1001)).into_iter().for_each(|s| agg.add(s));
        assert_eq!(
            agg.finalize_ready(),
            0,
            "worker 1 has not reported second 0"
        );
        w1.record(
            OpKind::Get,
            Duration::from_micros(300),
            None,
            &Ok(1),
            at(20),
        );
        w1.drain(at(1001)).into_iter().for_each(|s| agg.add(s));
        assert_eq!(agg.finalize_ready(), 1);
        w0.record(
            OpKind::Get,
            Duration::from_micros(200),
            None,
            &Ok(1),
            at(2500),
        );
        w0.finish().into_iter().for_each(|s| agg.add(s));
        w1.finish().into_iter().for_each(|s| agg.add(s));
        agg.worker_done(0);
        agg.worker_done(1);
        let rec = agg.finish();
        assert_eq!(rec.intervals.len(), 3, "second 1 is kept as an empty row");
        assert_eq!(rec.intervals[0].ops["get"].count, 2);
        let get = &rec.totals[&OpKind::Get];
        assert_eq!((get.counters.count, get.latency.len()), (3, 3));
        assert_eq!(get.latency.max(), 300);
    }
}
