//! Side by side: the same workload on client-server and peer-to-peer, metric by metric,
//! each with a one-line verdict computed from the numbers ("p2p makespan 3.1× shorter").

use serde::{Deserialize, Serialize};

use crate::record::resources::HARNESS;
use crate::report::format::{format_bytes, format_duration_us};
use crate::report::model::RunReport;

/// Ratios within this of 1 are called "about the same".
const TIE: f64 = 1.05;

/// One metric measured on both architectures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// What is compared, such as `get p99 latency`.
    pub metric: String,
    /// The client-server value, formatted.
    pub cs: String,
    /// The peer-to-peer value, formatted.
    pub p2p: String,
    /// `cs`, `p2p`, or `tie`.
    pub better: String,
    /// The computed verdict, such as `p2p 3.1× shorter`.
    pub verdict: String,
}

/// Whether more or less of a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Better {
    Lower,
    Higher,
}

/// A metric's value in a run, and how to show it.
struct Metric {
    name: String,
    better: Better,
    /// Words for "better" in the verdict: `lower`, `shorter`, `higher`, …
    word: &'static str,
    value: fn(&RunReport, &str) -> Option<f64>,
    format: fn(f64) -> String,
}

/// Payload bytes delivered to users.
pub fn delivered_bytes(run: &RunReport) -> u64 {
    run.ops.values().map(|o| o.bytes).sum()
}

/// CPU-seconds of every target role (not the harness).
pub fn target_cpu_s(run: &RunReport) -> Option<f64> {
    let roles: Vec<f64> = run
        .resources
        .iter()
        .filter(|(r, _)| r.as_str() != HARNESS)
        .map(|(_, r)| r.cpu_s)
        .collect();
    (!roles.is_empty()).then(|| roles.iter().sum())
}

/// Peak resident memory of every target role, summed.
pub fn target_peak_rss(run: &RunReport) -> Option<f64> {
    let roles: Vec<u64> = run
        .resources
        .iter()
        .filter(|(r, _)| r.as_str() != HARNESS)
        .map(|(_, r)| r.peak_rss_bytes)
        .collect();
    (!roles.is_empty()).then(|| roles.iter().sum::<u64>() as f64)
}

/// Bytes sent by every node (targets and harness) per payload byte delivered.
pub fn wire_bytes_per_delivered(run: &RunReport) -> Option<f64> {
    let delivered = delivered_bytes(run);
    let sent: u64 = run.traffic.values().map(|t| t.tx_bytes).sum();
    (delivered > 0 && sent > 0).then(|| sent as f64 / delivered as f64)
}

fn latency(run: &RunReport, op: &str, stat: &str) -> Option<f64> {
    let o = run.ops.get(op)?;
    (o.count > o.errors_total)
        .then(|| o.latency_us.stat(stat))
        .flatten()
        .filter(|v| *v > 0.0)
}

fn metrics(one_shot: bool) -> Vec<Metric> {
    let mut list = Vec::new();
    if one_shot {
        list.push(Metric {
            name: "makespan".into(),
            better: Better::Lower,
            word: "shorter",
            value: |r, _| r.completion.as_ref().map(|c| c.makespan_s * 1e6),
            format: format_duration_us,
        });
        list.push(Metric {
            name: "efficiency (bound / makespan)".into(),
            better: Better::Higher,
            word: "higher",
            value: |r, _| r.efficiency,
            format: |v| format!("{v:.2}"),
        });
    }
    for stat in ["p50", "p99"] {
        list.push(Metric {
            name: format!("get {stat} latency"),
            better: Better::Lower,
            word: "lower",
            value: if stat == "p50" {
                |r, _| latency(r, "get", "p50")
            } else {
                |r, _| latency(r, "get", "p99")
            },
            format: format_duration_us,
        });
    }
    list.push(Metric {
        name: "get throughput".into(),
        better: Better::Higher,
        word: "higher",
        value: |r, _| r.ops.get("get").map(|o| o.rps).filter(|v| *v > 0.0),
        format: |v| format!("{v:.1}/s"),
    });
    list.push(Metric {
        name: "error rate".into(),
        better: Better::Lower,
        word: "lower",
        value: |r, _| {
            let (c, e) = r
                .ops
                .values()
                .fold((0, 0), |(c, e), o| (c + o.count, e + o.errors_total));
            (c > 0).then(|| e as f64 / c as f64)
        },
        format: |v| format!("{:.2}%", v * 100.0),
    });
    list.push(Metric {
        name: "availability under faults".into(),
        better: Better::Higher,
        word: "higher",
        value: |r, _| r.availability.filter(|_| !r.faults.is_empty()),
        format: |v| format!("{:.2}%", v * 100.0),
    });
    list.push(Metric {
        name: "seconds without service".into(),
        better: Better::Lower,
        word: "fewer",
        value: |r, _| {
            (!r.faults.is_empty() && r.completion.is_none())
                .then(|| super::fault_claims::outage_seconds(r) as f64)
        },
        format: |v| format!("{v:.0} s"),
    });
    list.push(Metric {
        name: "target CPU-seconds per delivered GiB".into(),
        better: Better::Lower,
        word: "lower",
        value: |r, _| {
            let gib = delivered_bytes(r) as f64 / f64::from(1u32 << 30);
            target_cpu_s(r).filter(|_| gib > 0.0).map(|c| c / gib)
        },
        format: |v| format!("{v:.2} CPU-s"),
    });
    list.push(Metric {
        name: "target peak memory (all nodes)".into(),
        better: Better::Lower,
        word: "lower",
        value: |r, _| target_peak_rss(r),
        format: format_bytes,
    });
    list.push(Metric {
        name: "bytes on the wire per delivered byte".into(),
        better: Better::Lower,
        word: "lower",
        value: |r, _| wire_bytes_per_delivered(r),
        format: |v| format!("{v:.3}"),
    });
    list
}

/// The verdict for one metric: which side is better and by how much.
fn verdict(m: &Metric, cs: f64, p2p: f64) -> (String, String) {
    let (hi, lo) = (cs.max(p2p), cs.min(p2p));
    // Error rates and the like can be 0 on both sides, or on one.
    if hi == lo || (lo > 0.0 && hi / lo < TIE) {
        return ("tie".into(), "about the same".into());
    }
    let cs_better = match m.better {
        Better::Lower => cs < p2p,
        Better::Higher => cs > p2p,
    };
    let winner = if cs_better { "cs" } else { "p2p" };
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
pub fn compare(cs: &RunReport, p2p: &RunReport) -> Vec<Comparison> {
    let one_shot = cs.completion.is_some() || p2p.completion.is_some();
    metrics(one_shot)
        .into_iter()
        .filter_map(|m| {
            let (a, b) = ((m.value)(cs, ""), (m.value)(p2p, ""));
            if a.is_none() && b.is_none() {
                return None;
            }
            let shown = |v: Option<f64>| v.map_or_else(|| "not measured".to_string(), m.format);
            let (better, text) = match (a, b) {
                (Some(a), Some(b)) => verdict(&m, a, b),
                _ => ("tie".into(), "not measured on both".into()),
            };
            Some(Comparison {
                metric: m.name.clone(),
                cs: shown(a),
                p2p: shown(b),
                better,
                verdict: text,
            })
        })
        .collect()
}

/// Pairs of (cs, p2p) runs with the same users and repetition, in report order.
pub fn pairs(runs: &[RunReport]) -> Vec<(&RunReport, &RunReport)> {
    runs.iter()
        .filter(|r| r.arch == "cs")
        .filter_map(|cs| {
            runs.iter()
                .find(|p| {
                    p.arch == "p2p"
                        && p.users == cs.users
                        && p.repetition == cs.repetition
                        && p.phase == cs.phase
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
            arch: arch.into(),
            phase: None,
            repetition: 0,
            target: String::new(),
            servers: (arch == "cs").then_some(1),
            model: "closed".into(),
            users,
            rate_per_s: None,
            duration_s: 1.0,
            ops: BTreeMap::from([("get".to_string(), op)]),
            schedule: None,
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
            availability: None,
            cpu_cores_used: 0.0,
            resilience: None,
            faults: Vec::new(),
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
