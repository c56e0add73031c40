//! Versus: a benchmarking and load-testing harness that puts client-server and
//! peer-to-peer architectures side by side on the same workload.
//!
//! The pipeline: [`scenario`] (TOML, validated) → [`plan`] → [`load`] (worker threads
//! driving a [`driver`] per user, recording into [`record`]) → [`report`]. The binary's
//! `main.rs` is only the command line; [`run`] carries out `versus run`.

pub mod analysis;
pub mod arch;
pub mod compare;
pub mod drive;
pub mod driver;
pub mod error;
pub mod export;
pub mod faults;
pub mod launch;
pub mod load;
pub mod machine;
pub mod merge;
pub mod plan;
pub mod progress;
pub mod record;
pub mod report;
pub mod routing;
pub mod run;
pub mod scenario;
pub mod sweep;
pub mod workload;

pub use versus_targets::units;
