//! `versus schema`: prints the JSON Schema of report.json (or writes it to `--out`),
//! generated from the report's Rust types; `reports/report.schema.json` is this output.

use std::path::Path;

use crate::error::EXIT_OK;

/// Writes the schema to `out`, or to standard output without it; returns the exit code.
pub fn run(out: Option<&Path>) -> anyhow::Result<i32> {
    super::write_output(out, &crate::report::schema::render(), "schema")?;
    Ok(EXIT_OK)
}
