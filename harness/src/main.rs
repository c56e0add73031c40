//! The `versus` command line. Only argument parsing and dispatch live here; the work is
//! in the library (`versus::run`, …) and, for `versus server`, in `versus-targets`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;
use versus::error::{exit_code, EXIT_INTERRUPTED, EXIT_OK};
use versus::progress::ProgressMode;
use versus::run::{ArchChoice, RunOptions};
use versus::scenario::{self, Override};

/// Versus: client-server vs peer-to-peer, measured side by side.
#[derive(Parser)]
#[command(name = "versus", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario (the embedded quickstart when none is given) or drive a URL.
    Run(RunArgs),
    /// Validate a scenario file without running it.
    Check {
        /// The scenario file (TOML).
        scenario: PathBuf,
    },
    /// Run the client-server reference target: an HTTP object store.
    Server(versus_targets::server::ServerArgs),
    /// Run the peer-to-peer reference target: a libp2p swarm node.
    Peer(versus_targets::peer::PeerArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// Scenario file (TOML). Without it, the embedded quickstart runs.
    scenario: Option<PathBuf>,
    /// Drive any HTTP/1.1 server with GETs of this URL instead of a scenario's targets.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
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
    /// Load-generator threads (0 = one per core); shorthand for --set load.threads=N.
    #[arg(long, value_name = "N")]
    threads: Option<String>,
    /// Override any scenario key, such as --set network.latency=25ms (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Directory for report.json, report.md, *.hlog and *.svg.
    #[arg(long, value_name = "DIR", default_value = "versus-report")]
    out: PathBuf,
    /// Progress display: a bar on a terminal and plain lines otherwise (auto), plain lines, or none.
    #[arg(long, value_enum, default_value = "auto")]
    progress: ProgressArg,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ProgressArg {
    Auto,
    Plain,
    None,
}

impl RunArgs {
    fn into_options(self) -> Result<RunOptions, String> {
        let mut overrides = Vec::new();
        for text in &self.set {
            overrides.push(Override::parse(text).map_err(|e| format!("--set: {e}"))?);
        }
        if let Some(users) = &self.users {
            overrides.push(Override::from_flag("--users", "load.users", users));
        }
        if let Some(duration) = &self.duration {
            overrides.push(Override::from_flag("--duration", "load.duration", duration));
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
            arch: self.arch,
            overrides,
            out: self.out,
            progress: match self.progress {
                ProgressArg::Auto => ProgressMode::Auto,
                ProgressArg::Plain => ProgressMode::Plain,
                ProgressArg::None => ProgressMode::Quiet,
            },
        })
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
        Command::Server(args) => {
            runtime()?.block_on(versus_targets::server::run(args))?;
            Ok(EXIT_OK)
        }
        Command::Peer(args) => {
            runtime()?.block_on(versus_targets::peer::run(args))?;
            Ok(EXIT_OK)
        }
        Command::Run(args) => {
            let options = args.into_options().map_err(versus::error::Failure::Usage)?;
            runtime()?.block_on(async {
                let stop = CancellationToken::new();
                tokio::spawn(watch_signals(stop.clone()));
                versus::run::run(options, stop).await
            })
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
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
        std::process::exit(EXIT_INTERRUPTED);
    }
    let _ = EXIT_OK;
}
