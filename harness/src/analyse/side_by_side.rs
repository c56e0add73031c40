//! Side by side: the same workload on client-server and peer-to-peer, metric by metric,
//! each with a one-line verdict computed from the numbers ("p2p makespan 3.1× shorter").

use super::metrics::{value, Better, Metric};
use crate::arch::Arch;

use crate::report::model::{RunReport, SideBySideRow};

/// Ratios within this of 1 are called "about the same".
const TIE: f64 = 1.05;

/// A metric shown side by side, with the word for "better" in its verdict.
struct Shown {
    metric: Metric,
    name: &'static str,
    /// `lower`, `shorter`, `higher`, …
    word: &'static str,
}

fn shown(metric: Metric, name: &'static str, word: &'static str) -> Shown {
    Shown { metric, name, word }
}

fn metrics(one_shot: bool) -> Vec<Shown> {
    let get = |stat| Metric::Latency {
        op: "get".into(),
        stat,
    };
    let mut list = Vec::new();
    if one_shot {
        list.push(shown(Metric::Makespan, "makespan", "shorter"));
        list.push(shown(
            Metric::Efficiency,
            "efficiency (bound / makespan)",
            "higher",
        ));
    }
    list.extend([
        shown(get("p50"), "get p50 latency", "lower"),
        shown(get("p99"), "get p99 latency", "lower"),
        shown(Metric::Rps { op: "get".into() }, "get throughput", "higher"),
        shown(Metric::ErrorRate, "error rate", "lower"),
        shown(Metric::Availability, "availability under faults", "higher"),
        shown(Metric::OutageSeconds, "seconds without service", "fewer"),
        shown(
            Metric::TargetCpuPerGib,
            "target CPU-seconds per delivered GiB",
            "lower",
        ),
        shown(
            Metric::TargetPeakRss,
            "target peak memory (all nodes)",
            "lower",
        ),
        shown(
            Metric::WirePerDelivered,
            "bytes on the wire per delivered byte",
            "lower",
        ),
    ]);
    list
}

/// How a side-by-side value reads: zero latencies and rates are below resolution.
fn side_value(m: &Metric, run: &RunReport) -> Option<f64> {
    let v = value(m, run)?;
    let drop_zero = matches!(m, Metric::Latency { .. } | Metric::Rps { .. });
    (!drop_zero || v > 0.0).then_some(v)
}

fn format_side(m: &Metric, v: f64) -> String {
    match m {
        Metric::Efficiency => format!("{v:.2}"),
        Metric::Rps { .. } => format!("{v:.1}/s"),
        Metric::ErrorRate | Metric::Availability => format!("{:.2}%", v * 100.0),
        Metric::OutageSeconds => format!("{v:.0} s"),
        Metric::TargetCpuPerGib => format!("{v:.2} CPU-s"),
        Metric::WirePerDelivered => format!("{v:.3}"),
        other => other.unit().format(v),
    }
}

/// The verdict for one metric: which side is better and by how much.
fn verdict(m: &Shown, cs: f64, p2p: f64) -> (String, String) {
    let (hi, lo) = (cs.max(p2p), cs.min(p2p));
    // Error rates and the like can be 0 on both sides, or on one.
    if hi == lo || (lo > 0.0 && hi / lo < TIE) {
        return ("tie".into(), "about the same".into());
    }
    let cs_better = match m.metric.better() {
        Better::Lower => cs < p2p,
        Better::Higher => cs > p2p,
    };
    let winner = if cs_better { Arch::Cs } else { Arch::P2p }.name();
    let name = m.name.split(" (").next().unwrap_or("");
    if lo <= 0.0 {
        // One side measured zero (too small for the sampling resolution): no factor.
        return (
            winner.into(),
            format!("{winner} {name} {} (the other side measured 0)", m.word),
        );
    }
    (
        winner.into(),
        format!("{winner} {name} {:.1}× {}", hi / lo, m.word),
    )
}

/// Compares a client-server run with a peer-to-peer run of the same workload.
pub(crate) fn compare(cs: &RunReport, p2p: &RunReport) -> Vec<SideBySideRow> {
    let one_shot = cs.completion.is_some() || p2p.completion.is_some();
    metrics(one_shot)
        .into_iter()
        .filter_map(|m| {
            let (a, b) = (side_value(&m.metric, cs), side_value(&m.metric, p2p));
            if a.is_none() && b.is_none() {
                return None;
            }
            let shown = |v: Option<f64>| {
                v.map_or_else(|| "not measured".to_string(), |v| format_side(&m.metric, v))
            };
            let (better, text) = match (a, b) {
                (Some(a), Some(b)) => verdict(&m, a, b),
                _ => ("tie".into(), "not measured on both".into()),
            };
            Some(SideBySideRow {
                metric: m.name.to_string(),
                cs: shown(a),
                p2p: shown(b),
                better,
                verdict: text,
            })
        })
        .collect()
}

/// Pairs of (cs, p2p) runs with the same users, repetition, phase, experiment and rate,
/// in report order.
pub(crate) fn pairs(runs: &[RunReport]) -> Vec<(&RunReport, &RunReport)> {
    runs.iter()
        .filter(|r| r.arch == Arch::Cs)
        .filter_map(|cs| {
            runs.iter()
                .find(|p| {
                    p.arch == Arch::P2p
                        && p.users == cs.users
                        && p.repetition == cs.repetition
                        && p.phase == cs.phase
                        && p.experiment == cs.experiment
                        && p.rate_per_s == cs.rate_per_s
                })
                // One comparison per size: repetitions are for `versus compare`.
                .filter(|_| cs.repetition == 0)
                .map(|p2p| (cs, p2p))
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::record::histogram::LatencySummary;
    use crate::record::resources::{HarnessLoad, RoleResources};
    use crate::report::model::{Completion, OpReport, Traffic};
    use std::collections::BTreeMap;

    /// A run with the given makespan, p50 (µs), delivered bytes and per-role cost.
    pub(crate) fn run(
        arch: &str,
        users: u32,
        makespan: Option<f64>,
        p50_us: u64,
        cpu_s: f64,
        tx: u64,
    ) -> RunReport {
        let op = OpReport {
            count: 100,
            errors_total: 0,
            errors: BTreeMap::new(),
            bytes: 1 << 30,
            rps: 10.0,
            latency_us: LatencySummary {
                p50: p50_us,
                p99: p50_us * 2,
                max: p50_us * 3,
                ..Default::default()
            },
            histogram: String::new(),
            uncorrected: None,
        };
        let role = if arch == "cs" { "server" } else { "peer" };
        RunReport {
            arch: arch.parse().expect("cs or p2p"),
            phase: None,
            repetition: 0,
            experiment: None,
            conditions: None,
            network: None,
            regions: None,
            target: String::new(),
            servers: (arch == "cs").then_some(1),
            replication: None,
            tls: false,
            http: None,
            model: "closed".into(),
            users,
            rate_per_s: None,
            duration_s: 1.0,
            ops: BTreeMap::from([("get".to_string(), op)]),
            schedule: None,
            per_user: None,
            intervals: Vec::new(),
            completion: makespan.map(|m| Completion {
                makespan_s: m,
                p50_s: m,
                p99_s: m,
            }),
            bound_s: None,
            efficiency: None,
            traffic: BTreeMap::from([(
                role.to_string(),
                Traffic {
                    tx_bytes: tx,
                    ..Traffic::default()
                },
            )]),
            resources: BTreeMap::from([(
                role.to_string(),
                RoleResources {
                    cpu_s,
                    peak_rss_bytes: 1 << 20,
                    ..Default::default()
                },
            )]),
            harness: HarnessLoad::default(),
            admin_overhead_us: None,
            peer_hosting: None,
            availability: None,
            cpu_cores_used: 0.0,
            cpu_cores_peak: 0.0,
            other_cores: None,
            resilience: None,
            faults: Vec::new(),
            shard: None,
        }
    }

    #[test]
    fn verdicts_name_the_better_side_and_factor() {
        let cs = run("cs", 16, Some(31.0), 1000, 2.0, 1 << 30);
        let p2p = run("p2p", 16, Some(10.0), 3000, 6.0, 3 << 30);
        let rows = compare(&cs, &p2p);
        let get = |m: &str| rows.iter().find(|r| r.metric == m).unwrap();
        assert_eq!(get("makespan").verdict, "p2p makespan 3.1× shorter");
        assert_eq!(get("get p50 latency").better, "cs");
        assert_eq!(get("get throughput").verdict, "about the same");
        assert_eq!(get("bytes on the wire per delivered byte").better, "cs");
        assert_eq!(
            get("target CPU-seconds per delivered GiB").verdict,
            "cs target CPU-seconds per delivered GiB 3.0× lower"
        );
    }

    #[test]
    fn pairs_match_users_and_repetitions() {
        let runs = vec![
            run("cs", 4, None, 1, 1.0, 1),
            run("cs", 8, None, 1, 1.0, 1),
            run("p2p", 8, None, 1, 1.0, 1),
        ];
        let p = pairs(&runs);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0.users, 8);
    }
}
