//! `versus merge OUT.json IN.json...`: several reports of one scenario, made by one build
//! on one machine, become one report whose runs are repetitions, as if `versus run
//! --repeat` had made them. `versus compare` then bootstraps over them.
//!
//! This is how a gate interleaves two builds: each `versus run` makes one report, and
//! the runs of each build are merged afterwards (`ci/perf-gate.sh`). Reports of
//! different scenarios, builds, machines or schema versions are refused, since their runs
//! are not repetitions of one thing. Runs keep their order; each configuration's runs
//! (same phase, architecture, users and servers) are numbered 0, 1, 2, … in that order.
//! The threshold results and the side-by-side rows are the inputs' (both are per run, or
//! per pair of runs of one input); the claims are judged again on all the runs. Only
//! report.json is written.
//!
//! With `--shards`, the inputs are instead the shards of one run (`versus run --shard
//! I/M`), merged exactly into the report one process would have written
//! ([`crate::analyse::shard_merge`]); its thresholds decide the exit code, as for `versus
//! run`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::analyse::claims;
use crate::analyse::metrics::GroupKey;
use crate::analyse::provenance::diff_paths;
use crate::error::{Failure, EXIT_OK};
use crate::report::model::Report;

/// Command-line options of `versus merge`.
#[derive(clap::Args, Debug, Clone)]
pub struct MergeArgs {
    /// The inputs are the shard reports of one run (`versus run --shard I/M`): merge
    /// them exactly (histograms added, counts summed, rows aligned on the common start)
    /// and judge the thresholds once, on the merged report (exit 1 if one fails).
    #[arg(long)]
    pub shards: bool,
    /// Where to write the merged report.json (its directory is created if needed).
    pub out: PathBuf,
    /// The report.json files to merge, in order: their runs become repetitions (with
    /// --shards: one report per shard, in any order).
    #[arg(required = true, value_name = "IN.json")]
    pub inputs: Vec<PathBuf>,
}

/// Why reports cannot be merged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MergeError {
    /// No report was given.
    #[error("nothing to merge: give at least one report.json")]
    Empty,
    /// A report is not a repetition of the first one.
    #[error(
        "{input} cannot be merged with {first}: {what} differ ({detail}); merge only reports \
         of one scenario made by one build of versus on one machine"
    )]
    Mismatch {
        /// The first report's label.
        first: String,
        /// The offending report's label.
        input: String,
        /// What differs: `the scenarios`, `the builds`, ….
        what: &'static str,
        /// How.
        detail: String,
    },
}

/// Merges `reports` (each with the label it is named by in errors, such as its path)
/// into one, as described in the module documentation.
pub fn merge(reports: Vec<(String, Report)>) -> Result<Report, MergeError> {
    let mut reports = reports.into_iter();
    let (first_label, mut merged) = reports.next().ok_or(MergeError::Empty)?;
    let mut next_repetition: BTreeMap<(GroupKey, Option<String>), u32> = BTreeMap::new();
    let mut runs = std::mem::take(&mut merged.runs);
    let mut thresholds = std::mem::take(&mut merged.thresholds);
    let mut side_by_side = std::mem::take(&mut merged.side_by_side);
    for (label, report) in reports {
        check_same(&first_label, &merged, &label, &report)?;
        if report.started_at < merged.started_at {
            merged.started_at = report.started_at;
        }
        merged.interrupted |= report.interrupted;
        runs.extend(report.runs);
        thresholds.extend(report.thresholds);
        side_by_side.extend(report.side_by_side);
    }
    for run in &mut runs {
        let key = (GroupKey::of(run), run.phase.clone());
        let next = next_repetition.entry(key).or_insert(0);
        run.repetition = *next;
        *next += 1;
    }
    merged.runs = runs;
    merged.thresholds = thresholds;
    merged.side_by_side = side_by_side;
    merged.claims = if merged.workload_compares_architectures() {
        claims::evaluate(&merged)
    } else {
        Vec::new()
    };
    merged.crossover = claims::crossover::map(&merged);
    Ok(merged)
}

/// Fails unless `report` is a repetition of `first`: same schema, build, machine and
/// scenario.
fn check_same(
    first_label: &str,
    first: &Report,
    label: &str,
    report: &Report,
) -> Result<(), MergeError> {
    let mismatch = |what: &'static str, detail: String| MergeError::Mismatch {
        first: first_label.to_string(),
        input: label.to_string(),
        what,
        detail,
    };
    if let Some((what, detail)) = crate::analyse::provenance::other_schema_or_build(first, report) {
        return Err(mismatch(what, detail));
    }
    let (a, b) = (&first.machine, &report.machine);
    if (&a.hostname, &a.cpu_model, a.cores, a.memory_bytes)
        != (&b.hostname, &b.cpu_model, b.cores, b.memory_bytes)
    {
        return Err(mismatch(
            "the machines",
            format!(
                "{} ({}, {} cores) and {} ({}, {} cores)",
                a.hostname, a.cpu_model, a.cores, b.hostname, b.cpu_model, b.cores
            ),
        ));
    }
    let mut differing = Vec::new();
    diff_paths(
        &first.scenario,
        &report.scenario,
        String::new(),
        &mut differing,
    );
    if !differing.is_empty() {
        return Err(mismatch("the scenarios", differing.join(", ")));
    }
    Ok(())
}

/// Carries out `versus merge`: reads the inputs, merges them, writes the result.
/// Unreadable or mismatched inputs are usage errors (exit code 2).
pub fn run(args: &MergeArgs) -> anyhow::Result<i32> {
    let reports = read_all(&args.inputs)?;
    if args.shards {
        return merge_shards(args, reports);
    }
    let merged = merge(reports).map_err(|e| Failure::Usage(e.to_string()))?;
    write(&args.out, &merged)?;
    eprintln!(
        "merged {} reports ({} runs) into {}",
        args.inputs.len(),
        merged.runs.len(),
        args.out.display()
    );
    Ok(EXIT_OK)
}

/// Reads every input, labelled by its path; an unreadable one is a usage error.
fn read_all(inputs: &[PathBuf]) -> anyhow::Result<Vec<(String, Report)>> {
    let mut reports = Vec::with_capacity(inputs.len());
    for path in inputs {
        let report = crate::report::read(path).map_err(|e| {
            Failure::Usage(format!(
                "{e:#}; pass report.json files that `versus run --out DIR` wrote"
            ))
        })?;
        reports.push((path.display().to_string(), report));
    }
    Ok(reports)
}

/// `versus merge --shards`: the exact merge, its table, and the exit code of its
/// thresholds.
fn merge_shards(args: &MergeArgs, reports: Vec<(String, Report)>) -> anyhow::Result<i32> {
    let merged =
        crate::analyse::shard_merge::merge(reports).map_err(|e| Failure::Usage(e.to_string()))?;
    println!("{}", crate::report::table::terminal(&merged));
    write(&args.out, &merged)?;
    eprintln!(
        "merged {} shard reports into {}",
        args.inputs.len(),
        args.out.display()
    );
    Ok(crate::commands::run::exit_code_of(&merged))
}

fn write(path: &Path, report: &Report) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    }
    let json = serde_json::to_string_pretty(report).context("cannot serialize the report")?;
    std::fs::write(path, json).with_context(|| {
        format!(
            "cannot write the merged report to {}; check that it is writable",
            path.display()
        )
    })
}
