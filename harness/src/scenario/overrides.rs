//! `--set KEY=VALUE` overrides: change any scenario key from the command line
//! (`--set load.users=64`, `--set network.latency=25ms`) without editing the file.
//!
//! The value is read as a TOML value when it is one (`64`, `true`, `"x"`), otherwise as a
//! string, so units need no quoting on the shell. Overrides edit the document before it
//! is parsed, so they are validated exactly like the file itself.

use std::fmt;

use toml_edit::{DocumentMut, Item, Table, Value};

/// One `KEY=VALUE` override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// Dotted key path, such as `load.users`.
    pub key: String,
    /// The value as written.
    pub value: String,
    /// The flag it came from when not `--set` (such as `--users`), for messages.
    pub flag: Option<&'static str>,
}

impl Override {
    /// Parses `KEY=VALUE`; the key must be a dotted path of bare words.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (key, value) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}` is not KEY=VALUE (for example load.users=16)"))?;
        let key = key.trim();
        let valid_part = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if !key.split('.').all(valid_part) {
            return Err(format!("`{key}` is not a dotted key such as load.users"));
        }
        Ok(Self {
            key: key.to_string(),
            value: value.trim().to_string(),
            flag: None,
        })
    }

    /// An override made by a shorthand flag, such as `--users 16` for `load.users`.
    pub fn from_flag(flag: &'static str, key: &str, value: &str) -> Self {
        Self {
            key: key.to_string(),
            value: value.to_string(),
            flag: Some(flag),
        }
    }
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.flag {
            Some(flag) => write!(f, "{flag} {}", self.value),
            None => write!(f, "--set {}={}", self.key, self.value),
        }
    }
}

/// Applies `overrides` to the TOML `text`; on failure names the override and the reason.
pub(super) fn apply<'a>(
    text: &str,
    overrides: &'a [Override],
) -> Result<String, (&'a Override, String)> {
    if overrides.is_empty() {
        return Ok(text.to_string());
    }
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        (
            &overrides[0],
            format!("the scenario itself does not parse: {}", e.message()),
        )
    })?;
    for ov in overrides {
        let value = ov
            .value
            .parse::<Value>()
            .unwrap_or_else(|_| Value::from(ov.value.as_str()));
        let parts: Vec<&str> = ov.key.split('.').collect();
        let (last, parents) = parts.split_last().ok_or((ov, "empty key".to_string()))?;
        let mut table: &mut Table = doc.as_table_mut();
        for part in parents {
            let entry = table.entry(part).or_insert_with(|| {
                let mut t = Table::new();
                t.set_implicit(true);
                Item::Table(t)
            });
            table = entry.as_table_mut().ok_or_else(|| {
                (
                    ov,
                    format!("`{part}` is not a table, so it has no key `{last}`"),
                )
            })?;
        }
        table.insert(last, Item::Value(value));
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_applies() {
        let ovs = [
            Override::parse("load.users=16").unwrap(),
            Override::parse("network.latency=25ms").unwrap(),
        ];
        let out = apply("name = \"x\"\n[load]\nusers = 1\n", &ovs).unwrap();
        let v: toml::Table = toml::from_str(&out).unwrap();
        assert_eq!(v["load"]["users"].as_integer(), Some(16));
        assert_eq!(v["network"]["latency"].as_str(), Some("25ms"));
    }

    #[test]
    fn rejects_bad_overrides() {
        assert!(Override::parse("users").is_err());
        assert!(Override::parse("a..b=1").is_err());
        let ovs = [Override::parse("name.x=1").unwrap()];
        assert!(apply("name = \"x\"\n", &ovs).is_err());
    }
}
