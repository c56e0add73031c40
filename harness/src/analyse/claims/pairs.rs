//! The claims that set client-server against peer-to-peer on one workload: 3 (cost to
//! the operator), 4 (response time), 5 (traffic volume) and 8 (large content). Each
//! repetition's CS and P2P runs of one configuration form a pair; the effect of a pair
//! is a ratio of their values, judged over the repetitions by the claim's rule.

use std::collections::BTreeMap;

use super::rule::{Judgement, Rule, Side};
use super::runs::{by_config, median_of, paired, usable, Config, Faults};
use super::{conditions, times, Judged, Measured};
use crate::analyse::metrics::{value, Metric};
use crate::arch::Arch;
use crate::format::{format_bytes, format_duration_us};
use crate::report::model::{Report, RunReport};

type Value = fn(&RunReport) -> Option<f64>;
type Groups<'a> = BTreeMap<u32, &'a RunReport>;

/// One CS-against-P2P comparison.
struct Comparison {
    /// The claim's number.
    claim: u8,
    /// The runs that may judge it.
    pick: fn(&RunReport) -> bool,
    /// The value on each architecture.
    cs: Value,
    p2p: Value,
    /// The effect is `cs / p2p` (`true`) or `p2p / cs`.
    cs_over_p2p: bool,
    /// What the report lacks when nothing judges it.
    needs: &'static str,
}

/// A configuration measured on both architectures, judged.
struct Paired<'a> {
    config: Config,
    cs: Groups<'a>,
    p2p: Groups<'a>,
    judgement: Judgement,
}

impl Comparison {
    /// Every configuration both architectures ran, judged with `rule`, by users (then
    /// rate); and the runs left out.
    fn judge_all<'a>(
        &self,
        report: &'a Report,
        rule: Rule,
    ) -> (Vec<Paired<'a>>, Vec<crate::report::model::ExcludedRun>) {
        let usable = usable(report, Some(self.claim), Faults::Without, self.pick);
        let cs = by_config(&usable.runs, Arch::Cs, false);
        let mut p2p = by_config(&usable.runs, Arch::P2p, false);
        let mut out = Vec::new();
        for (config, cs_group) in cs {
            let Some(p2p_group) = p2p.remove(&config) else {
                continue;
            };
            let (baseline, candidate) = if self.cs_over_p2p {
                paired(&p2p_group, &cs_group, self.p2p, self.cs)
            } else {
                paired(&cs_group, &p2p_group, self.cs, self.p2p)
            };
            if let Some(judgement) = rule.judge(&baseline, &candidate) {
                out.push(Paired {
                    config,
                    cs: cs_group,
                    p2p: p2p_group,
                    judgement,
                });
            }
        }
        out.sort_by_key(|p| (p.config.users, p.config.rate_milli));
        (out, usable.excluded)
    }
}

impl Paired<'_> {
    fn runs(&self) -> Vec<&RunReport> {
        self.cs.values().chain(self.p2p.values()).copied().collect()
    }

    /// `cs 8.00s, p2p 2.50s (medians)`.
    fn medians(&self, c: &Comparison, format: impl Fn(f64) -> String) -> String {
        let show = |v: Option<f64>| v.map_or("n/a".to_string(), &format);
        format!(
            "cs {}, p2p {} (medians)",
            show(median_of(&self.cs, c.cs)),
            show(median_of(&self.p2p, c.p2p))
        )
    }
}

/// The pair at the largest size, judged, as a [`Judged`]; `describe` gives the lead
/// sentence, the effect's name and the evidence from it (and every size judged).
fn judge_largest(
    report: &Report,
    c: &Comparison,
    rule: Rule,
    describe: impl Fn(&Paired<'_>, &[Paired<'_>]) -> (String, String, String),
) -> Judged {
    let (judged, excluded) = c.judge_all(report, rule);
    let Some(largest) = judged.last() else {
        return Judged::not_measured(c.needs, excluded);
    };
    let (lead, effect_metric, evidence) = describe(largest, &judged);
    Judged::from_judgement(
        largest.judgement.clone(),
        &lead,
        times,
        Measured {
            evidence,
            conditions: conditions(report, &largest.runs()),
            effect_metric,
            excluded,
        },
    )
}

fn one_shot(run: &RunReport) -> bool {
    run.completion.is_some()
}

fn steady(run: &RunReport) -> bool {
    run.completion.is_none()
}

fn tx_of(run: &RunReport, role: &str) -> Option<f64> {
    run.traffic.get(role).map(|t| t.tx_bytes as f64)
}

fn cpu_of(run: &RunReport, role: &str) -> Option<f64> {
    run.resources.get(role).map(|r| r.cpu_s)
}

/// Claim 3, as the seed texts mean it: the operator's cost of dedicated nodes (the
/// server's egress against the seed's), with CPU and the users' own cost shown apart.
pub(crate) fn cs_more_expensive(report: &Report) -> Judged {
    let c = Comparison {
        claim: 3,
        pick: one_shot,
        cs: |r| tx_of(r, "server"),
        p2p: |r| tx_of(r, "seed"),
        cs_over_p2p: true,
        needs: "needs a flash crowd on both architectures (scenarios/claims/flash.toml)",
    };
    judge_largest(report, &c, Rule::ratio(Side::Above), |p, _| {
        let n = p.config.users;
        let show = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or("n/a".into(), f);
        let bytes = |v: f64| format_bytes(v);
        let secs = |v: f64| format!("{v:.2} CPU-s");
        let cs_cpu = median_of(&p.cs, |r| cpu_of(r, "server"));
        let seed_cpu = median_of(&p.p2p, |r| cpu_of(r, "seed"));
        let users_cs = median_of(&p.cs, |r| cpu_of(r, "harness"));
        let users_p2p = median_of(&p.p2p, |r| cpu_of(r, "peer"));
        let mut evidence = format!(
            "operator egress: server {}, seed {}; operator CPU: server {}, seed {}; users' CPU: cs users (measured in the harness) {}, p2p peers {} (medians at N = {n})",
            show(median_of(&p.cs, c.cs), &bytes),
            show(median_of(&p.p2p, c.p2p), &bytes),
            show(cs_cpu, &secs),
            show(seed_cpu, &secs),
            show(users_cs, &secs),
            show(users_p2p, &secs),
        );
        evidence.push_str(&capacity_needed(p));
        (
            format!(
                "The operator's egress, server bytes over seed bytes for the same {n} users, was"
            ),
            format!("operator egress bytes, server / seed, at N = {n}"),
            evidence,
        )
    })
}

/// `; to finish as fast as P2P did (2.14s), a server needs 15.0 MiB/s of upload (N·F/T)
/// against the seed's 4.00 MiB/s`: the operator's capacity for the same makespan.
fn capacity_needed(p: &Paired<'_>) -> String {
    let object = |r: &RunReport| {
        let get = r.ops.get("get")?;
        (r.users > 0).then(|| get.bytes as f64 / f64::from(r.users))
    };
    let (Some(t), Some(f), Some(seed)) = (
        median_of(&p.p2p, |r| r.completion.as_ref().map(|c| c.makespan_s)),
        median_of(&p.cs, object),
        median_of(&p.p2p, |r| r.network?.server_upload.map(|b| b as f64)),
    ) else {
        return String::new();
    };
    if t <= 0.0 {
        return String::new();
    }
    let needed = f64::from(p.config.users) * f / t;
    format!(
        "; to finish as fast as P2P did ({}), a server needs {}/s of upload (N·F/T) against the seed's {}/s",
        format_duration_us(t * 1e6),
        format_bytes(needed),
        format_bytes(seed)
    )
}

/// Claim 4: response time of small objects at the same load on both architectures (a
/// curve over the open-model rates the suite runs, judged at each rate).
pub(crate) fn cs_faster_response(report: &Report) -> Judged {
    let p50: Value = |r| {
        value(
            &Metric::Latency {
                op: "get".into(),
                stat: "p50",
            },
            r,
        )
    };
    let c = Comparison {
        claim: 4,
        pick: steady,
        cs: p50,
        p2p: p50,
        cs_over_p2p: false,
        needs: "needs a steady small-object workload on both architectures (scenarios/claims/response.toml)",
    };
    let rule = Rule::ratio(Side::Above);
    let (judged, excluded) = c.judge_all(report, rule);
    let Some(last) = judged.last() else {
        return Judged::not_measured(c.needs, excluded);
    };
    // One verdict over the curve: every load point must agree.
    let mut judgement = last.judgement.clone();
    if judged
        .iter()
        .any(|p| p.judgement.verdict != judgement.verdict)
    {
        judgement.verdict = crate::report::model::ClaimVerdict::Inconclusive;
    }
    let curve: Vec<String> = judged
        .iter()
        .map(|p| {
            format!(
                "{}: p2p/cs {} [{}], {}",
                load_of(&p.config),
                times(p.judgement.effect),
                p.judgement.verdict.label(),
                p.medians(&c, format_duration_us)
            )
        })
        .collect();
    let runs: Vec<&RunReport> = judged.iter().flat_map(|p| p.runs()).collect();
    let mut lead =
        "P2P's median small-object GET latency over CS's, at the highest matched load, was"
            .to_string();
    if judged.len() > 1 && judgement.verdict != last.judgement.verdict {
        lead = format!(
            "The {} load points disagree (see the evidence); at the highest, {lead}",
            judged.len()
        )
        .replace("at the highest, P2P's", "P2P's");
    }
    let phases = median_phases(&last.p2p).map_or(String::new(), |(lookup, first, rest)| {
        let ms = |s: f64| format_duration_us(s * 1e6);
        format!(
            "; a P2P fetch at the highest load (means reported by the peers): provider lookup {}, then first block {}, then the rest {}",
            ms(lookup),
            ms(first),
            ms(rest)
        )
    });
    Judged::from_judgement(
        judgement,
        &lead,
        times,
        Measured {
            evidence: format!(
                "get p50 latency by offered load — {}{}{phases}",
                curve.join("; "),
                per_node(last)
            ),
            conditions: conditions(report, &runs),
            effect_metric: "get p50 latency, p2p / cs, at the highest matched load".into(),
            excluded,
        },
    )
}

/// `; at each node (per-user medians, 40/s): CS answered faster for 8 of 8 users — cs
/// 1.2ms–1.9ms, p2p 7.0ms–12ms, p2p / cs 4.10×–7.90× per user`: user u of a CS run
/// against user u of the P2P run of the same repetition (the same arrivals), each user's
/// ratio the median over the repetitions.
fn per_node(p: &Paired<'_>) -> String {
    let mut ratios: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    let (mut cs_p50s, mut p2p_p50s) = (Vec::new(), Vec::new());
    for (repetition, cs) in &p.cs {
        let (Some(cs), Some(p2p)) = (
            cs.per_user.as_ref(),
            p.p2p.get(repetition).and_then(|r| r.per_user.as_ref()),
        ) else {
            continue;
        };
        for (user, cs_p50) in cs.known() {
            let Some(Some(p2p_p50)) = p2p.p50_us.get(user) else {
                continue;
            };
            let (cs_p50, p2p_p50) = (cs_p50 as f64, *p2p_p50 as f64);
            cs_p50s.push(cs_p50);
            p2p_p50s.push(p2p_p50);
            ratios
                .entry(user)
                .or_default()
                .push(p2p_p50 / cs_p50.max(1.0));
        }
    }
    let per_user: Vec<f64> = ratios
        .values()
        .filter_map(|r| crate::analyse::stats::median(r))
        .collect();
    if per_user.is_empty() {
        return String::new();
    }
    let faster = per_user.iter().filter(|r| **r > 1.0).count();
    format!(
        "; at each node (per-user medians, {}): CS answered faster for {faster} of {} users — cs {}, p2p {}, p2p / cs {} per user",
        load_of(&p.config),
        per_user.len(),
        span(&cs_p50s, format_duration_us),
        span(&p2p_p50s, format_duration_us),
        span(&per_user, times),
    )
}

/// `1.2ms–1.9ms`: the smallest and the largest of `values`.
fn span(values: &[f64], format: impl Fn(f64) -> String) -> String {
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{}–{}", format(low), format(high))
}

/// `40/s` (open model) or `16 users`.
fn load_of(config: &Config) -> String {
    match config.rate_milli {
        Some(r) => format!("{:.0}/s", r as f64 / 1000.0),
        None => format!("{} users", config.users),
    }
}

/// The medians over `group` of the peers' mean fetch phases (lookup, first block, rest).
fn median_phases(group: &Groups<'_>) -> Option<(f64, f64, f64)> {
    let phase = |i: usize| {
        median_of(group, |r| {
            let (a, b, c) = r.traffic.get("peer")?.fetch_phases()?;
            Some([a, b, c][i])
        })
    };
    Some((phase(0)?, phase(1)?, phase(2)?))
}

/// `cs: server sent 32.1 MiB; p2p: seed 7.9 MiB, peers 26.3 MiB — beyond the 32 MiB
/// delivered, p2p moved 0.4 MiB of duplicate blocks and 1.9 MiB of control bytes`: where
/// the wire bytes of one run went (medians over the repetitions).
fn traffic_split(group: &Groups<'_>, arch: Arch) -> String {
    let roles: &[&str] = match arch {
        Arch::Cs => &["server"],
        Arch::P2p => &["seed", "peer"],
    };
    let mut parts = Vec::new();
    let mut sent = 0.0;
    for role in roles {
        if let Some(tx) = median_of(group, |r| tx_of(r, role)) {
            sent += tx;
            parts.push(format!("{role} sent {}", format_bytes(tx)));
        }
    }
    let delivered = median_of(group, |r| {
        Some(crate::analyse::metrics::delivered_bytes(r) as f64)
    })
    .unwrap_or(0.0);
    let duplicate = median_of(group, |r| {
        Some(r.traffic.values().map(|t| t.duplicate_bytes).sum::<u64>() as f64)
    })
    .unwrap_or(0.0);
    let control = (sent - delivered - duplicate).max(0.0);
    format!(
        "{arch}: {}; beyond the {} delivered, {} of duplicate blocks and {} of control and framing",
        parts.join(", "),
        format_bytes(delivered),
        format_bytes(duplicate),
        format_bytes(control)
    )
}

/// Claim 5: bytes every node put on the wire per payload byte delivered.
pub(crate) fn cs_less_traffic(report: &Report) -> Judged {
    let wire: Value = |r| value(&Metric::WirePerDelivered, r);
    let c = Comparison {
        claim: 5,
        pick: |_| true,
        cs: wire,
        p2p: wire,
        cs_over_p2p: false,
        needs: "needs the same workload on both architectures",
    };
    judge_largest(report, &c, Rule::ratio(Side::Above), |p, _| {
        let n = p.config.users;
        (
            format!("P2P's wire bytes per delivered byte over CS's, for {n} users, was"),
            format!("wire bytes per delivered byte, p2p / cs, at N = {n}"),
            format!(
                "bytes on the wire per delivered byte: {}; {}; {}",
                p.medians(&c, |v| format!("{v:.3}")),
                traffic_split(&p.cs, Arch::Cs),
                traffic_split(&p.p2p, Arch::P2p)
            ),
        )
    })
}

/// Claim 8: the flash crowd's makespan, CS over P2P.
pub(crate) fn p2p_large_content(report: &Report) -> Judged {
    let makespan: Value = |r| r.completion.as_ref().map(|c| c.makespan_s);
    let c = Comparison {
        claim: 8,
        pick: one_shot,
        cs: makespan,
        p2p: makespan,
        cs_over_p2p: true,
        needs: "needs a flash crowd on both architectures (scenarios/claims/flash.toml)",
    };
    let rule = Rule::ratio(Side::Above);
    judge_largest(report, &c, rule, |p, all| {
        let n = p.config.users;
        let bounds = format!(
            "; bounds cs {}, p2p {}",
            median_of(&p.cs, |r| r.bound_s).map_or("n/a".into(), |b| format!("{b:.2}s")),
            median_of(&p.p2p, |r| r.bound_s).map_or("n/a".into(), |b| format!("{b:.2}s"))
        );
        (
            format!("CS's flash-crowd makespan over P2P's, for {n} users, was"),
            format!("flash-crowd makespan, cs / p2p, at N = {n}"),
            format!(
                "flash-crowd makespan: {}{bounds}{}",
                p.medians(&c, |s| format_duration_us(s * 1e6)),
                crossover_text(report, all)
            ),
        )
    })
}

/// `; crossover N* (smallest N at which P2P was faster): 4 measured, 2 from the bounds`,
/// over the sizes judged (`all`), and per u_s / u_i from the crossover map.
fn crossover_text(report: &Report, all: &[Paired<'_>]) -> String {
    let bound_ratio = |p: &Paired<'_>| {
        let cs = median_of(&p.cs, |r| r.bound_s)?;
        let p2p = median_of(&p.p2p, |r| r.bound_s)?;
        (p2p > 0.0).then(|| cs / p2p)
    };
    let measured = all
        .iter()
        .find(|p| p.judgement.effect > 1.0)
        .map(|p| p.config.users);
    let bound = all
        .iter()
        .find(|p| bound_ratio(p).is_some_and(|r| r > 1.0 + 1e-9))
        .map(|p| p.config.users);
    let show = |n: Option<u32>| n.map_or("none of the sizes run".to_string(), |n| n.to_string());
    let mut text = format!(
        "; crossover N* (smallest N at which P2P was faster): {} measured, {} from the bounds",
        show(measured),
        show(bound)
    );
    if let Some(map) = super::crossover::map(report) {
        text.push_str(&format!(
            "; crossover map: {}",
            super::crossover::describe(&map)
        ));
    }
    text
}
