//! `versus export --format bmf|gab REPORT`: a report's metrics in the formats that
//! continuous-benchmarking services read, so a Versus run can be tracked over time.
//!
//! - `bmf`: [Bencher Metric Format](https://bencher.dev/docs/reference/bencher-metric-format/),
//!   an object of benchmarks (`cs/get`, `cs/errors`, `cs/completion`, `cs/server`), each an
//!   object of measures with `value` and, with repetitions, `lower_value`/`upper_value`
//!   (the smallest and largest repetition). `latency` is the median in nanoseconds (the
//!   unit of Bencher's built-in measure), `latency-p90`/`-p99`/`-p999` likewise,
//!   `throughput` in operations per second, `error-rate` in percent, and per role
//!   `cpu-seconds` and `peak-rss-bytes`. A flash crowd's makespan is `cs/completion`'s
//!   `latency`.
//! - `gab`: github-action-benchmark's `customSmallerIsBetter`, an array of
//!   `{"name","unit","value"}` with only metrics where smaller is better: latency
//!   percentiles (`us`), the makespan and CPU time (`s`) and peak memory (`bytes`), named
//!   like `versus compare` names them (`cs/get.p99`, `cs/server.cpu_s`).
//!
//! With repetitions, the value is the median over them. When a report holds several
//! user (or server) counts of one architecture, names carry them: `cs/8-users/get`,
//! `cs/2-servers/get`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::analyse::metrics::{groups, samples, variety, Metric, RoleStat, Unit};
use crate::analyse::stats::median;
use crate::error::{Failure, EXIT_OK};
use crate::report::model::Report;

/// Command-line options of `versus export`.
#[derive(clap::Args, Debug, Clone)]
pub struct ExportArgs {
    /// The report.json to export.
    pub report: PathBuf,
    /// `bmf` (Bencher Metric Format) or `gab` (github-action-benchmark's customSmallerIsBetter).
    #[arg(long, value_enum, default_value = "bmf")]
    pub format: ExportFormat,
    /// Write the export to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The formats `versus export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Bencher Metric Format JSON.
    Bmf,
    /// github-action-benchmark `customSmallerIsBetter` JSON.
    Gab,
}

/// Carries out `versus export`: reads the report, prints the export (or writes it to
/// `--out`) and returns exit code 0. An unreadable report is a usage error (exit 2).
pub fn run(args: &ExportArgs) -> anyhow::Result<i32> {
    let report = crate::report::read(&args.report).map_err(|e| {
        Failure::Usage(format!(
            "{e:#}; pass the report.json that `versus run --out DIR` wrote"
        ))
    })?;
    let value = match args.format {
        ExportFormat::Bmf => bmf(&report),
        ExportFormat::Gab => serde_json::to_value(gab(&report))
            .context("cannot serialise the github-action-benchmark export")?,
    };
    let mut text = serde_json::to_string_pretty(&value).context("cannot serialise the export")?;
    text.push('\n');
    super::write_output(args.out.as_deref(), &text, "export")?;
    Ok(EXIT_OK)
}

/// One metric of one group of runs: median and range over repetitions.
struct Point {
    /// Benchmark prefix: `cs`, or `cs/8-users` in a sweep.
    group: String,
    /// The metric (`get.p99`).
    metric: Metric,
    unit: Unit,
    median: f64,
    low: f64,
    high: f64,
    repetitions: usize,
}

fn points(report: &Report) -> Vec<Point> {
    let groups = groups(report);
    let variety = variety(groups.keys());
    let mut out = Vec::new();
    for (key, runs) in &groups {
        let (several_users, several_servers) = variety.get(&key.arch).copied().unwrap_or_default();
        let mut group = key.arch.to_string();
        for part in key.distinguishing(several_users, several_servers) {
            group.push('/');
            group.push_str(&part.replace(' ', "-"));
        }
        for (def, values) in samples(runs) {
            let Some(median) = median(&values) else {
                continue;
            };
            let low = values.iter().copied().fold(f64::INFINITY, f64::min);
            let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            out.push(Point {
                group: group.clone(),
                metric: def.metric.clone(),
                unit: def.unit,
                median,
                low,
                high,
                repetitions: values.len(),
            });
        }
    }
    out
}

/// The report as Bencher Metric Format JSON.
pub fn bmf(report: &Report) -> Value {
    let mut benchmarks: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for p in points(report) {
        let Some((benchmark, measure, scale)) = bmf_measure(&p) else {
            continue;
        };
        let mut metric = Map::new();
        metric.insert("value".into(), json!(p.median * scale));
        if p.repetitions > 1 {
            metric.insert("lower_value".into(), json!(p.low * scale));
            metric.insert("upper_value".into(), json!(p.high * scale));
        }
        benchmarks
            .entry(format!("{}/{benchmark}", p.group))
            .or_default()
            .insert(measure, Value::Object(metric));
    }
    Value::Object(
        benchmarks
            .into_iter()
            .map(|(k, v)| (k, Value::Object(v)))
            .collect(),
    )
}

/// Benchmark suffix, measure slug and scale factor of a metric in BMF.
fn bmf_measure(p: &Point) -> Option<(String, String, f64)> {
    const NS_PER_US: f64 = 1e3;
    let (prefix, measure, scale) = match &p.metric {
        Metric::ErrorRate => ("errors".to_string(), "error-rate".to_string(), 100.0),
        Metric::Makespan => ("completion".to_string(), "latency".to_string(), 1e9),
        Metric::Latency { op, stat: "p50" } => (op.clone(), "latency".to_string(), NS_PER_US),
        Metric::Latency { op, stat } if matches!(*stat, "p90" | "p99" | "p999") => {
            (op.clone(), format!("latency-{stat}"), NS_PER_US)
        }
        Metric::Rps { op } => (op.clone(), "throughput".to_string(), 1.0),
        Metric::Role { role, stat } => match stat {
            RoleStat::CpuSeconds => (role.clone(), "cpu-seconds".to_string(), 1.0),
            RoleStat::PeakRss => (role.clone(), "peak-rss-bytes".to_string(), 1.0),
            RoleStat::CpuPerOp => return None,
        },
        _ => return None,
    };
    Some((prefix, measure, scale))
}

/// One entry of github-action-benchmark's `customSmallerIsBetter` input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GabEntry {
    /// `cs/get.p99`.
    pub name: String,
    /// `us`, `s` or `bytes`.
    pub unit: String,
    /// The value (the median over repetitions).
    pub value: f64,
    /// With repetitions: half the spread between the smallest and largest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    /// With repetitions: how many.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra: Option<String>,
}

/// The report's smaller-is-better metrics for github-action-benchmark.
pub fn gab(report: &Report) -> Vec<GabEntry> {
    let mut out = Vec::new();
    for p in points(report) {
        let smaller_is_better = match &p.metric {
            Metric::Makespan => true,
            Metric::Latency { stat, .. } => matches!(*stat, "p50" | "p90" | "p99" | "p999"),
            Metric::Role { stat, .. } => *stat != RoleStat::CpuPerOp,
            _ => false,
        };
        if !smaller_is_better {
            continue;
        }
        let unit = match p.unit {
            Unit::Micros => "us",
            Unit::Seconds => "s",
            Unit::Bytes => "bytes",
            Unit::PerSecond | Unit::Fraction | Unit::Number => continue,
        };
        let repeated = p.repetitions > 1;
        out.push(GabEntry {
            name: format!("{}/{}", p.group, p.metric),
            unit: unit.into(),
            value: p.median,
            range: repeated.then(|| format!("± {}", (p.high - p.low) / 2.0)),
            extra: repeated.then(|| format!("median of {} repetitions", p.repetitions)),
        });
    }
    out
}
