//! The fixture of the architecture macro benchmarks: a small scenario run on
//! client-server or peer-to-peer through the harness's library API
//! ([`versus::commands::run::run_arch`]), exactly as `versus run` runs it: the targets start as
//! processes (this benchmark binary, see [`crate::node`]), the content is published, the
//! users are driven, the nodes are stopped. One run is one iteration, and only its
//! measured part is timed (a flash crowd's makespan, a fetch run's duration), so process
//! start-up and publishing stay out of the numbers.

use std::time::Duration;
use versus::arch::Arch;

use anyhow::{anyhow, Context};
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;
use versus::drive::progress::ProgressMode;
use versus::report::model::RunReport;

/// What the users do. Either way one run is one benchmark iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Every user downloads the same object at the same instant, timed by the makespan.
    FlashCrowd,
    /// Closed-loop users fetch objects from a catalog of 8, this many each, timed from
    /// the start of the schedule to the end of the drain.
    Fetch {
        /// Fetches per user.
        ops_per_user: u64,
    },
}

/// One architecture, one small scenario.
pub struct ArchBench {
    arch: Arch,
    workload: Workload,
    users: u32,
    object_size: String,
    runtime: Runtime,
}

impl ArchBench {
    /// A benchmark of `workload` on `arch` (`cs` or `p2p`) with `users` users and
    /// objects of `object_size` (such as `"1MiB"`), unshaped, on loopback.
    pub fn new(
        arch: &'static str,
        workload: Workload,
        users: u32,
        object_size: &str,
    ) -> anyhow::Result<Self> {
        let arch: Arch = arch.parse().map_err(|e: String| anyhow!(e))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot build a Tokio runtime for the benchmark")?;
        Ok(ArchBench {
            arch,
            workload,
            users: users.max(1),
            object_size: object_size.to_string(),
            runtime,
        })
    }

    /// Operations in one run (one iteration): the users' downloads or fetches.
    pub fn ops_per_iteration(&self) -> u64 {
        match self.workload {
            Workload::FlashCrowd => u64::from(self.users),
            Workload::Fetch { ops_per_user } => ops_per_user.max(1) * u64::from(self.users),
        }
    }

    /// The scenario of one run.
    fn scenario_text(&self) -> String {
        let (kind, extra) = match self.workload {
            Workload::FlashCrowd => ("flash-crowd", String::new()),
            Workload::Fetch { ops_per_user } => (
                "fetch",
                format!(
                    "objects = 8\npopularity = \"uniform\"\n[load]\niterations = {}\n",
                    ops_per_user.max(1)
                ),
            ),
        };
        let load = if extra.is_empty() { "[load]\n" } else { "" };
        format!(
            "name = \"bench-{arch}-{kind}\"\n\
             [workload]\nkind = \"{kind}\"\nobject_size = \"{size}\"\n{extra}{load}\
             users = {users}\nduration = \"2m\"\ntimeout = \"60s\"\nthreads = 1\n\
             [architectures]\ncs = {cs}\np2p = {p2p}\nready_timeout = \"30s\"\n",
            arch = self.arch,
            size = self.object_size,
            users = self.users,
            cs = self.arch == Arch::Cs,
            p2p = self.arch == Arch::P2p,
        )
    }

    /// Runs the scenario once and returns its report; fails when any operation failed,
    /// since a benchmark of errors measures nothing.
    pub fn run_once(&self) -> anyhow::Result<RunReport> {
        let text = self.scenario_text();
        let scenario = versus::scenario::parse("bench-scenario.toml", &text, &[])
            .map_err(|e| anyhow!("the benchmark scenario is invalid: {e}"))?;
        let stop = CancellationToken::new();
        let run = self.runtime.block_on(versus::commands::run::run_arch(
            &scenario,
            self.arch,
            ProgressMode::Quiet,
            &stop,
        ))?;
        let report = run.report;
        let (done, failed) = report
            .ops
            .values()
            .fold((0, 0), |(d, f), op| (d + op.count, f + op.errors_total));
        if done == 0 || failed > 0 {
            return Err(anyhow!(
                "{failed} of {done} operations of the {} benchmark run failed",
                self.arch
            ));
        }
        Ok(report)
    }

    /// The timed part of one run: a flash crowd's makespan, a fetch run's duration.
    pub fn timed(&self, report: &RunReport) -> anyhow::Result<Duration> {
        let seconds = match self.workload {
            Workload::FlashCrowd => report
                .completion
                .as_ref()
                .map(|c| c.makespan_s)
                .ok_or_else(|| anyhow!("the flash crowd reported no makespan"))?,
            Workload::Fetch { .. } => report.duration_s,
        };
        Ok(Duration::from_secs_f64(seconds))
    }

    /// What `iters` iterations took, for criterion's `iter_custom`: the sum of the timed
    /// parts of `iters` runs.
    pub fn measure(&self, iters: u64) -> anyhow::Result<Duration> {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            total += self.timed(&self.run_once()?)?;
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_parse() {
        for workload in [Workload::FlashCrowd, Workload::Fetch { ops_per_user: 5 }] {
            for arch in ["cs", "p2p"] {
                let bench = ArchBench::new(arch, workload, 3, "64KiB").expect("a fixture");
                let text = bench.scenario_text();
                let scenario = versus::scenario::parse("t.toml", &text, &[])
                    .unwrap_or_else(|e| panic!("{e}\n{text}"));
                assert_eq!(scenario.load.users, 3, "{text}");
                assert_eq!(scenario.architectures.p2p, arch == "p2p");
                if workload == (Workload::Fetch { ops_per_user: 5 }) {
                    assert_eq!(scenario.load.iterations, 5);
                    assert_eq!(bench.ops_per_iteration(), 15);
                } else {
                    assert_eq!(bench.ops_per_iteration(), 3);
                }
            }
        }
        assert!(ArchBench::new("mesh", Workload::FlashCrowd, 1, "1KiB").is_err());
    }
}
