//! The two claims about failures, judged from runs with faults: claim 6 ("CS has a
//! single point of failure": did one node's crash stop the whole client-server service
//! while peer-to-peer kept serving?) and claim 7 ("P2P is less stable as peers grow":
//! does the swarm's success rate under churn fall as it grows?).

use super::claims::{not_measured, runs_of};
use super::side_by_side::pairs;
use crate::arch::Arch;
use crate::report::model::ClaimVerdict;
use crate::report::model::{Report, RunReport};

/// A second with availability at or below this had no service at all.
const OUTAGE: f64 = 0.01;

/// Seconds in which nothing succeeded (availability ≤ 1 %, or nothing finished while
/// the run was under way), from the first fault on.
pub(crate) fn outage_seconds(run: &RunReport) -> usize {
    let first_fault = run
        .faults
        .iter()
        .filter_map(|f| f["t_s"].as_f64())
        .fold(f64::INFINITY, f64::min);
    let last = run.intervals.len().saturating_sub(1);
    run.intervals
        .iter()
        .enumerate()
        .filter(|(i, iv)| f64::from(iv.t_s) + 1.0 > first_fault && *i < last)
        .filter(|(_, iv)| iv.availability.is_none_or(|a| a <= OUTAGE))
        .count()
}

fn percent(a: Option<f64>) -> String {
    a.map_or("n/a".into(), |a| format!("{:.1}%", a * 100.0))
}

/// "availability 93.9%, 3 s without service, back 3.0 s after the first fault".
fn fault_evidence(run: &RunReport) -> String {
    let recovery = run
        .faults
        .first()
        .and_then(|f| f["recovery_s"].as_f64())
        .map_or(String::new(), |r| {
            format!(", recovered {r:.1} s after the first fault")
        });
    let survivors = run.resilience.as_ref().map_or(String::new(), |r| {
        if r.survivors < r.users {
            format!(
                ", {} of {} users whose own node survived kept succeeding",
                r.survivors_completed, r.survivors
            )
        } else {
            String::new()
        }
    });
    format!(
        "{} availability {}, {} s without service{recovery}{survivors}",
        run.arch,
        percent(run.availability),
        outage_seconds(run)
    )
}

/// Claim 6: a crash of the server(s) stops client-server completely, while the same
/// kind of fault leaves peer-to-peer serving.
pub(crate) fn single_point_of_failure(report: &Report) -> (ClaimVerdict, String, String) {
    let pair = pairs(&report.runs).into_iter().find(|(cs, p2p)| {
        !cs.faults.is_empty() && !p2p.faults.is_empty() && cs.completion.is_none()
    });
    let Some((cs, p2p)) = pair else {
        return not_measured(
            "needs a steady workload with faults on both architectures (scenarios/spof.toml)",
        );
    };
    let cs_out = outage_seconds(cs);
    let p2p_out = outage_seconds(p2p);
    let verdict = if cs_out > 0 && p2p_out == 0 {
        ClaimVerdict::Supported
    } else {
        ClaimVerdict::Contradicted
    };
    let evidence = format!("{}; {}", fault_evidence(cs), fault_evidence(p2p));
    (verdict, evidence, format!("N = {}", cs.users))
}

/// Standard deviation of the per-second availability.
fn availability_spread(run: &RunReport) -> f64 {
    let values: Vec<f64> = run
        .intervals
        .iter()
        .filter_map(|i| i.availability)
        .collect();
    if values.len() < 2 {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (values.len() - 1) as f64).sqrt()
}

/// Claim 7: under churn, the swarm's failure share grows with its size.
pub(crate) fn p2p_less_stable(report: &Report) -> (ClaimVerdict, String, String) {
    let runs: Vec<&RunReport> = runs_of(report, Arch::P2p)
        .into_iter()
        .filter(|r| !r.faults.is_empty() && r.availability.is_some())
        .collect();
    let (Some(small), Some(large)) = (runs.first(), runs.last()) else {
        return not_measured("needs p2p runs with churn at several sizes (scenarios/churn.toml)");
    };
    if small.users == large.users {
        return not_measured("needs p2p runs with churn at several sizes (scenarios/churn.toml)");
    }
    let failed = |r: &RunReport| 1.0 - r.availability.unwrap_or(1.0);
    let (a, b) = (failed(small), failed(large));
    // Less stable: a clearly larger failure share (half a point at least, and 1.5×).
    let verdict = if b >= a * 1.5 && b - a >= 0.005 {
        ClaimVerdict::Supported
    } else {
        ClaimVerdict::Contradicted
    };
    let evidence = format!(
        "p2p availability under churn {} at N={} → {} at N={} (per-second spread {:.1}% → {:.1}%; {} → {} faults)",
        percent(small.availability),
        small.users,
        percent(large.availability),
        large.users,
        availability_spread(small) * 100.0,
        availability_spread(large) * 100.0,
        small.faults.len(),
        large.faults.len()
    );
    (
        verdict,
        evidence,
        format!("N = {}..{}", small.users, large.users),
    )
}

#[cfg(test)]
mod tests {
    use super::super::claims::tests::{report, verdict};
    use super::super::side_by_side::tests::run;
    use super::*;
    use crate::record::aggregate::IntervalSummary;

    /// A steady run with one fault at 2 s and these per-second availabilities.
    fn faulted(arch: &str, users: u32, per_second: &[Option<f64>]) -> RunReport {
        let mut r = run(arch, users, None, 1000, 1.0, 1);
        r.intervals = per_second
            .iter()
            .enumerate()
            .map(|(t, a)| IntervalSummary {
                t_s: t as u32,
                availability: *a,
                ..Default::default()
            })
            .collect();
        let ok: Vec<f64> = per_second.iter().map(|a| a.unwrap_or(0.0)).collect();
        r.availability = Some(ok.iter().sum::<f64>() / ok.len() as f64);
        r.faults = vec![serde_json::json!({"t_s": 2.0, "action": "kill", "label": "kill"})];
        r
    }

    #[test]
    fn single_point_of_failure_is_judged_from_outages() {
        let cs_down = faulted(
            "cs",
            8,
            &[
                Some(1.0),
                Some(1.0),
                Some(0.3),
                Some(0.0),
                Some(1.0),
                Some(1.0),
            ],
        );
        let p2p_up = faulted(
            "p2p",
            8,
            &[
                Some(1.0),
                Some(1.0),
                Some(0.98),
                Some(1.0),
                Some(1.0),
                Some(1.0),
            ],
        );
        let r = report(vec![cs_down.clone(), p2p_up.clone()]);
        assert_eq!(verdict(&r, 6), ClaimVerdict::Supported);
        let claim = &crate::analyse::claims::evaluate(&r)[5];
        assert!(claim.evidence.contains("1 s without service"), "{claim:?}");
        // Two replicas, one killed: client-server kept serving.
        let cs_up = faulted(
            "cs",
            8,
            &[
                Some(1.0),
                Some(1.0),
                Some(0.9),
                Some(1.0),
                Some(1.0),
                Some(1.0),
            ],
        );
        assert_eq!(
            verdict(&report(vec![cs_up, p2p_up.clone()]), 6),
            ClaimVerdict::Contradicted
        );
        // Without faults there is nothing to judge.
        let plain = report(vec![
            run("cs", 8, None, 1, 1.0, 1),
            run("p2p", 8, None, 1, 1.0, 1),
        ]);
        assert_eq!(verdict(&plain, 6), ClaimVerdict::NotMeasured);
        assert_eq!(
            verdict(&report(vec![cs_down]), 6),
            ClaimVerdict::NotMeasured
        );
    }

    #[test]
    fn instability_under_churn_is_judged_across_sizes() {
        let steady = |users, a: f64| faulted("p2p", users, &[Some(a); 10]);
        let r = report(vec![steady(16, 0.995), steady(64, 0.95)]);
        assert_eq!(verdict(&r, 7), ClaimVerdict::Supported);
        let r = report(vec![steady(16, 0.99), steady(64, 0.99)]);
        assert_eq!(verdict(&r, 7), ClaimVerdict::Contradicted);
        assert_eq!(
            verdict(&report(vec![steady(16, 0.9)]), 7),
            ClaimVerdict::NotMeasured
        );
        let plain = report(vec![
            run("p2p", 16, None, 1, 1.0, 1),
            run("p2p", 64, None, 1, 1.0, 1),
        ]);
        assert_eq!(verdict(&plain, 7), ClaimVerdict::NotMeasured);
    }
}
