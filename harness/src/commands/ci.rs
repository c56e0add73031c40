//! What CI systems read besides the report directory, shared by `run`, `sweep` and
//! `compare`: `--junit FILE` (JUnit XML, one test case per threshold or compared metric)
//! and the job summary (`--summary FILE`, by default `$GITHUB_STEP_SUMMARY` when GitHub
//! Actions sets it), a compact markdown digest appended to the file.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::report::junit::{self, Case};
use crate::report::model::Report;

/// The CI outputs a command was asked for.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CiArgs {
    /// Write JUnit XML to FILE: one test case per threshold and run (per compared metric
    /// for `compare`), a failure carrying the measured value and the condition.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Append a compact markdown summary (verdict, thresholds, key table) to FILE;
    /// defaults to $GITHUB_STEP_SUMMARY, the job summary of GitHub Actions, when set.
    #[arg(
        long,
        value_name = "FILE",
        env = "GITHUB_STEP_SUMMARY",
        hide_env_values = true
    )]
    pub summary: Option<PathBuf>,
}

impl CiArgs {
    /// Writes the JUnit XML of `cases` as the suite `suite`, when `--junit` was given.
    pub fn write_junit(&self, suite: &str, cases: &[Case]) -> anyhow::Result<()> {
        if let Some(path) = &self.junit {
            junit::write(path, suite, cases)?;
            tracing::info!("JUnit XML written to {}", path.display());
        }
        Ok(())
    }

    /// Appends `markdown` to the summary file, when one was given (an empty
    /// `GITHUB_STEP_SUMMARY` counts as none).
    pub fn append_summary(&self, markdown: &str) -> anyhow::Result<()> {
        let Some(path) = self
            .summary
            .as_deref()
            .filter(|p| !p.as_os_str().is_empty())
        else {
            return Ok(());
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(markdown.as_bytes()).map(|()| f))
            .with_context(|| {
                format!(
                    "cannot append the job summary to {} (--summary or GITHUB_STEP_SUMMARY); check that its directory exists and is writable",
                    path.display()
                )
            })?;
        file.flush()
            .with_context(|| format!("cannot write the job summary to {}", path.display()))?;
        tracing::info!("job summary appended to {}", path.display());
        Ok(())
    }

    /// The CI outputs of a finished `run` or `sweep` (`command`), whose report files,
    /// `charts` among them, went to `dir`.
    pub fn report_outputs(
        &self,
        command: &str,
        report: &Report,
        dir: &Path,
        charts: &[String],
    ) -> anyhow::Result<()> {
        let suite = format!("versus {command} {}", junit::scenario_name(report));
        self.write_junit(&suite, &junit::threshold_cases(report))?;
        self.append_summary(&crate::report::summary::render(
            report, command, dir, charts,
        ))
    }
}
