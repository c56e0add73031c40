//! Fuzzes the report.json loader (`versus::report::parse`, what `compare`, `merge` and
//! `export` call on every file they are given): whatever the bytes, it returns a report
//! or a [`ReportError`] naming the file, never panics; and a report it accepts holds no
//! contradiction the loader promises to reject (more errors than operations, error kinds
//! that do not add up).

#![no_main]

use libfuzzer_sys::fuzz_target;
use versus::report::{parse, ReportError};

const FILE: &str = "fuzz-report.json";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse(FILE, &text) {
        Ok(report) => {
            for run in &report.runs {
                for op in run.ops.values() {
                    assert!(op.errors_total <= op.count, "accepted more errors than operations");
                    assert_eq!(op.errors.values().sum::<u64>(), op.errors_total);
                }
            }
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.contains(FILE), "the error names the file: {message}");
            let _: &ReportError = &e;
        }
    }
});
