//! The claim rules on synthetic reports with known effects: repetitions with a little
//! noise, runs that must be excluded, and effects inside and outside the band.

use super::*;
use crate::analyse::side_by_side::tests::run;
use crate::machine::MachineInfo;
use crate::record::aggregate::IntervalSummary;
use crate::report::model::{ToolInfo, Traffic};

/// A report holding `runs`, made on a 2-core machine.
pub(crate) fn report(runs: Vec<RunReport>) -> Report {
    Report {
        schema_version: 2,
        tool: ToolInfo::current(),
        machine: MachineInfo {
            cores: 2,
            ..MachineInfo::default()
        },
        started_at: String::new(),
        scenario: serde_json::json!({"workload": {"kind": "flash-crowd", "object_size": "8MiB"}, "network": {"server_upload": "16MiB/s"}}),
        runs,
        thresholds: Vec::new(),
        interrupted: false,
        incomplete: None,
        side_by_side: Vec::new(),
        claims: Vec::new(),
        crossover: None,
        shard: None,
    }
}

/// The claim numbered `n`.
pub(crate) fn claim(r: &Report, n: u8) -> Claim {
    evaluate(r)
        .into_iter()
        .find(|c| c.number == n)
        .expect("eight claims")
}

/// The verdict on claim `n`.
pub(crate) fn verdict(r: &Report, n: u8) -> ClaimVerdict {
    claim(r, n).verdict
}

/// A little deterministic noise: ±3 % around 1, differing by repetition.
fn noise(rep: u32) -> f64 {
    [1.0, 1.03, 0.98, 1.01, 0.97, 1.02, 0.99][rep as usize % 7]
}

/// `k` repetitions of a run, each made by `make(repetition)`.
fn reps(k: u32, make: impl Fn(u32) -> RunReport) -> Vec<RunReport> {
    (0..k)
        .map(|i| RunReport {
            repetition: i,
            ..make(i)
        })
        .collect()
}

/// A flash-crowd run with this makespan and efficiency.
fn flash(arch: &str, users: u32, makespan: f64, efficiency: f64) -> RunReport {
    let mut r = run(arch, users, Some(makespan), 1000, 1.0, 1 << 30);
    r.efficiency = Some(efficiency);
    r.bound_s = Some(makespan * efficiency);
    r
}

#[test]
fn a_clear_flash_crowd_win_over_five_repetitions_is_supported() {
    let mut runs = reps(5, |i| flash("cs", 16, 8.0 * noise(i), 0.95));
    runs.extend(reps(5, |i| flash("p2p", 16, 3.0 * noise(i + 2), 0.8)));
    let r = report(runs);
    let c = claim(&r, 8);
    assert_eq!(c.verdict, ClaimVerdict::Supported, "{c:?}");
    let effect = c.effect.unwrap();
    assert!((2.4..3.0).contains(&effect), "{c:?}");
    let [low, high] = c.interval.unwrap();
    assert!(low <= effect && effect <= high && low > 1.1, "{c:?}");
    assert_eq!(c.band, Some([0.9, 1.1]));
    assert_eq!(c.repetitions, 5);
    assert!(c.conditions.contains("N = 16"), "{c:?}");
    assert!(c.explanation.contains("makespan"), "{c:?}");
}

#[test]
fn one_repetition_judges_nothing_for_sure() {
    let r = report(vec![flash("cs", 16, 8.0, 0.9), flash("p2p", 16, 3.0, 0.8)]);
    let c = claim(&r, 8);
    assert_eq!(c.verdict, ClaimVerdict::Inconclusive, "{c:?}");
    assert_eq!(c.interval, None);
    assert!(c.explanation.contains("one repetition"), "{c:?}");
}

#[test]
fn the_opposite_effect_contradicts() {
    let mut runs = reps(5, |i| flash("cs", 16, 2.0 * noise(i), 0.95));
    runs.extend(reps(5, |i| flash("p2p", 16, 3.0 * noise(i + 1), 0.8)));
    assert_eq!(verdict(&report(runs), 8), ClaimVerdict::Contradicted);
}

#[test]
fn an_interval_overlapping_the_band_is_inconclusive() {
    // CS 1.02× to 1.25× as slow: the interval straddles the band's edge at 1.1.
    let factors = [1.02, 1.25, 1.04, 1.2, 1.12];
    let mut runs = reps(5, |i| flash("cs", 16, 3.0 * factors[i as usize], 0.95));
    runs.extend(reps(5, |_| flash("p2p", 16, 3.0, 0.8)));
    let c = claim(&report(runs), 8);
    let [low, high] = c.interval.unwrap();
    assert!(low < 1.1 && high > 1.1, "{c:?}");
    assert_eq!(c.verdict, ClaimVerdict::Inconclusive, "{c:?}");
}

#[test]
fn a_swarm_with_constant_efficiency_is_not_slowing_down() {
    // A perfect swarm: its makespan grows with N as its bound does, efficiency constant.
    let mut runs = Vec::new();
    for (users, bound) in [(4, 5.33), (16, 10.0), (64, 14.22)] {
        runs.extend(reps(5, |i| {
            let e = 0.9 * noise(i);
            flash("p2p", users, bound / e, e)
        }));
    }
    let r = report(runs);
    let c = claim(&r, 1);
    assert_ne!(c.verdict, ClaimVerdict::Supported, "{c:?}");
    assert!(c.evidence.contains("N=4 0.9"), "{c:?}");
    // Efficiency falling from 0.9 to 0.6: the swarm does slow down beyond its bound.
    let mut runs = Vec::new();
    for (users, e) in [(4, 0.9), (16, 0.75), (64, 0.6)] {
        runs.extend(reps(5, |i| {
            flash("p2p", users, 10.0 / (e * noise(i)), e * noise(i))
        }));
    }
    let c = claim(&report(runs), 1);
    assert_eq!(c.verdict, ClaimVerdict::Supported, "{c:?}");
    assert!((c.effect.unwrap() - 0.6 / 0.9).abs() < 0.05, "{c:?}");
    assert!(c.evidence.contains("per doubling"), "{c:?}");
}

#[test]
fn a_cpu_bound_run_is_excluded_and_named() {
    let mut runs = reps(5, |i| flash("cs", 16, 8.0 * noise(i), 0.95));
    runs.extend(reps(5, |i| flash("p2p", 16, 3.0 * noise(i), 0.8)));
    // Repetition 3 of P2P saturated the machine in its busiest second.
    runs[8].cpu_cores_peak = 1.95;
    runs[8].cpu_cores_used = 1.2;
    let c = claim(&report(runs), 8);
    assert_eq!(
        c.repetitions, 4,
        "the pair with the CPU-bound run is dropped"
    );
    assert_eq!(c.excluded_runs.len(), 1, "{c:?}");
    assert_eq!(c.excluded_runs[0].run, "p2p N=16 #4");
    assert!(c.excluded_runs[0]
        .reason
        .contains("CPU-bound: 1.95 of 2 cores"));
    // Every P2P run CPU-bound: nothing left to judge, and the report says why.
    let mut runs = reps(3, |i| flash("cs", 16, 8.0 * noise(i), 0.95));
    runs.extend(reps(3, |i| {
        let mut r = flash("p2p", 16, 3.0 * noise(i), 0.8);
        r.cpu_cores_peak = 1.9;
        r
    }));
    let c = claim(&report(runs), 8);
    assert_eq!(c.verdict, ClaimVerdict::NotMeasured, "{c:?}");
    assert_eq!(c.excluded_runs.len(), 3);
    assert!(c.explanation.contains("left out"), "{c:?}");
}

#[test]
fn cost_is_the_operators_and_traffic_is_every_nodes() {
    let mut runs = reps(5, |i| {
        let mut r = flash("cs", 16, 8.0 * noise(i), 0.95);
        r.traffic.insert(
            "server".into(),
            Traffic {
                tx_bytes: (512.0 * 1048576.0 * noise(i)) as u64,
                ..Traffic::default()
            },
        );
        r
    });
    runs.extend(reps(5, |i| {
        let mut r = flash("p2p", 16, 3.0 * noise(i), 0.8);
        r.traffic.insert(
            "seed".into(),
            Traffic {
                tx_bytes: (55.0 * 1048576.0 * noise(i + 3)) as u64,
                ..Traffic::default()
            },
        );
        r
    }));
    let r = report(runs);
    let three = claim(&r, 3);
    assert_eq!(three.verdict, ClaimVerdict::Supported, "{three:?}");
    assert!(
        (three.effect.unwrap() - 512.0 / 55.0).abs() < 1.0,
        "{three:?}"
    );
    assert!(three.evidence.contains("users' CPU"), "{three:?}");
    // Claim 5: p2p sent more bytes per delivered byte (server 1 GiB + seed … vs peers).
    let five = claim(&r, 5);
    assert_ne!(five.verdict, ClaimVerdict::NotMeasured, "{five:?}");
    assert_eq!(
        verdict(&r, 4),
        ClaimVerdict::NotMeasured,
        "no steady workload"
    );
    assert_eq!(verdict(&r, 6), ClaimVerdict::NotMeasured, "no faults");
}

#[test]
fn server_counts_judge_scaling_out() {
    let at = |servers: u32, makespan: f64| {
        reps(5, move |i| {
            let mut r = flash("cs", 16, makespan * noise(i), 0.9);
            r.servers = Some(servers);
            r
        })
    };
    let mut runs = at(1, 8.0);
    runs.extend(at(4, 2.2));
    let c = claim(&report(runs), 2);
    assert_eq!(c.verdict, ClaimVerdict::Supported, "{c:?}");
    assert!((c.effect.unwrap() - 8.0 / 2.2).abs() < 0.4, "{c:?}");
    let mut runs = at(1, 8.0);
    runs.extend(at(4, 7.9));
    assert_eq!(verdict(&report(runs), 2), ClaimVerdict::Inconclusive);
}

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
    let down = [
        Some(1.0),
        Some(1.0),
        Some(0.3),
        Some(0.0),
        Some(0.0),
        Some(0.0),
        Some(1.0),
        Some(1.0),
    ];
    let up = [
        Some(1.0),
        Some(1.0),
        Some(0.98),
        Some(1.0),
        Some(1.0),
        Some(1.0),
        Some(1.0),
        Some(1.0),
    ];
    let mut runs = reps(5, |_| faulted("cs", 8, &down));
    runs.extend(reps(5, |_| faulted("p2p", 8, &up)));
    let r = report(runs);
    let c = claim(&r, 6);
    assert_eq!(c.verdict, ClaimVerdict::Supported, "{c:?}");
    assert_eq!(c.effect, Some(3.0), "{c:?}");
    assert!(c.evidence.contains("3 s without service"), "{c:?}");
    // Both kept serving: no difference.
    let mut runs = reps(5, |_| faulted("cs", 8, &up));
    runs.extend(reps(5, |_| faulted("p2p", 8, &up)));
    assert_eq!(verdict(&report(runs), 6), ClaimVerdict::Inconclusive);
    // Without faults there is nothing to judge, and the other claims ignore fault runs.
    let plain = report(vec![
        run("cs", 8, None, 1, 1.0, 1),
        run("p2p", 8, None, 1, 1.0, 1),
    ]);
    assert_eq!(verdict(&plain, 6), ClaimVerdict::NotMeasured);
    let four = claim(&r, 4);
    assert_eq!(four.verdict, ClaimVerdict::NotMeasured, "{four:?}");
    assert_eq!(four.excluded_runs.len(), 10, "{four:?}");
}

#[test]
fn instability_under_churn_is_judged_across_sizes() {
    let steady = |users, a: f64| {
        reps(5, move |i| {
            faulted("p2p", users, &[Some(a * noise(i).min(1.0)); 10])
        })
    };
    let mut runs = steady(16, 0.995);
    runs.extend(steady(64, 0.9));
    assert_eq!(verdict(&report(runs), 7), ClaimVerdict::Supported);
    let mut runs = steady(16, 0.99);
    runs.extend(steady(64, 0.99));
    assert_eq!(verdict(&report(runs), 7), ClaimVerdict::Inconclusive);
    assert_eq!(
        verdict(&report(steady(16, 0.9)), 7),
        ClaimVerdict::NotMeasured
    );
}

#[test]
fn wilson_intervals_match_known_values() {
    // 10 of 100: 5.5 % to 17.4 % (Wilson 1927, as tabulated).
    let (low, high) = failures::wilson(10, 100).unwrap();
    assert!(
        (low - 0.0552).abs() < 1e-3 && (high - 0.1744).abs() < 1e-3,
        "{low} {high}"
    );
    let (low, high) = failures::wilson(0, 50).unwrap();
    assert_eq!(low, 0.0);
    assert!(high > 0.05 && high < 0.09, "{high}");
    assert_eq!(failures::wilson(0, 0), None);
}

#[test]
fn a_run_beside_other_work_is_excluded_and_named() {
    let mut runs = reps(5, |i| flash("cs", 16, 8.0 * noise(i), 0.95));
    runs.extend(reps(5, |i| flash("p2p", 16, 3.0 * noise(i), 0.8)));
    runs[1].other_cores = Some(1.4);
    runs[2].other_cores = Some(0.1);
    let c = claim(&report(runs), 8);
    assert_eq!(c.repetitions, 4, "{c:?}");
    assert_eq!(c.excluded_runs.len(), 1, "{c:?}");
    assert_eq!(c.excluded_runs[0].run, "cs N=16 #2");
    assert!(c.excluded_runs[0]
        .reason
        .contains("busy with other work: 1.40 of 2 cores"));
}

#[test]
fn conditions_of_a_curve_name_every_load_point() {
    let at = |rate: &str| {
        let mut r = run("cs", 8, None, 1000, 1.0, 1 << 20);
        r.conditions = Some(format!("workload fetch, open model at {rate}, latency 1ms"));
        r
    };
    let (ten, forty) = (at("10/s"), at("40/s"));
    let r = report(vec![ten.clone(), forty.clone()]);
    assert_eq!(
        conditions(&r, &[&ten, &forty, &ten]),
        "N = 8; workload fetch, open model at 10/s and 40/s, latency 1ms"
    );
    assert_eq!(
        conditions(&r, &[&ten]),
        "N = 8; workload fetch, open model at 10/s, latency 1ms"
    );
}

#[test]
fn response_at_each_node_pairs_user_u_of_both_architectures() {
    use crate::report::model::PerUserLatency;
    let steady = |arch: &str, p50_us: u64, users: [u64; 3]| {
        reps(5, move |i| {
            let mut r = run(arch, 3, None, (p50_us as f64 * noise(i)) as u64, 1.0, 1);
            r.per_user = Some(PerUserLatency {
                p50_us: users.iter().map(|u| Some(*u)).collect(),
            });
            r
        })
    };
    // User 2 is as fast on P2P as on CS: CS is faster at 2 of the 3 nodes.
    let mut runs = steady("cs", 1_000, [1_000, 1_200, 2_000]);
    runs.extend(steady("p2p", 5_000, [5_000, 6_000, 2_000]));
    let c = claim(&report(runs), 4);
    assert_eq!(c.verdict, ClaimVerdict::Supported, "{c:?}");
    assert!(
        c.evidence.contains("CS answered faster for 2 of 3 users"),
        "{}",
        c.evidence
    );
    assert!(c.evidence.contains("1.00×–5.00×"), "{}", c.evidence);
}

#[test]
fn killing_only_an_objects_holders_is_shown_beside_the_single_server() {
    let down = [Some(1.0), Some(1.0), Some(1.0), None, None, None, Some(1.0)];
    let up = [Some(1.0); 7];
    let mut runs = reps(5, |_| faulted("cs", 8, &down));
    runs.extend(reps(5, |_| faulted("p2p", 8, &up)));
    runs.extend(reps(5, |_| {
        let mut r = faulted("p2p", 8, &up);
        r.experiment = Some("holders".into());
        r.faults[0]["target"] = "holders:31".into();
        r.faults[0]["nodes"] = serde_json::json!(["peer 7"]);
        r
    }));
    let c = claim(&report(runs), 6);
    assert_eq!(c.verdict, ClaimVerdict::Supported, "{c:?}");
    assert!(
        c.evidence
            .contains("p2p with only the holders of object 31 killed (1 node(s))"),
        "{}",
        c.evidence
    );
}
