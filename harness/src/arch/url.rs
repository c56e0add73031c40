//! Driving any HTTP/1.1 server at a URL with GETs (`versus run --url`).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::{drive_targets, finish, ArchRun, Finish};
use crate::driver::http::{Endpoint, HttpConnector, Target};
use crate::error::Failure;
use crate::plan::load_plan;
use crate::progress::ProgressMode;
use crate::scenario::Scenario;
use crate::workload::RepeatGet;

/// Drives the scenario's URL.
pub async fn run(
    scenario: &Scenario,
    progress: ProgressMode,
    stop: &CancellationToken,
) -> anyhow::Result<ArchRun> {
    let url = scenario.workload.url.as_deref().unwrap_or_default();
    let target = Target::parse(url).map_err(|e| Failure::Usage(e.to_string()))?;
    let addr = target
        .resolve()
        .map_err(|e| Failure::CannotRun(e.to_string()))?;
    let endpoint = Endpoint {
        addr,
        authority: target.authority.clone(),
    };
    let connector = HttpConnector::new(vec![endpoint], scenario.network.download);
    let plan = load_plan(scenario);
    let workload = Arc::new(RepeatGet::new(&target.path));
    let targeted = drive_targets(&plan, connector, workload, None, progress, stop, "cs").await?;
    let f = Finish {
        arch: "cs",
        target: url.to_string(),
        plan: &plan,
        traffic: targeted.traffic,
        bound_s: None,
        one_shot: false,
        faults: Vec::new(),
        gate: None,
    };
    Ok(finish(f, targeted.driven))
}
