//! `versus sweep`: one scenario at several user counts (and, for client-server, several
//! server counts), every combination run in turn, gathered into one report with scaling
//! tables, side-by-side comparisons per user count and the claims that need a sweep.

use std::path::PathBuf;
use std::time::SystemTime;

use tokio_util::sync::CancellationToken;

use crate::arch::Arch;
use crate::commands::ci::CiArgs;
use crate::commands::run::{
    architectures, check_arch, publish, run_arch, ArchChoice, Finished, Outputs,
};
use crate::drive::progress::ProgressMode;
use crate::error::Failure;
use crate::scenario::{self, Override};

/// Everything `versus sweep` was asked.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// The scenario file.
    pub scenario: PathBuf,
    /// User counts to run, in order.
    pub users: Vec<u32>,
    /// Server counts to run (client-server only); empty means the scenario's.
    pub servers: Vec<u32>,
    /// Architectures (the scenario's when `None`).
    pub arch: Option<ArchChoice>,
    /// `--set` overrides.
    pub overrides: Vec<Override>,
    /// Where the report goes.
    pub out: PathBuf,
    /// How to show progress.
    pub progress: ProgressMode,
    /// JUnit XML and the job summary.
    pub ci: CiArgs,
}

/// Parses a comma-separated list of counts such as `4,8,16` (each 1..=100000).
pub fn parse_counts(flag: &str, text: &str) -> Result<Vec<u32>, Failure> {
    let counts: Result<Vec<u32>, _> = text.split(',').map(|t| t.trim().parse::<u32>()).collect();
    match counts {
        Ok(c) if !c.is_empty() && c.iter().all(|n| (1..=100_000).contains(n)) => Ok(c),
        _ => Err(Failure::Usage(format!(
            "{flag} {text}: expected a comma-separated list of counts between 1 and 100000, such as 4,8,16"
        ))),
    }
}

/// Carries out the sweep; returns the exit code.
pub async fn sweep(opts: SweepOptions, stop: CancellationToken) -> anyhow::Result<i32> {
    let base = scenario::load_file(&opts.scenario, &opts.overrides)?;
    check_arch(&base, opts.arch)?;
    let servers = if opts.servers.is_empty() {
        vec![base.architectures.servers]
    } else {
        opts.servers.clone()
    };
    let archs = architectures(&base, opts.arch);
    if !base.phases.is_empty() {
        tracing::warn!(
            "a sweep runs the scenario's main workload only; its {} [[phases]] are left out",
            base.phases.len()
        );
    }
    let started = SystemTime::now();
    let mut done = Vec::new();
    let mut failure = None;
    let total = opts.users.len() * archs.len() * servers.len();
    let mut step = 0;
    'sweep: for (i, &server_count) in servers.iter().enumerate() {
        for &users in &opts.users {
            let mut overrides = opts.overrides.clone();
            overrides.push(Override::from_flag(
                "--users",
                "load.users",
                &users.to_string(),
            ));
            overrides.push(Override::from_flag(
                "--servers",
                "architectures.servers",
                &server_count.to_string(),
            ));
            let scenario = scenario::load_file(&opts.scenario, &overrides)?;
            for arch in &archs {
                // Server counts only change client-server; run P2P once per user count.
                if *arch == Arch::P2p && i > 0 {
                    continue;
                }
                if stop.is_cancelled() {
                    break 'sweep;
                }
                step += 1;
                let servers_note = if *arch == Arch::Cs {
                    format!(", {server_count} server(s)")
                } else {
                    String::new()
                };
                eprintln!("sweep {step}/{total}: {arch} with {users} users{servers_note}");
                match run_arch(&scenario, *arch, opts.progress, &stop).await {
                    Ok(run) => done.push(run),
                    Err(e) => {
                        failure = Some(e);
                        break 'sweep;
                    }
                }
            }
        }
    }
    let finished = Finished::new(done, started, &stop, failure);
    let outputs = Outputs {
        command: "sweep",
        dir: &opts.out,
        ci: &opts.ci,
    };
    publish(&base, finished, outputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counts() {
        assert_eq!(parse_counts("--users", "4, 8,16").unwrap(), vec![4, 8, 16]);
        assert!(parse_counts("--users", "4,,8").is_err());
        assert!(parse_counts("--users", "0").is_err());
        assert!(parse_counts("--users", "many")
            .unwrap_err()
            .to_string()
            .contains("--users many"));
    }
}
