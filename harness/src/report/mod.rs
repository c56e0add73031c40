//! Reports: the canonical [`model::Report`] and everything rendered from it —
//! report.json, report.md, the terminal table and the .hlog interval logs.

pub(crate) mod build;
pub mod charts;
pub(crate) mod faults_md;
mod files;
pub(crate) mod hlog;
pub(crate) mod markdown;
pub mod model;
pub(crate) mod resilience;
pub(crate) mod table;

use std::path::Path;
use std::time::SystemTime;

use anyhow::Context;

use crate::record::aggregate::HlogEntry;
use model::Report;

/// Interval histograms of one run, written to `<arch>.hlog`.
pub struct RunLog {
    /// The run's architecture (file name).
    pub arch: String,
    /// The interval histograms.
    pub entries: Vec<HlogEntry>,
}

/// Writes report.json, report.md, the charts and one .hlog per run into `dir` (created
/// if needed). Every file is rendered first, then written to a temporary file, synced and
/// renamed into place, report.json last: a kill or a full disk leaves the previous
/// report.json whole, never a truncated one.
pub fn write_all(
    dir: &Path,
    report: &Report,
    logs: &[RunLog],
    started: SystemTime,
) -> anyhow::Result<()> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut charts = Vec::new();
    for (name, svg) in charts::render_all(report) {
        files.push((name.clone(), svg.into_bytes()));
        charts.push(name);
    }
    files.push((
        "report.md".into(),
        markdown::render(report, &charts).into_bytes(),
    ));
    for log in logs {
        let mut buf = Vec::new();
        let comment = format!(
            "versus {} run of {}",
            log.arch,
            report.scenario["name"].as_str().unwrap_or("?")
        );
        hlog::write(&mut buf, &log.entries, started, &comment)
            .with_context(|| format!("cannot encode the interval log of {}", log.arch))?;
        files.push((format!("{}.hlog", log.arch), buf));
    }
    let json = serde_json::to_vec_pretty(report).context("cannot serialize the report")?;
    files.push(("report.json".into(), json));
    files::write_atomically(dir, &files)
}

pub use files::{parse, read, ReportError};
