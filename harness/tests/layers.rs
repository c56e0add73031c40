//! The harness is one pipeline, and its code must read as one: every module uses only
//! its own stage or earlier ones (no import cycles), in the order `lib.rs` lists them.
//! This test reads the sources and checks every `crate::` path against that order.

use std::path::{Path, PathBuf};

/// The stages in flow order; modules of one row may use each other.
const STAGES: [&[&str]; 10] = [
    &["arch", "error", "format", "machine", "metric", "units"],
    &["scenario"],
    &["plan"],
    &["record"],
    &["launch"],
    &["drive"],
    &["report"],
    &["execute"],
    &["analyse"],
    &["commands"],
];

fn stage(module: &str) -> Option<usize> {
    STAGES.iter().position(|row| row.contains(&module))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("the harness's src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::<module>` a line of code (not a comment) names.
fn used_modules(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or_default();
    code.match_indices("crate::")
        .map(|(at, _)| {
            code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn every_module_uses_only_its_own_stage_or_earlier_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut violations = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src/");
        let top = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or_default()
            .trim_end_matches(".rs");
        if top == "lib" || top == "main" {
            continue;
        }
        let own = stage(top).unwrap_or_else(|| panic!("{top} is in no stage: add it to STAGES"));
        let text = std::fs::read_to_string(file).expect("a readable source file");
        for (n, line) in text.lines().enumerate() {
            for used in used_modules(line) {
                match stage(&used) {
                    Some(s) if s <= own => {}
                    _ => violations.push(format!(
                        "{}:{}: {top} (stage {own}) uses crate::{used}",
                        relative.display(),
                        n + 1
                    )),
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "modules that use a later stage:\n{}",
        violations.join("\n")
    );
}

#[test]
fn lib_lists_the_stages_in_flow_order() {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("lib.rs");
    let declared: Vec<usize> = lib
        .lines()
        .filter_map(|l| l.trim().strip_suffix(';'))
        .filter_map(|l| l.rsplit_once("mod ").map(|(_, name)| name))
        .map(|name| stage(name).unwrap_or_else(|| panic!("{name} is in no stage")))
        .collect();
    assert!(!declared.is_empty());
    assert!(
        declared.windows(2).all(|w| w[0] <= w[1]),
        "lib.rs declares modules out of flow order: {declared:?}"
    );
}
