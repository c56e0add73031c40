//! Stage 9, the commands: thin layers over the pipeline, one module each, and the exit
//! code of an error.

pub mod ci;
pub mod claims;
pub mod compare;
pub mod coordinate;
pub mod export;
pub mod image;
pub mod merge;
pub mod request_flags;
pub mod run;
pub mod schema;
pub mod shard;
pub mod sweep;

use crate::error::{Failure, EXIT_CANNOT_RUN, EXIT_USAGE};

/// Writes a command's output to `--out` or, without it, to standard output; `what` names
/// it in errors ("comparison", "export").
fn write_output(out: Option<&std::path::Path>, text: &str, what: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    match out {
        Some(path) => std::fs::write(path, text).with_context(|| {
            format!(
                "cannot write the {what} to --out {}; check that its directory exists and is writable",
                path.display()
            )
        }),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .with_context(|| format!("cannot write the {what} to standard output"))
        }
    }
}

/// The exit code for an error chain.
pub fn exit_code(error: &anyhow::Error) -> i32 {
    for cause in error.chain() {
        if cause
            .downcast_ref::<crate::scenario::ScenarioError>()
            .is_some()
        {
            return EXIT_USAGE;
        }
        match cause.downcast_ref::<Failure>() {
            Some(Failure::Usage(_)) => return EXIT_USAGE,
            Some(Failure::CannotRun(_)) => return EXIT_CANNOT_RUN,
            Some(Failure::Interrupted(_)) => return crate::error::EXIT_INTERRUPTED,
            None => {}
        }
    }
    EXIT_CANNOT_RUN
}
