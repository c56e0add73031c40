//! Stage 7, the executor: carries out one [`ArchPlan`] with a [`Launcher`] — launch the
//! nodes, publish the objects, drive the load with the faults beside it, collect traffic
//! and resources — and hands what was measured to [`crate::report::build`], the one
//! place a [`RunReport`](crate::report::model::RunReport) is made.

mod measure;
mod setup;
mod tls;

use tokio_util::sync::CancellationToken;

use crate::drive::progress::ProgressMode;
use crate::error::Failure;
use crate::launch::cluster::Cluster;
use crate::launch::launcher::Launcher;
use crate::plan::ArchPlan;
use crate::report::build::{run_report, ArchRun};

/// `step`, unless Ctrl-C comes first: then it is dropped (whatever it had started is
/// stopped with the cluster) and the run ends as interrupted while `doing`.
async fn unless_stopped<T>(
    stop: &CancellationToken,
    doing: &str,
    step: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::select! {
        result = step => result,
        _ = stop.cancelled() => Err(Failure::Interrupted(doing.to_string()).into()),
    }
}

/// Carries out `plan` on nodes started by `launcher`.
pub(crate) async fn execute<L: Launcher>(
    plan: &ArchPlan,
    launcher: L,
    progress: ProgressMode,
    stop: &CancellationToken,
) -> anyhow::Result<ArchRun> {
    let scratch = setup::scratch_dirs(plan)?;
    let run_tls = tls::run_tls(plan)?;
    let mut cluster = Cluster::new(launcher);
    let result = async {
        let started_from = setup::Scratch {
            data: scratch.as_ref(),
            tls: run_tls.as_ref(),
        };
        unless_stopped(
            stop,
            "starting the nodes",
            setup::launch(&mut cluster, plan, started_from),
        )
        .await?;
        let ready = unless_stopped(
            stop,
            "waiting for the swarm and publishing",
            setup::prepare(&cluster, plan, run_tls.as_ref()),
        )
        .await?;
        let measured = measure::run(&mut cluster, plan, ready, progress, stop).await?;
        Ok::<_, anyhow::Error>(run_report(plan, measured))
    }
    .await;
    cluster.stop().await;
    drop(scratch);
    drop(run_tls);
    result
}

/// Carries out `plan` on the attached `targets` (nodes it did not start), after
/// checking that they can carry it out.
pub(crate) async fn execute_attached(
    plan: &crate::plan::ArchPlan,
    targets: &crate::launch::attach::Targets,
    progress: crate::drive::progress::ProgressMode,
    stop: &tokio_util::sync::CancellationToken,
) -> anyhow::Result<crate::report::build::ArchRun> {
    let launcher = crate::launch::attach::launcher_for(plan, targets)?;
    execute(plan, launcher, progress, stop).await
}
