//! `versus run`: resolve the scenario, run each architecture it asks for, evaluate the
//! thresholds, print the table, write the report files, and pick the exit code.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use tokio_util::sync::CancellationToken;

use crate::analyse::{claims, side_by_side, thresholds};
use crate::arch::Arch;
use crate::commands::ci::CiArgs;
use crate::commands::request_flags::{url_scenario, RequestFlags};
use crate::drive::progress::ProgressMode;
use crate::error::{Failure, EXIT_FAILED_CHECK, EXIT_INTERRUPTED, EXIT_OK};
use crate::execute::execute;
use crate::launch::docker::DockerLauncher;
use crate::launch::process::ProcessLauncher;
use crate::machine::MachineInfo;
use crate::plan::ArchPlan;
use crate::plan::TlsPlan;
use crate::report;
use crate::report::build::ArchRun;
use crate::report::model::{Report, RunReport, SideBySide, ToolInfo, SCHEMA_VERSION};
use crate::report::RunLog;
use crate::scenario::model::{LauncherKind, WorkloadKind};
use crate::scenario::{self, Override, Scenario};
use versus_targets::tls::Trust;

/// The trust `--insecure` and `--cacert FILE` ask for, if either was given.
pub fn trust(insecure: bool, cacert: Option<PathBuf>) -> Option<Trust> {
    match (insecure, cacert) {
        (true, _) => Some(Trust::Any),
        (false, Some(file)) => Some(Trust::Roots { extra: Some(file) }),
        (false, None) => None,
    }
}

/// Checks `--insecure`/`--cacert` against the scenario: they apply to an `https://` URL
/// only, and the `--cacert` file must be a readable PEM file (else exit 2).
fn check_trust(scenario: &Scenario, trust: Option<&Trust>) -> Result<(), Failure> {
    let Some(trust) = trust else {
        return Ok(());
    };
    let https = scenario.workload.kind == WorkloadKind::Url
        && scenario
            .workload
            .resolved
            .list
            .first()
            .is_some_and(|r| r.target.tls);
    if !https {
        return Err(Failure::Usage(
            "--insecure and --cacert apply only to an https:// URL (--url https://…, or a kind = \"url\" scenario with one)".into(),
        ));
    }
    versus_targets::tls::client_config(trust)
        .map(drop)
        .map_err(|e| Failure::Usage(e.to_string()))
}

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
    /// Drive this URL instead of a scenario's targets.
    pub url: Option<String>,
    /// What to send to it (`--method`, `-H`, `--body`, `--requests`, `--order`).
    pub requests: RequestFlags,
    /// Architectures to run (the scenario's `[architectures]` when `None`).
    pub arch: Option<ArchChoice>,
    /// `--set` overrides and the shorthand flags, in order.
    pub overrides: Vec<Override>,
    /// Where the report files go.
    pub out: PathBuf,
    /// How to show progress.
    pub progress: ProgressMode,
    /// Repetitions per architecture (at least 1), run interleaved: cs p2p cs p2p …
    pub repeat: u32,
    /// Drive a URL that resolves beyond loopback.
    pub allow_remote_target: bool,
    /// Whom an `https://` URL's users trust (`--insecure`, `--cacert`); `None` when
    /// neither was given (the built-in roots).
    pub trust: Option<Trust>,
    /// JUnit XML and the job summary.
    pub ci: CiArgs,
    /// `--shard`, `--start-at`, `--coordinator`, `--attach`.
    pub shard: crate::commands::shard::ShardOptions,
}

/// Where a finished run's outputs go.
#[derive(Debug, Clone, Copy)]
pub struct Outputs<'a> {
    /// The command, as the CI outputs name it: `run` or `sweep`.
    pub command: &'static str,
    /// The report directory (`--out`).
    pub dir: &'a Path,
    /// JUnit XML and the job summary.
    pub ci: &'a CiArgs,
}

/// Reads the scenario the options point at, with overrides applied.
pub fn resolve_scenario(opts: &RunOptions) -> anyhow::Result<Scenario> {
    if opts.url.is_some() || opts.requests.any() {
        if opts.scenario.is_some() {
            return Err(Failure::Usage(
                "give either a SCENARIO file or --url/--requests (a scenario sets method, headers, body, requests, http2 and streams as [workload] keys), not both".into(),
            )
            .into());
        }
        if opts.url.is_none() && opts.requests.requests.is_none() {
            return Err(Failure::Usage(
                "--method, -H/--header, --body, --order, --http2 and --streams need --url URL (or --requests FILE)"
                    .into(),
            )
            .into());
        }
        return Ok(url_scenario(
            opts.url.as_deref(),
            &opts.requests,
            &opts.overrides,
        )?);
    }
    Ok(match &opts.scenario {
        Some(path) => scenario::load_file(path, &opts.overrides)?,
        None => scenario::parse("<quickstart>", scenario::QUICKSTART, &opts.overrides)?,
    })
}

/// The architectures to run: the command line's choice, else the scenario's.
pub fn architectures(scenario: &Scenario, choice: Option<ArchChoice>) -> Vec<Arch> {
    if scenario.workload.kind == WorkloadKind::Url {
        return vec![Arch::Cs];
    }
    let (cs, p2p) = match choice {
        Some(ArchChoice::Cs) => (true, false),
        Some(ArchChoice::P2p) => (false, true),
        Some(ArchChoice::Both) => (true, true),
        None => (scenario.architectures.cs, scenario.architectures.p2p),
    };
    [(Arch::Cs, cs), (Arch::P2p, p2p)]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(a, _)| a)
        .collect()
}

/// Runs `scenario` once on `arch`, its nodes started by the scenario's launcher.
pub async fn run_arch(
    scenario: &Scenario,
    arch: Arch,
    progress: ProgressMode,
    stop: &CancellationToken,
) -> anyhow::Result<ArchRun> {
    let plan = ArchPlan::build(scenario, arch).map_err(|e| Failure::Usage(e.to_string()))?;
    let mut run = execute_launched(&plan, scenario, progress, stop).await?;
    describe_run(&mut run.report, scenario);
    Ok(run)
}

/// Carries out `plan` with the launcher `scenario` chooses: child processes, or
/// containers on a network made for the run (removed with them when it ends).
async fn execute_launched(
    plan: &ArchPlan,
    scenario: &Scenario,
    progress: ProgressMode,
    stop: &CancellationToken,
) -> anyhow::Result<ArchRun> {
    let launcher = scenario.architectures.launcher;
    if launcher == LauncherKind::Process || plan.nodes.is_empty() {
        return execute(plan, ProcessLauncher, progress, stop).await;
    }
    let docker = DockerLauncher::start(&scenario.architectures.image)
        .await
        .map_err(|e| Failure::CannotRun(format!("architectures.launcher = \"docker\": {e}")))?;
    tracing::info!(
        "docker run {} on image {}",
        docker.run_id(),
        scenario.architectures.image
    );
    let result = execute(plan, docker.clone(), progress, stop).await;
    docker.remove().await;
    result
}

/// Records in `run` the conditions `scenario` gave it: in words, and its network profile.
fn describe_run(run: &mut RunReport, scenario: &Scenario) {
    run.conditions = Some(scenario.conditions());
    run.network = Some(crate::report::model::RunNetwork::of(
        &scenario.network,
        run.users as usize,
    ));
}

/// As [`run_arch`], with the command line's leave to drive a URL beyond loopback, on
/// the `--attach` targets if given, the plan first adjusted by `tune` (a shard's slice).
pub(crate) async fn run_arch_reaching(
    scenario: &Scenario,
    arch: Arch,
    opts: &RunOptions,
    stop: &CancellationToken,
    tune: impl FnOnce(&mut ArchPlan),
) -> anyhow::Result<ArchRun> {
    let mut plan = ArchPlan::build(scenario, arch).map_err(|e| Failure::Usage(e.to_string()))?;
    plan.allow_remote_target = opts.allow_remote_target;
    if let (Some(TlsPlan::Url(trust)), Some(given)) = (&mut plan.tls, &opts.trust) {
        *trust = given.clone();
    }
    tune(&mut plan);
    let mut run = match &opts.shard.attach {
        Some(targets) if !plan.nodes.is_empty() => {
            // Attached nodes run however their operator started them.
            plan.peers_per_process = 0;
            crate::execute::execute_attached(&plan, targets, opts.progress, stop).await?
        }
        _ => execute_launched(&plan, scenario, opts.progress, stop).await?,
    };
    describe_run(&mut run.report, scenario);
    Ok(run)
}

/// Rejects `--arch p2p` on a url workload.
pub fn check_arch(scenario: &Scenario, choice: Option<ArchChoice>) -> anyhow::Result<()> {
    if scenario.workload.kind == WorkloadKind::Url && choice == Some(ArchChoice::P2p) {
        return Err(Failure::Usage(
            "a url workload drives an HTTP server: --arch p2p does not apply".into(),
        )
        .into());
    }
    Ok(())
}

/// Carries out `versus run`; returns the exit code.
pub async fn run(opts: RunOptions, stop: CancellationToken) -> anyhow::Result<i32> {
    let scenario = resolve_scenario(&opts)?;
    check_arch(&scenario, opts.arch)?;
    check_trust(&scenario, opts.trust.as_ref())?;
    if opts.shard.is_sharded() {
        return crate::commands::shard::run(opts, scenario, stop).await;
    }
    let started = SystemTime::now();
    let mut done = Vec::new();
    let mut failure = None;
    let archs = architectures(&scenario, opts.arch);
    'runs: for (phase, phase_scenario) in scenario.phase_scenarios() {
        for repetition in 0..opts.repeat.max(1) {
            for arch in &archs {
                if stop.is_cancelled() {
                    break 'runs;
                }
                if let Some(name) = &phase {
                    eprintln!("phase {name}: {arch}");
                }
                if opts.repeat > 1 {
                    eprintln!("repetition {}/{}: {arch}", repetition + 1, opts.repeat);
                }
                match run_arch_reaching(&phase_scenario, *arch, &opts, &stop, |_| {}).await {
                    Ok(mut run) => {
                        run.report.repetition = repetition;
                        run.report.phase = phase.clone();
                        done.push(run);
                    }
                    Err(e) => {
                        failure = Some(e);
                        break 'runs;
                    }
                }
            }
        }
    }
    let finished = Finished::new(done, started, &stop, failure);
    let outputs = Outputs {
        command: "run",
        dir: &opts.out,
        ci: &opts.ci,
    };
    publish(&scenario, finished, outputs)
}
/// The runs a command carried out, and how it ended.
pub struct Finished {
    /// The runs that completed, in order.
    pub done: Vec<ArchRun>,
    /// When the command started.
    pub started: SystemTime,
    /// Ctrl-C stopped it.
    pub interrupted: bool,
    /// A run failed: what came before it is still reported, then this is the result.
    pub failure: Option<anyhow::Error>,
}

impl Finished {
    /// How a command ended: an interruption is not a failure (its report is partial,
    /// exit 130).
    pub fn new(
        done: Vec<ArchRun>,
        started: SystemTime,
        stop: &CancellationToken,
        failure: Option<anyhow::Error>,
    ) -> Self {
        let interrupted = stop.is_cancelled()
            || failure
                .as_ref()
                .is_some_and(|e| matches!(e.downcast_ref(), Some(Failure::Interrupted(_))));
        let failure = failure.filter(|_| !interrupted);
        Finished {
            done,
            started,
            interrupted,
            failure,
        }
    }
}

/// Assembles the report of `done` runs (thresholds, side by side, claims), prints the
/// terminal table, writes the files into `outputs.dir` (and the CI outputs asked for),
/// and returns the exit code; a run that failed is the result once the report of the
/// runs before it is written.
pub fn publish(
    scenario: &Scenario,
    finished: Finished,
    outputs: Outputs<'_>,
) -> anyhow::Result<i32> {
    let described = Described {
        scenario: serde_json::to_value(scenario)?,
        thresholds: &scenario.thresholds.0,
        claims: None,
    };
    publish_described(described, finished, outputs)
}

/// What a report says it ran: the scenario (resolved, as JSON), its thresholds, and which
/// claims it answers.
pub struct Described<'a> {
    /// The resolved scenario, or for the claim suite its experiments.
    pub scenario: serde_json::Value,
    /// Thresholds to evaluate on every run.
    pub thresholds: &'a [crate::scenario::threshold::Threshold],
    /// The claims to keep in the report, by number (`None`: every claim).
    pub claims: Option<&'a [u8]>,
}

/// As [`publish`], for a report [`Described`] by its caller (the claim suite).
pub fn publish_described(
    described: Described<'_>,
    finished: Finished,
    outputs: Outputs<'_>,
) -> anyhow::Result<i32> {
    publish_amended(described, finished, outputs, |_| {})
}

/// As [`publish_described`], with `amend` applied to the report before it is shown
/// and written (a shard marks its report as one).
pub fn publish_amended(
    described: Described<'_>,
    finished: Finished,
    outputs: Outputs<'_>,
    amend: impl FnOnce(&mut Report),
) -> anyhow::Result<i32> {
    let out = outputs.dir;
    let Finished {
        done,
        started,
        interrupted,
        failure,
    } = finished;
    if done.is_empty() {
        if let Some(e) = failure {
            return Err(e);
        }
    }
    let (runs, mut logs): (Vec<_>, Vec<_>) = done.into_iter().map(|d| (d.report, d.log)).unzip();
    name_logs(&runs, &mut logs);
    let side_by_side = side_by_side::pairs(&runs)
        .into_iter()
        .map(|(cs, p2p)| SideBySide {
            users: cs.users,
            phase: side_by_side_context(cs),
            rows: side_by_side::compare(cs, p2p),
        })
        .collect();
    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo::current(),
        machine: MachineInfo::current(),
        started_at: humantime::format_rfc3339_seconds(started).to_string(),
        scenario: described.scenario,
        thresholds: thresholds::evaluate(described.thresholds, &runs),
        runs,
        interrupted,
        incomplete: failure.as_ref().map(|e| format!("{e:#}")),
        side_by_side,
        claims: Vec::new(),
        crossover: None,
        shard: None,
    };
    if report.workload_compares_architectures() {
        report.claims = claims::evaluate(&report);
        if let Some(keep) = described.claims {
            report.claims.retain(|c| keep.contains(&c.number));
        }
        report.crossover = claims::crossover::map(&report);
    }
    amend(&mut report);
    println!("{}", report::table::terminal(&report));
    let charts = report::write_all(out, &report, &logs, started)?;
    eprintln!("report written to {}", out.join("report.md").display());
    outputs
        .ci
        .report_outputs(outputs.command, &report, out, &charts)?;
    if let Some(e) = failure {
        eprintln!("the report holds the runs that finished before this failure");
        return Err(e);
    }
    Ok(exit_code_of(&report))
}

/// The exit code of a finished report: 130 if interrupted, 1 if a threshold failed,
/// else 0.
pub fn exit_code_of(report: &Report) -> i32 {
    if report.interrupted {
        EXIT_INTERRUPTED
    } else if !report.thresholds_passed() {
        EXIT_FAILED_CHECK
    } else {
        EXIT_OK
    }
}

/// What sets a side-by-side pair apart beyond its users: the claim suite's experiment,
/// the scenario's phase, the open model's rate (`response · 40/s`).
fn side_by_side_context(run: &RunReport) -> Option<String> {
    let rate = run
        .rate_per_s
        .filter(|_| run.experiment.is_some())
        .map(|r| format!("{r:.0}/s"));
    let parts: Vec<String> = [run.experiment.clone(), run.phase.clone(), rate]
        .into_iter()
        .flatten()
        .collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// Sweeps and repetitions have several runs per architecture: names their interval logs
/// apart (`cs-8users-2servers-rep2-fetch.hlog`).
fn name_logs(runs: &[RunReport], logs: &mut [RunLog]) {
    let sizes = |arch: Arch| {
        let mut sizes: Vec<(u32, Option<u32>)> = runs
            .iter()
            .filter(|r| r.arch == arch)
            .map(|r| (r.users, r.servers))
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        sizes.len()
    };
    for (log, run) in logs.iter_mut().zip(runs) {
        if sizes(run.arch) > 1 {
            let servers = run
                .servers
                .map_or_else(String::new, |s| format!("-{s}servers"));
            log.arch = format!("{}-{}users{servers}", run.arch, run.users);
        }
        if runs.iter().any(|r| r.repetition > 0) {
            log.arch = format!("{}-rep{}", log.arch, run.repetition + 1);
        }
        if let Some(phase) = &run.phase {
            log.arch = format!("{}-{phase}", log.arch);
        }
        if let Some(rate) = run
            .rate_per_s
            .filter(|_| runs.iter().any(|r| r.experiment.is_some()))
        {
            log.arch = format!("{}-{rate:.0}per-s", log.arch);
        }
        if let Some(experiment) = &run.experiment {
            log.arch = format!("{experiment}-{}", log.arch);
        }
    }
    // Whatever is left alike (two runs of one configuration and repetition) is numbered.
    let mut seen = std::collections::HashMap::<String, u32>::new();
    for log in logs.iter_mut() {
        let n = seen.entry(log.arch.clone()).or_default();
        *n += 1;
        if *n > 1 {
            log.arch = format!("{}-{n}", log.arch);
        }
    }
}
