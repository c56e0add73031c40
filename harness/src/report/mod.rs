//! Reports: the canonical [`model::Report`] and everything rendered from it —
//! report.json, report.md, report.html, the terminal table, the .hlog interval logs and the JSON
//! Schema of report.json.

pub(crate) mod build;
pub mod charts;
pub(crate) mod faults_md;
pub(crate) mod hlog;
pub(crate) mod html;
pub mod junit;
pub(crate) mod markdown;
pub mod model;
pub(crate) mod resilience;
pub mod schema;
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

/// Writes report.json, report.md, report.html, the charts and one .hlog per run into `dir` (created if
/// needed); returns the charts' file names.
pub fn write_all(
    dir: &Path,
    report: &Report,
    logs: &[RunLog],
    started: SystemTime,
) -> anyhow::Result<Vec<String>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the report directory {}", dir.display()))?;
    let json = serde_json::to_string_pretty(report).context("cannot serialize the report")?;
    write_file(&dir.join("report.json"), json.as_bytes())?;
    let rendered = charts::render_all(report);
    let mut charts = Vec::new();
    for (name, svg) in &rendered {
        write_file(&dir.join(name), svg.as_bytes())?;
        charts.push(name.clone());
    }
    let md = markdown::render(report, &charts);
    write_file(&dir.join("report.md"), md.as_bytes())?;
    write_file(
        &dir.join("report.html"),
        html::render(report, &md, &rendered).as_bytes(),
    )?;
    for log in logs {
        let mut buf = Vec::new();
        let comment = format!(
            "versus {} run of {}",
            log.arch,
            report.scenario["name"].as_str().unwrap_or("?")
        );
        hlog::write(&mut buf, &log.entries, started, &comment)
            .with_context(|| format!("cannot encode the interval log of {}", log.arch))?;
        write_file(&dir.join(format!("{}.hlog", log.arch)), &buf)?;
    }
    Ok(charts)
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Reads a report.json back (for `versus compare`).
pub fn read(path: &Path) -> anyhow::Result<Report> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a Versus report.json", path.display()))
}
