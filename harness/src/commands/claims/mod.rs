//! `versus claims`: the claim suite. Runs every experiment of [`suite::EXPERIMENTS`]
//! (or those `--only` asks for) K times, interleaved, and writes one report that answers
//! the eight claims, each with its effect, interval, band and excluded runs.
//!
//! Progress says which experiment runs and roughly how long is left (from the runs done
//! so far). Ctrl-C stops after the run in progress drains and writes the report of what
//! was judged so far (exit 130); a run that fails ends the suite with the report of the
//! runs before it.

pub mod suite;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::commands::ci::CiArgs;
use crate::commands::run::{publish_described, run_arch, Described, Finished, Outputs};
use crate::drive::progress::ProgressMode;
use crate::error::Failure;
use crate::scenario::Override;
use suite::{Step, EXPERIMENTS};

/// Repetitions of the full suite unless `--repeat` says otherwise.
pub const FULL_REPETITIONS: u32 = 5;
/// Repetitions of `--quick` unless `--repeat` says otherwise.
pub const QUICK_REPETITIONS: u32 = 3;

/// Everything `versus claims` was asked.
#[derive(Debug, Clone)]
pub struct ClaimsOptions {
    /// Where the report goes.
    pub out: PathBuf,
    /// Repetitions (`None`: 5, or 3 with `quick`).
    pub repeat: Option<u32>,
    /// The smaller, faster suite.
    pub quick: bool,
    /// Only the experiments answering these claims (empty: all).
    pub only: Vec<u8>,
    /// `--set` overrides applied to every experiment.
    pub overrides: Vec<Override>,
    /// How to show each run's progress.
    pub progress: ProgressMode,
    /// JUnit XML and the job summary.
    pub ci: CiArgs,
}

/// Parses `--only 1,8`: claim numbers 1 to 8.
pub fn parse_only(text: &str) -> Result<Vec<u8>, Failure> {
    let parsed: Result<Vec<u8>, _> = text.split(',').map(|t| t.trim().parse::<u8>()).collect();
    match parsed {
        Ok(v) if !v.is_empty() && v.iter().all(|n| (1..=8).contains(n)) => Ok(v),
        _ => Err(Failure::Usage(format!(
            "--only {text}: expected claim numbers from 1 to 8, comma-separated, such as 1,8"
        ))),
    }
}

/// `about 4 min 10 s left`, from the time the runs so far took.
fn time_left(elapsed: Duration, done: usize, total: usize) -> String {
    if done == 0 {
        return "estimating time left after the first run".into();
    }
    let left = elapsed.as_secs_f64() / done as f64 * (total - done) as f64;
    let secs = left.round() as u64;
    if secs >= 60 {
        format!("about {} min {} s left", secs / 60, secs % 60)
    } else {
        format!("about {secs} s left")
    }
}

/// The report's `scenario`: the suite and every experiment's resolved scenario.
fn described_suite(opts: &ClaimsOptions, repetitions: u32) -> anyhow::Result<serde_json::Value> {
    let mut experiments = serde_json::Map::new();
    for e in EXPERIMENTS.iter().filter(|e| e.answers(&opts.only)) {
        let scenario = crate::scenario::parse(e.file, e.text, &opts.overrides)?;
        let mut value = serde_json::to_value(&scenario)?;
        value["claims"] = serde_json::json!(e.claims);
        experiments.insert(e.name.to_string(), value);
    }
    Ok(serde_json::json!({
        "name": "claims",
        "description": "The claim suite: every claim of DESIGN.md judged over interleaved repetitions.",
        "suite": {
            "quick": opts.quick,
            "repetitions": repetitions,
            "only": opts.only,
        },
        "experiments": experiments,
    }))
}

/// Carries out the suite; returns the exit code.
pub async fn claims(opts: ClaimsOptions, stop: CancellationToken) -> anyhow::Result<i32> {
    let repetitions = opts.repeat.unwrap_or(if opts.quick {
        QUICK_REPETITIONS
    } else {
        FULL_REPETITIONS
    });
    let steps = suite::steps(&opts.only, opts.quick, repetitions)?;
    // Every step's scenario is checked before the first run starts.
    for step in &steps {
        step.scenario(&opts.overrides)?;
    }
    let scenario = described_suite(&opts, repetitions)?;
    eprintln!(
        "claim suite: {} runs ({} repetitions{}), experiments {}",
        steps.len(),
        repetitions,
        if opts.quick { ", quick" } else { "" },
        EXPERIMENTS
            .iter()
            .filter(|e| steps.iter().any(|s| s.experiment.name == e.name))
            .map(|e| e.name)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let started = SystemTime::now();
    let clock = Instant::now();
    let mut done = Vec::new();
    let mut failure = None;
    for (i, step) in steps.iter().enumerate() {
        if stop.is_cancelled() {
            break;
        }
        eprintln!(
            "claims {}/{}: {} — {}",
            i + 1,
            steps.len(),
            step.describe(repetitions),
            time_left(clock.elapsed(), i, steps.len())
        );
        match run_step(step, &opts, &stop).await {
            Ok(run) => done.push(run),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    eprintln!(
        "claim suite: {} of {} runs in {:.0} s",
        done.len(),
        steps.len(),
        clock.elapsed().as_secs_f64()
    );
    let finished = Finished::new(done, started, &stop, failure);
    let described = Described {
        scenario,
        thresholds: &[],
        claims: (!opts.only.is_empty()).then_some(opts.only.as_slice()),
    };
    let outputs = Outputs {
        command: "claims",
        dir: &opts.out,
        ci: &opts.ci,
    };
    publish_described(described, finished, outputs)
}

async fn run_step(
    step: &Step,
    opts: &ClaimsOptions,
    stop: &CancellationToken,
) -> anyhow::Result<crate::report::build::ArchRun> {
    let scenario = step.scenario(&opts.overrides)?;
    let mut run = run_arch(&scenario, step.arch, opts.progress, stop).await?;
    run.report.repetition = step.repetition;
    run.report.experiment = Some(step.experiment.name.to_string());
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_claim_numbers() {
        assert_eq!(parse_only("1, 8").unwrap(), vec![1, 8]);
        assert!(parse_only("0").is_err());
        assert!(parse_only("9").is_err());
        assert!(parse_only("one")
            .unwrap_err()
            .to_string()
            .contains("--only one"));
    }

    #[test]
    fn time_left_extrapolates_the_runs_so_far() {
        assert!(time_left(Duration::from_secs(10), 0, 5).contains("estimating"));
        assert_eq!(time_left(Duration::from_secs(20), 2, 5), "about 30 s left");
        assert_eq!(
            time_left(Duration::from_secs(100), 1, 4),
            "about 5 min 0 s left"
        );
    }
}
