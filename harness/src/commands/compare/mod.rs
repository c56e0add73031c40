//! `versus compare BASELINE.json CANDIDATE.json`: the performance-regression gate.
//!
//! For every architecture both reports ran, and every comparable metric of it (latency
//! percentiles and throughput per operation, the error rate, the makespan, CPU-seconds
//! and peak memory per role), the candidate is set against the baseline as a ratio of
//! medians over repetitions (a difference in percentage points for the error rate), with
//! a 95% bootstrap interval when both reports hold at least two repetitions (with
//! `--paired`, the median of the ratios of runs made side by side). Each metric
//! gets a verdict against its threshold (default 5%): `pass`, `regressed`, `improved` or
//! `inconclusive`. Any regression makes the comparison fail with exit code 1.
//!
//! The modules, in the order the data flows: [`metrics`] (what is compared, read from a
//! run), [`stats`] (medians, ratios, bootstrap), [`verdict`] (threshold logic),
//! [`thresholds`] (`--threshold`), [`warnings`] (reasons to distrust a comparison),
//! [`comparison`] (matching runs and building the result) and [`render`] (markdown, JSON).

pub mod comparison;
pub mod junit;
pub mod render;
pub mod tolerances;

use std::path::{Path, PathBuf};

pub use crate::analyse::verdict::Verdict;
pub use comparison::{compare, Comparison, Input, Options, Row};
pub use tolerances::Tolerances;

use crate::commands::ci::CiArgs;
use crate::error::Failure;
use crate::report::model::Report;

/// Command-line options of `versus compare`.
#[derive(clap::Args, Debug, Clone)]
pub struct CompareArgs {
    /// The baseline report.json (the reference, such as a run of the main branch).
    pub baseline: PathBuf,
    /// The candidate report.json (the change under test).
    pub candidate: PathBuf,
    /// How much worse a metric may get before it counts as a regression: `10%` for every
    /// metric, or `METRIC=PCT` for one, such as `get.p99=10%`, `get.rps=3%`,
    /// `errors.rate=1%` (percentage points), `completion.makespan=10%`,
    /// `server.cpu_s=20%`, `server.peak_rss_bytes=20%`, `server.cpu_per_op=3%` (CPU microseconds per operation). Repeatable; default 5%.
    #[arg(long = "threshold", value_name = "[METRIC=]PCT")]
    pub threshold: Vec<String>,
    /// Compare only this metric (repeatable), such as `--metric get.p50`: the verdict and
    /// the exit code then depend on the metrics named alone. Default: every metric.
    #[arg(long = "metric", value_name = "METRIC")]
    pub metric: Vec<String>,
    /// The reports come from different builds on purpose (a gate comparing two
    /// revisions): state the difference in a note instead of a warning.
    #[arg(long)]
    pub expect_different_builds: bool,
    /// The reports' runs were made in pairs, side by side (repetition i of the baseline
    /// next to repetition i of the candidate, as ci/perf-gate.sh interleaves them):
    /// compare run with run and take the median of the per-pair ratios, so that a drift
    /// of the machine during the runs cancels out.
    #[arg(long)]
    pub paired: bool,
    /// Output format: a markdown table for a pull request, or JSON for scripts.
    #[arg(long, value_enum, default_value = "md")]
    pub format: CompareFormat,
    /// Write the comparison to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Accept a comparison in which no metric was measured in both reports (different
    /// architectures, say); without it that is a usage error, since such a gate would
    /// pass on nothing.
    #[arg(long)]
    pub allow_empty: bool,
    /// JUnit XML and the job summary.
    #[command(flatten)]
    pub ci: CiArgs,
}

impl CompareArgs {
    /// Options comparing `candidate` with `baseline` with the defaults (5%, markdown,
    /// standard output).
    pub fn new(baseline: impl Into<PathBuf>, candidate: impl Into<PathBuf>) -> Self {
        CompareArgs {
            baseline: baseline.into(),
            candidate: candidate.into(),
            threshold: Vec::new(),
            metric: Vec::new(),
            expect_different_builds: false,
            paired: false,
            format: CompareFormat::Md,
            out: None,
            allow_empty: false,
            ci: CiArgs::default(),
        }
    }
}

/// The output formats of `versus compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompareFormat {
    /// A markdown table with a one-line overall verdict.
    Md,
    /// The full comparison as JSON.
    Json,
}

/// Carries out `versus compare`: reads both reports, compares them, prints the result
/// (or writes it to `--out`) and returns the exit code: 1 when a metric regressed, 0
/// otherwise. Bad flags and unreadable reports are usage errors (exit code 2).
pub fn run(args: &CompareArgs) -> anyhow::Result<i32> {
    let thresholds = Tolerances::parse(&args.threshold)?;
    let baseline = load(&args.baseline, "baseline")?;
    let candidate = load(&args.candidate, "candidate")?;
    let (ops, roles) = crate::analyse::metrics::known_names(&[&baseline, &candidate]);
    thresholds.check_names(&ops, &roles)?;
    for name in &args.metric {
        if !crate::analyse::metrics::is_metric_name(name, &ops, &roles) {
            return Err(Failure::Usage(format!(
                "--metric {name}: unknown metric; the metrics are {}; for example --metric get.p50",
                crate::analyse::metrics::describe_names(&ops, &roles)
            ))
            .into());
        }
    }
    let options = Options {
        thresholds,
        metrics: args.metric.iter().cloned().collect(),
        expect_different_builds: args.expect_different_builds,
        paired: args.paired,
    };
    let comparison = compare(
        Input {
            label: &args.baseline.display().to_string(),
            report: &baseline,
        },
        Input {
            label: &args.candidate.display().to_string(),
            report: &candidate,
        },
        &options,
    );
    if !args.allow_empty && comparison.metrics.iter().all(|r| r.estimate.is_none()) {
        return Err(Failure::Usage(format!(
            "nothing to compare: no metric was measured in both {} and {} (do they hold runs of the same architectures and users?); pass --allow-empty to accept an empty comparison",
            args.baseline.display(),
            args.candidate.display()
        ))
        .into());
    }
    let markdown = render::markdown(&comparison);
    let text = match args.format {
        CompareFormat::Md => markdown.clone(),
        CompareFormat::Json => render::json(&comparison)?,
    };
    super::write_output(args.out.as_deref(), &text, "comparison")?;
    args.ci
        .write_junit("versus compare", &junit::cases(&comparison))?;
    args.ci.append_summary(&format!("{markdown}\n"))?;
    Ok(comparison.exit_code)
}

fn load(path: &Path, which: &str) -> Result<Report, Failure> {
    crate::report::read(path).map_err(|e| {
        Failure::Usage(format!(
            "{which} report: {e:#}; pass the report.json that `versus run --out DIR` wrote"
        ))
    })
}
