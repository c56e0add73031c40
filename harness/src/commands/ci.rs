//! What CI systems read besides the report directory, shared by `run`, `sweep` and
//! `compare`: `--junit FILE` (JUnit XML, one test case per threshold or compared metric).

use std::path::{Path, PathBuf};

use crate::report::junit::{self, Case};
use crate::report::model::Report;

/// The CI outputs a command was asked for.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CiArgs {
    /// Write JUnit XML to FILE: one test case per threshold and run (per compared metric
    /// for `compare`), a failure carrying the measured value and the condition.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

impl CiArgs {
    /// Writes the JUnit XML of `cases` as the suite `suite`, when `--junit` was given.
    pub fn write_junit(&self, suite: &str, cases: &[Case]) -> anyhow::Result<()> {
        match &self.junit {
            Some(path) => {
                junit::write(path, suite, cases)?;
                tracing::info!("JUnit XML written to {}", path.display());
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// The CI outputs of a finished `run` or `sweep` (`command`), whose report files
    /// went to `dir`.
    pub fn report_outputs(
        &self,
        command: &str,
        report: &Report,
        _dir: &Path,
    ) -> anyhow::Result<()> {
        let suite = format!("versus {command} {}", junit::scenario_name(report));
        self.write_junit(&suite, &junit::threshold_cases(report))
    }
}
