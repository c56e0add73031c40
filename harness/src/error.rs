//! Failures that decide the exit code. Everything else travels as `anyhow` context;
//! [`crate::commands::exit_code`] looks for these types in the chain to pick the code from the contract:
//! 0 ok, 1 a threshold failed, 2 bad usage or invalid scenario, 3 the run could not be
//! carried out, 130 interrupted.

/// Exit code: everything held.
pub const EXIT_OK: i32 = 0;
/// Exit code: a threshold or regression check failed.
pub const EXIT_FAILED_CHECK: i32 = 1;
/// Exit code: bad usage or an invalid scenario.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: the run could not be carried out.
pub const EXIT_CANNOT_RUN: i32 = 3;
/// Exit code: interrupted (a partial report was still written).
pub const EXIT_INTERRUPTED: i32 = 130;

/// A failure with a place in the exit-code contract.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The command line asks for something that cannot be (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The run could not be carried out: a target failed to start, a port was taken… (exit 3).
    #[error("{0}")]
    CannotRun(String),
    /// Ctrl-C (or SIGTERM) stopped the run before it measured anything more (exit 130).
    #[error("interrupted while {0}")]
    Interrupted(String),
}
