//! Stage 9, the commands: thin layers over the pipeline, one module each, and the exit
//! code of an error.

pub mod compare;
pub mod export;
pub mod merge;
pub mod run;
pub mod sweep;

use crate::error::{Failure, EXIT_CANNOT_RUN, EXIT_USAGE};

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
            None => {}
        }
    }
    EXIT_CANNOT_RUN
}
