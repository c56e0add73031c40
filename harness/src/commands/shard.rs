//! `versus run --shard I/M --start-at T` (or `--coordinator URL`) and `--attach FILE`:
//! the flags, and a shard's run — its slice of the users or arrivals, from the common
//! start, against shared targets, into a shard report that `versus merge --shards` (or
//! the coordinator) adds up exactly. A shard judges no thresholds and no claims: they
//! are judged once, on the merged report, so its exit code is 0 unless the run failed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use tokio_util::sync::CancellationToken;

use super::coordinate::client;
use super::run::{
    architectures, publish_amended, run_arch_reaching, Described, Finished, Outputs, RunOptions,
};
use crate::arch::Arch;
use crate::error::Failure;
use crate::launch::attach::Targets;
use crate::plan::shard::{parse_start_at, rfc3339, slice, Shard};
use crate::report::model::ShardInfo;
use crate::report::shard_data::scenario_hash;
use crate::scenario::model::WorkloadKind;
use crate::scenario::Scenario;

/// The command-line flags of sharding and attach mode.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ShardArgs {
    /// Run slice I of M (0-based: 0/4 … 3/4, a Kubernetes Indexed Job's completion
    /// index): the users u with u % M == I (closed model), or arrival k of the one
    /// seeded schedule when k % M == I (open model). Needs --start-at or --coordinator.
    #[arg(long, value_name = "I/M")]
    pub shard: Option<String>,
    /// The shards' common start, RFC 3339 in UTC (2026-12-01T23:30:00Z): the load waits
    /// until then; a start more than 5 s in the past is refused.
    #[arg(
        long,
        value_name = "RFC3339",
        requires = "shard",
        conflicts_with = "coordinator"
    )]
    pub start_at: Option<String>,
    /// Join the coordinator at this URL (`versus coordinate`): it hands out the slice
    /// (unless --shard gives it) and the start, and collects the report.
    #[arg(long, value_name = "URL")]
    pub coordinator: Option<String>,
    /// Drive targets the harness did not start, listed in this TOML file (their data
    /// and admin addresses, see the README); faults are refused.
    #[arg(long, value_name = "FILE")]
    pub attach: Option<PathBuf>,
}

/// What the sharding flags asked, checked.
#[derive(Debug, Clone, Default)]
pub struct ShardOptions {
    /// `--shard`.
    pub shard: Option<Shard>,
    /// `--start-at`.
    pub start_at: Option<SystemTime>,
    /// `--coordinator`.
    pub coordinator: Option<String>,
    /// `--attach`, read.
    pub attach: Option<Arc<Targets>>,
}

impl ShardArgs {
    /// Parses and checks the flags (bad ones are usage errors, exit 2).
    pub fn into_options(self) -> Result<ShardOptions, Failure> {
        let shard = self
            .shard
            .as_deref()
            .map(Shard::parse)
            .transpose()
            .map_err(|e| Failure::Usage(e.to_string()))?;
        let start_at = self
            .start_at
            .as_deref()
            .map(|t| parse_start_at(t, SystemTime::now()))
            .transpose()
            .map_err(Failure::Usage)?;
        if shard.is_some() && start_at.is_none() && self.coordinator.is_none() {
            return Err(Failure::Usage(
                "--shard needs a common start: --start-at RFC3339 (the same for every shard) or --coordinator URL".into(),
            ));
        }
        let attach = self
            .attach
            .as_deref()
            .map(Targets::read)
            .transpose()
            .map_err(|e| Failure::Usage(e.to_string()))?
            .map(Arc::new);
        Ok(ShardOptions {
            shard,
            start_at,
            coordinator: self.coordinator,
            attach,
        })
    }
}

impl ShardOptions {
    /// True when this process is one shard of a run.
    pub fn is_sharded(&self) -> bool {
        self.shard.is_some() || self.coordinator.is_some()
    }
}

/// The one architecture a shard runs; refuses what cannot be sharded.
fn single_run(scenario: &Scenario, opts: &RunOptions) -> Result<Arch, Failure> {
    let archs = architectures(scenario, opts.arch);
    let [arch] = archs.as_slice() else {
        return Err(Failure::Usage(
            "a shard runs one architecture: pass --arch cs or --arch p2p (each shard runs the same one)".into(),
        ));
    };
    if opts.repeat > 1 || scenario.phase_scenarios().len() > 1 {
        return Err(Failure::Usage(
            "a shard runs once: --repeat and [[phases]] are not supported with --shard (run one phase per sharded run)".into(),
        ));
    }
    if scenario.workload.kind != WorkloadKind::Url && opts.shard.attach.is_none() {
        return Err(Failure::Usage(
            "shards drive shared targets: give --attach FILE (or --url URL); shards each starting their own targets would not be one system under load".into(),
        ));
    }
    if !scenario.faults.is_empty() || scenario.churn.is_some() {
        return Err(Failure::Usage(
            "faults cannot be sharded: one process must own them; drop [[faults]] and [churn] from a sharded run".into(),
        ));
    }
    Ok(*arch)
}

/// Carries out one shard's run of `scenario`; returns the exit code.
pub async fn run(
    opts: RunOptions,
    scenario: Scenario,
    stop: CancellationToken,
) -> anyhow::Result<i32> {
    let arch = single_run(&scenario, &opts)?;
    let resolved = serde_json::to_value(&scenario)?;
    let hash = scenario_hash(&resolved);
    let (shard, start_at) = match &opts.shard.coordinator {
        Some(url) => {
            let given = client::join(url, opts.shard.shard, &hash, &stop).await?;
            (given.shard, given.start_at)
        }
        None => match (opts.shard.shard, opts.shard.start_at) {
            (Some(shard), Some(at)) => (shard, at),
            _ => {
                return Err(
                    Failure::Usage("--shard needs --start-at or --coordinator".into()).into(),
                )
            }
        },
    };
    eprintln!("shard {shard}: the load starts at {}", rfc3339(start_at));
    let started = SystemTime::now();
    let result = run_arch_reaching(&scenario, arch, &opts, &stop, |plan| {
        slice(&mut plan.load, shard);
        plan.load.start_at = Some(start_at);
    })
    .await;
    let (done, failure) = match result {
        Ok(run) => (vec![run], None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let finished = Finished::new(done, started, &stop, failure);
    let info = ShardInfo {
        index: Some(shard.index),
        count: shard.count,
        start_at: rfc3339(start_at),
        scenario_hash: hash,
        merged_from: Vec::new(),
    };
    let described = Described {
        scenario: resolved,
        thresholds: &[],
        claims: Some(&[]),
    };
    let outputs = Outputs {
        command: "run",
        dir: &opts.out,
        ci: &opts.ci,
    };
    let published = publish_amended(described, finished, outputs, |report| {
        report.shard = Some(info);
    });
    let Some(url) = &opts.shard.coordinator else {
        return published;
    };
    match &published {
        Ok(_) => client::submit(url, shard, &opts.out.join("report.json")).await?,
        Err(e) => client::fail(url, shard, &format!("{e:#}")).await,
    }
    published
}
