//! Versus: a benchmarking and load-testing harness that puts client-server and
//! peer-to-peer architectures side by side on the same workload.
//!
//! The harness is one pipeline. Its modules are listed here in flow order, and each uses
//! only its own stage or earlier ones:
//!
//! ```text
//! scenario.toml ─▶ scenario ─▶ plan ─▶ launch ─▶ drive ─▶ report ─▶ analyse ─▶ commands
//!                                 (record: the instruments launch and drive measure with)
//! ```
//!
//! `main.rs` is only the command line; [`commands`] carries out each command.

#![warn(unreachable_pub, missing_docs)]

// Shared vocabulary: every stage may use these.
pub mod arch;
pub mod error;
pub(crate) mod format;
pub mod machine;
pub mod metric;

/// Stage 1: the scenario file, parsed, defaulted, overridden and validated.
pub mod scenario;

/// Stage 2: what a run will do, as plain values (no I/O).
pub mod plan;

/// Stage 3: the measuring instruments (histograms, recorders, resources, traffic).
pub mod record;

/// Stage 4: starting, stopping and hitting the nodes.
pub mod launch;

/// Stage 5: driving the load against the nodes, faults beside it.
pub mod drive;

/// Stage 6: the report, built in one place, and its renderings.
pub mod report;

/// Stage 7: the executor that carries out one architecture's plan.
pub(crate) mod execute;

/// Stage 8: metrics, thresholds, side by side, claims, comparisons.
pub mod analyse;

/// Stage 9: the commands, thin layers over the pipeline.
pub mod commands;

pub use versus_targets::units;
