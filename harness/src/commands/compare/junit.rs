//! `versus compare --junit FILE`: one JUnit test case per compared metric and
//! architecture; a regression is a failure carrying the change, its interval and the
//! threshold, an inconclusive metric is skipped with the reason.

use super::comparison::{Comparison, Row};
use super::render::{change, interval_cell, threshold_cell, value_cell};
use crate::analyse::verdict::Verdict;
use crate::report::junit::{Case, Outcome};

/// The cases of a comparison, one per row.
pub fn cases(comparison: &Comparison) -> Vec<Case> {
    comparison.metrics.iter().map(case).collect()
}

fn case(r: &Row) -> Case {
    let outcome = match r.verdict {
        Verdict::Regressed => Outcome::Failed,
        Verdict::Inconclusive => Outcome::Skipped,
        Verdict::Pass | Verdict::Improved => Outcome::Passed,
    };
    let estimate = r.estimate.map_or("—".into(), |e| change(r.kind, e));
    let interval = match r.interval {
        Some(_) => format!(" (95% CI {})", interval_cell(r)),
        None => String::new(),
    };
    let mut message = format!(
        "{} {}: {}, change {estimate}{interval} against a {} threshold; baseline {}, candidate {}",
        r.arch,
        r.metric,
        r.verdict,
        threshold_cell(r),
        value_cell(r.unit, r.baseline.as_ref()),
        value_cell(r.unit, r.candidate.as_ref()),
    );
    if let Some(note) = &r.note {
        message.push_str(&format!(" ({note})"));
    }
    Case {
        classname: format!("versus.compare.{}", r.arch.replace(' ', "_")),
        name: format!("{} {}", r.arch, r.metric),
        outcome,
        message,
    }
}
