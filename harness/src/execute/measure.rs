//! The load itself: the users' workload and sessions (over the HTTP the plan asks for),
//! the fault gate, the resource sampler, the traffic before and after, and the fault
//! injector on the load's clock.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::setup::Ready;
use crate::arch::{Arch, Role};
use crate::drive::gate::UserGate;
use crate::drive::http::{Endpoint, HttpConnector};
use crate::drive::inject::Injector;
use crate::drive::load::Job;
use crate::drive::phase::{drive, Control};
use crate::drive::progress::ProgressMode;
use crate::drive::request::RequestWorkload;
use crate::drive::workload::{Fetch, OneShot, Workload};
use crate::error::Failure;
use crate::launch::cluster::{traffic_delta, Cluster};
use crate::launch::launcher::Launcher;
use crate::plan::{ArchPlan, WorkloadPlan};
use crate::record::resources::ResourceSampler;
use crate::record::traffic::Traffic;
use crate::report::build::Measured;
use crate::report::model::HttpUse;
use crate::scenario::request::Protocol;
use versus_targets::tls::client::ClientTls;

/// The workload the plan describes.
fn workload(plan: &ArchPlan) -> Arc<dyn Workload> {
    match &plan.workload {
        WorkloadPlan::OneShot { entry, endpoints } => {
            Arc::new(OneShot::new(entry.clone(), *endpoints, plan.verify))
        }
        WorkloadPlan::Fetch {
            zipf,
            own_endpoints,
        } => {
            let fetch = Fetch::new(plan.catalog.clone(), *zipf, plan.verify);
            Arc::new(match own_endpoints {
                Some(n) => fetch.per_user_endpoints(*n),
                None => fetch,
            })
        }
        WorkloadPlan::Requests(requests) => Arc::new(RequestWorkload::new(requests)),
    }
}

/// HTTP/2's streams per connection, when the plan's users speak it (`--http2`).
fn http2_streams(plan: &ArchPlan) -> Option<u32> {
    match &plan.workload {
        WorkloadPlan::Requests(requests) => match requests.protocol {
            Protocol::Http2 { streams } => Some(streams),
            Protocol::Http1 => None,
        },
        _ => None,
    }
}

/// The users' connector to `endpoints`: over TLS with `tls` (offering ALPN `h2` beside
/// `http/1.1` for HTTP/2), over HTTP/2 with `streams` per connection.
fn connector(
    endpoints: Vec<Endpoint>,
    tls: Option<&ClientTls>,
    plan: &ArchPlan,
    streams: Option<u32>,
) -> Result<HttpConnector, Failure> {
    let mut connector = HttpConnector::new(endpoints, plan.user_download);
    if let Some(tls) = tls {
        let tls = match streams {
            Some(_) => tls.offering_h2(),
            None => tls.clone(),
        };
        connector = connector.with_tls(&tls).map_err(Failure::CannotRun)?;
    }
    if let Some(streams) = streams {
        connector = connector.with_http2(streams).map_err(Failure::CannotRun)?;
    }
    Ok(connector)
}

/// Drives the plan's load against `cluster`, with its faults, and returns what was
/// measured: the recording, resources per role, traffic per role (the harness's from
/// its own counters) and the faults as they happened.
pub(super) async fn run<L: Launcher>(
    cluster: &mut Cluster<L>,
    plan: &ArchPlan,
    ready: Ready,
    progress: ProgressMode,
    stop: &CancellationToken,
) -> anyhow::Result<Measured> {
    let seconds = plan.load.model.duration().as_secs() as usize + 2;
    let gate = (!plan.faults.is_empty())
        .then(|| Arc::new(UserGate::new(plan.users, plan.paths(), seconds)));
    let streams = http2_streams(plan);
    let connector = connector(ready.endpoints, ready.tls.as_ref(), plan, streams)?
        .with_user_downloads(&plan.user_downloads)
        .with_user_latency(plan.user_latency.as_ref());
    let counters = connector.counters();
    let protocols = connector.protocols();
    let job = Job {
        connector,
        workload: workload(plan),
        gate: gate.clone(),
    };
    let mut sampler = ResourceSampler::new();
    cluster.track(&mut sampler);
    let before = cluster.traffic().await;
    let arrivals = sampler.arrivals();
    let (start, started_at) = crate::drive::phase::load_start(plan.load.start_at);
    if let Some(gate) = &gate {
        gate.begin(start);
    }
    let end = start + plan.load.model.duration();
    // The injector stops when the load does (a flash crowd may end early).
    let load_done = stop.child_token();
    let label = plan.arch.name();
    let load = async {
        let control = Control {
            start,
            stop,
            progress,
            label,
        };
        let driven = drive(&plan.load, job, &mut sampler, control).await;
        load_done.cancel();
        driven
    };
    let faults_and_traffic = async {
        let injector = Injector::new(
            plan.faults.clone(),
            gate.clone(),
            arrivals,
            plan.ready_timeout,
        )
        .objects(plan.catalog.iter().map(|entry| entry.id).collect());
        let faults = injector.run(cluster, start, end, &load_done).await;
        // The injector may be done before the load is: count the traffic after it.
        load_done.cancelled().await;
        (faults, traffic_delta(&before, &cluster.traffic().await))
    };
    let (driven, (faults, mut traffic)) = tokio::join!(load, faults_and_traffic);
    let driven = driven?;
    traffic.insert(
        Role::Harness,
        Traffic {
            tx_bytes: counters.written(),
            rx_bytes: counters.read(),
            ..Traffic::default()
        },
    );
    let http =
        (plan.arch == Arch::Cs).then(|| HttpUse::of(protocols.http1(), protocols.http2(), streams));
    Ok(Measured {
        http,
        driven,
        traffic: traffic.into_iter().collect::<BTreeMap<_, _>>(),
        faults,
        gate,
        admin_overhead_us: ready.admin_overhead_us,
        started_at,
    })
}
