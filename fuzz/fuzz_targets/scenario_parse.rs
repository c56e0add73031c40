//! Fuzzes the scenario parser (`versus::scenario::parse`, what `load_file` calls once it
//! has read the file): whatever the bytes, it must return a scenario or a
//! [`ScenarioError`], never panic, and an error must point somewhere a person can go.
//!
//! Input layout: the scenario text (arbitrary bytes, read as UTF-8 lossily, as a file
//! that is not UTF-8 would be rejected before parsing anyway), optionally followed by a
//! NUL byte and `KEY=VALUE` lines that become `--set` overrides, so the override path is
//! fuzzed too.
//!
//! What is checked on an error:
//! - the message and the source name are not empty;
//! - a line, when given, exists in the source it names (1-based), and a column comes only
//!   with a line;
//! - a file that is not valid TOML gets an error on the file with a line (the syntax
//!   error's position), whatever overrides were given.

#![no_main]

use libfuzzer_sys::fuzz_target;
use versus::scenario::{parse, Override, ScenarioError};

const FILE: &str = "fuzz.toml";

fuzz_target!(|data: &[u8]| {
    let (scenario, sets) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], Some(&data[nul + 1..])),
        None => (data, None),
    };
    let text = String::from_utf8_lossy(scenario);
    let overrides: Vec<Override> = sets
        .map(String::from_utf8_lossy)
        .iter()
        .flat_map(|s| s.lines().map(str::to_string).collect::<Vec<_>>())
        .filter_map(|line| Override::parse(&line).ok())
        .take(8)
        .collect();
    if let Err(e) = parse(FILE, &text, &overrides) {
        check_error(&e, &text);
    }
});

fn check_error(e: &ScenarioError, text: &str) {
    assert!(!e.message.trim().is_empty(), "empty message: {e:?}");
    assert!(!e.source_name.is_empty(), "no source: {e:?}");
    assert!(
        e.column.is_none() || e.line.is_some(),
        "column without line: {e:?}"
    );
    if let Some(line) = e.line {
        assert!(line >= 1, "line 0: {e:?}");
        if e.source_name == FILE {
            let lines = text.split('\n').count();
            assert!(
                line <= lines,
                "line {line} past the end ({lines} lines): {e:?}"
            );
        }
    }
    if e.column == Some(0) {
        panic!("column 0: {e:?}");
    }
    if text.parse::<toml_edit::DocumentMut>().is_err() {
        assert_eq!(e.source_name, FILE, "a syntax error blamed elsewhere: {e}");
        assert!(e.line.is_some(), "a syntax error without a line: {e}");
    }
}
