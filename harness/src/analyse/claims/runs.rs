//! Which runs may judge a claim, and how they line up into repetitions.
//!
//! A run that was CPU-bound (its busiest second, not its average, near the machine's
//! cores), whose harness was saturated, or that had faults says more about the machine or
//! the faults than about the architecture: it judges no claim that is not about faults,
//! and the claim names it among its excluded runs. Runs line up by configuration
//! (experiment, phase, users, servers, rate) and repetition, so each repetition's CS and
//! P2P runs, made one after the other, form a pair.

use std::collections::BTreeMap;

use crate::arch::Arch;
use crate::report::model::{ExcludedRun, Report, RunReport};

/// Share of the machine's cores that other work may take during a run that judges a
/// claim.
const MAX_OTHER_SHARE: f64 = 0.25;

/// Share of late arrivals (sent over 10 ms after their time) an open-model run may have
/// and still judge a claim.
const MAX_LATE_SHARE: f64 = 0.05;

/// Whether a claim is about faults: its runs must have had them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Faults {
    /// Runs with faults are left out.
    Without,
    /// Only runs with faults judge it.
    With,
}

/// The runs a claim may use, and those left out.
#[derive(Debug, Default)]
pub(crate) struct Usable<'a> {
    /// Runs that may judge the claim.
    pub(crate) runs: Vec<&'a RunReport>,
    /// Runs that matched but were left out, and why.
    pub(crate) excluded: Vec<ExcludedRun>,
}

/// How a run is named in a claim's list of excluded runs: `p2p N=16 #2 (flash)`.
pub(crate) fn run_name(run: &RunReport) -> String {
    let mut name = format!("{} N={}", run.arch, run.users);
    if let Some(servers) = run.servers.filter(|s| *s > 1) {
        name.push_str(&format!(" {servers} servers"));
    }
    if let Some(rate) = run.rate_per_s {
        name.push_str(&format!(" {rate:.0}/s"));
    }
    name.push_str(&format!(" #{}", run.repetition + 1));
    let context: Vec<&str> = [run.experiment.as_deref(), run.phase.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if !context.is_empty() {
        name.push_str(&format!(" ({})", context.join(" · ")));
    }
    name
}

/// Why `run` may not judge a claim, if it may not.
fn exclusion(run: &RunReport, cores: u32, faults: Faults) -> Option<String> {
    if run.is_cpu_bound(cores) {
        return Some(format!(
            "CPU-bound: {:.2} of {cores} cores in its busiest second",
            run.cpu_cores_peak.max(run.cpu_cores_used)
        ));
    }
    if let Some(other) = run
        .other_cores
        .filter(|o| *o > MAX_OTHER_SHARE * f64::from(cores.max(1)))
    {
        return Some(format!(
            "the machine was busy with other work: {other:.2} of {cores} cores on average besides this run"
        ));
    }
    if run.harness.cpu_saturated {
        return Some(format!(
            "the harness was saturated for {} s",
            run.harness.saturated_seconds
        ));
    }
    if let Some(s) = run.schedule.as_ref().filter(|s| s.saturated) {
        // Latency counts from the intended send time, so a few late sends are measured,
        // not hidden; dropped arrivals or many late ones mean the harness could not offer
        // the load the claim compares at.
        let late_share = s.late as f64 / s.intended.max(1) as f64;
        if s.dropped > 0 || late_share > MAX_LATE_SHARE {
            return Some(format!(
                "the open-model schedule was not kept: {} of {} arrivals late, {} dropped",
                s.late, s.intended, s.dropped
            ));
        }
    }
    if faults == Faults::Without && !run.faults.is_empty() {
        return Some(format!(
            "had {} fault(s); this claim is not about faults",
            run.faults.len()
        ));
    }
    None
}

/// Whether `run` may bear on claim `claim`: a run of the claim suite only judges the
/// claims its experiment is for (the report's `scenario.experiments.<name>.claims`).
fn meant_for(report: &Report, run: &RunReport, claim: Option<u8>) -> bool {
    let (Some(experiment), Some(claim)) = (&run.experiment, claim) else {
        return true;
    };
    match report.scenario["experiments"][experiment]["claims"].as_array() {
        Some(claims) => claims.iter().any(|c| c.as_u64() == Some(u64::from(claim))),
        None => true,
    }
}

/// The runs of `report` that may judge claim `claim` (any run for `None`) and that
/// `pick` selects, split into usable and excluded ones.
pub(crate) fn usable<'a>(
    report: &'a Report,
    claim: Option<u8>,
    faults: Faults,
    pick: impl Fn(&RunReport) -> bool,
) -> Usable<'a> {
    let cores = report.machine.cores;
    let mut out = Usable::default();
    for run in report
        .runs
        .iter()
        .filter(|r| meant_for(report, r, claim) && pick(r))
    {
        if faults == Faults::With && run.faults.is_empty() {
            continue;
        }
        match exclusion(run, cores, faults) {
            Some(reason) => out.excluded.push(ExcludedRun {
                run: run_name(run),
                reason,
            }),
            None => out.runs.push(run),
        }
    }
    out
}

/// What makes runs repetitions of one configuration, apart from the architecture.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Config {
    /// The claim suite's experiment.
    pub(crate) experiment: Option<String>,
    /// The scenario's phase.
    pub(crate) phase: Option<String>,
    /// Users.
    pub(crate) users: u32,
    /// Server replicas (client-server).
    pub(crate) servers: Option<u32>,
    /// Open model: arrivals per second, in thousandths (an exact key).
    pub(crate) rate_milli: Option<u64>,
}

impl Config {
    /// The configuration of `run`, without its architecture (CS and P2P runs of one
    /// configuration pair up).
    pub(crate) fn of(run: &RunReport, with_servers: bool) -> Config {
        Config {
            experiment: run.experiment.clone(),
            phase: run.phase.clone(),
            users: run.users,
            servers: run.servers.filter(|_| with_servers),
            rate_milli: crate::analyse::metrics::rate_key(run),
        }
    }
}

/// Runs of `arch` grouped by configuration, each group keyed by repetition. Without
/// `with_servers`, a sweep over server counts keeps its runs with the fewest servers
/// (the scenario's own deployment; the others are for claim 2).
pub(crate) fn by_config<'a>(
    runs: &[&'a RunReport],
    arch: Arch,
    with_servers: bool,
) -> BTreeMap<Config, BTreeMap<u32, &'a RunReport>> {
    let mut out: BTreeMap<Config, BTreeMap<u32, &RunReport>> = BTreeMap::new();
    for run in runs.iter().filter(|r| r.arch == arch) {
        let group = out.entry(Config::of(run, with_servers)).or_default();
        let fewer = |held: &&RunReport| held.servers > run.servers;
        if group.get(&run.repetition).is_none_or(fewer) {
            group.insert(run.repetition, run);
        }
    }
    out
}

/// The values of two groups of runs for the repetitions both have (and both measured):
/// `(baseline, candidate, repetitions)`.
pub(crate) fn paired(
    baseline: &BTreeMap<u32, &RunReport>,
    candidate: &BTreeMap<u32, &RunReport>,
    value_baseline: impl Fn(&RunReport) -> Option<f64>,
    value_candidate: impl Fn(&RunReport) -> Option<f64>,
) -> (Vec<f64>, Vec<f64>) {
    let mut out = (Vec::new(), Vec::new());
    for (rep, b) in baseline {
        let Some(c) = candidate.get(rep) else {
            continue;
        };
        if let (Some(x), Some(y)) = (value_baseline(b), value_candidate(c)) {
            if x.is_finite() && y.is_finite() {
                out.0.push(x);
                out.1.push(y);
            }
        }
    }
    out
}

/// The median over `group` of `value` (runs that did not measure it left out).
pub(crate) fn median_of(
    group: &BTreeMap<u32, &RunReport>,
    value: impl Fn(&RunReport) -> Option<f64>,
) -> Option<f64> {
    let values: Vec<f64> = group.values().filter_map(|r| value(r)).collect();
    crate::analyse::stats::median(&values)
}
