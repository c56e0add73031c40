//! The Docker engine, through its `docker` command-line client: one call per operation,
//! errors that say what failed and what to do, the labels every container and network
//! of a run carries, and removal by label — of one run (at its end, on Ctrl-C) and of
//! runs whose harness has died (orphans, removed by the next harness that uses Docker).

use std::process::Stdio;

use tokio::process::Command;

/// Label naming the run a container or network belongs to.
pub const RUN_LABEL: &str = "versus.run";
/// Label naming a container's role (`server`, `seed`, `peer`).
pub const ROLE_LABEL: &str = "versus.role";
/// Label naming a container's index among its role.
pub const NODE_LABEL: &str = "versus.node";
/// Label holding the process id of the harness that owns the run.
pub const HARNESS_PID_LABEL: &str = "versus.harness_pid";

/// Something the engine could not do.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The `docker` client is not installed.
    #[error("cannot run the docker client ({0}); install Docker, or use launcher = \"process\"")]
    NoClient(std::io::Error),
    /// The engine does not answer.
    #[error("the Docker engine is not reachable (`docker info`: {0}); start it (or set DOCKER_HOST), or use launcher = \"process\"")]
    Unreachable(String),
    /// The image to run is not there.
    #[error("the image {0} is not in the Docker engine; build it with `versus image --tag {0}` (or set architectures.image to an image you have)")]
    NoImage(String),
    /// Kernel network emulation could not be applied to a container.
    #[error(transparent)]
    Emulation(super::shaping::ShapingError),
    /// A command failed.
    #[error("`docker {command}` failed: {stderr}")]
    Failed {
        /// The command, without the client's name.
        command: String,
        /// What the client said.
        stderr: String,
    },
}

/// A `docker` command with `args`, its output captured.
fn command(args: &[&str]) -> Command {
    let mut command = Command::new("docker");
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs `docker args…` and returns its standard output, trimmed.
pub async fn run(args: &[&str]) -> Result<String, DockerError> {
    output(command(args), args).await
}

/// Runs a prepared `docker` command (`args` name it in errors) and returns its standard
/// output, trimmed.
pub async fn output(mut command: Command, args: &[&str]) -> Result<String, DockerError> {
    let out = command.output().await.map_err(DockerError::NoClient)?;
    finish(out, args)
}

/// The blocking twin of [`run`], for the last moments of a harness (a second Ctrl-C).
pub fn run_blocking(args: &[&str]) -> Result<String, DockerError> {
    let out = std::process::Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(DockerError::NoClient)?;
    finish(out, args)
}

fn finish(out: std::process::Output, args: &[&str]) -> Result<String, DockerError> {
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    Err(DockerError::Failed {
        command: args.join(" "),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}

/// Checks that the engine answers.
pub async fn check_engine() -> Result<(), DockerError> {
    match run(&["info", "--format", "{{.ServerVersion}}"]).await {
        Ok(_) => Ok(()),
        Err(DockerError::Failed { stderr, .. }) => Err(DockerError::Unreachable(stderr)),
        Err(e) => Err(e),
    }
}

/// Checks that `image` is in the engine.
pub async fn check_image(image: &str) -> Result<(), DockerError> {
    match run(&["image", "inspect", "--format", "{{.Id}}", image]).await {
        Ok(_) => Ok(()),
        Err(DockerError::Failed { .. }) => Err(DockerError::NoImage(image.to_string())),
        Err(e) => Err(e),
    }
}

/// `label=value`, for `--label` and `--filter label=…`.
pub fn label(name: &str, value: &str) -> String {
    format!("{name}={value}")
}

/// Removes every container, then every network, labelled with run `run`.
pub async fn remove_run(run: &str) {
    let filter = format!("label={}", label(RUN_LABEL, run));
    match run_listing(&["ps", "-aq", "--filter", &filter]).await {
        Ok(ids) if !ids.is_empty() => {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(ids.iter().map(String::as_str));
            if let Err(e) = self::run(&args).await {
                tracing::warn!("could not remove the containers of run {run}: {e}");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("could not list the containers of run {run}: {e}"),
    }
    match run_listing(&["network", "ls", "-q", "--filter", &filter]).await {
        Ok(ids) if !ids.is_empty() => {
            let mut args = vec!["network", "rm"];
            args.extend(ids.iter().map(String::as_str));
            if let Err(e) = self::run(&args).await {
                tracing::warn!("could not remove the network of run {run}: {e}");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("could not list the networks of run {run}: {e}"),
    }
}

/// [`remove_run`], blocking: for a harness that must leave at once.
pub fn remove_run_blocking(run: &str) {
    let filter = format!("label={}", label(RUN_LABEL, run));
    let lines = |out: Result<String, DockerError>| -> Vec<String> {
        out.map(|o| o.lines().map(str::to_string).collect())
            .unwrap_or_default()
    };
    let ids = lines(run_blocking(&["ps", "-aq", "--filter", &filter]));
    if !ids.is_empty() {
        let mut args = vec!["rm", "-f", "-v"];
        args.extend(ids.iter().map(String::as_str));
        let _ = run_blocking(&args);
    }
    let nets = lines(run_blocking(&["network", "ls", "-q", "--filter", &filter]));
    if !nets.is_empty() {
        let mut args = vec!["network", "rm"];
        args.extend(nets.iter().map(String::as_str));
        let _ = run_blocking(&args);
    }
}

async fn run_listing(args: &[&str]) -> Result<Vec<String>, DockerError> {
    Ok(run(args)
        .await?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// Removes the containers and networks of runs whose harness is no longer running (it
/// was killed before it could clean up); returns how many runs it removed.
pub async fn remove_orphans() -> usize {
    let format = format!("{{{{.Label \"{RUN_LABEL}\"}}}} {{{{.Label \"{HARNESS_PID_LABEL}\"}}}}");
    let filter = format!("label={RUN_LABEL}");
    let mut runs = std::collections::BTreeSet::new();
    for args in [
        [
            "ps",
            "-a",
            "--filter",
            filter.as_str(),
            "--format",
            format.as_str(),
        ],
        [
            "network",
            "ls",
            "--filter",
            filter.as_str(),
            "--format",
            format.as_str(),
        ],
    ] {
        let Ok(lines) = run_listing(&args).await else {
            continue;
        };
        runs.extend(lines.iter().filter_map(|line| orphaned_run(line)));
    }
    for run in &runs {
        tracing::info!(
            "removing the containers and network of run {run}, left by a harness that ended"
        );
        remove_run(run).await;
    }
    runs.len()
}

/// The run of a `<run> <harness pid>` listing line, when that harness has ended.
fn orphaned_run(line: &str) -> Option<String> {
    let (run, pid) = line.split_once(' ')?;
    let pid: i32 = pid.trim().parse().ok()?;
    let ours = pid == std::process::id() as i32;
    (!ours && !versus_targets::harness_watch::alive(pid)).then(|| run.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orphans_are_runs_of_ended_harnesses() {
        let own = std::process::id();
        assert_eq!(orphaned_run(&format!("r1 {own}")), None);
        // Process ids wrap well below this.
        assert_eq!(orphaned_run("r2 2147483000"), Some("r2".to_string()));
        assert_eq!(orphaned_run("r3 "), None);
        assert_eq!(orphaned_run("garbage"), None);
    }
}
