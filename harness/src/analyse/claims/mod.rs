//! The classic claims about client-server vs peer-to-peer (DESIGN.md's table), each
//! judged from the report's runs, never written by hand.
//!
//! Every claim is an effect measured in each repetition (CS against P2P run side by
//! side, or a large swarm against a small one), judged by a [`rule::Rule`]: the median
//! effect, its paired bootstrap 95 % interval and an indifference band decide between
//! supported, contradicted and inconclusive ([`rule`]). Runs that were CPU-bound,
//! saturated or faulted are left out of the claims not about faults and named
//! ([`runs`]). The claims themselves: [`sizes`] (1, 2: how things change with size),
//! [`pairs`] (3, 4, 5, 8: CS against P2P), [`failures`] (6, 7).

pub(crate) mod crossover;
mod failures;
mod pairs;
pub(crate) mod rule;
pub(crate) mod runs;
mod sizes;
#[cfg(test)]
pub(crate) mod tests;

pub(crate) use failures::outage_seconds;

use crate::report::model::{Claim, ClaimVerdict, ExcludedRun, Report, RunReport};
use rule::Judgement;

/// The claims, in DESIGN.md's order.
pub(crate) const CLAIMS: [&str; 8] = [
    "P2P slows down as more users join",
    "CS scales by adding servers",
    "CS is more expensive",
    "CS gives faster response at each node",
    "CS reduces network traffic volume",
    "CS has a single point of failure",
    "P2P is less stable as peers grow",
    "P2P distributes large content better",
];

/// One claim, judged: everything a [`Claim`] holds but its number and text.
#[derive(Debug, Clone)]
pub(crate) struct Judged {
    pub(crate) verdict: ClaimVerdict,
    pub(crate) evidence: String,
    explanation: String,
    conditions: String,
    effect_metric: String,
    judgement: Option<Judgement>,
    excluded: Vec<ExcludedRun>,
}

impl Judged {
    /// Nothing in the report bears on the claim: `why` says what would.
    pub(crate) fn not_measured(why: &str, excluded: Vec<ExcludedRun>) -> Judged {
        let explanation = if excluded.is_empty() {
            format!("Not measured: this report {why}.")
        } else {
            format!(
                "Not measured: the runs that could judge it were left out ({} of them, listed below); the report {why}.",
                excluded.len()
            )
        };
        Judged {
            verdict: ClaimVerdict::NotMeasured,
            evidence: why.to_string(),
            explanation,
            conditions: String::new(),
            effect_metric: String::new(),
            judgement: None,
            excluded,
        }
    }

    /// A claim judged by `judgement`. `lead` says what the effect is, in words, for a
    /// newcomer, and the effect completes it (`CS's makespan over P2P's, for 16 users,
    /// was` … `3.10× (95 % interval …)`); `format` prints a value of the effect.
    pub(crate) fn from_judgement(
        judgement: Judgement,
        lead: &str,
        format: impl Fn(f64) -> String,
        measured: Measured,
    ) -> Judged {
        let explanation = format!(
            "{lead} {}; {}.",
            judgement.effect_text(&format),
            judgement.reason(&format)
        );
        Judged {
            verdict: judgement.verdict,
            evidence: measured.evidence,
            explanation,
            conditions: measured.conditions,
            effect_metric: measured.effect_metric,
            judgement: Some(judgement),
            excluded: measured.excluded,
        }
    }

    fn into_claim(self, number: u8, claim: &str) -> Claim {
        let j = self.judgement.as_ref();
        Claim {
            number,
            claim: claim.to_string(),
            verdict: self.verdict,
            evidence: self.evidence,
            conditions: self.conditions,
            explanation: self.explanation,
            effect_metric: self.effect_metric,
            effect: j.map(|j| j.effect).filter(|e| e.is_finite()),
            interval: j.and_then(|j| j.interval).map(|(l, h)| [l, h]),
            band: j.map(|j| [j.band.0, j.band.1]),
            repetitions: j.map_or(0, |j| j.repetitions as u32),
            excluded_runs: self.excluded,
        }
    }
}

/// What a claim measured besides its judgement.
#[derive(Debug, Clone, Default)]
pub(crate) struct Measured {
    /// The numbers behind the verdict.
    pub(crate) evidence: String,
    /// The conditions of the runs that gave them.
    pub(crate) conditions: String,
    /// What the effect is.
    pub(crate) effect_metric: String,
    /// Runs left out.
    pub(crate) excluded: Vec<ExcludedRun>,
}

/// Judges every claim on `report`.
pub(crate) fn evaluate(report: &Report) -> Vec<Claim> {
    let judged: [Judged; 8] = [
        sizes::p2p_slows_down(report),
        sizes::cs_scales_out(report),
        pairs::cs_more_expensive(report),
        pairs::cs_faster_response(report),
        pairs::cs_less_traffic(report),
        failures::single_point_of_failure(report),
        failures::p2p_less_stable(report),
        pairs::p2p_large_content(report),
    ];
    judged
        .into_iter()
        .zip(CLAIMS)
        .enumerate()
        .map(|(i, (judged, claim))| judged.into_claim(i as u8 + 1, claim))
        .collect()
}

/// The conditions of `run` in words: its own (recorded when it ran), else those of the
/// report's scenario, with its phase's workload when it belongs to one.
pub(crate) fn conditions_of(report: &Report, run: &RunReport) -> String {
    if let Some(c) = &run.conditions {
        return c.clone();
    }
    let s = &report.scenario;
    let workload = run
        .phase
        .as_deref()
        .and_then(|name| {
            s["phases"]
                .as_array()?
                .iter()
                .find(|p| p["name"].as_str() == Some(name))
        })
        .map_or(&s["workload"], |p| &p["workload"]);
    let mut parts = vec![format!(
        "workload {}",
        workload["kind"].as_str().unwrap_or("?")
    )];
    if let Some(size) = workload["object_size"].as_str() {
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
    parts.join(", ")
}

/// `N = 16; workload flash-crowd, object 4MiB, …` for the runs `runs` (their users, and
/// the conditions of the first).
pub(crate) fn conditions(report: &Report, runs: &[&RunReport]) -> String {
    let Some(first) = runs.first() else {
        return String::new();
    };
    let low = runs.iter().map(|r| r.users).min().unwrap_or(first.users);
    let high = runs.iter().map(|r| r.users).max().unwrap_or(first.users);
    let users = if low == high {
        format!("N = {low}")
    } else {
        format!("N = {low}..{high}")
    };
    let mut text = format!("{users}; {}", merged_conditions(report, runs));
    if let Some(experiment) = &first.experiment {
        text = format!("{text} (experiment {experiment})");
    }
    text
}

/// The conditions of `runs` in one phrase: where they differ in one part only (a curve
/// over open-model rates), that part lists every value, `open model at 10/s and 40/s`.
fn merged_conditions(report: &Report, runs: &[&RunReport]) -> String {
    let mut texts: Vec<String> = Vec::new();
    for run in runs {
        let text = conditions_of(report, run);
        if !texts.contains(&text) {
            texts.push(text);
        }
    }
    let split: Vec<Vec<&str>> = texts.iter().map(|t| t.split(", ").collect()).collect();
    let Some(first) = split.first() else {
        return String::new();
    };
    if split.iter().any(|parts| parts.len() != first.len()) {
        return texts.join("; ");
    }
    let parts: Vec<String> = (0..first.len())
        .map(|i| {
            let mut values: Vec<&str> = Vec::new();
            for parts in &split {
                if !values.contains(&parts[i]) {
                    values.push(parts[i]);
                }
            }
            join_values(&values)
        })
        .collect();
    parts.join(", ")
}

/// `open model at 10/s and 40/s` from `open model at 10/s`, `open model at 40/s`.
fn join_values(values: &[&str]) -> String {
    let Some((first, rest)) = values.split_first() else {
        return String::new();
    };
    if rest.is_empty() {
        return first.to_string();
    }
    let prefix = match first.rfind(' ') {
        Some(space) if values.iter().all(|v| v.starts_with(&first[..=space])) => &first[..=space],
        _ => "",
    };
    let tails: Vec<&str> = values.iter().map(|v| &v[prefix.len()..]).collect();
    format!("{prefix}{}", tails.join(" and "))
}

/// `3.10×`.
pub(crate) fn times(v: f64) -> String {
    format!("{v:.2}×")
}
