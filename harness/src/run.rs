//! `versus run`: resolve the scenario, run each architecture it asks for, evaluate the
//! thresholds, print the table, write the report files, and pick the exit code.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use tokio_util::sync::CancellationToken;

use crate::analysis::thresholds;
use crate::drive::drive;
use crate::driver::http::{Endpoint, HttpConnector, Target};
use crate::error::{Failure, EXIT_FAILED_CHECK, EXIT_INTERRUPTED, EXIT_OK};
use crate::load::ModelPlan;
use crate::machine::MachineInfo;
use crate::plan::load_plan;
use crate::progress::ProgressMode;
use crate::record::resources::{ResourceSampler, HARNESS};
use crate::report::build::{run_report, RunMeta};
use crate::report::model::{Report, RunReport, ToolInfo, Traffic, SCHEMA_VERSION};
use crate::report::{self, RunLog};
use crate::scenario::model::WorkloadKind;
use crate::scenario::{self, Override, Scenario};
use crate::workload::RepeatGet;

/// Which architectures to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ArchChoice {
    /// Client-server only.
    Cs,
    /// Peer-to-peer only.
    P2p,
    /// Both, side by side (the default).
    Both,
}

/// Everything `versus run` was asked.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The scenario file; `None` runs the embedded quickstart (or `url`).
    pub scenario: Option<PathBuf>,
    /// Drive this URL with GETs instead of a scenario's targets.
    pub url: Option<String>,
    /// Architectures to run (the scenario's `[architectures]` when `None`).
    pub arch: Option<ArchChoice>,
    /// `--set` overrides and the shorthand flags, in order.
    pub overrides: Vec<Override>,
    /// Where the report files go.
    pub out: PathBuf,
    /// How to show progress.
    pub progress: ProgressMode,
}

/// Reads the scenario the options point at, with overrides applied.
pub fn resolve_scenario(opts: &RunOptions) -> anyhow::Result<Scenario> {
    if let Some(url) = &opts.url {
        if opts.scenario.is_some() {
            return Err(
                Failure::Usage("give either a SCENARIO file or --url, not both".into()).into(),
            );
        }
        let text = format!(
            "name = \"url\"\ndescription = \"GET {url} again and again.\"\n[workload]\nkind = \"url\"\nurl = {}\n",
            toml_string(url)
        );
        return Ok(scenario::parse("--url", &text, &opts.overrides)?);
    }
    Ok(match &opts.scenario {
        Some(path) => scenario::load_file(path, &opts.overrides)?,
        None => scenario::parse("<quickstart>", scenario::QUICKSTART, &opts.overrides)?,
    })
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Carries out `versus run`; returns the exit code.
pub async fn run(opts: RunOptions, stop: CancellationToken) -> anyhow::Result<i32> {
    let scenario = resolve_scenario(&opts)?;
    let started = SystemTime::now();
    let mut runs = Vec::new();
    let mut logs = Vec::new();
    match scenario.workload.kind {
        WorkloadKind::Url => {
            if opts.arch == Some(ArchChoice::P2p) {
                return Err(Failure::Usage(
                    "a url workload drives an HTTP server: --arch p2p does not apply".into(),
                )
                .into());
            }
            let (run, log) = run_url(&scenario, &opts, &stop).await?;
            runs.push(run);
            logs.push(log);
        }
        WorkloadKind::Fetch | WorkloadKind::FlashCrowd => {
            return Err(Failure::CannotRun(format!(
                "workload kind `{:?}` needs the reference targets, which this build cannot launch yet; \
                 use kind = \"url\" (or `versus run --url`)",
                scenario.workload.kind
            ))
            .into());
        }
    }
    let interrupted = stop.is_cancelled();
    let report = Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo::current(),
        machine: MachineInfo::current(),
        started_at: humantime::format_rfc3339_seconds(started).to_string(),
        scenario: serde_json::to_value(&scenario)?,
        thresholds: thresholds::evaluate(&scenario.thresholds.0, &runs),
        runs,
        interrupted,
    };
    println!("{}", report::table::terminal(&report));
    report::write_all(&opts.out, &report, &logs, started)?;
    eprintln!("report written to {}", opts.out.join("report.md").display());
    Ok(if interrupted {
        EXIT_INTERRUPTED
    } else if !report.thresholds_passed() {
        EXIT_FAILED_CHECK
    } else {
        EXIT_OK
    })
}

/// Drives the scenario's URL (any HTTP/1.1 server).
async fn run_url(
    scenario: &Scenario,
    opts: &RunOptions,
    stop: &CancellationToken,
) -> anyhow::Result<(RunReport, RunLog)> {
    let url = scenario.workload.url.as_deref().unwrap_or_default();
    let target = Target::parse(url).map_err(|e| Failure::Usage(e.to_string()))?;
    let addr = target
        .resolve()
        .map_err(|e| Failure::CannotRun(e.to_string()))?;
    let connector = HttpConnector::new(
        vec![Endpoint {
            addr,
            authority: target.authority.clone(),
        }],
        scenario.network.download,
    );
    let counters = connector.counters();
    let plan = load_plan(scenario);
    let mut sampler = ResourceSampler::new();
    let driven = drive(
        &plan,
        connector,
        Arc::new(RepeatGet::new(&target.path)),
        &mut sampler,
        stop,
        opts.progress,
        "cs",
    )
    .await?;
    let (model, users, rate) = match &plan.model {
        ModelPlan::Closed(c) => ("closed", c.users, None),
        ModelPlan::Open(o) => ("open", o.connections, Some(o.schedule.max_level())),
    };
    let traffic = BTreeMap::from([(
        HARNESS.to_string(),
        Traffic {
            tx_bytes: counters.written(),
            rx_bytes: counters.read(),
        },
    )]);
    let meta = RunMeta {
        arch: "cs".into(),
        target: url.to_string(),
        model: model.into(),
        users,
        rate_per_s: rate,
    };
    let report = run_report(
        meta,
        &driven.recorded,
        driven.duration_s,
        driven.resources,
        driven.harness,
        traffic,
    );
    Ok((
        report,
        RunLog {
            arch: "cs".into(),
            entries: driven.recorded.hlog,
        },
    ))
}
