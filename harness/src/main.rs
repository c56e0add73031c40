//! The `versus` command line. Only argument parsing and dispatch live here; the work is
//! in the library (`versus::run`, …) and, for `versus server`, in `versus-targets`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use versus::commands::ci::CiArgs;
use versus::commands::exit_code;
use versus::commands::run::{ArchChoice, RunOptions};
use versus::commands::sweep::{parse_counts, SweepOptions};
use versus::drive::progress::ProgressMode;
use versus::error::{EXIT_INTERRUPTED, EXIT_OK};
use versus::scenario::{self, Override};

/// Versus: client-server vs peer-to-peer, measured side by side.
#[derive(Parser)]
#[command(name = "versus", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start-up: the size of its largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run a scenario (the embedded quickstart when none is given) or drive a URL.
    Run(RunArgs),
    /// Run a scenario at several user counts (and server counts) into one report.
    Sweep(SweepArgs),
    /// Run the claim suite: every claim judged over interleaved repetitions, one report.
    Claims(ClaimsArgs),
    /// Compare two report.json files: per-metric ratios, intervals and verdicts.
    Compare(versus::commands::compare::CompareArgs),
    /// Merge report.json files of one scenario and build into one, their runs as repetitions.
    Merge(versus::commands::merge::MergeArgs),
    /// Convert a report.json for dashboards (Bencher BMF, github-action-benchmark).
    Export(versus::commands::export::ExportArgs),
    /// Validate a scenario file without running it.
    Check {
        /// The scenario file (TOML).
        scenario: PathBuf,
    },
    /// Print the JSON Schema of report.json (reports/report.schema.json).
    Schema {
        /// Write the schema to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Coordinate a sharded run: wait for M shards (`versus run --coordinator URL`),
    /// hand out their slices and one start, merge their reports into one.
    Coordinate(versus::commands::coordinate::CoordinateArgs),
    /// Build the targets' container image offline (FROM scratch) from this executable.
    Image(versus::commands::image::ImageArgs),
    /// Run the client-server reference target: an HTTP object store.
    Server(versus_targets::server::ServerArgs),
    /// Run the peer-to-peer reference target: a libp2p swarm node.
    Peer(versus_targets::peer::PeerArgs),
    /// Run several peers in one process (a peer host): each with its own identity,
    /// addresses, store, shaping, admin plane and ready line, on one shared runtime.
    Peers(versus_targets::peer::HostArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// Scenario file (TOML). Without it, the embedded quickstart runs.
    scenario: Option<PathBuf>,
    /// Drive any HTTP server (HTTP/1.1, or HTTP/2 with --http2) with requests to this
    /// URL (http:// or https://; GETs unless --method) instead of a scenario's targets.
    /// With --requests, the base that the file's paths are relative to.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// With --url: the method, such as POST (GET, HEAD, POST, PUT, DELETE, PATCH,
    /// OPTIONS; default GET).
    #[arg(long, value_name = "M")]
    method: Option<String>,
    /// With --url or --requests: a header sent with every request, "Name: value"
    /// (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// With --url: the request body, @FILE to send a file's bytes, or the text itself
    /// (@@text sends "@text").
    #[arg(long, value_name = "@FILE|TEXT", allow_hyphen_values = true)]
    body: Option<String>,
    /// A requests file: one request per line, `METHOD URL [name=NAME] ["Name: value"]...
    /// [@BODYFILE]`, # comments; each name is reported as its own operation, req:NAME.
    /// URLs may be paths when --url gives the host.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["method", "body"])]
    requests: Option<String>,
    /// With --requests: how each user goes through the requests, `cycle` (in file order,
    /// the default) or `random` (seeded, reproducible).
    #[arg(long, value_name = "ORDER", requires = "requests")]
    order: Option<String>,
    /// With --url or --requests: speak HTTP/2 — h2c (prior knowledge) on http://; on
    /// https://, offer ALPN h2 and use HTTP/2 when the server picks it (else HTTP/1.1).
    #[arg(long)]
    http2: bool,
    /// With --http2: concurrent streams per connection, 1 to 1000 — that many users share
    /// one connection (default 1).
    #[arg(long, value_name = "N")]
    streams: Option<u32>,
    /// https:// only: accept any server certificate (the traffic is encrypted but the
    /// server is not authenticated), such as a self-signed one.
    #[arg(long, conflicts_with = "cacert")]
    insecure: bool,
    /// https:// only: also trust the certificates in this PEM file (a CA, or the
    /// server's own self-signed certificate), besides the built-in Mozilla roots.
    #[arg(long, value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// Architectures to run: cs, p2p or both (default: what the scenario enables).
    #[arg(long, value_enum)]
    arch: Option<ArchChoice>,
    /// Concurrent users (closed model); shorthand for --set load.users=N.
    #[arg(long, value_name = "N")]
    users: Option<String>,
    /// How long to run, such as 30s; shorthand for --set load.duration=D.
    #[arg(long, value_name = "D")]
    duration: Option<String>,
    /// Switch to the open model at this arrival rate, such as 500/s (a bare number means per second).
    #[arg(long, value_name = "R")]
    rate: Option<String>,
    /// Drive a --url (or `kind = "url"` scenario) that resolves beyond loopback; without
    /// it only 127.0.0.0/8 and ::1 are driven, so a scenario alone cannot aim load at a
    /// third party.
    #[arg(long)]
    allow_remote_target: bool,
    /// What runs the nodes: child processes or containers (shorthand for --set
    /// architectures.launcher=L; containers need `versus image` first).
    #[arg(long, value_name = "L", value_parser = ["process", "docker"])]
    launcher: Option<String>,
    /// Run each architecture K times, interleaved, keeping every repetition (for `versus compare`).
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    repeat: u32,
    /// Load-generator threads (0 = one per core); shorthand for --set load.threads=N.
    #[arg(long, value_name = "N")]
    threads: Option<String>,
    #[command(flatten)]
    shard: versus::commands::shard::ShardArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(clap::Args)]
struct SweepArgs {
    /// Scenario file (TOML).
    scenario: PathBuf,
    /// User counts, comma-separated, such as 4,8,16,32,64.
    #[arg(long, value_name = "N,N,...")]
    users: String,
    /// Client-server replica counts, comma-separated, such as 1,2,4 (scale-out).
    #[arg(long, value_name = "N,N,...")]
    servers: Option<String>,
    /// Architectures to run: cs, p2p or both (default: what the scenario enables).
    #[arg(long, value_enum)]
    arch: Option<ArchChoice>,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(clap::Args)]
struct ClaimsArgs {
    /// Repetitions of every experiment, interleaved (default 5, or 3 with --quick).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=100))]
    repeat: Option<u32>,
    /// The smaller suite: fewer sizes and loads, 3 repetitions (about 8 minutes on 2 cores
    /// instead of 20).
    #[arg(long)]
    quick: bool,
    /// Only the experiments that answer these claims, such as 1,8 (the report keeps those
    /// claims only).
    #[arg(long, value_name = "N,N,...")]
    only: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

impl ClaimsArgs {
    fn into_options(
        self,
    ) -> Result<versus::commands::claims::ClaimsOptions, versus::error::Failure> {
        let overrides = parse_sets(&self.output.set).map_err(versus::error::Failure::Usage)?;
        Ok(versus::commands::claims::ClaimsOptions {
            out: self.output.out,
            repeat: self.repeat,
            quick: self.quick,
            only: match &self.only {
                Some(text) => versus::commands::claims::parse_only(text)?,
                None => Vec::new(),
            },
            overrides,
            progress: self.output.progress.into(),
            ci: self.output.ci,
        })
    }
}

/// What `run` and `sweep` share: overrides, where the report goes, progress display.
#[derive(clap::Args)]
struct OutputArgs {
    /// Override any scenario key, such as --set network.latency=25ms (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Directory for report.json, report.md, *.hlog and *.svg.
    #[arg(long, value_name = "DIR", default_value = "versus-report")]
    out: PathBuf,
    /// Progress display: a bar on a terminal and plain lines otherwise (auto), plain lines, or none.
    #[arg(long, value_enum, default_value = "auto")]
    progress: ProgressArg,
    #[command(flatten)]
    ci: CiArgs,
}

impl SweepArgs {
    fn into_options(self) -> Result<SweepOptions, versus::error::Failure> {
        let overrides = parse_sets(&self.output.set).map_err(versus::error::Failure::Usage)?;
        Ok(SweepOptions {
            scenario: self.scenario,
            users: parse_counts("--users", &self.users)?,
            servers: match &self.servers {
                Some(s) => parse_counts("--servers", s)?,
                None => Vec::new(),
            },
            arch: self.arch,
            overrides,
            out: self.output.out,
            progress: self.output.progress.into(),
            ci: self.output.ci,
        })
    }
}

fn parse_sets(sets: &[String]) -> Result<Vec<Override>, String> {
    sets.iter()
        .map(|t| Override::parse(t).map_err(|e| format!("--set: {e}")))
        .collect()
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ProgressArg {
    Auto,
    Plain,
    None,
}

impl RunArgs {
    fn into_options(self) -> Result<RunOptions, String> {
        let mut overrides = parse_sets(&self.output.set)?;
        if let Some(users) = &self.users {
            overrides.push(Override::from_flag("--users", "load.users", users));
        }
        if let Some(duration) = &self.duration {
            overrides.push(Override::from_flag("--duration", "load.duration", duration));
        }
        if let Some(launcher) = &self.launcher {
            overrides.push(Override::from_flag(
                "--launcher",
                "architectures.launcher",
                launcher,
            ));
        }
        if let Some(threads) = &self.threads {
            overrides.push(Override::from_flag("--threads", "load.threads", threads));
        }
        if let Some(rate) = &self.rate {
            let rate = if rate.contains('/') {
                rate.clone()
            } else {
                format!("{rate}/s")
            };
            overrides.push(Override::from_flag("--rate", "load.model", "open"));
            overrides.push(Override::from_flag("--rate", "load.rate", &rate));
        }
        Ok(RunOptions {
            scenario: self.scenario,
            url: self.url,
            requests: versus::commands::request_flags::RequestFlags {
                method: self.method,
                headers: self.headers,
                body: self.body,
                requests: self.requests,
                order: self.order,
                http2: self.http2,
                streams: self.streams,
            },
            arch: self.arch,
            overrides,
            out: self.output.out,
            progress: self.output.progress.into(),
            repeat: self.repeat,
            allow_remote_target: self.allow_remote_target,
            trust: versus::commands::run::trust(self.insecure, self.cacert),
            ci: self.output.ci,
            shard: self.shard.into_options().map_err(|e| e.to_string())?,
        })
    }
}

impl From<ProgressArg> for ProgressMode {
    fn from(p: ProgressArg) -> Self {
        match p {
            ProgressArg::Auto => ProgressMode::Auto,
            ProgressArg::Plain => ProgressMode::Plain,
            ProgressArg::None => ProgressMode::Quiet,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VERSUS_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    // Thousands of users need thousands of sockets.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!("cannot raise the open-file limit: {e}");
    }
    let code = match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit_code(&e)
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn dispatch(command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Check { scenario } => {
            let s = scenario::load_file(&scenario, &[])?;
            println!(
                "{}: ok ({} workload, {:?} model)",
                scenario.display(),
                s.name,
                s.load.model
            );
            Ok(EXIT_OK)
        }
        Command::Compare(args) => versus::commands::compare::run(&args),
        Command::Export(args) => versus::commands::export::run(&args),
        Command::Merge(args) => versus::commands::merge::run(&args),
        Command::Schema { out } => versus::commands::schema::run(out.as_deref()),
        Command::Image(args) => runtime()?.block_on(versus::commands::image::run(&args)),
        Command::Server(args) => {
            runtime()?.block_on(versus_targets::server::run(args))?;
            Ok(EXIT_OK)
        }
        Command::Peer(args) => {
            runtime()?.block_on(versus_targets::peer::run(args))?;
            Ok(EXIT_OK)
        }
        Command::Peers(args) => {
            host_runtime(&args)?.block_on(versus_targets::peer::host::run(args))?;
            Ok(EXIT_OK)
        }
        Command::Claims(args) => {
            let options = args.into_options()?;
            runtime()?.block_on(async {
                let stop = CancellationToken::new();
                tokio::spawn(watch_signals(stop.clone()));
                versus::commands::claims::claims(options, stop).await
            })
        }
        Command::Coordinate(args) => runtime()?.block_on(async {
            let stop = CancellationToken::new();
            tokio::spawn(watch_signals(stop.clone()));
            versus::commands::coordinate::coordinate(args, stop).await
        }),
        Command::Sweep(args) => {
            let options = args.into_options()?;
            runtime()?.block_on(async {
                let stop = CancellationToken::new();
                tokio::spawn(watch_signals(stop.clone()));
                versus::commands::sweep::sweep(options, stop).await
            })
        }
        Command::Run(args) => {
            let options = args.into_options().map_err(versus::error::Failure::Usage)?;
            runtime()?.block_on(async {
                let stop = CancellationToken::new();
                tokio::spawn(watch_signals(stop.clone()));
                versus::commands::run::run(options, stop).await
            })
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// The runtime of a peer host: a host of several peers gets one worker thread per core
/// (a peer's swarm and each of its connections are tasks of their own, so the peers
/// spread over the cores); a host of one peer stays on one thread, like `versus peer`.
fn host_runtime(args: &versus_targets::peer::HostArgs) -> anyhow::Result<tokio::runtime::Runtime> {
    let peers = args.each.len().max(usize::from(args.count));
    if peers <= 1 {
        return runtime();
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.min(peers))
        .enable_all()
        .build()?)
}

/// First Ctrl-C (or SIGTERM): stop issuing work, drain, write the partial report.
/// Second Ctrl-C: leave at once.
async fn watch_signals(stop: CancellationToken) {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("cannot watch SIGTERM: {e}");
            None
        }
    };
    let terminated = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminated => {}
    }
    eprintln!("interrupted: draining in-flight operations, then writing a partial report (Ctrl-C again to quit now)");
    stop.cancel();
    if tokio::signal::ctrl_c().await.is_ok() {
        eprintln!("interrupted again: stopping every node now and leaving");
        versus::launch::registry::kill_and_remove_all();
        std::process::exit(EXIT_INTERRUPTED);
    }
    let _ = EXIT_OK;
}
