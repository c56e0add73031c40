//! The two claims about failures, judged from runs with faults: claim 6 ("CS has a
//! single point of failure": did one node's crash stop the whole client-server service
//! while peer-to-peer kept serving?) and claim 7 ("P2P is less stable as peers grow":
//! does the swarm's success rate under churn fall as it grows?).

use std::collections::BTreeMap;

use super::rule::{Rule, Side};
use super::runs::{by_config, median_of, paired, usable, Faults};
use super::{conditions, Judged, Measured};
use crate::arch::Arch;
use crate::report::model::{Report, RunReport};

/// A second with availability at or below this had no service at all.
const OUTAGE: f64 = 0.01;

/// Seconds in which nothing succeeded (availability ≤ 1 %, or nothing finished while
/// the run was under way), from the first fault on.
pub(crate) fn outage_seconds(run: &RunReport) -> usize {
    let first_fault = run
        .faults
        .iter()
        .filter_map(|f| f["t_s"].as_f64())
        .fold(f64::INFINITY, f64::min);
    let last = run.intervals.len().saturating_sub(1);
    run.intervals
        .iter()
        .enumerate()
        .filter(|(i, iv)| f64::from(iv.t_s) + 1.0 > first_fault && *i < last)
        .filter(|(_, iv)| iv.availability.is_none_or(|a| a <= OUTAGE))
        .count()
}

fn percent(a: Option<f64>) -> String {
    a.map_or("n/a".into(), |a| format!("{:.1}%", a * 100.0))
}

/// "availability 93.9%, 3 s without service, back 3.0 s after the first fault".
fn fault_evidence(run: &RunReport) -> String {
    let recovery = run
        .faults
        .first()
        .and_then(|f| f["recovery_s"].as_f64())
        .map_or(String::new(), |r| {
            format!(", recovered {r:.1} s after the first fault")
        });
    let survivors = run.resilience.as_ref().map_or(String::new(), |r| {
        if r.survivors < r.users {
            format!(
                ", {} of {} users whose own node survived kept succeeding",
                r.survivors_completed, r.survivors
            )
        } else {
            String::new()
        }
    });
    format!(
        "{} availability {}, {} s without service{recovery}{survivors}",
        run.arch,
        percent(run.availability),
        outage_seconds(run)
    )
}

/// Seconds per user without service: the user-seconds the run counted (offline users
/// included) over its users, or, for reports from before they were counted, the seconds
/// in which the whole service was out.
fn lost_per_user(run: &RunReport) -> Option<f64> {
    let counted = run
        .resilience
        .as_ref()
        .and_then(|r| r.user_seconds_without_service)
        .filter(|_| run.users > 0)
        .map(|s| s as f64 / f64::from(run.users));
    Some(counted.unwrap_or(outage_seconds(run) as f64))
}

/// Claim 6: a crash of the server(s) stops client-server completely, while the same
/// kind of fault leaves peer-to-peer serving. The effect of a repetition is the seconds
/// each CS user went without service minus each P2P user's (offline users included);
/// the band is ±1 s.
pub(crate) fn single_point_of_failure(report: &Report) -> Judged {
    let needs =
        "needs a steady workload with faults on both architectures (scenarios/claims/spof.toml)";
    let usable = usable(report, Some(6), Faults::With, |r| r.completion.is_none());
    let cs = by_config(&usable.runs, Arch::Cs, false);
    let p2p = by_config(&usable.runs, Arch::P2p, false);
    let outage = lost_per_user;
    let judged = cs.iter().rev().find_map(|(config, cs_group)| {
        let p2p_group = p2p.get(config)?;
        let (b, c) = paired(p2p_group, cs_group, outage, outage);
        Some((
            config,
            cs_group,
            p2p_group,
            Rule::difference(Side::Above, 1.0).judge(&b, &c)?,
        ))
    });
    let Some((config, cs_group, p2p_group, judgement)) = judged else {
        return Judged::not_measured(needs, usable.excluded);
    };
    let first = |g: &BTreeMap<u32, &RunReport>| g.values().next().map(|r| fault_evidence(r));
    let evidence = format!(
        "user-seconds without service per user, offline users included (medians): cs {:.1}, p2p {:.1}{}{}; first repetition: {}; {}",
        median_of(cs_group, outage).unwrap_or(f64::NAN),
        median_of(p2p_group, outage).unwrap_or(f64::NAN),
        replicated_evidence(&usable.runs, config.users),
        holders_evidence(&usable.runs, config.users),
        first(cs_group).unwrap_or_default(),
        first(p2p_group).unwrap_or_default()
    );
    let runs: Vec<&RunReport> = cs_group
        .values()
        .chain(p2p_group.values())
        .copied()
        .collect();
    Judged::from_judgement(
        judgement,
        &format!(
            "With the same node kinds killed, the seconds each CS user went without service minus each P2P user's, for {} users, were",
            config.users
        ),
        |v| format!("{v:+.1} s"),
        Measured {
            evidence,
            conditions: conditions(report, &runs),
            effect_metric: "user-seconds without service per user, cs − p2p".into(),
            excluded: usable.excluded,
        },
    )
}

/// What client-server lost when every object had copies on other replicas (the
/// `replication` variant, one replica killed): `, cs with 2 copies of each object 0.1`,
/// or nothing when the report has no such runs.
fn replicated_evidence(runs: &[&RunReport], users: u32) -> String {
    let replicated: Vec<f64> = runs
        .iter()
        .filter(|r| r.arch == Arch::Cs && r.users == users && r.replication.is_some())
        .filter_map(|r| lost_per_user(r))
        .collect();
    let copies = runs.iter().find_map(|r| r.replication).unwrap_or(0);
    match crate::analyse::stats::median(&replicated) {
        Some(lost) => {
            format!(", cs with {copies} copies of each object (one replica killed) {lost:.1}")
        }
        None => String::new(),
    }
}

/// The claim suite's experiment that kills only the holders of one object.
const HOLDERS: &str = "holders";

/// What peer-to-peer lost when only the holders of one object were killed (the
/// `holders` experiment): `, p2p with only the holders of object 31 killed (1 node) 0.6,
/// 0 of 24 objects asked for meanwhile unavailable`, or nothing without such runs.
fn holders_evidence(runs: &[&RunReport], users: u32) -> String {
    let holders: Vec<&RunReport> = runs
        .iter()
        .filter(|r| r.arch == Arch::P2p && r.users == users)
        .filter(|r| r.experiment.as_deref() == Some(HOLDERS))
        .copied()
        .collect();
    let median = |value: &dyn Fn(&RunReport) -> Option<f64>| {
        let values: Vec<f64> = holders.iter().filter_map(|r| value(r)).collect();
        crate::analyse::stats::median(&values)
    };
    let Some(lost) = median(&|r| lost_per_user(r)) else {
        return String::new();
    };
    let killed = median(&|r| Some(r.faults.first()?["nodes"].as_array()?.len() as f64));
    let target = holders
        .iter()
        .find_map(|r| r.faults.first()?["target"].as_str().map(str::to_string))
        .unwrap_or_default();
    let object = target.strip_prefix("holders:").unwrap_or("?");
    let unavailable = median(&|r| Some(f64::from(r.resilience.as_ref()?.objects_unavailable)));
    let requested = median(&|r| {
        Some(f64::from(
            r.resilience.as_ref()?.objects_requested_during_faults,
        ))
    });
    let objects = match (unavailable, requested) {
        (Some(u), Some(q)) => format!(", {u:.0} of {q:.0} objects asked for meanwhile unavailable"),
        _ => String::new(),
    };
    format!(
        ", p2p with only the holders of object {object} killed ({} node(s)) {lost:.1}{objects}",
        killed.map_or("?".to_string(), |k| format!("{k:.0}"))
    )
}

/// Standard deviation of the per-second availability.
fn availability_spread(run: &RunReport) -> f64 {
    let values: Vec<f64> = run
        .intervals
        .iter()
        .filter_map(|i| i.availability)
        .collect();
    if values.len() < 2 {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
}

/// Claim 7: under churn, the swarm's failure share grows with its size. The effect of a
/// repetition is the failed share at the largest size minus that at the smallest; the
/// band is ±1 percentage point.
pub(crate) fn p2p_less_stable(report: &Report) -> Judged {
    let needs = "needs P2P runs with churn at several sizes (scenarios/claims/churn.toml)";
    let usable = usable(report, Some(7), Faults::With, |r| {
        r.arch == Arch::P2p && r.availability.is_some()
    });
    let groups = by_config(&usable.runs, Arch::P2p, false);
    let (Some((small_config, small)), Some((large_config, large))) = (
        groups.iter().min_by_key(|(c, _)| c.users),
        groups.iter().max_by_key(|(c, _)| c.users),
    ) else {
        return Judged::not_measured(needs, usable.excluded);
    };
    if small_config.users == large_config.users {
        return Judged::not_measured(needs, usable.excluded);
    }
    let failed = |r: &RunReport| r.availability.map(|a| 1.0 - a);
    let (b, c) = paired(small, large, failed, failed);
    let Some(judgement) = Rule::difference(Side::Above, 0.01).judge(&b, &c) else {
        return Judged::not_measured(needs, usable.excluded);
    };
    let spread = |g: &BTreeMap<u32, &RunReport>| median_of(g, |r| Some(availability_spread(r)));
    let faults = |g: &BTreeMap<u32, &RunReport>| median_of(g, |r| Some(r.faults.len() as f64));
    let evidence = format!(
        "p2p failed share under churn (medians) {} at N={} → {} at N={} (per-second availability spread {:.1}% → {:.1}%; {:.0} → {:.0} churn events)",
        percent(median_of(small, failed)),
        small_config.users,
        percent(median_of(large, failed)),
        large_config.users,
        spread(small).unwrap_or(0.0) * 100.0,
        spread(large).unwrap_or(0.0) * 100.0,
        faults(small).unwrap_or(0.0),
        faults(large).unwrap_or(0.0),
    );
    let evidence = format!(
        "{evidence}; per size over all repetitions: {}",
        groups
            .iter()
            .map(|(c, g)| format!("N={} {}", c.users, churn_outcome(g)))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let runs: Vec<&RunReport> = small.values().chain(large.values()).copied().collect();
    Judged::from_judgement(
        judgement,
        &format!(
            "Under churn, the share of failed operations at N = {} minus that at N = {} was",
            large_config.users, small_config.users
        ),
        |v| format!("{:+.2} points", v * 100.0),
        Measured {
            evidence,
            conditions: conditions(report, &runs),
            effect_metric: format!(
                "failed share under churn, N = {} − N = {}",
                large_config.users, small_config.users
            ),
            excluded: usable.excluded,
        },
    )
}

/// The Wilson score interval (95 %) of `failed` out of `total`.
pub(crate) fn wilson(failed: u64, total: u64) -> Option<(f64, f64)> {
    if total == 0 {
        return None;
    }
    let z = 1.959_964;
    let n = total as f64;
    let p = failed as f64 / n;
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// `1.20 % failed of 2,400 (Wilson 95 % 0.8–1.7 %), errors timeout 20 http_4xx 9, get p99 41ms`:
/// the failed share of a size's operations over all its repetitions, the kinds of
/// failure (a P2P fetch with no provider found answers 404) and the latency tail.
fn churn_outcome(group: &BTreeMap<u32, &RunReport>) -> String {
    let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut total, mut failed) = (0u64, 0u64);
    for run in group.values() {
        let (t, f) = run.finished_and_failed();
        total += t;
        failed += f;
        for op in run.ops.values() {
            for (kind, n) in &op.errors {
                *kinds.entry(kind.as_str()).or_default() += n;
            }
        }
    }
    let share = if total == 0 {
        0.0
    } else {
        failed as f64 / total as f64
    };
    let interval = wilson(failed, total).map_or(String::new(), |(l, h)| {
        format!(" (Wilson 95 % {:.2}–{:.2} %)", l * 100.0, h * 100.0)
    });
    let errors = if kinds.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        format!(", errors {}", list.join(" "))
    };
    let p99 = median_of(group, |r| r.ops.get("get").and_then(|o| o.latency("p99")))
        .map_or(String::new(), |p| {
            format!(", get p99 {}", crate::format::format_duration_us(p))
        });
    format!(
        "{:.2} % failed of {total}{interval}{errors}{p99}",
        share * 100.0
    )
}
