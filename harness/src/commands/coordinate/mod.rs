//! `versus coordinate --shards M --out DIR`: the coordinator of a sharded run. Shards
//! (`versus run --coordinator URL`) dial it over HTTP; it waits up to `--wait` for all
//! M (exit 3 naming the missing ones otherwise), hands each its slice and one common
//! start (`--lead` after the last joined), collects their reports, merges them exactly
//! ([`crate::analyse::shard_merge`]) and writes the one report into `--out`; the exit
//! code is the merged thresholds', as for `versus run`.

mod board;
pub mod client;
pub mod protocol;
mod server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine;
use tokio_util::sync::CancellationToken;
use versus_targets::exposure::ExposureArgs;
use versus_targets::units::HumanDuration;

use crate::error::Failure;
use crate::record::aggregate::HlogEntry;
use crate::report::model::Report;
use crate::report::RunLog;
use board::{Board, Phase};

/// How often the coordinator looks at its board.
const POLL: Duration = Duration::from_millis(100);

/// Command-line options of `versus coordinate`.
#[derive(clap::Args, Debug, Clone)]
pub struct CoordinateArgs {
    /// How many shards make up the run (M).
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub shards: u32,
    /// Where shards reach it (non-loopback needs --allow-remote and a token).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7700")]
    pub listen: SocketAddr,
    /// How long to wait for every shard to join.
    #[arg(long, value_name = "D", default_value = "120s")]
    pub wait: HumanDuration,
    /// The common start is this long after the last shard joined (time for the shards to
    /// publish and connect).
    #[arg(long, value_name = "D", default_value = "5s")]
    pub lead: HumanDuration,
    /// How long to wait for the reports once the run has started.
    #[arg(long, value_name = "D", default_value = "1h")]
    pub report_timeout: HumanDuration,
    /// Directory for the merged report.json, report.md, report.html, *.hlog and the
    /// shards' own reports (shards/shard-I.json).
    #[arg(long, value_name = "DIR", default_value = "versus-report")]
    pub out: PathBuf,
    /// Exposure beyond loopback (--allow-remote, --token-file or VERSUS_TOKEN).
    #[command(flatten)]
    pub exposure: ExposureArgs,
}

/// Carries out `versus coordinate`; returns the exit code.
pub async fn coordinate(args: CoordinateArgs, stop: CancellationToken) -> anyhow::Result<i32> {
    let token = args
        .exposure
        .check(&[("--listen", args.listen)])
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| {
            Failure::CannotRun(format!("cannot listen on --listen {}: {e}", args.listen))
        })?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::CannotRun(format!("cannot read the listening address: {e}")))?;
    let board = Arc::new(Board::new(args.shards, args.lead.0));
    eprintln!(
        "coordinator listening on http://{local}: waiting up to {} for {} shards",
        humantime::format_duration(args.wait.0),
        args.shards
    );
    let server = tokio::spawn(server::serve(listener, board.clone(), token));
    let result = run(&args, &board, &stop).await;
    // Let the last answers (a 503 to waiting shards) leave before the server goes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.abort();
    result
}

async fn run(
    args: &CoordinateArgs,
    board: &Board,
    stop: &CancellationToken,
) -> anyhow::Result<i32> {
    let start_at = wait_for_joins(args, board, stop).await?;
    eprintln!(
        "all {} shards joined: the load starts at {}",
        args.shards,
        crate::plan::shard::rfc3339(start_at)
    );
    let deadline = tokio::time::Instant::now() + args.report_timeout.0;
    let (reports, failures) = loop {
        let (reports, failures, silent) = board.outcome();
        if let Some((i, why)) = failures.iter().next() {
            return Err(Failure::CannotRun(format!(
                "shard {i}/{} failed, so nothing is merged: {why}",
                args.shards
            ))
            .into());
        }
        if silent.is_empty() {
            break (reports, failures);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Failure::CannotRun(format!(
                "no report from shard(s) {} of {} within --report-timeout {}; nothing is merged",
                list(&silent),
                args.shards,
                humantime::format_duration(args.report_timeout.0)
            ))
            .into());
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.cancelled() => {
                return Err(Failure::Interrupted("waiting for the shards' reports".into()).into())
            }
        }
    };
    debug_assert!(failures.is_empty());
    let mut parsed = Vec::with_capacity(reports.len());
    let shards_dir = args.out.join("shards");
    std::fs::create_dir_all(&shards_dir)
        .map_err(|e| Failure::CannotRun(format!("cannot create {}: {e}", shards_dir.display())))?;
    for (i, bytes) in &reports {
        let label = format!("shard {i}");
        let file = shards_dir.join(format!("shard-{i}.json"));
        std::fs::write(&file, bytes)
            .map_err(|e| Failure::CannotRun(format!("cannot write {}: {e}", file.display())))?;
        let text = String::from_utf8_lossy(bytes);
        let report = crate::report::parse(&label, &text)
            .map_err(|e| Failure::CannotRun(format!("{e:#}")))?;
        parsed.push((label, report));
    }
    let merged = crate::analyse::shard_merge::merge(parsed)
        .map_err(|e| Failure::CannotRun(e.to_string()))?;
    println!("{}", crate::report::table::terminal(&merged));
    crate::report::write_all(&args.out, &merged, &logs(&merged), start_at)?;
    eprintln!(
        "merged report of {} shards written to {}",
        args.shards,
        args.out.join("report.md").display()
    );
    Ok(crate::commands::run::exit_code_of(&merged))
}

/// Waits until every shard has joined (then the common start), or gives up at the
/// deadline, naming the missing shards.
async fn wait_for_joins(
    args: &CoordinateArgs,
    board: &Board,
    stop: &CancellationToken,
) -> anyhow::Result<SystemTime> {
    let deadline = tokio::time::Instant::now() + args.wait.0;
    loop {
        if let Phase::Started(at) = board.phase() {
            return Ok(at);
        }
        if tokio::time::Instant::now() > deadline {
            let (joined, missing) = board.joined();
            let why = format!(
                "only {} of {} shards joined within --wait {} (joined: {}; missing: {}); nothing was run",
                joined.len(),
                args.shards,
                humantime::format_duration(args.wait.0),
                if joined.is_empty() { "none".into() } else { list(&joined) },
                list(&missing)
            );
            board.abandon(&why);
            return Err(Failure::CannotRun(why).into());
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.cancelled() => {
                board.abandon("the coordinator was interrupted");
                return Err(Failure::Interrupted("waiting for the shards to join".into()).into());
            }
        }
    }
}

fn list(indexes: &[u32]) -> String {
    indexes
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The merged per-second histograms of every run, as interval logs.
fn logs(report: &Report) -> Vec<RunLog> {
    let b64 = base64::engine::general_purpose::STANDARD;
    report
        .runs
        .iter()
        .enumerate()
        .map(|(n, run)| RunLog {
            arch: if report.runs.len() > 1 {
                format!("{}-{}", run.arch, n + 1)
            } else {
                run.arch.to_string()
            },
            entries: run
                .shard
                .iter()
                .flat_map(|s| &s.interval_histograms)
                .filter_map(|h| {
                    Some(HlogEntry {
                        index: h.t_s,
                        tag: h.tag.clone(),
                        encoded: b64.decode(h.histogram.trim()).ok()?,
                    })
                })
                .collect(),
        })
        .collect()
}
