//! The fault schedule of one architecture: the scenario's `[[faults]]` whose target
//! this architecture has, plus `[churn]` turned into departures and joins (peer-to-peer
//! only: per-peer sessions, or evenly spaced shares of the swarm), in time order.

use std::time::Duration;

use crate::arch::{Arch, Role};
use crate::scenario::faults::{Departure, FaultAction, FaultTarget};
use crate::scenario::Scenario;

/// One timed fault, before nodes are chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// When, from the start of the load.
    pub at: Duration,
    /// What to do.
    pub action: FaultAction,
    /// To which nodes.
    pub target: FaultTarget,
    /// Plural targets: how many nodes (`None` = all that qualify).
    pub count: Option<usize>,
    /// Undo after this long.
    pub duration: Option<Duration>,
    /// Where it comes from: `faults[2]` or `churn`.
    pub source: String,
}

/// The events for architecture `arch` (`cs` or `p2p`), whose plural targets have
/// `servers` servers and `peers` user peers, within a load of `run_time`.
pub(crate) fn plan(
    scenario: &Scenario,
    arch: Arch,
    servers: usize,
    peers: usize,
    run_time: Duration,
) -> Vec<Planned> {
    let mut events: Vec<Planned> = scenario
        .faults
        .iter()
        .enumerate()
        .filter(|(_, f)| f.target.arch() == arch)
        .map(|(i, f)| {
            let population = if f.target.role() == Role::Server {
                servers
            } else {
                peers
            };
            let count = match (f.count, f.fraction) {
                (Some(c), _) => Some((c as usize).min(population)),
                (None, Some(fr)) => Some(((fr * population as f64).ceil() as usize).max(1)),
                (None, None) => None,
            };
            Planned {
                at: f.at.0,
                action: f.action,
                target: f.target,
                count,
                duration: f.duration.map(|d| d.0),
                source: format!("faults[{i}]"),
            }
        })
        .collect();
    if let (Some(churn), Arch::P2p) = (&scenario.churn, arch) {
        let departure = match churn.departure {
            Departure::Leave => FaultAction::Leave,
            Departure::Kill => FaultAction::Kill,
        };
        events.extend(super::churn::sessions(churn, peers, departure, run_time));
        for (rate, action) in [
            (churn.leave_per_minute, departure),
            (churn.join_rate(), FaultAction::Join),
        ] {
            events.extend(
                churn_times(rate, peers, churn.start.0, run_time)
                    .into_iter()
                    .map(|at| Planned {
                        at,
                        action,
                        target: FaultTarget::Peers,
                        count: Some(1),
                        duration: None,
                        source: "churn".into(),
                    }),
            );
        }
    }
    events.sort_by_key(|e| e.at);
    events
}

/// Evenly spaced event times for `rate` × `peers` events per minute, the first one
/// interval after `start`, all before `end`.
pub(crate) fn churn_times(
    rate: f64,
    peers: usize,
    start: Duration,
    end: Duration,
) -> Vec<Duration> {
    let per_minute = rate * peers as f64;
    if per_minute <= 0.0 || !per_minute.is_finite() {
        return Vec::new();
    }
    let gap = Duration::from_secs_f64(60.0 / per_minute);
    if gap.is_zero() {
        return Vec::new();
    }
    (1u32..)
        .map(|k| start + gap * k)
        .take_while(|t| *t < end)
        .take(100_000)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn churn_is_evenly_spaced_and_bounded() {
        // 10 % per minute of 60 peers: 6 a minute, one every 10 s.
        let t = churn_times(0.10, 60, Duration::from_secs(5), Duration::from_secs(60));
        let secs: Vec<u64> = t.iter().map(|d| d.as_secs()).collect();
        assert_eq!(secs, vec![15, 25, 35, 45, 55]);
        assert!(churn_times(0.0, 60, Duration::ZERO, Duration::from_secs(60)).is_empty());
    }

    #[test]
    fn faults_go_to_the_architecture_that_has_the_target() {
        let text = r#"
name = "t"
[workload]
kind = "fetch"
[load]
users = 8
duration = "60s"
[[faults]]
at = "4s"
action = "kill"
target = "server:0"
duration = "3s"
[[faults]]
at = "4s"
action = "kill"
target = "peers"
fraction = 0.25
[churn]
leave_per_minute = 0.25
"#;
        let s = crate::scenario::parse("t.toml", text, &[]).unwrap();
        let cs = plan(&s, Arch::Cs, 1, 8, Duration::from_secs(60));
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0].duration, Some(Duration::from_secs(3)));
        let p2p = plan(&s, Arch::P2p, 1, 8, Duration::from_secs(60));
        assert_eq!(p2p[0].count, Some(2));
        // 2 departures and 2 joins a minute: at 30 s, and the fault at 4 s first.
        assert_eq!(p2p.len(), 1 + 1 + 1);
        assert!(p2p.windows(2).all(|w| w[0].at <= w[1].at));
    }
}
