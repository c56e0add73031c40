//! Driving any HTTP/1.1 server at a URL with GETs (`versus run --url`).

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::{finish, ArchRun, Finish};
use crate::drive::drive;
use crate::driver::http::{Endpoint, HttpConnector, Target};
use crate::error::Failure;
use crate::plan::load_plan;
use crate::progress::ProgressMode;
use crate::record::resources::{ResourceSampler, HARNESS};
use crate::report::model::Traffic;
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
    let counters = connector.counters();
    let plan = load_plan(scenario);
    let mut sampler = ResourceSampler::new();
    let workload = Arc::new(RepeatGet::new(&target.path));
    let driven = drive(
        &plan,
        connector,
        workload,
        &mut sampler,
        stop,
        progress,
        "cs",
    )
    .await?;
    let traffic = BTreeMap::from([(
        HARNESS.to_string(),
        Traffic {
            tx_bytes: counters.written(),
            rx_bytes: counters.read(),
        },
    )]);
    let f = Finish {
        arch: "cs",
        target: url.to_string(),
        plan: &plan,
        traffic,
        bound_s: None,
        one_shot: false,
    };
    Ok(finish(f, driven))
}
