//! The plan of a `url` workload (`versus run --url`): no nodes to start, the workload's
//! requests (one, or a requests file's) to a server the harness did not start, over TLS
//! for an `https://` URL.

use versus_targets::tls::Trust;

use super::arch_plan::{common, ArchPlan, Endpoints, PlanError, TlsPlan, WorkloadPlan};
use crate::arch::Arch;
use crate::scenario::url::Target;
use crate::scenario::Scenario;

/// Plans the scenario's URL.
pub(super) fn plan(scenario: &Scenario) -> Result<ArchPlan, PlanError> {
    let requests = &scenario.workload.resolved;
    // Every request goes to the same scheme and host (the requests file checks it).
    let target = match (requests.list.first(), scenario.workload.url.as_deref()) {
        (Some(first), _) => first.target.clone(),
        (None, url) => Target::parse(url.unwrap_or_default())?,
    };
    let url = scenario
        .workload
        .url
        .clone()
        .unwrap_or_else(|| target.to_string());
    let (load, _, ready_timeout) = common(scenario);
    let tls = target
        .tls
        .then_some(TlsPlan::Url(Trust::Roots { extra: None }));
    Ok(ArchPlan {
        arch: Arch::Cs,
        target: url,
        users: scenario.load.users as usize,
        nodes: Vec::new(),
        objects: Vec::new(),
        catalog: Vec::new(),
        workload: WorkloadPlan::Requests(requests.clone()),
        verify: false,
        endpoints: Endpoints::Url(target),
        user_download: scenario.network.download,
        user_downloads: Vec::new(),
        regions: None,
        user_latency: None,
        tls,
        load,
        faults: Vec::new(),
        bound_s: None,
        one_shot: false,
        data_dirs: false,
        swarm: false,
        ready_timeout,
        allow_remote_target: false,
        peers_per_process: 1,
    })
}
