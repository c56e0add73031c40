//! Where in a scenario something is: byte offsets to line and column, and dotted key
//! paths to spans and back, so every error names the file, the line and the key.

use std::ops::Range;

use toml_edit::{Document, Item, Table, Value};

/// A position a person can go to: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct LineCol {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
}

/// The line and column of byte `offset` in `text`.
pub(super) fn line_col(text: &str, offset: usize) -> LineCol {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    LineCol { line, column }
}

/// (dotted key path, span of the key, span of its value) for every key of a document.
type Entries = Vec<(String, Option<Range<usize>>, Option<Range<usize>>)>;

/// A parsed document that can answer "which key is at this offset" and "where is this key".
pub(super) struct KeyIndex {
    entries: Entries,
}

impl KeyIndex {
    /// Indexes every key of `text`; a document that does not parse gives an empty index.
    pub(super) fn new(text: &str) -> Self {
        let mut entries = Vec::new();
        if let Ok(doc) = Document::parse(text.to_string()) {
            walk_table(doc.as_table(), "", &mut entries);
        }
        Self { entries }
    }

    /// The innermost key whose key or value covers `offset`.
    pub(super) fn key_at(&self, offset: usize) -> Option<&str> {
        self.entries
            .iter()
            .filter(|(_, key, value)| {
                let hits =
                    |r: &Option<Range<usize>>| r.as_ref().is_some_and(|r| r.contains(&offset));
                hits(key) || hits(value)
            })
            .max_by_key(|(path, _, _)| path.len())
            .map(|(path, _, _)| path.as_str())
    }

    /// The span of key `path` (its key, else its value), if present.
    pub(super) fn span_of(&self, path: &str) -> Option<Range<usize>> {
        self.entries
            .iter()
            .find(|(p, _, _)| p == path)
            .and_then(|(_, key, value)| key.clone().or_else(|| value.clone()))
    }

    /// The span of `path` or of its closest present parent (`load.rate` → `load`).
    pub(super) fn span_of_nearest(&self, path: &str) -> Option<Range<usize>> {
        let mut current = path;
        loop {
            if let Some(span) = self.span_of(current) {
                return Some(span);
            }
            current = current.rsplit_once('.')?.0;
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn walk_table(table: &Table, prefix: &str, out: &mut Entries) {
    for (key, item) in table.iter() {
        let path = join(prefix, key);
        let key_span = table.key(key).and_then(|k| k.span());
        out.push((path.clone(), key_span, item.span()));
        walk_item(item, &path, out);
    }
}

fn walk_item(item: &Item, path: &str, out: &mut Entries) {
    match item {
        Item::Table(t) => walk_table(t, path, out),
        Item::ArrayOfTables(array) => {
            for (i, t) in array.iter().enumerate() {
                let element = format!("{path}[{i}]");
                out.push((element.clone(), None, t.span()));
                walk_table(t, &element, out);
            }
        }
        Item::Value(v) => walk_value(v, path, out),
        Item::None => {}
    }
}

fn walk_value(value: &Value, path: &str, out: &mut Entries) {
    match value {
        Value::InlineTable(t) => {
            for (key, v) in t.iter() {
                let child = join(path, key);
                let key_span = t.key(key).and_then(|k| k.span());
                out.push((child.clone(), key_span, v.span()));
                walk_value(v, &child, out);
            }
        }
        Value::Array(array) => {
            for (i, v) in array.iter().enumerate() {
                let element = format!("{path}[{i}]");
                out.push((element.clone(), None, v.span()));
                walk_value(v, &element, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str =
        "name = \"x\"\n[load]\nusers = 8\nstages = [{ duration = \"1s\", users = 2 }]\n";

    #[test]
    fn finds_lines_and_keys() {
        let index = KeyIndex::new(DOC);
        let span = index.span_of("load.users").unwrap();
        assert_eq!(line_col(DOC, span.start), LineCol { line: 3, column: 1 });
        let offset = DOC.find("\"1s\"").unwrap();
        assert_eq!(index.key_at(offset), Some("load.stages[0].duration"));
        assert_eq!(
            line_col(DOC, index.span_of_nearest("load.rate").unwrap().start).line,
            2
        );
    }

    #[test]
    fn line_col_is_total() {
        assert_eq!(line_col("", 10), LineCol { line: 1, column: 1 });
        assert_eq!(line_col("a\nbc", 3), LineCol { line: 2, column: 2 });
    }
}
