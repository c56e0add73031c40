//! Reports: the canonical [`model::Report`] and everything rendered from it —
//! report.json, report.md, report.html, the terminal table, the .hlog interval logs and the JSON
//! Schema of report.json.

pub(crate) mod build;
pub mod charts;
pub(crate) mod faults_md;
mod files;
pub(crate) mod hlog;
pub(crate) mod html;
pub mod junit;
pub(crate) mod markdown;
pub mod model;
mod network;
pub mod per_user;
pub(crate) mod resilience;
pub mod schema;
pub mod shard_data;
pub mod shard_model;
pub mod summary;
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

/// Writes report.json, report.md, report.html, the charts and one .hlog per run into
/// `dir` (created if needed); returns the charts' file names. Every file is rendered
/// first, then written to a temporary file, synced and renamed into place, report.json
/// last: a kill or a full disk leaves the previous report.json whole, never a truncated
/// one.
pub fn write_all(
    dir: &Path,
    report: &Report,
    logs: &[RunLog],
    started: SystemTime,
) -> anyhow::Result<Vec<String>> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let rendered = charts::render_all(report);
    let mut charts = Vec::new();
    for (name, svg) in &rendered {
        files.push((name.clone(), svg.clone().into_bytes()));
        charts.push(name.clone());
    }
    let md = markdown::render(report, &charts);
    files.push((
        "report.html".into(),
        html::render(report, &md, &rendered).into_bytes(),
    ));
    files.push(("report.md".into(), md.into_bytes()));
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
    files::write_atomically(dir, &files)?;
    Ok(charts)
}

pub use files::{parse, read, ReportError};
