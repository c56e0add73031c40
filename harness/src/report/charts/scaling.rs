//! Scaling charts for sweeps (`versus sweep … --users 4,8,16,32`): a time against the
//! number of users, one measured line per architecture with a dot per run, and the
//! analytical lower bound per architecture as a dashed line in the same colour. This is
//! the picture behind "P2P slows down as users join" and "P2P distributes large content
//! better": the measured line against its bound shows how close each architecture gets.

use std::collections::BTreeMap;

use super::axis::Axis;
use super::frame::{self, Chart, Series};
use super::style::arch_color;
use crate::arch::Arch;

/// One measured run of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingPoint {
    /// Architecture.
    pub arch: Arch,
    /// Number of users N.
    pub users: u32,
    /// The measured time, in seconds: the makespan for [`scaling`], the latency for
    /// [`latency_scaling`].
    pub measured_s: f64,
    /// The analytical lower bound on the same time, in seconds, if there is one.
    pub bound_s: Option<f64>,
}

/// The median of `values` (which is not empty).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Per architecture (in legend order): the measured samples per user count and the
/// bound per user count (median over repetitions), non-finite or negative values left out.
type Grouped = Vec<(Arch, ByUsers, ByUsers)>;

/// Values per user count.
type ByUsers = BTreeMap<u32, Vec<f64>>;

fn group(points: &[ScalingPoint]) -> Grouped {
    let mut by_arch: BTreeMap<Arch, (ByUsers, ByUsers)> = BTreeMap::new();
    let ok = |v: f64| v.is_finite() && v >= 0.0;
    for p in points {
        let entry = by_arch.entry(p.arch).or_default();
        if ok(p.measured_s) {
            entry.0.entry(p.users).or_default().push(p.measured_s);
        }
        if let Some(b) = p.bound_s.filter(|b| ok(*b)) {
            entry.1.entry(p.users).or_default().push(b);
        }
    }
    by_arch
        .into_iter()
        .filter(|(_, (m, b))| !m.is_empty() || !b.is_empty())
        .map(|(arch, (m, b))| (arch, m, b))
        .collect()
}

/// What a users chart shows.
struct Spec<'a> {
    title: String,
    subtitle: &'a str,
    what: &'a str,
    bound_label: &'a str,
}

fn users_chart(points: &[ScalingPoint], spec: Spec<'_>) -> Option<String> {
    let groups = group(points);
    if groups.is_empty() {
        return None;
    }
    let all_users: Vec<f64> = groups
        .iter()
        .flat_map(|(_, m, b)| m.keys().chain(b.keys()))
        .map(|u| f64::from(*u))
        .collect();
    let x = Axis::users("users (N)", &all_users);
    let all_s = || {
        groups
            .iter()
            .flat_map(|(_, m, b)| m.values().chain(b.values()))
            .flatten()
            .copied()
    };
    let lo = all_s().fold(f64::INFINITY, f64::min);
    let hi = all_s().fold(0.0, f64::max);
    let (y, div) = Axis::time(spec.what, lo * 1e6, hi * 1e6);
    let at = |users: u32, s: f64| (x.to_plot(f64::from(users)), y.to_plot(s * 1e6 / div));
    let mut series = Vec::new();
    for (arch, measured, bound) in groups {
        let color = arch_color(arch);
        if !measured.is_empty() {
            let mut line = Vec::new();
            let mut dots = Vec::new();
            for (users, mut samples) in measured {
                dots.extend(samples.iter().map(|s| at(users, *s)));
                line.push(at(users, median(&mut samples)));
            }
            // The line through the medians; dots for every run (repetitions spread).
            let segments = if dots.len() > line.len() {
                vec![line]
                    .into_iter()
                    .chain(dots.into_iter().map(|d| vec![d]))
                    .collect()
            } else {
                vec![line]
            };
            series.push(Series {
                label: if bound.is_empty() {
                    arch.to_string()
                } else {
                    format!("{arch} measured")
                },
                color,
                segments,
                dashed: false,
                points: true,
            });
        }
        if !bound.is_empty() {
            let line = bound
                .into_iter()
                .map(|(users, mut b)| at(users, median(&mut b)))
                .collect();
            series.push(Series {
                label: format!("{arch} {}", spec.bound_label),
                color,
                segments: vec![line],
                dashed: true,
                points: false,
            });
        }
    }
    frame::render(&Chart {
        title: spec.title,
        subtitle: spec.subtitle.to_string(),
        x,
        y,
        series,
        markers: Vec::new(),
    })
}

/// Makespan (time until the last user has the content) against the number of users,
/// measured (solid, a dot per run) and the analytical lower bound (dashed) per
/// architecture. `None` when no point has a finite value.
pub fn scaling(points: &[ScalingPoint]) -> Option<String> {
    users_chart(
        points,
        Spec {
            title: "Makespan vs number of users".into(),
            subtitle: "Time until the last user has the content; dashed: analytical lower bound (Kurose & Ross)",
            what: "makespan",
            bound_label: "lower bound",
        },
    )
}

/// The p99 latency of operation `op` against the number of users, one line per
/// architecture (`measured_s` is the p99 in seconds; a `bound_s`, if any, is drawn
/// dashed). `None` when no point has a finite value.
pub fn latency_scaling(points: &[ScalingPoint], op: &str) -> Option<String> {
    users_chart(
        points,
        Spec {
            title: format!("p99 latency vs number of users: {op}"),
            subtitle: "99th percentile latency of successful operations, one dot per run",
            what: "p99 latency",
            bound_label: "bound",
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_groups() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        let p = |arch: Arch, users, s| ScalingPoint {
            arch,
            users,
            measured_s: s,
            bound_s: None,
        };
        let g = group(&[
            p(Arch::P2p, 4, 1.0),
            p(Arch::Cs, 8, f64::NAN),
            p(Arch::Cs, 4, 2.0),
        ]);
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].0, Arch::Cs);
        assert_eq!(g[0].1.len(), 1);
    }
}
