//! The comparison of two reports: runs are matched by configuration (architecture,
//! users, servers), every metric of each match is estimated and judged against its threshold,
//! and the verdicts are summed up. [`Comparison`] is what both output formats render;
//! serialised as is, it is the JSON format.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Serialize, Serializer};

use super::tolerances::Tolerances;
use crate::analyse::metrics::{extract, groups, samples, variety, GroupKey, MetricDef, Unit};
use crate::analyse::provenance::{different_builds, warnings, warnings_but_builds};
use crate::analyse::stats::{self, estimate, paired_estimate, Delta};
use crate::analyse::verdict::{decide, overall, Better, Decision, Verdict};
use crate::arch::Arch;
use crate::machine::MachineInfo;
use crate::report::model::{Report, RunReport, ToolInfo};

/// One report given to the comparison, with the name it is shown under.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Shown in the output (usually the path of the report.json).
    pub label: &'a str,
    /// The report.
    pub report: &'a Report,
}

/// How to compare, besides the two reports.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The thresholds.
    pub thresholds: Tolerances,
    /// Compare only these metrics (`get.p50`, …); empty compares every metric.
    pub metrics: BTreeSet<String>,
    /// The reports come from different builds on purpose (a gate comparing two
    /// revisions): say so in a note rather than a warning.
    pub expect_different_builds: bool,
    /// The runs were made in pairs, side by side: compare each candidate run with the
    /// baseline run of the same repetition (see [`stats::paired_estimate`]).
    pub paired: bool,
}

/// The whole comparison. Field order is the JSON order: warnings first.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Reasons to distrust the comparison (different machines, builds, scenarios…).
    pub warnings: Vec<String>,
    /// Differences that were expected (`--expect-different-builds`), stated for the record.
    pub notes: Vec<String>,
    /// The metrics `--metric` selected; empty when every metric was compared.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub selected_metrics: Vec<String>,
    /// The overall verdict.
    pub verdict: Verdict,
    /// The exit code `versus compare` returns for it.
    pub exit_code: i32,
    /// How many metrics got each verdict.
    pub summary: Summary,
    /// Where the baseline came from.
    pub baseline: Side,
    /// Where the candidate came from.
    pub candidate: Side,
    /// The thresholds applied.
    pub thresholds: Tolerances,
    /// How the intervals were computed.
    pub bootstrap: BootstrapInfo,
    /// One row per architecture and metric.
    pub metrics: Vec<Row>,
}

/// Counts of verdicts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Metrics compared.
    pub total: usize,
    /// Within the threshold.
    pub pass: usize,
    /// Better by more than the threshold.
    pub improved: usize,
    /// Undecided (noise or missing data).
    pub inconclusive: usize,
    /// Worse by more than the threshold.
    pub regressed: usize,
}

/// Provenance of one side.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// The label it was given (its path).
    pub label: String,
    /// The build that produced it.
    pub tool: ToolInfo,
    /// The machine it ran on.
    pub machine: MachineInfo,
    /// When it started.
    pub started_at: String,
    /// The scenario's name.
    pub scenario: String,
    /// Its number of runs (architectures × repetitions × sweep points).
    pub runs: usize,
}

/// Parameters of the bootstrap.
#[derive(Debug, Clone, Serialize)]
pub struct BootstrapInfo {
    /// Resamples per interval.
    pub resamples: usize,
    /// Confidence level.
    pub confidence: f64,
    /// Seed of the random stream.
    pub seed: u64,
}

/// The values of one metric on one side.
#[derive(Debug, Clone, Serialize)]
pub struct Values {
    /// The median of the samples.
    pub median: f64,
    /// One value per repetition.
    pub samples: Vec<f64>,
}

/// One metric of one architecture.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The architecture, with what tells its configurations apart when a report holds
    /// several (`cs (8 users)`, `cs (2 servers)`).
    pub arch: String,
    /// Users of the runs compared (the candidate's when they differ).
    pub users: u32,
    /// Client-server replicas of the runs compared, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub servers: Option<u32>,
    /// The metric's name, as `--threshold` knows it.
    pub metric: String,
    /// Its unit.
    pub unit: Unit,
    /// Which way it improves.
    pub better: Better,
    /// `ratio` (candidate / baseline) or `difference` (candidate − baseline).
    pub kind: Delta,
    /// Baseline values, when measured.
    pub baseline: Option<Values>,
    /// Candidate values, when measured.
    pub candidate: Option<Values>,
    /// The ratio or difference of the medians.
    pub estimate: Option<f64>,
    /// Its 95% bootstrap interval, when both sides had at least two repetitions.
    #[serde(serialize_with = "interval_as_object")]
    pub interval: Option<(f64, f64)>,
    /// True when the estimate is the median of per-pair ratios of runs of the same
    /// repetition (`--paired`); the samples are then those pairs, in order.
    pub paired: bool,
    /// The threshold applied (a fraction; percentage points / 100 for a difference).
    pub threshold: f64,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, for inconclusive verdicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn interval_as_object<S: Serializer>(v: &Option<(f64, f64)>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Interval {
        low: f64,
        high: f64,
    }
    v.map(|(low, high)| Interval { low, high }).serialize(s)
}

/// Compares `candidate` with `baseline` as `options` say.
pub fn compare(baseline: Input<'_>, candidate: Input<'_>, options: &Options) -> Comparison {
    let (b, c) = (baseline.report, candidate.report);
    let (mut warnings, notes) = if options.expect_different_builds {
        let notes = different_builds(b, c)
            .map(|builds| {
                format!(
                    "{builds}, as expected: the comparison measures the change between \
                     the two builds, their measuring code included"
                )
            })
            .into_iter()
            .collect();
        (warnings_but_builds(b, c), notes)
    } else {
        (warnings(b, c), Vec::new())
    };
    let thresholds = &options.thresholds;
    let mut metrics = Vec::new();
    for m in match_groups(b, c, &mut warnings) {
        if options.paired {
            let unpaired = unpaired_runs(&m);
            if unpaired > 0 {
                warnings.push(format!(
                    "{}: {unpaired} run(s) without a run of the same repetition on the other \
                     side were left out of the paired comparison",
                    m.label
                ));
            }
        }
        compare_group(&m, thresholds, options.paired, &mut metrics);
    }
    if !options.metrics.is_empty() {
        metrics.retain(|row| options.metrics.contains(&row.metric));
    }
    let verdict = overall(metrics.iter().map(|r| r.verdict));
    if metrics.is_empty() {
        warnings.push(if options.metrics.is_empty() {
            "no metric could be compared: neither report holds a run".into()
        } else {
            "no metric could be compared: the reports measured none of the --metric names".into()
        });
    }
    let mut summary = Summary {
        total: metrics.len(),
        ..Summary::default()
    };
    for row in &metrics {
        *match row.verdict {
            Verdict::Pass => &mut summary.pass,
            Verdict::Improved => &mut summary.improved,
            Verdict::Inconclusive => &mut summary.inconclusive,
            Verdict::Regressed => &mut summary.regressed,
        } += 1;
    }
    Comparison {
        warnings,
        notes,
        selected_metrics: options.metrics.iter().cloned().collect(),
        verdict,
        exit_code: verdict.exit_code(),
        summary,
        baseline: side(baseline),
        candidate: side(candidate),
        thresholds: thresholds.clone(),
        bootstrap: BootstrapInfo {
            resamples: stats::RESAMPLES,
            confidence: stats::CONFIDENCE,
            seed: stats::SEED,
        },
        metrics,
    }
}

fn side(input: Input<'_>) -> Side {
    let r = input.report;
    Side {
        label: input.label.to_string(),
        tool: r.tool.clone(),
        machine: r.machine.clone(),
        started_at: r.started_at.clone(),
        scenario: r.scenario["name"].as_str().unwrap_or("?").to_string(),
        runs: r.runs.len(),
    }
}

/// Runs of both sides that are compared with each other.
struct Matched<'a> {
    label: String,
    key: GroupKey,
    baseline: Vec<&'a RunReport>,
    candidate: Vec<&'a RunReport>,
}

/// Pairs the groups of both reports: same configuration (architecture, users, servers);
/// or, when each side ran an architecture in one configuration only, those two (with a
/// warning when they differ). A group on one side only is kept, so its metrics show as
/// missing.
fn match_groups<'a>(
    baseline: &'a Report,
    candidate: &'a Report,
    warnings: &mut Vec<String>,
) -> Vec<Matched<'a>> {
    let (b, c) = (groups(baseline), groups(candidate));
    let archs: BTreeSet<Arch> = b.keys().chain(c.keys()).map(|k| k.arch).collect();
    let mut out = Vec::new();
    for arch in archs {
        let bk: Vec<&GroupKey> = b.keys().filter(|k| k.arch == arch).collect();
        let ck: Vec<&GroupKey> = c.keys().filter(|k| k.arch == arch).collect();
        let runs = |g: &BTreeMap<GroupKey, Vec<&'a RunReport>>, k: &GroupKey| {
            g.get(k).cloned().unwrap_or_default()
        };
        if let ([bk1], [ck1]) = (bk.as_slice(), ck.as_slice()) {
            if bk1 != ck1 {
                warnings.push(format!(
                    "{arch}: the baseline ran {}, the candidate {}; the runs are compared anyway",
                    describe(bk1),
                    describe(ck1)
                ));
            }
            out.push(Matched {
                label: arch.to_string(),
                key: (*ck1).clone(),
                baseline: runs(&b, bk1),
                candidate: runs(&c, ck1),
            });
            continue;
        }
        if bk.is_empty() || ck.is_empty() {
            let only = if bk.is_empty() {
                "candidate"
            } else {
                "baseline"
            };
            warnings.push(format!(
                "{arch} runs only in the {only}: its metrics cannot be compared"
            ));
        }
        let all: BTreeSet<&GroupKey> = bk.iter().chain(&ck).copied().collect();
        let (several_users, several_servers) = variety(all.iter().copied())
            .get(&arch)
            .copied()
            .unwrap_or_default();
        for key in all {
            let parts = key.distinguishing(several_users, several_servers);
            out.push(Matched {
                label: if parts.is_empty() {
                    arch.to_string()
                } else {
                    format!("{arch} ({})", parts.join(", "))
                },
                key: key.clone(),
                baseline: runs(&b, key),
                candidate: runs(&c, key),
            });
        }
    }
    out
}

/// `8 users`, or `8 users on 2 servers`.
fn describe(key: &GroupKey) -> String {
    match key.servers {
        Some(1) => format!("{} users on 1 server", key.users),
        Some(n) => format!("{} users on {n} servers", key.users),
        None => format!("{} users", key.users),
    }
}

/// Runs of `m` whose repetition has no run on the other side.
fn unpaired_runs(m: &Matched<'_>) -> usize {
    let reps = |runs: &[&RunReport]| runs.iter().map(|r| r.repetition).collect::<BTreeSet<_>>();
    let (b, c) = (reps(&m.baseline), reps(&m.candidate));
    b.symmetric_difference(&c).count()
}

/// For each metric, the values of both sides in pairs of runs of the same repetition
/// (pairs in which both runs measured it), as two aligned lists.
fn paired_samples(m: &Matched<'_>) -> Vec<(MetricDef, Vec<f64>, Vec<f64>)> {
    let mut by_name: BTreeMap<String, (MetricDef, Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for b in &m.baseline {
        let Some(c) = m.candidate.iter().find(|c| c.repetition == b.repetition) else {
            continue;
        };
        let theirs = extract(c);
        for (def, bv) in extract(b) {
            if let Some((_, cv)) = theirs.iter().find(|(d, _)| d.name == def.name) {
                let entry = by_name
                    .entry(def.name.clone())
                    .or_insert_with(|| (def, Vec::new(), Vec::new()));
                entry.1.push(bv);
                entry.2.push(*cv);
            }
        }
    }
    by_name.into_values().collect()
}

fn compare_group(m: &Matched<'_>, thresholds: &Tolerances, paired: bool, rows: &mut Vec<Row>) {
    let (b, c) = if paired {
        paired_samples(m)
            .into_iter()
            .map(|(def, bs, cs)| ((def.clone(), bs), (def, cs)))
            .unzip()
    } else {
        (samples(&m.baseline), samples(&m.candidate))
    };
    let mut defs: Vec<&MetricDef> = b.iter().chain(&c).map(|(d, _)| d).collect();
    defs.sort_by_key(|d| d.order());
    defs.dedup_by(|x, y| x.name == y.name);
    let find = |set: &[(MetricDef, Vec<f64>)], name: &str| -> Vec<f64> {
        set.iter()
            .find(|(d, _)| d.name == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    for def in defs {
        let (bs, cs) = (find(&b, &def.name), find(&c, &def.name));
        let threshold = thresholds.of(&def.name);
        let est = if paired {
            paired_estimate(def.kind, &bs, &cs)
        } else {
            estimate(def.kind, &bs, &cs)
        };
        let decision = match (&est, bs.is_empty()) {
            (Some(e), _) => decide(def.kind, def.better, threshold, e),
            (None, true) => Decision::inconclusive("not in the baseline"),
            (None, false) => Decision::inconclusive("missing in the candidate"),
        };
        rows.push(Row {
            arch: m.label.clone(),
            users: m.key.users,
            servers: m.key.servers,
            metric: def.name.clone(),
            unit: def.unit,
            better: def.better,
            kind: def.kind,
            baseline: values(bs),
            candidate: values(cs),
            estimate: est.map(|e| e.point),
            interval: est.and_then(|e| e.interval),
            paired,
            threshold,
            verdict: decision.verdict,
            note: decision.note,
        });
    }
}

fn values(samples: Vec<f64>) -> Option<Values> {
    Some(Values {
        median: stats::median(&samples)?,
        samples,
    })
}
