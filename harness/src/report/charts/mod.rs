//! SVG charts of a report, for people: the latency percentile spectrum, throughput and
//! p99 latency over time, and scaling against the number of users in a sweep.
//!
//! Every chart is a pure function from report data to an SVG string (`None` when the
//! data cannot make a chart), drawn with plotters' SVG backend: text stays `<text>`, so
//! no font files are needed and the files diff and paste well. All charts share one
//! layout and one palette ([`style`]): `cs` is always blue and `p2p` always vermillion.
//! [`render_all`] picks every chart that applies to a report; [`write_svg`] is the only
//! file I/O here.

mod availability;
mod axis;
mod crossover;
mod frame;
mod runs;
mod scaling;
mod spectrum;
pub(crate) mod style;
mod timeseries;

use crate::arch::Arch;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Context;

use super::model::{Report, RunReport};

pub use scaling::{latency_scaling, scaling, ScalingPoint};
pub use spectrum::latency_spectrum;
pub use timeseries::{p99_over_time, throughput_over_time};

/// A vertical marker on a time series: seconds since the start of the run, and a label.
pub type Marker = (f64, String);

/// Writes `svg` to `path`.
pub fn write_svg(path: &Path, svg: &str) -> anyhow::Result<()> {
    std::fs::write(path, svg).with_context(|| format!("cannot write {}", path.display()))
}

/// Every chart that applies to `report`, as `(file name, svg)`:
/// - `latency-spectrum.svg` for `get` (`latency-spectrum-<op>.svg` for other operations)
///   when a run has a histogram for it;
/// - `throughput.svg` and `p99-over-time.svg` (`-<op>` likewise) when runs have
///   per-second rows, with the runs' faults as markers;
/// - `availability.svg` when a run had faults: availability per second, faults marked;
/// - for a sweep (an architecture run at more than one user count): `scaling.svg`
///   (makespan vs users, with the bound) when runs have completion times, otherwise
///   `scaling-p99.svg` (p99 of the main operation vs users);
/// - `crossover.svg`, the claim suite's crossover map, when the report has one.
pub fn render_all(report: &Report) -> Vec<(String, String)> {
    let runs = runs::ordered(&report.runs);
    let mut out = Vec::new();
    let ops = op_names(&runs);
    let markers = fault_markers(&runs);
    for op in &ops {
        let suffix = if op == "get" {
            String::new()
        } else {
            format!("-{}", file_safe(op))
        };
        let charts = [
            ("latency-spectrum", latency_spectrum(&runs, op)),
            ("throughput", throughput_over_time(&runs, op, &markers)),
            ("p99-over-time", p99_over_time(&runs, op, &markers)),
        ];
        for (name, svg) in charts {
            if let Some(svg) = svg {
                out.push((format!("{name}{suffix}.svg"), svg));
            }
        }
    }
    if let Some(svg) = availability::availability_over_time(&runs, &markers) {
        out.push(("availability.svg".to_string(), svg));
    }
    if is_sweep(&runs) {
        out.extend(sweep_chart(&runs, ops.first().map(String::as_str)));
    }
    if let Some(svg) = report.crossover.as_ref().and_then(crossover::heatmap) {
        out.push(("crossover.svg".to_string(), svg));
    }
    out
}

/// Operation names across runs, `get` first, then by name.
fn op_names(runs: &[&RunReport]) -> Vec<String> {
    let names: BTreeSet<&String> = runs.iter().flat_map(|r| r.ops.keys()).collect();
    let mut names: Vec<String> = names.into_iter().cloned().collect();
    names.sort_by_key(|n| (n != "get", n.clone()));
    names
}

/// True when some architecture was run at more than one user count.
fn is_sweep(runs: &[&RunReport]) -> bool {
    let mut users: BTreeMap<Arch, BTreeSet<u32>> = BTreeMap::new();
    for r in runs {
        users.entry(r.arch).or_default().insert(r.users);
    }
    users.values().any(|u| u.len() > 1)
}

/// The scaling chart of a sweep: makespan when runs have completion times, otherwise the
/// p99 of `op`.
fn sweep_chart(runs: &[&RunReport], op: Option<&str>) -> Option<(String, String)> {
    let makespan: Vec<ScalingPoint> = runs
        .iter()
        .filter_map(|r| {
            Some(ScalingPoint {
                arch: r.arch,
                users: r.users,
                measured_s: r.completion.as_ref()?.makespan_s,
                bound_s: r.bound_s,
            })
        })
        .collect();
    if !makespan.is_empty() {
        return scaling(&makespan).map(|svg| ("scaling.svg".to_string(), svg));
    }
    let op = op?;
    let p99: Vec<ScalingPoint> = runs
        .iter()
        .filter_map(|r| {
            Some(ScalingPoint {
                arch: r.arch,
                users: r.users,
                measured_s: r.ops.get(op)?.latency("p99")? / 1e6,
                bound_s: None,
            })
        })
        .collect();
    latency_scaling(&p99, op).map(|svg| ("scaling-p99.svg".to_string(), svg))
}

/// Markers for the runs' injected faults: each fault object that has a time (`t_s`,
/// `at_s` or `time_s`, seconds since the start) becomes a marker labelled by its `label`,
/// `kind`, `action` or `type`. When the architectures had different faults, labels are
/// prefixed with the architecture.
fn fault_markers(runs: &[&RunReport]) -> Vec<Marker> {
    let mut per_arch: BTreeMap<Arch, BTreeSet<(u64, String)>> = BTreeMap::new();
    for r in runs {
        for f in &r.faults {
            let t = ["t_s", "at_s", "time_s"]
                .iter()
                .find_map(|k| f.get(*k).and_then(serde_json::Value::as_f64))
                .filter(|t| t.is_finite() && *t >= 0.0);
            let label = ["label", "kind", "action", "type"]
                .iter()
                .find_map(|k| f.get(*k).and_then(serde_json::Value::as_str))
                .unwrap_or("fault");
            if let Some(t) = t {
                per_arch
                    .entry(r.arch)
                    .or_default()
                    .insert((t.to_bits(), label.to_string()));
            }
        }
    }
    let first = per_arch.values().next();
    let same = per_arch.values().all(|s| Some(s) == first);
    let mut out: Vec<Marker> = if same {
        per_arch
            .values()
            .next()
            .into_iter()
            .flatten()
            .map(|(t, l)| (f64::from_bits(*t), l.clone()))
            .collect()
    } else {
        per_arch
            .iter()
            .flat_map(|(arch, set)| {
                set.iter()
                    .map(move |(t, l)| (f64::from_bits(*t), format!("{arch}: {l}")))
            })
            .collect()
    };
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// `name` reduced to characters safe in a file name.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
