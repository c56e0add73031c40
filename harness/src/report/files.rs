//! Report files on disk: written so that a kill or a full disk never leaves a truncated
//! file where a whole one was (temporary file, sync, rename, directory sync), and read
//! back with every figure checked, so that a hostile or damaged report.json is a clear
//! error (exit 2), never a panic or a silently wrong comparison.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::model::Report;
use crate::error::Failure;

/// Writes `files` (name, bytes) into `dir`, each through a temporary file renamed into
/// place, in order; on any failure the temporary files are removed and the files not
/// yet renamed keep their previous contents.
pub(crate) fn write_atomically(dir: &Path, files: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    let cannot = |what: String, e: std::io::Error| {
        Failure::CannotRun(format!(
            "{what}: {e}; the previous report files there are unchanged (free some space or choose another --out)"
        ))
    };
    std::fs::create_dir_all(dir).map_err(|e| {
        cannot(
            format!("cannot create the report directory {}", dir.display()),
            e,
        )
    })?;
    let mut written: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        let path = dir.join(name);
        let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        if let Err(e) = write_synced(&temp, bytes) {
            let _ = std::fs::remove_file(&temp);
            for (t, _) in &written {
                let _ = std::fs::remove_file(t);
            }
            return Err(cannot(format!("cannot write {}", path.display()), e).into());
        }
        written.push((temp, path));
    }
    for (temp, path) in &written {
        std::fs::rename(temp, path)
            .map_err(|e| cannot(format!("cannot move {} into place", path.display()), e))?;
    }
    // The renames are durable once the directory is.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// A report.json that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// It is not JSON of the report's shape.
    #[error("{path} is not a Versus report.json: {reason}")]
    Shape {
        /// The file.
        path: String,
        /// What serde said.
        reason: String,
    },
    /// Its figures contradict each other.
    #[error("{path} is not a consistent Versus report: {reason}; regenerate it with `versus run`")]
    Inconsistent {
        /// The file.
        path: String,
        /// Which figure, in which run.
        reason: String,
    },
}

/// Reads a report.json back (for `versus compare`, `merge`, `export`) and checks that
/// its figures are consistent.
pub fn read(path: &Path) -> Result<Report, ReportError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Read {
        path: name.clone(),
        source,
    })?;
    parse(&name, &text)
}

/// Parses and checks the text of a report.json; `name` says where it came from in
/// errors.
pub fn parse(name: &str, text: &str) -> Result<Report, ReportError> {
    let report: Report = serde_json::from_str(text).map_err(|e| ReportError::Shape {
        path: name.to_string(),
        reason: e.to_string(),
    })?;
    check(&report).map_err(|reason| ReportError::Inconsistent {
        path: name.to_string(),
        reason,
    })?;
    Ok(report)
}

/// The contradictions a report.json can hold: more errors than operations, error
/// kinds that do not add up, negative or non-finite durations, latency percentiles out
/// of order, an efficiency from no bound.
fn check(report: &Report) -> Result<(), String> {
    for (i, run) in report.runs.iter().enumerate() {
        let at = |what: &str| format!("runs[{i}] ({} {} users): {what}", run.arch, run.users);
        if !(run.duration_s.is_finite() && run.duration_s >= 0.0) {
            return Err(at("duration_s is negative or not a number"));
        }
        for (name, op) in &run.ops {
            if op.errors_total > op.count {
                return Err(at(&format!(
                    "ops.{name}.errors_total {} is more than its count {}",
                    op.errors_total, op.count
                )));
            }
            let kinds = op
                .errors
                .values()
                .try_fold(0u64, |sum, n| sum.checked_add(*n))
                .ok_or_else(|| at(&format!("ops.{name}.errors overflow")))?;
            if kinds != op.errors_total {
                return Err(at(&format!(
                    "ops.{name}.errors add up to {kinds}, not errors_total {}",
                    op.errors_total
                )));
            }
            let l = &op.latency_us;
            if !(l.min <= l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max) {
                return Err(at(&format!(
                    "ops.{name}.latency_us percentiles are out of order"
                )));
            }
            if !(op.rps.is_finite() && op.rps >= 0.0) {
                return Err(at(&format!("ops.{name}.rps is negative or not a number")));
            }
        }
        if let Some(c) = &run.completion {
            if !(c.makespan_s.is_finite() && c.makespan_s >= 0.0) {
                return Err(at("completion.makespan_s is negative or not a number"));
            }
        }
        if run.efficiency.is_some() && run.bound_s.is_none() {
            return Err(at("efficiency without bound_s"));
        }
    }
    Ok(())
}
