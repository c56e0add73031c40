//! Which run becomes which line: its legend label and its colour.
//!
//! A run is labelled by its architecture alone (`cs`, `p2p`) when that is enough; the
//! user count (or open-model rate) is added when the runs differ in it (a sweep), and the
//! repetition when two runs would still share a label. Colours follow the architecture;
//! several runs of one architecture get shades of its colour, light to dark by load.

use plotters::style::RGBColor;

use super::style::{arch_color, shade};
use crate::format::format_rate;
use crate::report::model::RunReport;

/// Legend label and colour of one run.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RunStyle {
    /// Legend label: `cs`, `p2p (8 users)`, `cs (200/s) #2`.
    pub label: String,
    /// Line colour.
    pub color: RGBColor,
}

/// The load of a run, as a label suffix and a sort key.
fn load_of(run: &RunReport) -> (String, f64) {
    match run.rate_per_s {
        Some(rate) if rate.is_finite() => (format_rate(rate), rate),
        _ => (
            format!(
                "{} user{}",
                run.users,
                if run.users == 1 { "" } else { "s" }
            ),
            f64::from(run.users),
        ),
    }
}

/// Labels and colours for `runs`, in the same order.
pub(super) fn styles(runs: &[&RunReport]) -> Vec<RunStyle> {
    let loads: Vec<(String, f64)> = runs.iter().map(|r| load_of(r)).collect();
    let load_varies = loads.windows(2).any(|w| w[0].0 != w[1].0);
    let mut labels: Vec<String> = runs
        .iter()
        .zip(&loads)
        .map(|(r, (load, _))| {
            if load_varies {
                format!("{} ({load})", r.label())
            } else {
                r.label()
            }
        })
        .collect();
    let duplicated: Vec<bool> = labels
        .iter()
        .map(|l| labels.iter().filter(|m| *m == l).count() > 1)
        .collect();
    for ((label, run), dup) in labels.iter_mut().zip(runs).zip(duplicated) {
        if dup {
            label.push_str(&format!(" #{}", u64::from(run.repetition) + 1));
        }
    }
    runs.iter()
        .enumerate()
        .zip(labels)
        .map(|((i, run), label)| {
            // Rank among the runs of the same architecture, by load then repetition.
            let key = |j: usize| (loads[j].1, runs[j].repetition, j);
            let same: Vec<usize> = (0..runs.len())
                .filter(|j| runs[*j].arch == run.arch)
                .collect();
            let rank = same
                .iter()
                .filter(|j| key(**j).partial_cmp(&key(i)) == Some(std::cmp::Ordering::Less))
                .count();
            RunStyle {
                label,
                color: shade(arch_color(run.arch), rank, same.len()),
            }
        })
        .collect()
}

/// `runs` ordered for a legend: `cs` before `p2p`, then by load, then by repetition.
pub(super) fn ordered(runs: &[RunReport]) -> Vec<&RunReport> {
    let mut out: Vec<&RunReport> = runs.iter().collect();
    out.sort_by(|a, b| {
        a.arch
            .cmp(&b.arch)
            .then(load_of(a).1.total_cmp(&load_of(b).1))
            .then(a.repetition.cmp(&b.repetition))
    });
    out
}
