//! JUnit XML, the test-result format CI systems already read (GitLab, Jenkins, Azure
//! DevOps, GitHub test reporters): one test case per judged condition, a failure
//! carrying the measured value and the condition. `versus run` and `sweep` make one case
//! per threshold and run ([`threshold_cases`]); `versus compare` one per compared metric.
//! Written with `quick-junit` (from the nextest project).

use std::path::Path;

use anyhow::Context;
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use super::model::Report;

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The condition held.
    Passed,
    /// The condition failed (a threshold, a regression).
    Failed,
    /// Nothing could be decided (an inconclusive comparison): reported as skipped.
    Skipped,
}

/// One judged condition.
#[derive(Debug, Clone)]
pub struct Case {
    /// The JUnit class name: what the case belongs to, such as `versus.quickstart.cs`.
    pub classname: String,
    /// The case's name, such as `get.p99 < 200ms (8 users)`.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// One line: the measured value against the condition.
    pub message: String,
}

/// One case per evaluated threshold of `report` (per threshold and run).
pub fn threshold_cases(report: &Report) -> Vec<Case> {
    let scenario = scenario_name(report);
    report
        .thresholds
        .iter()
        .map(|t| {
            let outcome = if t.passed {
                Outcome::Passed
            } else {
                Outcome::Failed
            };
            let verb = if t.passed { "held" } else { "failed" };
            let measured = match t.value {
                Some(_) => format!("measured {}", t.value_text),
                None => "not measured (no successful operation)".to_string(),
            };
            Case {
                classname: format!("versus.{scenario}.{}", t.arch),
                name: format!("{} ({} users)", t.condition, t.users),
                outcome,
                message: format!(
                    "{}: {verb}, {measured} ({}, {} users)",
                    t.condition, t.arch, t.users
                ),
            }
        })
        .collect()
}

/// The scenario's name, as the report holds it (`run` when it has none).
pub fn scenario_name(report: &Report) -> &str {
    report.scenario["name"].as_str().unwrap_or("run")
}

/// The JUnit XML of `cases`, as one suite named `suite` in a report named `versus`.
pub fn render(suite: &str, cases: &[Case]) -> anyhow::Result<String> {
    let mut test_suite = TestSuite::new(suite);
    for case in cases {
        let status = match case.outcome {
            Outcome::Passed => TestCaseStatus::success(),
            Outcome::Failed => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(case.message.as_str())
                    .set_type("threshold")
                    .set_description(case.message.as_str());
                s
            }
            Outcome::Skipped => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(case.message.as_str());
                s
            }
        };
        let mut test_case = TestCase::new(case.name.as_str(), status);
        test_case.set_classname(case.classname.as_str());
        if case.outcome == Outcome::Passed {
            test_case.set_system_out(case.message.as_str());
        }
        test_suite.add_test_case(test_case);
    }
    let mut report = quick_junit::Report::new("versus");
    report.add_test_suite(test_suite);
    report
        .to_string()
        .map_err(|e| anyhow::anyhow!("cannot serialise the JUnit XML: {e}"))
}

/// Writes the JUnit XML of `cases` to `path` (`--junit FILE`).
pub fn write(path: &Path, suite: &str, cases: &[Case]) -> anyhow::Result<()> {
    let xml = render(suite, cases)?;
    std::fs::write(path, xml).with_context(|| {
        format!(
            "cannot write the JUnit XML to --junit {}; check that its directory exists and is writable",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(outcome: Outcome) -> Case {
        Case {
            classname: "versus.t.cs".into(),
            name: "get.p99 < 1ms (8 users)".into(),
            outcome,
            message: "get.p99 < 1ms: failed, measured 2.00ms (cs, 8 users)".into(),
        }
    }

    #[test]
    fn failures_carry_the_message_and_count() {
        let xml = render("t", &[case(Outcome::Passed), case(Outcome::Failed)]).unwrap();
        assert!(xml.contains(r#"tests="2""#), "{xml}");
        assert!(xml.contains(r#"failures="1""#), "{xml}");
        assert!(xml.contains("measured 2.00ms"), "{xml}");
        assert!(xml.contains("get.p99 &lt; 1ms"), "{xml}");
    }

    #[test]
    fn skipped_cases_are_counted_as_skipped() {
        let xml = render("t", &[case(Outcome::Skipped)]).unwrap();
        assert!(xml.contains(r#"skipped="1""#), "{xml}");
        assert!(xml.contains(r#"failures="0""#), "{xml}");
    }
}
