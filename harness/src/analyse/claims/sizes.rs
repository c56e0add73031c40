//! The claims about size: 1 ("P2P slows down as more users join", judged by how the
//! swarm's efficiency against its own bound changes from the smallest to the largest
//! swarm, so a swarm that only slows as much as its capacity allows is not "slowing
//! down") and 2 ("CS scales by adding servers": strong scaling from the fewest to the
//! most replicas at one user count, with weak scaling shown beside it).

use std::collections::BTreeMap;

use super::rule::{Rule, Side};
use super::runs::{by_config, median_of, paired, usable, Config, Faults};
use super::{conditions, times, Judged, Measured};
use crate::arch::Arch;
use crate::format::format_duration_us;
use crate::report::model::{Report, RunReport};

type Group<'a> = BTreeMap<u32, &'a RunReport>;

/// Configurations that differ only in `vary`, grouped: (the rest of the key) → groups in
/// order of the varied count.
fn families<'a, K: Ord>(
    groups: BTreeMap<Config, Group<'a>>,
    key: impl Fn(&Config) -> K,
    vary: impl Fn(&Config) -> u32,
) -> BTreeMap<K, Vec<(u32, Group<'a>)>> {
    let mut out: BTreeMap<K, Vec<(u32, Group<'a>)>> = BTreeMap::new();
    for (config, group) in groups {
        out.entry(key(&config))
            .or_default()
            .push((vary(&config), group));
    }
    for family in out.values_mut() {
        family.sort_by_key(|(n, _)| *n);
    }
    out
}

fn efficiency(run: &RunReport) -> Option<f64> {
    run.efficiency
}

fn makespan(run: &RunReport) -> Option<f64> {
    run.completion.as_ref().map(|c| c.makespan_s)
}

/// Least-squares slope of `y` against `log2 x`: change per doubling.
fn slope_per_doubling(points: &[(u32, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let xs: Vec<f64> = points.iter().map(|(n, _)| f64::from(*n).log2()).collect();
    let n = xs.len() as f64;
    let mx = xs.iter().sum::<f64>() / n;
    let my = points.iter().map(|(_, y)| y).sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let sxy: f64 = xs
        .iter()
        .zip(points)
        .map(|(x, (_, y))| (x - mx) * (y - my))
        .sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Makespan growth of `arch`'s runs in `report` from `small` to `large` users, in the
/// same experiment and phase as `like`: `"cs 1.00s → 4.10s (4.1×)"`.
fn growth(report: &Report, arch: Arch, like: &Config, small: u32, large: u32) -> Option<String> {
    let usable = usable(report, Some(1), Faults::Without, |r| r.completion.is_some());
    let groups = by_config(&usable.runs, arch, false);
    let at = |users: u32| {
        groups
            .iter()
            .find(|(c, _)| {
                c.users == users && c.experiment == like.experiment && c.phase == like.phase
            })
            .and_then(|(_, g)| median_of(g, makespan))
    };
    let (a, b) = (at(small)?, at(large)?);
    Some(format!(
        "{arch} {} → {} ({})",
        format_duration_us(a * 1e6),
        format_duration_us(b * 1e6),
        times(b / a)
    ))
}

/// Claim 1: the swarm's efficiency at the largest size over that at the smallest.
pub(crate) fn p2p_slows_down(report: &Report) -> Judged {
    let needs =
        "needs flash crowds on P2P at two or more user counts (versus claims, or versus sweep)";
    let usable = usable(report, Some(1), Faults::Without, |r| {
        r.arch == Arch::P2p && r.efficiency.is_some()
    });
    let groups = by_config(&usable.runs, Arch::P2p, false);
    let family = families(
        groups,
        |c| (c.experiment.clone(), c.phase.clone(), c.rate_milli),
        |c| c.users,
    )
    .into_values()
    .filter(|f| f.len() >= 2)
    .max_by_key(|f| f.len());
    let Some(family) = family else {
        return Judged::not_measured(needs, usable.excluded);
    };
    let (small, small_group) = &family[0];
    let (large, large_group) = &family[family.len() - 1];
    let (b, c) = paired(small_group, large_group, efficiency, efficiency);
    let Some(judgement) = Rule::ratio(Side::Below).judge(&b, &c) else {
        return Judged::not_measured(needs, usable.excluded);
    };
    let medians: Vec<(u32, f64)> = family
        .iter()
        .filter_map(|(n, g)| Some((*n, median_of(g, efficiency)?)))
        .collect();
    let per_size: Vec<String> = medians
        .iter()
        .map(|(n, e)| format!("N={n} {e:.2}"))
        .collect();
    let growths: Vec<String> = small_group
        .values()
        .next()
        .map(|run| Config::of(run, false))
        .map(|like| {
            [Arch::P2p, Arch::Cs]
                .into_iter()
                .filter_map(|arch| growth(report, arch, &like, *small, *large))
                .collect()
        })
        .unwrap_or_default();
    let slope = slope_per_doubling(&medians).map_or(String::new(), |s| {
        format!("; {s:+.3} efficiency per doubling of N")
    });
    let runs: Vec<&RunReport> = family
        .iter()
        .flat_map(|(_, g)| g.values().copied())
        .collect();
    let evidence = format!(
        "p2p efficiency (bound / makespan, medians): {}{slope}; makespan growth {} for {} the users",
        per_size.join(", "),
        if growths.is_empty() { "n/a".to_string() } else { growths.join(", ") },
        times(f64::from(*large) / f64::from(*small))
    );
    Judged::judged(
        judgement,
        &format!(
            "P2P's efficiency against its own bound at N = {large} over that at N = {small} was"
        ),
        times,
        Measured {
            evidence,
            conditions: conditions(report, &runs),
            effect_metric: format!("p2p efficiency at N = {large} / at N = {small}"),
            excluded: usable.excluded,
        },
    )
}

fn rps(run: &RunReport) -> Option<f64> {
    run.ops.get("get").map(|o| o.rps)
}

fn p99(run: &RunReport) -> Option<f64> {
    run.ops.get("get").and_then(|o| o.latency("p99"))
}

/// Claim 2: the gain from the fewest to the most server replicas at one user count.
pub(crate) fn cs_scales_out(report: &Report) -> Judged {
    let needs =
        "needs CS runs with several server counts (versus claims, or versus sweep --servers 1,2,4)";
    let usable = usable(report, Some(2), Faults::Without, |r| {
        r.arch == Arch::Cs && r.servers.is_some()
    });
    let groups = by_config(&usable.runs, Arch::Cs, true);
    let weak = weak_scaling(&groups);
    let family = families(
        groups,
        |c| (c.experiment.clone(), c.phase.clone(), c.users, c.rate_milli),
        |c| c.servers.unwrap_or(1),
    )
    .into_iter()
    .filter(|(_, f)| f.len() >= 2)
    .max_by_key(|((_, _, users, _), f)| (f.len(), *users))
    .map(|(_, f)| f);
    let Some(family) = family else {
        return Judged::not_measured(needs, usable.excluded);
    };
    let (s0, few) = &family[0];
    let (s1, many) = &family[family.len() - 1];
    let one_shot = few.values().all(|r| r.completion.is_some());
    let (b, c) = if one_shot {
        paired(many, few, makespan, makespan)
    } else {
        paired(few, many, rps, rps)
    };
    let Some(judgement) = Rule::ratio(Side::Above).judge(&b, &c) else {
        return Judged::not_measured(needs, usable.excluded);
    };
    let users = few.values().next().map_or(0, |r| r.users);
    let per_count: Vec<String> = family
        .iter()
        .map(|(s, g)| {
            let p99 = median_of(g, p99).map_or("n/a".into(), format_duration_us);
            let load = if one_shot {
                median_of(g, makespan).map_or("n/a".into(), |m| format_duration_us(m * 1e6))
            } else {
                median_of(g, rps).map_or("n/a".into(), |r| {
                    format!("{r:.1}/s ({:.1}/s per replica)", r / f64::from(*s))
                })
            };
            format!("{s} server(s): {load}, get p99 {p99}")
        })
        .collect();
    let runs: Vec<&RunReport> = family
        .iter()
        .flat_map(|(_, g)| g.values().copied())
        .collect();
    let what = if one_shot { "makespan" } else { "throughput" };
    let mut evidence = format!(
        "strong scaling at N = {users} ({what}, medians): {}",
        per_count.join("; ")
    );
    if let Some(weak) = weak {
        evidence.push_str(&format!("; weak scaling (users grow with servers): {weak}"));
    }
    Judged::judged(
        judgement,
        &format!(
            "CS's {what} gain from {s0} to {s1} servers ({} the servers) at N = {users} was",
            times(f64::from(*s1) / f64::from(*s0))
        ),
        times,
        Measured {
            evidence,
            conditions: conditions(report, &runs),
            effect_metric: format!("CS {what} gain, {s1} servers over {s0}, at N = {users}"),
            excluded: usable.excluded,
        },
    )
}

/// Weak scaling: configurations whose users per server stay the same while servers grow,
/// with their get p99 (`8 users/1 server 3.1ms, 16/2 3.3ms`), if the report has them.
fn weak_scaling(groups: &BTreeMap<Config, Group<'_>>) -> Option<String> {
    /// (experiment, users per server) → (users, servers, get p99).
    type ByRatio = BTreeMap<(Option<String>, u32), Vec<(u32, u32, f64)>>;
    let mut by_ratio: ByRatio = BTreeMap::new();
    for (c, g) in groups {
        let servers = c.servers.unwrap_or(1);
        if c.users % servers != 0 {
            continue;
        }
        if let Some(p) = median_of(g, p99) {
            by_ratio
                .entry((c.experiment.clone(), c.users / servers))
                .or_default()
                .push((servers, c.users, p));
        }
    }
    let (_, mut points) = by_ratio.into_iter().find(|(_, v)| {
        let mut s: Vec<u32> = v.iter().map(|p| p.0).collect();
        s.dedup();
        s.len() >= 2
    })?;
    points.sort_by_key(|p| p.0);
    Some(
        points
            .iter()
            .map(|(s, u, p)| format!("{u} users/{s} servers p99 {}", format_duration_us(*p)))
            .collect::<Vec<_>>()
            .join(", "),
    )
}
