//! The exact merge of shard reports (`versus merge --shards`, `versus coordinate`): the
//! M reports of one run's shards become the report one process would have written.
//!
//! Refused, naming the files: a report that is not a shard's; shards of other
//! scenarios, builds, shard counts or starts; a shard given twice; a shard missing.
//! Then, run by run: histograms added (refused if their configurations differ), counts,
//! bytes and errors summed, per-second rows added on the common start (each shard's
//! rows shifted by its whole-second offset from it, their percentiles read from the
//! added histograms of that second), the duration and the makespan measured from the
//! common start to the last shard's end, the harness's resources summed and each
//! shard's kept, saturated if any shard was. The thresholds and the claims are judged
//! once, on the merged runs.

mod ops;
mod run;

use crate::analyse::provenance::diff_paths;
use crate::analyse::{claims, side_by_side, thresholds};
use crate::report::model::{Report, ShardInfo, SideBySide};
use crate::scenario::threshold::Thresholds;

/// Why shard reports cannot be merged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShardMergeError {
    /// No report was given.
    #[error("nothing to merge: give the report.json of every shard (`versus run --shard I/M`)")]
    Empty,
    /// A report was not made by `versus run --shard`.
    #[error("{input} is not a shard report (it has no \"shard\" section): give the report.json files written by `versus run --shard I/M`, or merge repetitions without --shards")]
    NotAShard {
        /// The report's label.
        input: String,
    },
    /// Two reports are not shards of one run.
    #[error("{input} is not a shard of the same run as {first}: {what} differ ({detail}); merge only the shards of one run, made by one build")]
    Mismatch {
        /// The first report's label.
        first: String,
        /// The offending report's label.
        input: String,
        /// What differs: `the builds`, `the scenarios`, ….
        what: &'static str,
        /// How.
        detail: String,
    },
    /// One shard index was given twice.
    #[error("{first} and {second} are both shard {index} of {count}: give each shard once")]
    Duplicate {
        /// The first report with that index.
        first: String,
        /// The second.
        second: String,
        /// The index.
        index: u32,
        /// The shard count.
        count: u32,
    },
    /// Some shards are missing.
    #[error("shard {missing} of {count} is missing (given: {given}): merge every shard of the run, or the totals would be short")]
    Missing {
        /// The missing indexes, such as `1, 3`.
        missing: String,
        /// The shard count.
        count: u32,
        /// The reports given.
        given: String,
    },
    /// A report's content cannot be merged.
    #[error("{input}: {why}")]
    Content {
        /// The report's label.
        input: String,
        /// What is wrong.
        why: String,
    },
}

/// Merges the shard `reports` (each with the label errors name it by, such as its
/// path), as the module documentation says.
pub fn merge(reports: Vec<(String, Report)>) -> Result<Report, ShardMergeError> {
    let shards = in_shard_order(reports)?;
    let (first_label, first, first_shard) = &shards[0];
    for (label, report, _) in &shards[1..] {
        check_same(first_label, first, label, report)?;
    }
    let mut runs = Vec::with_capacity(first.runs.len());
    for r in 0..first.runs.len() {
        let parts: Vec<run::Part<'_>> = shards
            .iter()
            .map(|(label, report, shard)| run::Part {
                label,
                index: shard.index.unwrap_or_default(),
                hostname: &report.machine.hostname,
                run: &report.runs[r],
            })
            .collect();
        runs.push(run::merge(&parts)?);
    }
    let mut merged = first.clone();
    merged.started_at = shards
        .iter()
        .map(|(_, r, _)| r.started_at.clone())
        .min()
        .unwrap_or_default();
    merged.interrupted = shards.iter().any(|(_, r, _)| r.interrupted);
    let incomplete: Vec<String> = shards
        .iter()
        .filter_map(|(label, r, _)| r.incomplete.as_ref().map(|i| format!("{label}: {i}")))
        .collect();
    merged.incomplete = (!incomplete.is_empty()).then(|| incomplete.join("; "));
    merged.shard = Some(ShardInfo {
        index: None,
        merged_from: shards.iter().map(|(label, _, _)| label.clone()).collect(),
        ..first_shard.clone()
    });
    let limits: Thresholds = match merged.scenario.get("thresholds") {
        Some(t) => serde_json::from_value(t.clone()).map_err(|e| ShardMergeError::Content {
            input: first_label.clone(),
            why: format!("its scenario's thresholds cannot be read: {e}"),
        })?,
        None => Thresholds::default(),
    };
    merged.thresholds = thresholds::evaluate(&limits.0, &runs);
    merged.side_by_side = side_by_side::pairs(&runs)
        .into_iter()
        .map(|(cs, p2p)| SideBySide {
            users: cs.users,
            phase: cs.phase.clone(),
            rows: side_by_side::compare(cs, p2p),
        })
        .collect();
    merged.runs = runs;
    merged.claims = if merged.workload_compares_architectures() {
        claims::evaluate(&merged)
    } else {
        Vec::new()
    };
    merged.crossover = claims::crossover::map(&merged);
    Ok(merged)
}

type Labelled = (String, Report, ShardInfo);

/// The reports sorted by shard index, refusing non-shards, duplicates and gaps.
fn in_shard_order(reports: Vec<(String, Report)>) -> Result<Vec<Labelled>, ShardMergeError> {
    let mut shards = Vec::with_capacity(reports.len());
    for (label, report) in reports {
        let shard = match &report.shard {
            Some(s @ ShardInfo { index: Some(_), .. }) => s.clone(),
            _ => return Err(ShardMergeError::NotAShard { input: label }),
        };
        shards.push((label, report, shard));
    }
    if shards.is_empty() {
        return Err(ShardMergeError::Empty);
    }
    let count = shards[0].2.count;
    if let Some((label, _, s)) = shards.iter().find(|(_, _, s)| s.count != count) {
        return Err(ShardMergeError::Mismatch {
            first: shards[0].0.clone(),
            input: label.clone(),
            what: "the shard counts",
            detail: format!("{count} and {}", s.count),
        });
    }
    shards.sort_by_key(|(_, _, s)| s.index);
    for pair in shards.windows(2) {
        if pair[0].2.index == pair[1].2.index {
            return Err(ShardMergeError::Duplicate {
                first: pair[0].0.clone(),
                second: pair[1].0.clone(),
                index: pair[0].2.index.unwrap_or_default(),
                count,
            });
        }
    }
    let have: Vec<u32> = shards.iter().filter_map(|(_, _, s)| s.index).collect();
    let missing: Vec<String> = (0..count)
        .filter(|i| !have.contains(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() || have.len() as u32 != count {
        return Err(ShardMergeError::Missing {
            missing: missing.join(", "),
            count,
            given: shards
                .iter()
                .map(|(l, _, s)| format!("{l} (shard {})", s.index.unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(shards)
}

/// Fails unless `report` is a shard of the same run as `first`.
fn check_same(
    first_label: &str,
    first: &Report,
    label: &str,
    report: &Report,
) -> Result<(), ShardMergeError> {
    let mismatch = |what: &'static str, detail: String| ShardMergeError::Mismatch {
        first: first_label.to_string(),
        input: label.to_string(),
        what,
        detail,
    };
    if let Some((what, detail)) = crate::analyse::provenance::other_schema_or_build(first, report) {
        return Err(mismatch(what, detail));
    }
    let (Some(sa), Some(sb)) = (&first.shard, &report.shard) else {
        return Err(ShardMergeError::NotAShard {
            input: label.to_string(),
        });
    };
    if sa.start_at != sb.start_at {
        return Err(mismatch(
            "the common starts",
            format!("{} and {}", sa.start_at, sb.start_at),
        ));
    }
    let mut differing = Vec::new();
    diff_paths(
        &first.scenario,
        &report.scenario,
        String::new(),
        &mut differing,
    );
    if sa.scenario_hash != sb.scenario_hash || !differing.is_empty() {
        let detail = if differing.is_empty() {
            format!("hash {} and {}", sa.scenario_hash, sb.scenario_hash)
        } else {
            differing.join(", ")
        };
        return Err(mismatch("the scenarios", detail));
    }
    let shape = |r: &Report| -> Vec<String> {
        r.runs
            .iter()
            .map(|run| format!("{} {}", run.label(), run.model))
            .collect()
    };
    if shape(first) != shape(report) {
        return Err(mismatch(
            "the runs",
            format!("{:?} and {:?}", shape(first), shape(report)),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
