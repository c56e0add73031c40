//! Scenarios: reading a TOML file (or the embedded quickstart), applying `--set`
//! overrides, and turning every problem into a [`ScenarioError`] that names the file,
//! the line and the key, and says what to do.

mod conditions;
pub mod faults;
pub mod hosting;
mod location;
pub mod model;
pub mod network;
mod overrides;
pub mod regions;
pub mod request;
mod requests_file;
pub mod threshold;
pub mod url;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

pub use model::Scenario;
pub use overrides::Override;

use location::{line_col, KeyIndex};

/// The quickstart scenario compiled into the binary; `versus run` uses it when given none.
pub const QUICKSTART: &str = include_str!("../../../scenarios/quickstart.toml");

/// A scenario that cannot be used, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The file (or `--set KEY=VALUE`, or `<quickstart>`) the problem is in.
    pub source_name: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The dotted key, when known.
    pub key: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source_name)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Reads, overrides, parses and validates the scenario at `path`.
pub fn load_file(path: &Path, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        source_name: name.clone(),
        line: None,
        column: None,
        key: None,
        message: format!("cannot read the scenario file: {e}; check the path"),
    })?;
    let base = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    parse_in(&name, &text, overrides, &base)
}

/// Parses scenario `text` (named `source_name` in messages), applying `overrides` first;
/// the files it names are relative to the working directory.
pub fn parse(
    source_name: &str,
    text: &str,
    overrides: &[Override],
) -> Result<Scenario, ScenarioError> {
    parse_in(source_name, text, overrides, Path::new("."))
}

/// As [`parse`], the files the scenario names (bodies, requests) relative to `base`.
pub fn parse_in(
    source_name: &str,
    text: &str,
    overrides: &[Override],
    base: &Path,
) -> Result<Scenario, ScenarioError> {
    let located = Locator {
        source_name,
        original: text,
        original_keys: KeyIndex::new(text),
        overrides,
    };
    let effective = overrides::apply(text, overrides).map_err(|(ov, message)| {
        // A file that is not TOML is the file's fault, whatever the overrides: say where.
        if let Err(e) = text.parse::<toml_edit::DocumentMut>() {
            return located.error_at(text, e.span().map(|s| s.start), clean_message(e.message()));
        }
        ScenarioError {
            source_name: ov.to_string(),
            line: None,
            column: None,
            key: Some(ov.key.clone()),
            message,
        }
    })?;
    let scenario: Scenario = toml::from_str(&effective).map_err(|e| {
        let message = clean_message(e.message());
        if let Some((key, message)) = marked_key(&message) {
            return located.error_for_key(key, message.to_string());
        }
        let offset = e.span().map(|s| s.start);
        located.error_at(&effective, offset, message)
    })?;
    let mut scenario = scenario;
    validate::check(&scenario).map_err(|(key, message)| located.error_for_key(&key, message))?;
    request::resolve_workload(&mut scenario.workload, base)
        .map_err(|(key, message)| located.error_for_key(key, message))?;
    request::check_thresholds(&scenario)
        .map_err(|(key, message)| located.error_for_key(&key, message))?;
    for (i, phase) in scenario.phases.iter_mut().enumerate() {
        request::resolve_workload(&mut phase.workload, base).map_err(|(key, message)| {
            located.error_for_key(&format!("phases[{i}].{key}"), message)
        })?;
    }
    Ok(scenario)
}

/// Marks the key a custom deserializer's message is about, when that is more precise
/// than the span toml reports (a `[thresholds]` entry rather than the whole table).
const KEY_MARKER: &str = "\u{1}";

/// A deserializer error message about `key`, for [`Locator`] to place on the key's line.
pub(crate) fn located_message(key: &str, message: &str) -> String {
    format!("{KEY_MARKER}{key}{KEY_MARKER}{message}")
}

/// Splits a marked message into (key, message).
fn marked_key(message: &str) -> Option<(&str, &str)> {
    message.strip_prefix(KEY_MARKER)?.split_once(KEY_MARKER)
}

/// toml's messages sometimes end in a newline or repeat context; keep one clean line.
fn clean_message(message: &str) -> String {
    message.trim().replace('\n', " ")
}

/// Maps positions in the effective (overridden) text back to the file or the `--set`.
struct Locator<'a> {
    source_name: &'a str,
    original: &'a str,
    original_keys: KeyIndex,
    overrides: &'a [Override],
}

impl Locator<'_> {
    /// An error at byte `offset` of the effective text.
    fn error_at(&self, effective: &str, offset: Option<usize>, message: String) -> ScenarioError {
        let key = offset.and_then(|o| KeyIndex::new(effective).key_at(o).map(str::to_string));
        match key {
            Some(key) => self.error_for_key(&key, message),
            None => {
                let pos = offset.map(|o| line_col(effective, o));
                ScenarioError {
                    source_name: self.source_name.to_string(),
                    line: pos.map(|p| p.line),
                    column: pos.map(|p| p.column),
                    key: None,
                    message,
                }
            }
        }
    }

    /// An error about key `key`: blamed on its `--set` if one set it, else on its line.
    fn error_for_key(&self, key: &str, message: String) -> ScenarioError {
        if let Some(ov) = self
            .overrides
            .iter()
            .rev()
            .find(|o| key == o.key || key.starts_with(&format!("{}.", o.key)))
        {
            return ScenarioError {
                source_name: ov.to_string(),
                line: None,
                column: None,
                key: Some(key.to_string()),
                message,
            };
        }
        let pos = self
            .original_keys
            .span_of_nearest(key)
            .map(|s| line_col(self.original, s.start));
        ScenarioError {
            source_name: self.source_name.to_string(),
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.column),
            key: Some(key.to_string()),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "t"
[workload]
kind = "url"
url = "http://127.0.0.1:8080/"
[load]
users = 4
duration = "2s"
[thresholds]
get.p99 = "< 200ms"
"#;

    #[test]
    fn quickstart_is_valid() {
        parse("<quickstart>", QUICKSTART, &[]).unwrap();
    }

    #[test]
    fn good_scenario_parses() {
        let s = parse("t.toml", GOOD, &[]).unwrap();
        assert_eq!(s.load.users, 4);
        assert_eq!(s.thresholds.0.len(), 1);
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let bad = GOOD.replace("users = 4", "usres = 4");
        let e = parse("t.toml", &bad, &[]).unwrap_err();
        assert_eq!(e.line, Some(7), "{e}");
        assert_eq!(e.key.as_deref(), Some("load.usres"), "{e}");
        assert!(
            e.to_string().starts_with("t.toml:7:1: key `load.usres`"),
            "{e}"
        );
    }

    #[test]
    fn bad_unit_names_line_and_key() {
        let bad = GOOD.replace("\"2s\"", "\"2 fortnights\"");
        let e = parse("t.toml", &bad, &[]).unwrap_err();
        assert_eq!(
            (e.line, e.key.as_deref()),
            (Some(8), Some("load.duration")),
            "{e}"
        );
        assert!(e.message.contains("duration"), "{e}");
    }

    #[test]
    fn bad_threshold_metric_names_line() {
        let bad = GOOD.replace("get.p99", "get.p98");
        let e = parse("t.toml", &bad, &[]).unwrap_err();
        assert_eq!(e.line, Some(10), "{e}");
        assert!(e.message.contains("p98"), "{e}");
    }

    #[test]
    fn semantic_errors_name_the_key() {
        let bad = GOOD.replace("users = 4", "users = 0");
        let e = parse("t.toml", &bad, &[]).unwrap_err();
        assert_eq!(
            (e.line, e.key.as_deref()),
            (Some(7), Some("load.users")),
            "{e}"
        );
    }

    #[test]
    fn overrides_apply_and_are_blamed() {
        let ov = [Override::parse("load.users=16").unwrap()];
        assert_eq!(parse("t.toml", GOOD, &ov).unwrap().load.users, 16);
        let ov = [Override::parse("load.users=0").unwrap()];
        let e = parse("t.toml", GOOD, &ov).unwrap_err();
        assert_eq!(e.source_name, "--set load.users=0", "{e}");
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let e = parse("t.toml", "name = \"t\"\n[load\nusers = 1\n", &[]).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        // Found by fuzzing: with an override, the file's syntax error was blamed on the
        // override, without a line.
        let ov = [Override::parse("load.users=2").unwrap()];
        let e = parse("t.toml", "name = \"t\"\n[load\nusers = 1\n", &ov).unwrap_err();
        assert_eq!((e.source_name.as_str(), e.line), ("t.toml", Some(2)), "{e}");
    }
}
