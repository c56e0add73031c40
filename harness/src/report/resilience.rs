//! What faults did to the service, from the per-second rows: availability (the share of
//! finished operations that succeeded) per second and per run, and for each fault the
//! seconds of degraded service after it and the time until the service was available
//! again. Resolution is one second, the rows' own.

use serde::{Deserialize, Serialize};

use crate::drive::inject::AppliedFault;
use crate::record::aggregate::IntervalSummary;

/// A second counts as available when at least this share of its operations succeeded.
pub(crate) const AVAILABLE: f64 = 0.99;
/// Seconds after a fault within which an effect is looked for before calling it harmless.
const EFFECT_LAG_S: u32 = 2;

/// The resilience figures of one run with faults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Resilience {
    /// Users in the run.
    pub users: u32,
    /// Users with at least one successful operation (in a flash crowd: who completed).
    pub users_completed: u32,
    /// Users whose own node no fault touched (peer-to-peer; all users in client-server).
    pub survivors: u32,
    /// Of those, the users with at least one successful operation.
    pub survivors_completed: u32,
    /// Objects requested while some node was down or frozen.
    pub objects_requested_during_faults: u32,
    /// Of those, objects for which every such request failed.
    pub objects_unavailable: u32,
    /// Seconds whose availability was below 99 % (or that finished no operation while
    /// users were active).
    pub degraded_seconds: u32,
    /// Steady workloads: user-seconds without service — seconds a user was offline (its
    /// own node down or frozen) or spent waiting on requests that all failed, summed
    /// over the users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_seconds_without_service: Option<u64>,
}

/// Availability of one second: ok / finished, `None` when nothing finished.
pub(crate) fn second_availability(interval: &IntervalSummary) -> Option<f64> {
    let (count, errors) = interval.finished_and_failed();
    (count > 0).then(|| (count - errors) as f64 / count as f64)
}

/// Availability of a whole run: ok / finished over all operations, `None` if none finished.
pub(crate) fn run_availability(count: u64, errors: u64) -> Option<f64> {
    (count > 0).then(|| (count - errors.min(count)) as f64 / count as f64)
}

fn healthy(interval: &IntervalSummary) -> bool {
    second_availability(interval).is_some_and(|a| a >= AVAILABLE)
}

/// Seconds of the run (from the first to the last row) that were not healthy.
pub(crate) fn degraded_seconds(intervals: &[IntervalSummary]) -> u32 {
    intervals.iter().filter(|i| !healthy(i)).count() as u32
}

/// Fills each fault's `recovery_s` and `degraded_seconds` from the per-second rows:
/// looking from the second the fault happened in, the first unhealthy second starts the
/// outage and the next healthy one ends it; a fault after which the next
/// [`EFFECT_LAG_S`] seconds stay healthy did no visible harm (recovery 0).
pub(crate) fn judge_recovery(faults: &mut [AppliedFault], intervals: &[IntervalSummary]) {
    for fault in faults.iter_mut() {
        let from = fault.t_s.floor() as u32;
        let after: Vec<&IntervalSummary> = intervals.iter().filter(|i| i.t_s >= from).collect();
        let Some(first_bad) = after
            .iter()
            .position(|i| !healthy(i))
            .filter(|&p| after[p].t_s <= from + EFFECT_LAG_S)
        else {
            if !after.is_empty() {
                fault.recovery_s = Some(0.0);
                fault.degraded_seconds = Some(0);
            }
            continue;
        };
        let recovered = after[first_bad..].iter().position(|i| healthy(i));
        fault.degraded_seconds = Some(recovered.unwrap_or(after.len() - first_bad) as u32);
        fault.recovery_s =
            recovered.map(|p| (f64::from(after[first_bad + p].t_s) - fault.t_s).max(0.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::aggregate::IntervalOp;

    fn row(t_s: u32, count: u64, errors: u64) -> IntervalSummary {
        let mut i = IntervalSummary {
            t_s,
            ..Default::default()
        };
        i.ops.insert(
            "get".into(),
            IntervalOp {
                count,
                errors,
                ..Default::default()
            },
        );
        i
    }

    fn fault(t_s: f64) -> AppliedFault {
        AppliedFault {
            t_s,
            action: "kill".into(),
            target: "server:0".into(),
            nodes: vec!["server 0".into()],
            source: "faults[0]".into(),
            label: "kill server:0".into(),
            error: None,
            recovery_s: None,
            degraded_seconds: None,
        }
    }

    #[test]
    fn outage_then_recovery() {
        // Healthy, fault at 2.3 s, two dead seconds, back at 5.
        let rows = vec![
            row(0, 100, 0),
            row(1, 100, 0),
            row(2, 60, 30),
            row(3, 10, 10),
            row(4, 0, 0),
            row(5, 100, 0),
        ];
        let mut faults = vec![fault(2.3)];
        judge_recovery(&mut faults, &rows);
        assert_eq!(faults[0].degraded_seconds, Some(3));
        assert!((faults[0].recovery_s.unwrap() - 2.7).abs() < 1e-9);
        assert_eq!(degraded_seconds(&rows), 3);
        assert_eq!(second_availability(&rows[2]), Some(0.5));
        assert_eq!(second_availability(&rows[4]), None);
        assert_eq!(run_availability(410, 40), Some(370.0 / 410.0));
    }

    #[test]
    fn harmless_fault_and_no_recovery() {
        let rows: Vec<_> = (0..6).map(|t| row(t, 50, 0)).collect();
        let mut faults = vec![fault(1.5)];
        judge_recovery(&mut faults, &rows);
        assert_eq!(faults[0].recovery_s, Some(0.0));
        let rows = vec![row(0, 50, 0), row(1, 5, 5), row(2, 5, 5)];
        let mut faults = vec![fault(1.0)];
        judge_recovery(&mut faults, &rows);
        assert_eq!(faults[0].recovery_s, None);
        assert_eq!(faults[0].degraded_seconds, Some(2));
    }
}
