//! The classic claims about client-server vs peer-to-peer (DESIGN.md's table), each
//! answered from the report's numbers: supported, contradicted, or not measured here,
//! with the evidence and the conditions under which it was measured. Never written by
//! hand.

use crate::arch::Arch;

use super::metrics::{value, Metric};
use super::side_by_side::pairs;
use crate::format::format_duration_us;
use crate::report::model::{Claim, ClaimVerdict, Report, RunReport};

/// The claims, in DESIGN.md's order.
const CLAIMS: [&str; 8] = [
    "P2P slows down as more users join",
    "CS scales by adding servers",
    "CS is more expensive",
    "CS gives faster response at each node",
    "CS reduces network traffic volume",
    "CS has a single point of failure",
    "P2P is less stable as peers grow",
    "P2P distributes large content better",
];

/// The headline metric of a run: makespan for one-shot workloads, else get p50 (µs).
fn headline(run: &RunReport) -> Option<(f64, &'static str)> {
    match &run.completion {
        Some(c) => Some((c.makespan_s * 1e6, "makespan")),
        None => {
            let p50 = run.ops.get("get")?.latency("p50").filter(|v| *v > 0.0)?;
            Some((p50, "get p50 latency"))
        }
    }
}

/// First-repetition runs of `arch`, sorted by users (then servers).
pub(super) fn runs_of(report: &Report, arch: Arch) -> Vec<&RunReport> {
    let mut runs: Vec<&RunReport> = report
        .runs
        .iter()
        .filter(|r| r.arch == arch && r.repetition == 0)
        .collect();
    runs.sort_by_key(|r| (r.users, r.servers));
    runs
}

/// Judges every claim on `report`.
pub(crate) fn evaluate(report: &Report) -> Vec<Claim> {
    let profile = conditions(report);
    let judged: [(ClaimVerdict, String, String); 8] = [
        p2p_slows_down(report),
        cs_scales_out(report),
        cs_more_expensive(report),
        cs_faster_response(report),
        cs_less_traffic(report),
        super::fault_claims::single_point_of_failure(report),
        super::fault_claims::p2p_less_stable(report),
        p2p_large_content(report),
    ];
    judged
        .into_iter()
        .zip(CLAIMS)
        .enumerate()
        .map(|(i, ((verdict, evidence, users), claim))| Claim {
            number: i as u8 + 1,
            claim: claim.to_string(),
            verdict,
            evidence,
            conditions: if verdict == ClaimVerdict::NotMeasured {
                String::new()
            } else {
                format!("{users}{profile}")
            },
        })
        .collect()
}

/// "F = 8MiB, server upload 16MiB/s, …" from the resolved scenario.
fn conditions(report: &Report) -> String {
    let s = &report.scenario;
    let mut parts = vec![format!(
        "workload {}",
        s["workload"]["kind"].as_str().unwrap_or("?")
    )];
    if let Some(size) = s["workload"]["object_size"].as_str() {
        parts.push(format!("object {size}"));
    }
    for (key, label) in [
        ("server_upload", "server upload"),
        ("peer_upload", "peer upload"),
        ("download", "download"),
        ("latency", "latency"),
    ] {
        if let Some(v) = s["network"][key].as_str().filter(|v| *v != "0s") {
            parts.push(format!("{label} {v}"));
        }
    }
    if s["network"]["tls"].as_bool() == Some(true) {
        parts.push("cs over TLS".into());
    }
    format!("; {}", parts.join(", "))
}

pub(super) fn not_measured(why: &str) -> (ClaimVerdict, String, String) {
    (ClaimVerdict::NotMeasured, why.to_string(), String::new())
}

fn p2p_slows_down(report: &Report) -> (ClaimVerdict, String, String) {
    let runs = runs_of(report, Arch::P2p);
    let (Some(first), Some(last)) = (runs.first(), runs.last()) else {
        return not_measured("needs p2p runs at two or more user counts (versus sweep)");
    };
    let (Some((a, what)), Some((b, _))) = (headline(first), headline(last)) else {
        return not_measured("needs p2p runs at two or more user counts (versus sweep)");
    };
    if first.users == last.users {
        return not_measured("needs p2p runs at two or more user counts (versus sweep)");
    }
    let growth = b / a;
    let users = f64::from(last.users) / f64::from(first.users);
    let verdict = if growth > 1.1 {
        ClaimVerdict::Supported
    } else {
        ClaimVerdict::Contradicted
    };
    let evidence = format!(
        "p2p {what} {} at N={} → {} at N={} ({growth:.1}× for {users:.0}× the users)",
        format_duration_us(a),
        first.users,
        format_duration_us(b),
        last.users
    );
    (
        verdict,
        evidence,
        format!("N = {}..{}", first.users, last.users),
    )
}

/// How much better `b` is than `a` (> 1 is better): makespan for one-shot workloads,
/// throughput otherwise (more servers should serve more requests per second).
fn scale_out_gain(a: &RunReport, b: &RunReport) -> Option<(f64, String)> {
    match (&a.completion, &b.completion) {
        (Some(x), Some(y)) if y.makespan_s > 0.0 => Some((
            x.makespan_s / y.makespan_s,
            format!(
                "makespan {} → {}",
                format_duration_us(x.makespan_s * 1e6),
                format_duration_us(y.makespan_s * 1e6)
            ),
        )),
        _ => {
            let (x, y) = (a.ops.get("get")?.rps, b.ops.get("get")?.rps);
            (x > 0.0).then(|| (y / x, format!("get throughput {x:.1}/s → {y:.1}/s")))
        }
    }
}

fn cs_scales_out(report: &Report) -> (ClaimVerdict, String, String) {
    let needs =
        || not_measured("needs cs runs with several server counts (versus sweep --servers 1,2,4)");
    let runs: Vec<&RunReport> = runs_of(report, Arch::Cs)
        .into_iter()
        .filter(|r| r.servers.is_some())
        .collect();
    // Compare the fewest and the most servers at the same user count.
    let Some(first) = runs
        .iter()
        .min_by_key(|r| (r.servers, std::cmp::Reverse(r.users)))
    else {
        return needs();
    };
    let Some(last) = runs
        .iter()
        .filter(|r| r.users == first.users)
        .max_by_key(|r| r.servers)
    else {
        return needs();
    };
    let (Some(s0), Some(s1)) = (first.servers, last.servers) else {
        return needs();
    };
    if s0 == s1 {
        return needs();
    }
    let Some((gain, change)) = scale_out_gain(first, last) else {
        return needs();
    };
    let servers = f64::from(s1) / f64::from(s0);
    // Scaling at least half as well as linear counts as scaling out.
    let verdict = if gain >= 0.5 * servers && gain > 1.1 {
        ClaimVerdict::Supported
    } else {
        ClaimVerdict::Contradicted
    };
    let evidence = format!(
        "cs {change} from {s0} to {s1} servers ({gain:.1}× better for {servers:.0}× the servers)"
    );
    (
        verdict,
        evidence,
        format!("N = {}, servers {s0}..{s1}", first.users),
    )
}

/// The (cs, p2p) pair with the most users.
/// The pair with the most users among those `only` accepts (a scenario with phases
/// has a flash-crowd pair and a fetch pair).
fn largest_pair(report: &Report, only: fn(&RunReport) -> bool) -> Option<(&RunReport, &RunReport)> {
    pairs(&report.runs)
        .into_iter()
        .filter(|(cs, _)| only(cs))
        .max_by_key(|(cs, _)| cs.users)
}

fn compare_pair(
    report: &Report,
    what: &str,
    value: fn(&RunReport) -> Option<f64>,
    format: fn(f64) -> String,
    cs_wins_if_lower: bool,
    only: fn(&RunReport) -> bool,
) -> (ClaimVerdict, String, String) {
    let Some((cs, p2p)) = largest_pair(report, only) else {
        return not_measured(&format!(
            "needs cs and p2p runs of the same workload measuring {what}"
        ));
    };
    let (Some(a), Some(b)) = (value(cs), value(p2p)) else {
        return not_measured(&format!("{what} was not measured on both architectures"));
    };
    let cs_lower = a < b;
    let verdict = if cs_lower == cs_wins_if_lower {
        ClaimVerdict::Supported
    } else {
        ClaimVerdict::Contradicted
    };
    let evidence = format!("{what}: cs {}, p2p {}", format(a), format(b));
    (verdict, evidence, format!("N = {}", cs.users))
}

fn cs_more_expensive(report: &Report) -> (ClaimVerdict, String, String) {
    // "More expensive" is read as more CPU per delivered byte over all target nodes.
    let per_gib = |r: &RunReport| value(&Metric::TargetCpuPerGib, r);
    let (v, e, c) = compare_pair(
        report,
        "CPU-seconds per delivered GiB (all target nodes)",
        per_gib,
        |v| format!("{v:.2}"),
        false,
        |_| true,
    );
    (v, e, c)
}

fn cs_faster_response(report: &Report) -> (ClaimVerdict, String, String) {
    let p50 = |r: &RunReport| {
        let get_p50 = Metric::Latency {
            op: "get".into(),
            stat: "p50",
        };
        value(&get_p50, r)
    };
    compare_pair(
        report,
        "get p50 latency",
        p50,
        format_duration_us,
        true,
        |r| r.completion.is_none(),
    )
}

fn cs_less_traffic(report: &Report) -> (ClaimVerdict, String, String) {
    compare_pair(
        report,
        "bytes on the wire per delivered byte",
        |r| value(&Metric::WirePerDelivered, r),
        |v| format!("{v:.3}"),
        true,
        |_| true,
    )
}

fn p2p_large_content(report: &Report) -> (ClaimVerdict, String, String) {
    let makespan = |r: &RunReport| value(&Metric::Makespan, r).map(|s| s * 1e6);
    compare_pair(
        report,
        "flash-crowd makespan",
        makespan,
        format_duration_us,
        false,
        |r| r.completion.is_some(),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::side_by_side::tests::run;
    use super::*;
    use crate::machine::MachineInfo;
    use crate::report::model::ToolInfo;

    /// A report holding `runs`.
    pub(crate) fn report(runs: Vec<RunReport>) -> Report {
        Report {
            schema_version: 1,
            tool: ToolInfo::current(),
            machine: MachineInfo::default(),
            started_at: String::new(),
            scenario: serde_json::json!({"workload": {"kind": "flash-crowd", "object_size": "8MiB"}, "network": {"server_upload": "16MiB/s"}}),
            runs,
            thresholds: Vec::new(),
            interrupted: false,
            incomplete: None,
            side_by_side: Vec::new(),
            claims: Vec::new(),
        }
    }

    /// The verdict on claim `n`.
    pub(crate) fn verdict(r: &Report, n: u8) -> ClaimVerdict {
        evaluate(r)
            .into_iter()
            .find(|c| c.number == n)
            .unwrap()
            .verdict
    }

    #[test]
    fn flash_crowd_pair_judges_content_traffic_and_cost() {
        let r = report(vec![
            run("cs", 16, Some(8.0), 1000, 1.0, 1 << 30),
            run("p2p", 16, Some(3.0), 2000, 4.0, 2 << 30),
        ]);
        assert_eq!(
            verdict(&r, 8),
            ClaimVerdict::Supported,
            "p2p makespan is shorter"
        );
        assert_eq!(
            verdict(&r, 5),
            ClaimVerdict::Supported,
            "cs sends fewer bytes per delivered byte"
        );
        assert_eq!(
            verdict(&r, 3),
            ClaimVerdict::Contradicted,
            "cs used less CPU per GiB"
        );
        assert_eq!(
            verdict(&r, 4),
            ClaimVerdict::NotMeasured,
            "response time needs a fetch workload"
        );
        assert_eq!(
            verdict(&r, 1),
            ClaimVerdict::NotMeasured,
            "one user count only"
        );
        assert_eq!(verdict(&r, 6), ClaimVerdict::NotMeasured);
        let eight = &evaluate(&r)[7];
        assert!(
            eight.evidence.contains("cs 8.00s") && eight.conditions.contains("N = 16"),
            "{eight:?}"
        );
        assert!(
            eight.conditions.contains("server upload 16MiB/s"),
            "{eight:?}"
        );
    }

    #[test]
    fn contradicted_when_numbers_disagree() {
        let r = report(vec![
            run("cs", 16, Some(2.0), 1000, 5.0, 4 << 30),
            run("p2p", 16, Some(3.0), 2000, 1.0, 2 << 30),
        ]);
        assert_eq!(verdict(&r, 8), ClaimVerdict::Contradicted);
        assert_eq!(verdict(&r, 5), ClaimVerdict::Contradicted);
        assert_eq!(verdict(&r, 3), ClaimVerdict::Supported);
    }

    #[test]
    fn fetch_pair_judges_response_time() {
        let r = report(vec![
            run("cs", 8, None, 800, 1.0, 1),
            run("p2p", 8, None, 5000, 1.0, 1),
        ]);
        assert_eq!(verdict(&r, 4), ClaimVerdict::Supported);
        assert_eq!(verdict(&r, 8), ClaimVerdict::NotMeasured);
        let r = report(vec![
            run("cs", 8, None, 9000, 1.0, 1),
            run("p2p", 8, None, 5000, 1.0, 1),
        ]);
        assert_eq!(verdict(&r, 4), ClaimVerdict::Contradicted);
    }

    #[test]
    fn sweeps_judge_scaling() {
        let r = report(vec![
            run("p2p", 4, Some(1.0), 1, 1.0, 1),
            run("p2p", 64, Some(2.5), 1, 1.0, 1),
            run("cs", 16, Some(8.0), 1, 1.0, 1),
        ]);
        assert_eq!(verdict(&r, 1), ClaimVerdict::Supported);
        let flat = report(vec![
            run("p2p", 4, Some(1.0), 1, 1.0, 1),
            run("p2p", 64, Some(1.05), 1, 1.0, 1),
        ]);
        assert_eq!(verdict(&flat, 1), ClaimVerdict::Contradicted);
        let mut one = run("cs", 16, Some(8.0), 1, 1.0, 1);
        let mut four = run("cs", 16, Some(2.2), 1, 1.0, 1);
        four.servers = Some(4);
        one.servers = Some(1);
        assert_eq!(
            verdict(&report(vec![one.clone(), four]), 2),
            ClaimVerdict::Supported
        );
        let mut flat4 = run("cs", 16, Some(7.5), 1, 1.0, 1);
        flat4.servers = Some(4);
        assert_eq!(
            verdict(&report(vec![one, flat4]), 2),
            ClaimVerdict::Contradicted
        );
    }
}
