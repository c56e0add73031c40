//! The JSON Schema of report.json, generated from the Rust types of the report model
//! (`schemars`), so that the schema cannot drift from what `versus run` writes.
//! `versus schema` prints it; `reports/report.schema.json` is its committed copy, and a
//! test fails when the two differ.

use super::model::Report;

/// The JSON Schema (draft 2020-12) of [`Report`], as pretty-printed JSON ending with a
/// newline: the exact text of `reports/report.schema.json`.
pub fn render() -> String {
    let schema = schemars::schema_for!(Report);
    // A schema is a tree of maps, strings and numbers: serialising it cannot fail.
    let mut text = serde_json::to_string_pretty(&schema)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise the schema: {e}\"}}"));
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_describes_the_contract_fields() {
        let schema: serde_json::Value = serde_json::from_str(&render()).unwrap();
        let required = schema["required"].as_array().unwrap();
        for field in ["schema_version", "tool", "machine", "scenario", "runs"] {
            assert!(required.iter().any(|r| r == field), "{field} not required");
        }
        assert_eq!(schema["title"], "Report");
    }
}
