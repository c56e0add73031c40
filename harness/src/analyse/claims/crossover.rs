//! The crossover map: the claim suite's `crossover` experiment runs flash crowds over a
//! grid of N × u_s / u_i on both architectures; each cell holds the makespan ratio
//! CS / P2P (median over its repetitions) beside the ratio of the analytical bounds, and
//! each row of u_s / u_i the smallest N at which P2P was faster, measured and in theory.

use std::collections::BTreeMap;

use super::runs::{usable, Faults};
use crate::arch::Arch;
use crate::report::model::{Crossover, CrossoverCell, CrossoverMap, Report, RunReport};

/// The experiment whose runs make the map.
pub(crate) const EXPERIMENT: &str = "crossover";
/// A ratio above this is "P2P faster" (a hair above 1, so a tie is not a crossover).
const FASTER: f64 = 1.0 + 1e-9;

/// u_s / u_i of a run, rounded to a tenth so equal profiles group together.
fn upload_ratio(run: &RunReport) -> Option<u64> {
    let n = run.network?;
    let (us, ui) = (n.server_upload?, n.peer_upload?);
    (ui > 0).then(|| (us as f64 / ui as f64 * 10.0).round() as u64)
}

/// Median of `values` (none: `None`).
fn median(values: &[f64]) -> Option<f64> {
    crate::analyse::stats::median(values)
}

/// The map, when the report has the crossover experiment's runs.
pub(crate) fn map(report: &Report) -> Option<CrossoverMap> {
    let runs = usable(report, None, Faults::Without, |r| {
        r.experiment.as_deref() == Some(EXPERIMENT) && r.completion.is_some()
    })
    .runs;
    // (ratio ×10, users) → per arch: makespans and bounds.
    type Samples = (Vec<f64>, Vec<f64>);
    let mut grid: BTreeMap<(u64, u32), BTreeMap<Arch, Samples>> = BTreeMap::new();
    for run in runs {
        let (Some(ratio), Some(c)) = (upload_ratio(run), &run.completion) else {
            continue;
        };
        let cell = grid
            .entry((ratio, run.users))
            .or_default()
            .entry(run.arch)
            .or_default();
        cell.0.push(c.makespan_s);
        if let Some(b) = run.bound_s {
            cell.1.push(b);
        }
    }
    let mut cells = Vec::new();
    for ((ratio, users), by_arch) in &grid {
        let (Some(cs), Some(p2p)) = (by_arch.get(&Arch::Cs), by_arch.get(&Arch::P2p)) else {
            continue;
        };
        let (Some(mc), Some(mp), Some(bc), Some(bp)) =
            (median(&cs.0), median(&p2p.0), median(&cs.1), median(&p2p.1))
        else {
            continue;
        };
        if mp > 0.0 && bp > 0.0 {
            cells.push(CrossoverCell {
                users: *users,
                upload_ratio: *ratio as f64 / 10.0,
                measured: mc / mp,
                bound: bc / bp,
            });
        }
    }
    if cells.is_empty() {
        return None;
    }
    let mut rows: BTreeMap<u64, Vec<&CrossoverCell>> = BTreeMap::new();
    for c in &cells {
        rows.entry((c.upload_ratio * 10.0).round() as u64)
            .or_default()
            .push(c);
    }
    let crossover = rows
        .into_iter()
        .map(|(ratio, mut row)| {
            row.sort_by_key(|c| c.users);
            let first =
                |f: fn(&CrossoverCell) -> f64| row.iter().find(|c| f(c) > FASTER).map(|c| c.users);
            Crossover {
                upload_ratio: ratio as f64 / 10.0,
                measured_n: first(|c| c.measured),
                bound_n: first(|c| c.bound),
            }
        })
        .collect();
    Some(CrossoverMap { cells, crossover })
}

/// `u_s/u_i 2: N* 4 measured, 4 from the bounds; …` for claim 8's evidence.
pub(crate) fn describe(map: &CrossoverMap) -> String {
    let show = |n: Option<u32>| n.map_or("none measured".to_string(), |n| n.to_string());
    map.crossover
        .iter()
        .map(|c| {
            format!(
                "u_s/u_i {}: N* {} measured, {} from the bounds",
                c.upload_ratio,
                show(c.measured_n),
                show(c.bound_n)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::super::tests::report;
    use super::*;
    use crate::analyse::side_by_side::tests::run;
    use crate::report::model::RunNetwork;

    fn cell_run(arch: &str, users: u32, ui: u64, makespan: f64, bound: f64) -> RunReport {
        let mut r = run(arch, users, Some(makespan), 1, 1.0, 1);
        r.experiment = Some(EXPERIMENT.into());
        r.bound_s = Some(bound);
        r.network = Some(RunNetwork {
            server_upload: Some(8 << 20),
            peer_upload: Some(ui),
            download: Some(2 << 20),
            ..RunNetwork::default()
        });
        r
    }

    #[test]
    fn cells_and_crossovers_come_from_both_architectures() {
        let mut runs = Vec::new();
        for (users, cs, p2p) in [(2, 0.5, 0.9), (4, 0.5, 0.55), (8, 1.0, 0.7), (16, 2.0, 0.9)] {
            runs.push(cell_run("cs", users, 1 << 20, cs, cs));
            runs.push(cell_run("p2p", users, 1 << 20, p2p, p2p * 0.8));
        }
        let mut r = report(runs);
        r.scenario = serde_json::json!({"experiments": {"crossover": {"claims": []}}});
        let m = map(&r).expect("a map");
        assert_eq!(m.cells.len(), 4);
        assert_eq!(m.cells[0].upload_ratio, 8.0);
        assert!((m.cells[2].measured - 1.0 / 0.7).abs() < 1e-9);
        assert_eq!(m.crossover.len(), 1);
        assert_eq!(m.crossover[0].measured_n, Some(8));
        assert_eq!(m.crossover[0].bound_n, Some(4), "0.5 / (0.55 × 0.8) > 1");
        assert!(describe(&m).contains("N* 8 measured, 4 from the bounds"));
    }
}
