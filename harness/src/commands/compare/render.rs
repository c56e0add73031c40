//! The two output formats of `versus compare`: markdown (a table to paste into a pull
//! request, with a one-line overall verdict) and JSON (the [`Comparison`] serialised).
//! Warnings come first in both.

use std::fmt::Write;

use super::comparison::{Comparison, Row, Values};
use crate::analyse::metrics::Unit;
use crate::analyse::stats::Delta;
use crate::analyse::verdict::Verdict;

/// The comparison as pretty JSON (ends with a newline).
pub fn json(comparison: &Comparison) -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(comparison)
        .map_err(|e| anyhow::anyhow!("cannot serialise the comparison as JSON: {e}"))?;
    text.push('\n');
    Ok(text)
}

/// The comparison as markdown.
pub fn markdown(c: &Comparison) -> String {
    let mut out = String::new();
    for w in &c.warnings {
        let _ = writeln!(out, "> **WARNING:** {w}");
    }
    for note in &c.notes {
        let _ = writeln!(out, "> **Note:** {note}");
    }
    if !c.warnings.is_empty() || !c.notes.is_empty() {
        out.push('\n');
    }
    out.push_str("## Versus compare\n\n");
    let _ = writeln!(out, "{}\n", verdict_line(c));
    if !c.selected_metrics.is_empty() {
        let names: Vec<String> = c
            .selected_metrics
            .iter()
            .map(|m| format!("`{m}`"))
            .collect();
        let _ = writeln!(
            out,
            "Metrics compared (`--metric`): {}; the others were left out.\n",
            names.join(", ")
        );
    }
    if !c.metrics.is_empty() {
        table(&mut out, c);
    }
    let side = |s: &super::comparison::Side| {
        format!(
            "`{}` (versus {} @ {}, {} run{})",
            s.label,
            s.tool.version,
            short_sha(&s.tool.git_sha),
            s.runs,
            if s.runs == 1 { "" } else { "s" }
        )
    };
    let _ = writeln!(
        out,
        "Baseline {} · candidate {}.\n",
        side(&c.baseline),
        side(&c.candidate)
    );
    if c.metrics.iter().any(|r| r.paired) {
        out.push_str(
            "Change: paired runs (the candidate's repetition i was made beside the \
             baseline's repetition i): the median over pairs of candidate / baseline (the \
             error rate: the difference, in percentage points). 95% CI: bootstrap over the \
             pairs. A verdict is `inconclusive` when the interval straddles the threshold \
             or data is missing.\n",
        );
    } else {
        out.push_str(
            "Change: candidate / baseline of the medians over repetitions (the error rate: the \
             difference, in percentage points). 95% CI: bootstrap of that change when both \
             reports hold at least two runs per architecture; — with one run a side. A verdict \
             is `inconclusive` when the interval straddles the threshold or data is missing.\n",
        );
    }
    out
}

/// `**Verdict: regressed** — 1 of 15 metrics regressed: cs get.p99 +50.0%.`
fn verdict_line(c: &Comparison) -> String {
    let s = &c.summary;
    let detail = match c.verdict {
        Verdict::Regressed => format!(
            "{} of {} metrics regressed: {}",
            s.regressed,
            s.total,
            listing(c, Verdict::Regressed)
        ),
        Verdict::Inconclusive if s.total == 0 => "nothing could be compared".to_string(),
        Verdict::Inconclusive => format!(
            "no regression shown, but {} of {} metrics are inconclusive: {}",
            s.inconclusive,
            s.total,
            listing(c, Verdict::Inconclusive)
        ),
        Verdict::Improved => format!(
            "no regression; {} of {} metrics improved: {}",
            s.improved,
            s.total,
            listing(c, Verdict::Improved)
        ),
        Verdict::Pass => format!("all {} metrics within their thresholds", s.total),
    };
    format!(
        "**Verdict: {}** — {detail} (threshold {}).",
        c.verdict,
        threshold_words(c)
    )
}

/// The first few metrics with `verdict`, such as `cs get.p99 +50.0%, cs get.rps −40.0%`.
fn listing(c: &Comparison, verdict: Verdict) -> String {
    const SHOWN: usize = 4;
    let rows: Vec<&Row> = c.metrics.iter().filter(|r| r.verdict == verdict).collect();
    let mut parts: Vec<String> = rows
        .iter()
        .take(SHOWN)
        .map(|r| {
            let change = r.estimate.map(|e| change(r.kind, e)).unwrap_or_default();
            format!("{} {} {change}", r.arch, r.metric)
                .trim_end()
                .to_string()
        })
        .collect();
    if rows.len() > SHOWN {
        parts.push(format!("and {} more", rows.len() - SHOWN));
    }
    parts.join(", ")
}

fn threshold_words(c: &Comparison) -> String {
    let t = &c.thresholds;
    let mut words = pct(t.default);
    if !t.overrides.is_empty() {
        let list: Vec<String> = t
            .overrides
            .iter()
            .map(|(name, v)| format!("{name} {}", pct(*v)))
            .collect();
        let _ = write!(words, "; {}", list.join(", "));
    }
    words
}

fn table(out: &mut String, c: &Comparison) {
    out.push_str(
        "| arch | metric | baseline | candidate | change | 95% CI | threshold | verdict |\n",
    );
    out.push_str("|---|---|---:|---:|---:|---|---:|---|\n");
    for r in &c.metrics {
        let interval = interval_cell(r);
        let threshold = threshold_cell(r);
        let verdict = match (r.verdict, &r.note) {
            (Verdict::Regressed, _) => "**regressed**".to_string(),
            (v, Some(note)) => format!("{v}: {note}"),
            (v, None) => v.to_string(),
        };
        let cells = [
            r.arch.clone(),
            format!("`{}`", r.metric),
            value_cell(r.unit, r.baseline.as_ref()),
            value_cell(r.unit, r.candidate.as_ref()),
            r.estimate.map_or("—".into(), |e| change(r.kind, e)),
            interval,
            threshold,
            verdict,
        ];
        let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

/// A row's 95% interval of the change, `[+1.0%, +3.0%]`, or `—` without one.
pub(super) fn interval_cell(r: &Row) -> String {
    match r.interval {
        Some((low, high)) => format!("[{}, {}]", change(r.kind, low), change(r.kind, high)),
        None => "—".to_string(),
    }
}

/// A row's threshold, `±5%` (or `±1 pp` for a difference).
pub(super) fn threshold_cell(r: &Row) -> String {
    match r.kind {
        Delta::Ratio => format!("±{}", pct(r.threshold)),
        Delta::Difference => format!("±{} pp", trim_number(r.threshold * 100.0)),
    }
}

/// The median of one side's values in the row's unit, with `(n=K)` for several samples.
pub(super) fn value_cell(unit: Unit, values: Option<&Values>) -> String {
    let Some(v) = values else {
        return "—".to_string();
    };
    let text = format_value(unit, v.median);
    if v.samples.len() > 1 {
        format!("{text} (n={})", v.samples.len())
    } else {
        text
    }
}

/// A value in its unit, for people.
pub fn format_value(unit: Unit, value: f64) -> String {
    unit.format(value)
}

/// A change: `+50.0%` for a ratio of 1.5, `+1.20 pp` for a difference of 0.012.
pub fn change(kind: Delta, value: f64) -> String {
    if value.is_infinite() {
        return if value > 0.0 { "+∞" } else { "−∞" }.to_string();
    }
    match kind {
        Delta::Ratio => signed(format!("{:.1}%", (value - 1.0) * 100.0)),
        Delta::Difference => signed(format!("{:.2} pp", value * 100.0)),
    }
}

fn signed(text: String) -> String {
    match text.strip_prefix('-') {
        Some(rest) if rest.trim_start_matches(['0', '.']).starts_with(['%', ' ']) => {
            format!("+{rest}")
        }
        Some(rest) => format!("−{rest}"),
        None => format!("+{text}"),
    }
}

fn pct(fraction: f64) -> String {
    format!("{}%", trim_number(fraction * 100.0))
}

/// `5` for 5.0, `12.5` for 12.5, at most three decimals.
fn trim_number(v: f64) -> String {
    let text = format!("{v:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn short_sha(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes() {
        assert_eq!(change(Delta::Ratio, 1.5), "+50.0%");
        assert_eq!(change(Delta::Ratio, 0.75), "−25.0%");
        assert_eq!(change(Delta::Ratio, 1.0), "+0.0%");
        assert_eq!(change(Delta::Ratio, 0.99999), "+0.0%", "no negative zero");
        assert_eq!(change(Delta::Difference, 0.012), "+1.20 pp");
        assert_eq!(change(Delta::Difference, -0.012), "−1.20 pp");
        assert_eq!(change(Delta::Ratio, f64::INFINITY), "+∞");
        assert_eq!(pct(0.05), "5%");
        assert_eq!(pct(0.125), "12.5%");
        assert_eq!(trim_number(0.5), "0.5");
    }
}
